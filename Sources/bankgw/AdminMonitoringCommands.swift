import ArgumentParser
import Foundation
import GatewayWire

// `bankgw admin alert|approval|block …` (SPEC §7, §8): the desk's alerts, four-eyes approvals and block lists.

extension AlertSeverity {
    var name: String { ["UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "CRITICAL"][Int(rawValue)] }
}
extension AlertState {
    var name: String { ["UNSPECIFIED", "OPEN", "ACKNOWLEDGED", "RESOLVED"][Int(rawValue)] }
}
extension ApprovalState {
    var name: String { ["UNSPECIFIED", "PENDING", "APPROVED", "DECLINED", "LAPSED"][Int(rawValue)] }
}
extension BlockKind {
    var name: String { ["UNSPECIFIED", "token", "wallet", "address"][Int(rawValue)] }
}

/// `OPEN|ACKNOWLEDGED|RESOLVED`.
enum AlertStateArgument: String, ExpressibleByArgument, CaseIterable {
    case OPEN, ACKNOWLEDGED, RESOLVED
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var wire: AlertState { [.open, .acknowledged, .resolved][Self.allCases.firstIndex(of: self)!] }
}

/// `LOW|MEDIUM|HIGH|CRITICAL`.
enum AlertSeverityArgument: String, ExpressibleByArgument, CaseIterable {
    case LOW, MEDIUM, HIGH, CRITICAL
    init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    var wire: AlertSeverity { [.low, .medium, .high, .critical][Self.allCases.firstIndex(of: self)!] }
}

/// `token|wallet|address`.
enum BlockKindArgument: String, ExpressibleByArgument, CaseIterable {
    case token, wallet, address
    var wire: BlockKind { [.accountToken, .wallet, .clientAddress][Self.allCases.firstIndex(of: self)!] }
}

func alertRows(_ alerts: [Alert]) -> [[String]] {
    [["ALERT", "RULE", "SEVERITY", "STATE", "SUBJECT", "BANK", "WALLET", "COUNT", "LAST SEEN", "ASSIGNEE", "DETAIL"]]
        + alerts.map { alert in
            [
                alert.alertID, alert.rule, alert.severity.name, alert.state.name, alert.subject,
                alert.bankCode.isEmpty ? "-" : alert.bankCode,
                alert.walletAccountID.isEmpty ? "-" : alert.walletAccountID, String(alert.count),
                formatUnixMs(alert.lastSeenUnixMs), alert.assignee.isEmpty ? "-" : alert.assignee,
                alert.detail
                    + (alert.proposedAction.isEmpty
                        ? "" : " [proposed: \(alert.proposedAction)\(alert.proposalConfirmed ? ", confirmed" : "")]"),
            ]
        }
}

func approvalRows(_ approvals: [Approval]) -> [[String]] {
    [["APPROVAL", "KIND", "STATE", "REQUESTED BY", "EXPIRES", "DECIDED BY", "SUMMARY", "RESULT"]]
        + approvals.map { approval in
            [
                approval.approvalID, approval.kind, approval.state.name, approval.requestedBy,
                formatUnixMs(approval.expiresAtUnixMs), approval.decidedBy.isEmpty ? "-" : approval.decidedBy,
                approval.summary, approval.result.isEmpty ? "-" : approval.result,
            ]
        }
}

func blockedRows(_ entries: [BlockedValue]) -> [[String]] {
    [["KIND", "VALUE", "BANK", "BLOCKED BY", "AT", "REASON"]]
        + entries.map { entry in
            [
                entry.kind.name, entry.value, entry.bankCode.isEmpty ? "-" : entry.bankCode, entry.blockedBy,
                formatUnixMs(entry.blockedAtUnixMs), entry.reason,
            ]
        }
}

/// Prints, on stderr, that an act is waiting for a second operator (four eyes), naming the approval.
func reportPendingApproval(_ client: AdminClient, subject: String) async throws {
    let pending = try await client.call(AdminMethods.listApprovals, ListApprovalsRequest())
    if let approval = pending.approvals.first(where: { $0.subject == subject }) {
        printError(
            "four eyes: \(approval.summary) waits for a second operator: "
                + "bankgw admin approval approve \(approval.approvalID) --reason TEXT (approval \(approval.approvalID))"
        )
    }
}

// MARK: - alert

struct AdminAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Monitoring alerts (SPEC §8): list, acknowledge, resolve, confirm a suspension.",
        subcommands: [List.self, Ack.self, Resolve.self, ConfirmSuspension.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Alerts, newest change first (default: OPEN and ACKNOWLEDGED).")
        @OptionGroup var connection: AdminConnectionOptions
        @Option(help: "OPEN, ACKNOWLEDGED or RESOLVED.") var state: AlertStateArgument?
        @Option(help: "LOW, MEDIUM, HIGH or CRITICAL.") var severity: AlertSeverityArgument?
        @Option(help: "A rule, e.g. bank.decline_burst.") var rule: String?
        @Option(help: "A 4-digit bank code.") var bank: String?
        @Option(help: "A wallet account id.") var wallet: String?

        func run() async throws {
            var request = ListAlertsRequest()
            request.state = state?.wire ?? .unspecified
            request.severity = severity?.wire ?? .unspecified
            request.rule = rule ?? ""
            request.bankCode = bank ?? ""
            request.walletAccountID = wallet ?? ""
            try await runAdmin(connection, AdminMethods.listAlerts, request) { alertRows($0.alerts) }
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge an alert (you, or --assignee, own it).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The alert's id.") var id: String
        @Option(help: "Who owns it (default: you).") var assignee: String?
        @Option(help: "A note for the alert's history.") var note: String?

        func run() async throws {
            var request = AcknowledgeAlertRequest()
            request.alertID = id
            request.assignee = assignee ?? ""
            request.note = note ?? ""
            try await runAdmin(connection, AdminMethods.acknowledgeAlert, request) { alertRows([$0]) }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an alert with a note (required).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The alert's id.") var id: String
        @Option(help: "What was found and done (required).") var note: String

        func validate() throws {
            guard !note.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--note is empty") }
        }

        func run() async throws {
            var request = ResolveAlertRequest()
            request.alertID = id
            request.note = note
            try await runAdmin(connection, AdminMethods.resolveAlert, request) { alertRows([$0]) }
        }
    }

    struct ConfirmSuspension: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm-suspension",
            abstract: "Confirm the bank suspension a bank.decline_burst alert proposes (link and charge SUSPENDED).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The alert's id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            var request = ConfirmSuspensionRequest()
            request.alertID = id
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.confirmSuspension, request) { bank in
                [
                    ["CODE", "NAME", "LINK", "CHARGE"],
                    [bank.bankCode, bank.name, bank.linkState.name, bank.chargeState.name],
                ]
            }
        }
    }
}

// MARK: - approval

struct AdminApprovalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approval",
        abstract: "Four eyes (SPEC §8): acts waiting for a second operator: list, approve, decline.",
        subcommands: [List.self, Approve.self, Decline.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending requests, newest first.")
        @OptionGroup var connection: AdminConnectionOptions
        @Flag(help: "Include approved, declined and lapsed requests.") var all = false

        func run() async throws {
            var request = ListApprovalsRequest()
            request.includeDecided = all
            try await runAdmin(connection, AdminMethods.listApprovals, request) { approvalRows($0.approvals) }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve (and so execute) a request; not your own (PERMISSION_DENIED).")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The approval's id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            var request = ApproveRequest()
            request.approvalID = id
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.approve, request) { approvalRows([$0]) }
        }
    }

    struct Decline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decline a request: nothing is done.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The approval's id.") var id: String
        @OptionGroup var why: ReasonOption

        func run() async throws {
            var request = DeclineRequest()
            request.approvalID = id
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.decline, request) { approvalRows([$0]) }
        }
    }
}

// MARK: - block

struct AdminBlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block",
        abstract: "Block lists (SPEC §8): bank account tokens, wallets, client addresses: add, remove, list.",
        subcommands: [Add.self, Remove.self, List.self])
    @OptionGroup(visibility: .hidden) var connection: AdminConnectionOptions

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Block a value: the next link or charge naming it is DECLINED FRAUD_SUSPECTED with an alert.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "token, wallet or address.") var kind: BlockKindArgument
        @Argument(help: "The token (kept only as a keyed hash), wallet id or IP address.") var value: String
        @Option(help: "The bank of a token (4 digits).") var bank: String?
        @OptionGroup var why: ReasonOption

        func validate() throws {
            if kind == .token, bank == nil { throw ValidationError("a token is blocked for one bank: --bank CODE") }
        }

        func run() async throws {
            var request = BlockRequest()
            request.kind = kind.wire
            request.value = value
            request.bankCode = bank ?? ""
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.block, request) { blockedRows([$0]) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a value from its block list.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "token, wallet or address.") var kind: BlockKindArgument
        @Argument(help: "As given to add (or a token's shown BANK:hash prefix).") var value: String
        @Option(help: "The bank of a token (4 digits).") var bank: String?
        @OptionGroup var why: ReasonOption

        func run() async throws {
            var request = UnblockRequest()
            request.kind = kind.wire
            request.value = value
            request.bankCode = bank ?? ""
            request.reason = why.reason
            try await runAdmin(connection, AdminMethods.unblock, request) { blockedRows([$0]) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Blocked values, newest first.")
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "Only this kind: token, wallet or address.") var kind: BlockKindArgument?

        func run() async throws {
            var request = ListBlockedRequest()
            request.kind = kind?.wire ?? .unspecified
            try await runAdmin(connection, AdminMethods.listBlocked, request) { blockedRows($0.entries) }
        }
    }
}
