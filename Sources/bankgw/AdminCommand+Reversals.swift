import ArgumentParser
import Foundation
import GatewayWire

// `bankgw admin reverse …`, `compensation …`, `merchant …`, `wallet pay …` (SPEC §7-§9). The four-eyes
// requests they make are `bankgw admin approval …`'s (AdminMonitoringCommands.swift).

/// The §9 commands, appended to `bankgw admin`'s subcommands.
let reversalSubcommands: [any ParsableCommand.Type] = [
    AdminReverseCommand.self, AdminCompensationCommand.self, AdminMerchantCommand.self,
]

extension CompensationCaseState {
    var name: String { ["UNSPECIFIED", "OPEN", "PAID", "CLOSED"][Int(rawValue)] }
}

private func optionalDate(_ unixMs: Int64) -> String { unixMs == 0 ? "" : formatUnixMs(unixMs) }

/// The report's columns (SPEC §9): bank, token, charged, reversed from wallets, paid from compensation, dates.
private func caseRows(_ cases: [CompensationCase]) -> [[String]] {
    [
        [
            "CASE", "BANK", "ACCOUNT TOKEN", "STATE", "CHARGES", "CHARGED YEN", "REVERSED FROM WALLETS YEN",
            "PAID FROM COMPENSATION YEN", "OPENED AT", "PAID AT", "CLOSED AT",
        ]
    ]
        + cases.map { record in
            [
                record.caseID, record.bankCode, record.bankAccountToken, record.state.name,
                String(record.chargeIDs.count), String(record.chargedYen), String(record.reversedFromWalletsYen),
                String(record.paidFromCompensationYen), formatUnixMs(record.openedAtUnixMs),
                optionalDate(record.paidAtUnixMs), optionalDate(record.closedAtUnixMs),
            ]
        }
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
func csvLine(_ fields: [String]) -> String {
    fields.map { field in
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }.joined(separator: ",")
}

// MARK: - reverse

struct AdminReverseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reverse",
        abstract: "Request a reversal of a credited charge (four eyes: a different operator approves it).",
        discussion: """
            Moves up to the charge's unreversed amount back to the bank's settlement account as correcting \
            transfers: from the wallet what it still holds, the shortfall from the operator's compensation \
            account. Freezes the wallet's charges unless --keep-charges-open. Prints the approval request; \
            `approval approve ID` by another operator executes it.
            """)
    @OptionGroup var connection: AdminConnectionOptions
    @Argument(help: "The charge's id.") var chargeID: String
    @Option(help: "Yen to reverse (1 .. the charge's unreversed amount).") var amount: Int64
    @Flag(help: "Do not freeze the wallet's charges.") var keepChargesOpen = false
    @OptionGroup var why: ReasonOption

    func validate() throws {
        guard amount > 0 else { throw ValidationError("--amount must be at least 1 yen") }
    }

    func run() async throws {
        let request = ReverseChargeRequest(
            chargeID: chargeID, amountYen: amount, reason: why.reason, keepChargesOpen: keepChargesOpen)
        try await runAdmin(connection, AdminMethods.reverseCharge, request) { approvalRows([$0]) }
    }
}

// MARK: - compensation

struct AdminCompensationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compensation", abstract: "Compensation cases: open, pay (four eyes), close, list, report.",
        subcommands: [Open.self, Pay.self, Close.self, List.self, Report.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a case for one victim: the bank, its account token, the charges concerned.")
        @OptionGroup var connection: AdminConnectionOptions
        @Option(help: "The victim's 4-digit bank code.") var bank: String
        @Option(help: "The bank's opaque account token, as the bank sent it.") var token: String
        @Option(name: .customLong("charge"), help: "A charge of the case (repeat for each).") var charges: [String]
        @OptionGroup var why: ReasonOption

        func validate() throws {
            guard !charges.isEmpty else { throw ValidationError("at least one --charge") }
        }

        func run() async throws {
            let request = OpenCompensationCaseRequest(
                bankCode: bank, bankAccountToken: token, chargeIDs: charges, reason: why.reason)
            try await runAdmin(connection, AdminMethods.openCompensationCase, request) { caseRows([$0]) }
        }
    }

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Request a case's payment (four eyes): reverse what is still unreversed of its charges.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The case's id.") var caseID: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = PayCompensationRequest(caseID: caseID, reason: why.reason)
            try await runAdmin(connection, AdminMethods.payCompensation, request) { approvalRows([$0]) }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a PAID case.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The case's id.") var caseID: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = CloseCompensationCaseRequest(caseID: caseID, reason: why.reason)
            try await runAdmin(connection, AdminMethods.closeCompensationCase, request) { caseRows([$0]) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every case with its totals.")
        @OptionGroup var connection: AdminConnectionOptions

        func run() async throws {
            try await runAdmin(connection, AdminMethods.listCompensationCases, ListCompensationCasesRequest()) {
                caseRows($0.cases)
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The report for the bank and the regulator: every case (CSV with --csv).")
        @OptionGroup var connection: AdminConnectionOptions
        @Flag(help: "RFC 4180 CSV with a header line.") var csv = false

        func run() async throws {
            try await runAdmin(connection) { client in
                let response = try await client.call(
                    AdminMethods.listCompensationCases, ListCompensationCasesRequest())
                let rows = caseRows(response.cases)
                if csv {
                    for row in rows { print(csvLine(row)) }
                } else {
                    printAdmin(response, json: connection.json) { rows }
                }
            }
        }
    }
}

// MARK: - merchant, wallet pay

struct AdminMerchantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant", abstract: "Merchants wallets pay (spending).", subcommands: [Register.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a merchant with its settlement account.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Merchant id.") var id: String
        @Option(help: "The merchant's name.") var name: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = RegisterMerchantRequest(merchantID: id, name: name, reason: why.reason)
            try await runAdmin(connection, AdminMethods.registerMerchant, request) { merchant in
                [
                    ["MERCHANT", "NAME", "BALANCE YEN"],
                    [merchant.merchantID, merchant.name, String(merchant.balanceYen)],
                ]
            }
        }
    }
}

extension AdminWalletCommand {
    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The wallet pays a merchant (wallet → merchant settlement; never beyond its balance).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String
        @Option(help: "The merchant's id.") var merchant: String
        @Option(help: "Yen to pay (1 .. the wallet's balance).") var amount: Int64
        @Option(help: "The merchant's order reference.") var reference: String = ""
        @OptionGroup var why: ReasonOption

        func validate() throws {
            guard amount > 0 else { throw ValidationError("--amount must be at least 1 yen") }
        }

        func run() async throws {
            let request = PayFromWalletRequest(
                walletAccountID: id, merchantID: merchant, amountYen: amount, reference: reference, reason: why.reason)
            try await runAdmin(connection, AdminMethods.payFromWallet, request) { payment in
                [
                    ["PAYMENT", "WALLET", "MERCHANT", "AMOUNT YEN", "WALLET BALANCE YEN"],
                    [
                        payment.paymentID, payment.walletAccountID, payment.merchantID, String(payment.amountYen),
                        String(payment.walletBalanceYen),
                    ],
                ]
            }
        }
    }
}
