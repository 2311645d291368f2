import ArgumentParser
import Foundation
import WalletCore

/// `bankgw ledger …`: the wallet ledger's operator tools (SPEC §7).
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Check and measure the wallet ledger.",
        subcommands: [LedgerVerify.self, LedgerBench.self, LedgerLoad.self]
    )
}

/// `bankgw ledger verify [--state-dir DIR]`: recompute every balance from the transfers; exit 1 on the first broken
/// invariant, naming it.
struct LedgerVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every balance from the transfers and check the ledger's invariants.",
        discussion: """
            Checks, in order, stopping at the first that fails: database integrity, balances match transfers, \
            debits equal credits, wallet balances within [0, cap], one transfer per approved charge (none for \
            held or declined), transfers match their charges, one idempotency record per charge within the \
            retention, charged day/month totals match transfers, one pending transfer per hold in the hold's \
            state, reservations match the pending transfers, wallet balance plus reservations within the cap, \
            one active link per bank account token, reversed at most what each charge credited, reversals and \
            payments match their transfers, the compensation account's balance is minus what it paid, every \
            bank's events are gap-free and their amounts match the transfers they report. Exit 0 when all hold, \
            1 otherwise.
            """
    )

    @Option(name: .customLong("state-dir"), help: "The gateway's state directory (holds wallet.sqlite).")
    var stateDirectory = ".bankgw-demo"

    func run() async throws {
        let store: WalletStore
        do {
            // Never creates a database: verifying nothing is an error, not a pass.
            store = try WalletStore(stateDirectory: stateDirectory, create: false)
        } catch {
            printError("ledger verify: \(error)")
            throw ExitCode.checkFailed
        }
        print("ledger verify: \(store.path)")
        let verification: LedgerVerification
        do {
            verification = try await store.verifyLedger()
        } catch {
            printError("ledger verify: \(error)")
            throw ExitCode.checkFailed
        }
        for check in verification.checks {
            print("\(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)")
        }
        if let failure = verification.firstFailure {
            printError("ledger verify: broken invariant \(failure.name): \(failure.detail)")
            throw ExitCode.checkFailed
        }
        print("ledger verify: all \(verification.checks.count) invariants hold")
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
