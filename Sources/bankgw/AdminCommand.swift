import ArgumentParser
import Foundation
import GatewayWire

/// `bankgw admin …`: the Admin service's client (SPEC §2, §7), with an operator certificate.
///
/// Connection options (`--state-dir DIR` or `--target H:P --cert F --key F --ca F`) and `--json` go before or after
/// the subcommand. Exit codes: 0 done, 1 the gateway refused (one line with the gRPC status and its message),
/// 64 usage, 65 unreadable TLS files, 69 gateway unreachable.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operate the gateway: banks, wallets, holds (the Admin service's client).",
        subcommands: [
            AdminBankCommand.self, AdminWalletCommand.self, AdminHoldCommand.self, AdminAlertCommand.self,
            AdminApprovalCommand.self, AdminBlockCommand.self,
        ] + reversalSubcommands
    )

    // Declared on each level so the connection options may also come before the subcommand
    // (`bankgw admin --state-dir DIR wallet link-code W0000001`, SPEC §6); the leaf reads them.
    @OptionGroup var connection: AdminConnectionOptions
}

// MARK: - Arguments

/// `link|charge`.
enum OperationArgument: String, ExpressibleByArgument, CaseIterable {
    case link, charge
    var wire: GatewayWire.Operation { self == .link ? .link : .charge }
}

/// `PENDING|PILOT|ENABLED|SUSPENDED` (any letter case).
enum BankStateArgument: String, ExpressibleByArgument, CaseIterable {
    case PENDING, PILOT, ENABLED, SUSPENDED
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var wire: BankState {
        switch self {
        case .PENDING: .pending
        case .PILOT: .pilot
        case .ENABLED: .enabled
        case .SUSPENDED: .suspended
        }
    }
}

/// `NONE|SUBMITTED|VERIFIED|REJECTED`.
enum EkycStatusArgument: String, ExpressibleByArgument, CaseIterable {
    case NONE, SUBMITTED, VERIFIED, REJECTED
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var wire: EkycStatus {
        switch self {
        case .NONE: .none
        case .SUBMITTED: .submitted
        case .VERIFIED: .verified
        case .REJECTED: .rejected
        }
    }
}

/// The 犯収法 method: `HO` (ホ photo+selfie), `HE` (ヘ IC chip+selfie), `TO` (ト document+bank), `WA` (ワ JPKI).
enum EkycMethodArgument: String, ExpressibleByArgument, CaseIterable {
    case HO, HE, TO, WA
    init?(argument: String) { self.init(rawValue: String(argument.uppercased().prefix(2))) }
    var wire: EkycMethod {
        switch self {
        case .HO: .hoPhotoIDAndSelfie
        case .HE: .heICChipAndSelfie
        case .TO: .toDocumentAndBank
        case .WA: .waJPKI
        }
    }
}

/// Display names: the proto enum names, so tables and `--json` agree.
extension BankState {
    var name: String { ["UNSPECIFIED", "PENDING", "PILOT", "ENABLED", "SUSPENDED"][Int(rawValue)] }
}
extension EkycStatus {
    var name: String { ["UNSPECIFIED", "NONE", "SUBMITTED", "VERIFIED", "REJECTED"][Int(rawValue)] }
}
extension EkycMethod {
    var name: String { ["-", "HO", "HE", "TO", "WA"][Int(rawValue)] }
}
extension HoldState {
    var name: String { ["UNSPECIFIED", "OPEN", "RELEASED", "REJECTED"][Int(rawValue)] }
}

/// Options every act that changes something needs: why (kept in the audit log with the operator).
struct ReasonOption: ParsableArguments {
    @Option(help: "Why (recorded in the audit log with the operator's identity).")
    var reason: String

    func validate() throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason is empty") }
    }
}

private func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }

private func bankRows(_ banks: [GatewayWire.AdminBank]) -> [[String]] {
    [["CODE", "NAME", "LINK", "CHARGE", "PILOT WALLETS", "LAST PASSING CONFORMANCE"]]
        + banks.map { bank in
            [
                bank.bankCode, bank.name, bank.linkState.name, bank.chargeState.name,
                bank.pilotWalletIDs.isEmpty ? "-" : bank.pilotWalletIDs.joined(separator: ","),
                bank.lastConformance.map { formatUnixMs($0.recordedAtUnixMs) } ?? "never",
            ]
        }
}

private func walletRows(_ wallet: AdminWallet) -> [[String]] {
    [
        ["FIELD", "VALUE"],
        ["wallet", wallet.walletAccountID],
        ["test", yesNo(wallet.test)],
        ["ekyc", "\(wallet.ekycStatus.name) \(wallet.ekycMethod.name)"],
        ["ekyc name", wallet.ekycNameKana.isEmpty ? "-" : wallet.ekycNameKana],
        ["phone verified", yesNo(wallet.phoneVerified)],
        ["link locked", yesNo(wallet.linkLocked)],
        ["charges frozen", yesNo(wallet.chargeFrozen)],
        ["balance yen", String(wallet.balanceYen)],
        ["balance cap yen", String(wallet.balanceCapYen)],
    ]
}

private func holdRows(_ holds: [AdminHold]) -> [[String]] {
    [["CHARGE", "BANK", "WALLET", "AMOUNT YEN", "STATE", "HELD AT", "RULE", "RESOLVED BY"]]
        + holds.map { hold in
            [
                hold.chargeID, hold.bankCode, hold.walletAccountID, String(hold.amountYen), hold.state.name,
                formatUnixMs(hold.heldAtUnixMs), hold.rule, hold.resolvedBy.isEmpty ? "-" : hold.resolvedBy,
            ]
        }
}

/// ISO 8601 in UTC, to the second.
func formatUnixMs(_ unixMs: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(unixMs) / 1000))
}

// MARK: - bank

struct AdminBankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank", abstract: "Partner banks: list, show, enablement state, profile, pilot list.",
        subcommands: [List.self, Show.self, SetState.self, SetProfile.self, SetPilot.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every bank with its link and charge state.")
        @OptionGroup var connection: AdminConnectionOptions

        func run() async throws {
            try await runAdmin(connection, AdminMethods.listBanks, ListBanksRequest()) { bankRows($0.banks) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One bank.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The 4-digit bank code.") var code: String

        func run() async throws {
            try await runAdmin(connection, AdminMethods.getBank, GetBankRequest(bankCode: code)) { bankRows([$0]) }
        }
    }

    struct SetState: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-state",
            abstract: "Move a bank's link or charge enablement (SUSPENDED is the kill switch, effective next request).",
            discussion: "PILOT and ENABLED need a passing conformance run recorded within the last 90 days.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The 4-digit bank code.") var code: String
        @Argument(help: "link or charge.") var operation: OperationArgument
        @Argument(help: "PENDING, PILOT, ENABLED or SUSPENDED.") var state: BankStateArgument
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = SetBankStateRequest(
                bankCode: code, operation: operation.wire, state: state.wire, reason: why.reason)
            try await runAdmin(connection, AdminMethods.setBankState, request) {
                bankRows([$0])
            } then: { client, bank in
                if state == .ENABLED, (operation == .link ? bank.linkState : bank.chargeState) != .enabled {
                    try await reportPendingApproval(client, subject: "\(code)/\(operation.rawValue)")
                }
            }
        }
    }

    struct SetPilot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-pilot", abstract: "Replace a bank's pilot list (the wallets a PILOT bank may serve).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The 4-digit bank code.") var code: String
        @Argument(help: "Wallet account ids (none empties the list).") var wallets: [String] = []
        @OptionGroup var why: ReasonOption

        func run() async throws {
            var request = SetPilotListRequest()
            request.bankCode = code
            request.walletAccountIDs = wallets
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.setPilotList, request) { bankRows([$0]) }
        }
    }
}

// MARK: - wallet

struct AdminWalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet", abstract: "Wallets: register, eKYC, phone, link codes, lock and freeze reviews.",
        subcommands: [
            Register.self, Show.self, Ekyc.self, PhoneVerified.self, LinkCode.self, Unlock.self, Unfreeze.self,
            Pay.self,
        ])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a wallet account.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id (W followed by 7 digits).") var id: String
        @Flag(help: "A test wallet (money never real; PENDING banks may use it).") var test = false
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = RegisterWalletRequest(walletAccountID: id, test: test, reason: why.reason)
            try await runAdmin(connection, AdminMethods.registerWallet, request, rows: walletRows)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One wallet, with its balance.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String

        func run() async throws {
            try await runAdmin(
                connection, AdminMethods.getWallet, GetWalletRequest(walletAccountID: id), rows: walletRows)
        }
    }

    struct Ekyc: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a wallet's eKYC result.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String
        @Option(help: "NONE, SUBMITTED, VERIFIED or REJECTED.") var status: EkycStatusArgument
        @Option(help: "HO, HE, TO or WA (犯収法 method; required for VERIFIED).") var method: EkycMethodArgument?
        @Option(help: "The verified name in katakana.") var name: String = ""
        @Option(name: .customLong("verified-at-unix-ms"), help: "When the vendor verified it (default: now).")
        var verifiedAtUnixMs: Int64?
        @OptionGroup var why: ReasonOption

        func validate() throws {
            if status == .VERIFIED, method == nil || name.isEmpty {
                throw ValidationError("VERIFIED needs --method and --name")
            }
        }

        func run() async throws {
            var request = RecordEkycRequest()
            request.walletAccountID = id
            request.status = status.wire
            request.method = method?.wire ?? .unspecified
            request.nameKana = name
            if status == .VERIFIED {
                request.verifiedAtUnixMs = verifiedAtUnixMs ?? Int64(Date().timeIntervalSince1970 * 1000)
            }
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.recordEkyc, request, rows: walletRows)
        }
    }

    struct PhoneVerified: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "phone-verified", abstract: "Mark a wallet's phone number verified.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = MarkPhoneVerifiedRequest(walletAccountID: id, reason: why.reason)
            try await runAdmin(connection, AdminMethods.markPhoneVerified, request, rows: walletRows)
        }
    }

    struct LinkCode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link-code",
            abstract: "Issue a one-time link code (10 minutes); prints the code alone on its own line (SPEC §6).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String

        func run() async throws {
            try await runAdmin(connection) { client in
                let response = try await client.call(
                    AdminMethods.issueLinkCode, IssueLinkCodeRequest(walletAccountID: id))
                if connection.json {
                    printAdmin(response, json: true) { [] }
                } else {
                    // Scripts read this line: nothing else goes to stdout.
                    print(response.linkCode)
                }
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unlock linking for a wallet locked after five declined link attempts.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = WalletActionRequest(walletAccountID: id, reason: why.reason)
            try await runAdmin(connection, AdminMethods.unlockLinking, request, rows: walletRows)
        }
    }

    struct Unfreeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unfreeze charges to a wallet frozen by a FRAUD unlink, after review.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Wallet account id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = WalletActionRequest(walletAccountID: id, reason: why.reason)
            try await runAdmin(connection, AdminMethods.unfreezeCharges, request, rows: walletRows)
        }
    }
}

// MARK: - hold

struct AdminHoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Held charges: list, release (credit), reject.",
        subcommands: [List.self, Release.self, Reject.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open holds, oldest first.")
        @OptionGroup var connection: AdminConnectionOptions
        @Flag(help: "Include released and rejected holds.") var all = false

        func run() async throws {
            try await runAdmin(connection, AdminMethods.listHolds, ListHoldsRequest(includeResolved: all)) {
                holdRows($0.holds)
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release a held charge: credit the wallet once (releasing again changes nothing).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The held charge's id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = ReleaseHoldRequest(chargeID: id, reason: why.reason)
            try await runAdmin(connection, AdminMethods.releaseHold, request) {
                holdRows([$0])
            } then: { client, hold in
                if hold.state == .open { try await reportPendingApproval(client, subject: id) }
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reject a held charge: it reads DECLINED FRAUD_SUSPECTED, nothing is credited.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The held charge's id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            let request = RejectHoldRequest(chargeID: id, reason: why.reason)
            try await runAdmin(connection, AdminMethods.rejectHold, request) { holdRows([$0]) }
        }
    }
}
