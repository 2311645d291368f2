import ArgumentParser
import Foundation
import WalletCore

/// `bankgw audit …`: the wallet core's tamper-evident audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the audit hash chain; explain a decision.",
        subcommands: [AuditVerify.self, AuditShow.self]
    )
}

/// Opens an existing wallet database (never creates one: checking nothing is an error, not a pass).
private func openStore(_ stateDirectory: String, command: String) throws -> WalletStore {
    do {
        return try WalletStore(stateDirectory: stateDirectory, create: false)
    } catch {
        printError("\(command): \(error)")
        throw ExitCode.checkFailed
    }
}

/// `bankgw audit verify [--state-dir DIR]`: walk the chain; exit 1 naming the first broken entry.
struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the audit hash chain and name the first broken entry.",
        discussion: """
            Each entry carries SHA-256(previous entry's hash ‖ its own content). Edited, inserted, deleted or \
            reordered entries break the chain at that entry. Exit 0 when the chain holds, 1 otherwise. Run it on a \
            stopped gateway's state or a copy; on a live one it checks a consistent snapshot.
            """
    )

    @Option(name: .customLong("state-dir"), help: "The gateway's state directory (holds wallet.sqlite).")
    var stateDirectory = ".bankgw-demo"

    func run() async throws {
        let store = try openStore(stateDirectory, command: "audit verify")
        print("audit verify: \(store.path)")
        let verification: AuditVerification
        do {
            verification = try await store.verifyAudit()
        } catch {
            printError("audit verify: \(error)")
            throw ExitCode.checkFailed
        }
        if let broken = verification.firstBroken {
            print("audit verify: checked \(verification.entriesChecked) entries")
            printError("audit verify: chain broken at entry \(broken.id): \(broken.why)")
            throw ExitCode.checkFailed
        }
        let head = AuditChain.hex(verification.headHash)
        print("audit verify: \(verification.entriesChecked) entries, chain intact, head \(head)")
    }
}

/// `bankgw audit show --charge ID`: the charge's audit entries — who decided, by which rule, and what followed.
struct AuditShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Explain one decision: the audit entries of a charge (or any subject with --subject)."
    )

    @Option(name: .customLong("state-dir"), help: "The gateway's state directory (holds wallet.sqlite).")
    var stateDirectory = ".bankgw-demo"

    @Option(help: "A charge id (ch_…).")
    var charge: String?

    @Option(help: "Any audited subject: a link id, wallet id or bank code.")
    var subject: String?

    func validate() throws {
        guard (charge == nil) != (subject == nil) else {
            throw ValidationError("give exactly one of --charge, --subject")
        }
    }

    func run() async throws {
        let store = try openStore(stateDirectory, command: "audit show")
        let key = charge ?? subject!
        let entries: [AuditEntry]
        do {
            entries = try await store.auditEntries(subject: key)
        } catch {
            printError("audit show: \(error)")
            throw ExitCode.checkFailed
        }
        guard !entries.isEmpty else {
            printError("audit show: no audit entries for \(key)")
            throw ExitCode.checkFailed
        }
        for entry in entries {
            print("#\(entry.id) \(formatUnixMs(entry.atUnixMs)) \(entry.actor) \(entry.action) \(entry.subject)")
            print("    rule/reason: \(entry.reason)")
            if !entry.detail.isEmpty { print("    detail: \(entry.detail)") }
            if !entry.traceID.isEmpty { print("    trace_id: \(entry.traceID)") }
        }
    }
}
