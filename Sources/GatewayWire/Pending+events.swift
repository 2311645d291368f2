// Hand-written bindings of the events branch's new messages (SPEC §2 WatchEvents, §9 reversals and compensation),
// following the conventions of Messages.swift / AdminMessages.swift until the generated bindings (wiregen) land;
// then this file is deleted and the generated types (same names) take over.

/// What a `BankEvent` reports (`bankgw.v1.EventType`).
public enum EventType: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case linkCreated = 1
    case linkRemoved = 2
    case chargeHeld = 3
    case chargeReleased = 4
    case chargeRejected = 5
    case chargeReversed = 6
    case compensationPaid = 7
    case bankStateChanged = 8
    case walletFrozen = 9
}

/// Lifecycle of a four-eyes request (`bankgw.admin.v1.Approval.State`).
public enum ApprovalState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case pending = 1
    /// Executed in the transaction that approved it.
    case approved = 2
    case declined = 3
    /// Nobody approved it within 24 h.
    case lapsed = 4
}

/// Lifecycle of a compensation case (`bankgw.admin.v1.CompensationCase.State`).
public enum CompensationCaseState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case open = 1
    case paid = 2
    case closed = 3
}

public struct WatchEventsRequest: Sendable, Hashable {
    public var header: RequestHeader?
    public var afterSequence: UInt64 = 0
    public init(header: RequestHeader? = nil, afterSequence: UInt64 = 0) {
        self.header = header
        self.afterSequence = afterSequence
    }
}

public struct BankEvent: Sendable, Hashable {
    public var sequence: UInt64 = 0
    public var occurredAtUnixMs: Int64 = 0
    public var type: EventType = .unspecified
    public var linkID = ""
    public var chargeID = ""
    public var requestID = ""
    public var amountYen: Int64 = 0
    public var reason = ""
    public init(
        sequence: UInt64 = 0, occurredAtUnixMs: Int64 = 0, type: EventType = .unspecified, linkID: String = "",
        chargeID: String = "", requestID: String = "", amountYen: Int64 = 0, reason: String = ""
    ) {
        self.sequence = sequence
        self.occurredAtUnixMs = occurredAtUnixMs
        self.type = type
        self.linkID = linkID
        self.chargeID = chargeID
        self.requestID = requestID
        self.amountYen = amountYen
        self.reason = reason
    }
}

public struct Approval: Sendable, Hashable {
    public var approvalID = ""
    public var kind = ""
    public var summary = ""
    public var reason = ""
    public var requestedBy = ""
    public var requestedAtUnixMs: Int64 = 0
    public var expiresAtUnixMs: Int64 = 0
    public var state: ApprovalState = .unspecified
    public var decidedBy = ""
    public var decidedAtUnixMs: Int64 = 0
    public var decisionReason = ""
    public var result = ""
    public init(
        approvalID: String = "", kind: String = "", summary: String = "", reason: String = "", requestedBy: String = "",
        requestedAtUnixMs: Int64 = 0, expiresAtUnixMs: Int64 = 0, state: ApprovalState = .unspecified,
        decidedBy: String = "", decidedAtUnixMs: Int64 = 0, decisionReason: String = "", result: String = ""
    ) {
        self.approvalID = approvalID
        self.kind = kind
        self.summary = summary
        self.reason = reason
        self.requestedBy = requestedBy
        self.requestedAtUnixMs = requestedAtUnixMs
        self.expiresAtUnixMs = expiresAtUnixMs
        self.state = state
        self.decidedBy = decidedBy
        self.decidedAtUnixMs = decidedAtUnixMs
        self.decisionReason = decisionReason
        self.result = result
    }
}

public struct ReverseChargeRequest: Sendable, Hashable {
    public var chargeID = ""
    public var amountYen: Int64 = 0
    public var reason = ""
    public var keepChargesOpen = false
    public init(chargeID: String = "", amountYen: Int64 = 0, reason: String = "", keepChargesOpen: Bool = false) {
        self.chargeID = chargeID
        self.amountYen = amountYen
        self.reason = reason
        self.keepChargesOpen = keepChargesOpen
    }
}

public struct ListApprovalsRequest: Sendable, Hashable {
    public var includeDecided = false
    public init(includeDecided: Bool = false) {
        self.includeDecided = includeDecided
    }
}

public struct ListApprovalsResponse: Sendable, Hashable {
    public var approvals: [Approval] = []
    public init(approvals: [Approval] = []) {
        self.approvals = approvals
    }
}

public struct ApproveRequest: Sendable, Hashable {
    public var approvalID = ""
    public var reason = ""
    public init(approvalID: String = "", reason: String = "") {
        self.approvalID = approvalID
        self.reason = reason
    }
}

public struct DeclineRequest: Sendable, Hashable {
    public var approvalID = ""
    public var reason = ""
    public init(approvalID: String = "", reason: String = "") {
        self.approvalID = approvalID
        self.reason = reason
    }
}

public struct Reversal: Sendable, Hashable {
    public var reversalID = ""
    public var chargeID = ""
    public var amountYen: Int64 = 0
    public var fromWalletYen: Int64 = 0
    public var fromCompensationYen: Int64 = 0
    public var reason = ""
    public var requestedBy = ""
    public var approvedBy = ""
    public var createdAtUnixMs: Int64 = 0
    public var caseID = ""
    public init(
        reversalID: String = "", chargeID: String = "", amountYen: Int64 = 0, fromWalletYen: Int64 = 0,
        fromCompensationYen: Int64 = 0, reason: String = "", requestedBy: String = "", approvedBy: String = "",
        createdAtUnixMs: Int64 = 0, caseID: String = ""
    ) {
        self.reversalID = reversalID
        self.chargeID = chargeID
        self.amountYen = amountYen
        self.fromWalletYen = fromWalletYen
        self.fromCompensationYen = fromCompensationYen
        self.reason = reason
        self.requestedBy = requestedBy
        self.approvedBy = approvedBy
        self.createdAtUnixMs = createdAtUnixMs
        self.caseID = caseID
    }
}

public struct CompensationCase: Sendable, Hashable {
    public var caseID = ""
    public var bankCode = ""
    public var bankAccountToken = ""
    public var state: CompensationCaseState = .unspecified
    public var chargeIDs: [String] = []
    public var chargedYen: Int64 = 0
    public var reversedFromWalletsYen: Int64 = 0
    public var paidFromCompensationYen: Int64 = 0
    public var reason = ""
    public var openedBy = ""
    public var openedAtUnixMs: Int64 = 0
    public var paidAtUnixMs: Int64 = 0
    public var closedAtUnixMs: Int64 = 0
    public var reversals: [Reversal] = []
    public init(
        caseID: String = "", bankCode: String = "", bankAccountToken: String = "",
        state: CompensationCaseState = .unspecified, chargeIDs: [String] = [], chargedYen: Int64 = 0,
        reversedFromWalletsYen: Int64 = 0, paidFromCompensationYen: Int64 = 0, reason: String = "",
        openedBy: String = "", openedAtUnixMs: Int64 = 0, paidAtUnixMs: Int64 = 0, closedAtUnixMs: Int64 = 0,
        reversals: [Reversal] = []
    ) {
        self.caseID = caseID
        self.bankCode = bankCode
        self.bankAccountToken = bankAccountToken
        self.state = state
        self.chargeIDs = chargeIDs
        self.chargedYen = chargedYen
        self.reversedFromWalletsYen = reversedFromWalletsYen
        self.paidFromCompensationYen = paidFromCompensationYen
        self.reason = reason
        self.openedBy = openedBy
        self.openedAtUnixMs = openedAtUnixMs
        self.paidAtUnixMs = paidAtUnixMs
        self.closedAtUnixMs = closedAtUnixMs
        self.reversals = reversals
    }
}

public struct OpenCompensationCaseRequest: Sendable, Hashable {
    public var bankCode = ""
    public var bankAccountToken = ""
    public var chargeIDs: [String] = []
    public var reason = ""
    public init(bankCode: String = "", bankAccountToken: String = "", chargeIDs: [String] = [], reason: String = "") {
        self.bankCode = bankCode
        self.bankAccountToken = bankAccountToken
        self.chargeIDs = chargeIDs
        self.reason = reason
    }
}

public struct PayCompensationRequest: Sendable, Hashable {
    public var caseID = ""
    public var reason = ""
    public init(caseID: String = "", reason: String = "") {
        self.caseID = caseID
        self.reason = reason
    }
}

public struct CloseCompensationCaseRequest: Sendable, Hashable {
    public var caseID = ""
    public var reason = ""
    public init(caseID: String = "", reason: String = "") {
        self.caseID = caseID
        self.reason = reason
    }
}

public struct ListCompensationCasesRequest: Sendable, Hashable {
    public init() {}
}

public struct ListCompensationCasesResponse: Sendable, Hashable {
    public var cases: [CompensationCase] = []
    public init(cases: [CompensationCase] = []) {
        self.cases = cases
    }
}

public struct Merchant: Sendable, Hashable {
    public var merchantID = ""
    public var name = ""
    public var balanceYen: Int64 = 0
    public init(merchantID: String = "", name: String = "", balanceYen: Int64 = 0) {
        self.merchantID = merchantID
        self.name = name
        self.balanceYen = balanceYen
    }
}

public struct RegisterMerchantRequest: Sendable, Hashable {
    public var merchantID = ""
    public var name = ""
    public var reason = ""
    public init(merchantID: String = "", name: String = "", reason: String = "") {
        self.merchantID = merchantID
        self.name = name
        self.reason = reason
    }
}

public struct PayFromWalletRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public var merchantID = ""
    public var amountYen: Int64 = 0
    public var reference = ""
    public var reason = ""
    public init(
        walletAccountID: String = "", merchantID: String = "", amountYen: Int64 = 0, reference: String = "",
        reason: String = ""
    ) {
        self.walletAccountID = walletAccountID
        self.merchantID = merchantID
        self.amountYen = amountYen
        self.reference = reference
        self.reason = reason
    }
}

public struct WalletPayment: Sendable, Hashable {
    public var paymentID = ""
    public var walletAccountID = ""
    public var merchantID = ""
    public var amountYen: Int64 = 0
    public var walletBalanceYen: Int64 = 0
    public var paidAtUnixMs: Int64 = 0
    public init(
        paymentID: String = "", walletAccountID: String = "", merchantID: String = "", amountYen: Int64 = 0,
        walletBalanceYen: Int64 = 0, paidAtUnixMs: Int64 = 0
    ) {
        self.paymentID = paymentID
        self.walletAccountID = walletAccountID
        self.merchantID = merchantID
        self.amountYen = amountYen
        self.walletBalanceYen = walletBalanceYen
        self.paidAtUnixMs = paidAtUnixMs
    }
}

// MARK: - protobuf-c bindings

extension WatchEventsRequest: WireMessage {
    public static let protoName = "bankgw.v1.WatchEventsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        header = try r.message(1)
        afterSequence = r.uint64(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, header)
        w.set(2, afterSequence)
    }
    public func validate() throws(WireError) {
        guard let header else { throw WireError(field: "header", rule: .missing) }
        try FieldRules.header(header)
    }
}

extension BankEvent: WireMessage {
    public static let protoName = "bankgw.v1.BankEvent"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        sequence = r.uint64(1)
        occurredAtUnixMs = r.int64(2)
        type = try r.enumValue(3)
        linkID = r.string(4)
        chargeID = r.string(5)
        requestID = r.string(6)
        amountYen = r.int64(7)
        reason = r.string(8)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, sequence)
        w.set(2, occurredAtUnixMs)
        w.set(3, type)
        w.set(4, linkID)
        w.set(5, chargeID)
        w.set(6, requestID)
        w.set(7, amountYen)
        w.set(8, reason)
    }
}

extension Approval: WireMessage {
    public static let protoName = "bankgw.admin.v1.Approval"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        approvalID = r.string(1)
        kind = r.string(2)
        summary = r.string(3)
        reason = r.string(4)
        requestedBy = r.string(5)
        requestedAtUnixMs = r.int64(6)
        expiresAtUnixMs = r.int64(7)
        state = try r.enumValue(8)
        decidedBy = r.string(9)
        decidedAtUnixMs = r.int64(10)
        decisionReason = r.string(11)
        result = r.string(12)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvalID)
        w.set(2, kind)
        w.set(3, summary)
        w.set(4, reason)
        w.set(5, requestedBy)
        w.set(6, requestedAtUnixMs)
        w.set(7, expiresAtUnixMs)
        w.set(8, state)
        w.set(9, decidedBy)
        w.set(10, decidedAtUnixMs)
        w.set(11, decisionReason)
        w.set(12, result)
    }
}

extension ReverseChargeRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ReverseChargeRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        chargeID = r.string(1)
        amountYen = r.int64(2)
        reason = r.string(3)
        keepChargesOpen = r.bool(4)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, chargeID)
        w.set(2, amountYen)
        w.set(3, reason)
        w.set(4, keepChargesOpen)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: "charge_id")
        guard amountYen > 0 else {
            throw WireError(field: "amount_yen", rule: .invalid("must be at least 1 yen, got \(amountYen)"))
        }
        try FieldRules.reason(reason)
    }
}

extension ListApprovalsRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListApprovalsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        includeDecided = r.bool(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, includeDecided)
    }
}

extension ListApprovalsResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListApprovalsResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        approvals = try r.repeatedMessages(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvals)
    }
}

extension ApproveRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ApproveRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        approvalID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvalID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(approvalID, field: "approval_id")
        try FieldRules.reason(reason)
    }
}

extension DeclineRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.DeclineRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        approvalID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvalID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(approvalID, field: "approval_id")
        try FieldRules.reason(reason)
    }
}

extension Reversal: WireMessage {
    public static let protoName = "bankgw.admin.v1.Reversal"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        reversalID = r.string(1)
        chargeID = r.string(2)
        amountYen = r.int64(3)
        fromWalletYen = r.int64(4)
        fromCompensationYen = r.int64(5)
        reason = r.string(6)
        requestedBy = r.string(7)
        approvedBy = r.string(8)
        createdAtUnixMs = r.int64(9)
        caseID = r.string(10)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, reversalID)
        w.set(2, chargeID)
        w.set(3, amountYen)
        w.set(4, fromWalletYen)
        w.set(5, fromCompensationYen)
        w.set(6, reason)
        w.set(7, requestedBy)
        w.set(8, approvedBy)
        w.set(9, createdAtUnixMs)
        w.set(10, caseID)
    }
}

extension CompensationCase: WireMessage {
    public static let protoName = "bankgw.admin.v1.CompensationCase"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        caseID = r.string(1)
        bankCode = r.string(2)
        bankAccountToken = r.string(3)
        state = try r.enumValue(4)
        chargeIDs = r.repeatedStrings(5)
        chargedYen = r.int64(6)
        reversedFromWalletsYen = r.int64(7)
        paidFromCompensationYen = r.int64(8)
        reason = r.string(9)
        openedBy = r.string(10)
        openedAtUnixMs = r.int64(11)
        paidAtUnixMs = r.int64(12)
        closedAtUnixMs = r.int64(13)
        reversals = try r.repeatedMessages(14)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, caseID)
        w.set(2, bankCode)
        w.set(3, bankAccountToken)
        w.set(4, state)
        w.set(5, chargeIDs)
        w.set(6, chargedYen)
        w.set(7, reversedFromWalletsYen)
        w.set(8, paidFromCompensationYen)
        w.set(9, reason)
        w.set(10, openedBy)
        w.set(11, openedAtUnixMs)
        w.set(12, paidAtUnixMs)
        w.set(13, closedAtUnixMs)
        w.set(14, reversals)
    }
}

extension OpenCompensationCaseRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.OpenCompensationCaseRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        bankCode = r.string(1)
        bankAccountToken = r.string(2)
        chargeIDs = r.repeatedStrings(3)
        reason = r.string(4)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, bankAccountToken)
        w.set(3, chargeIDs)
        w.set(4, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: "bank_code")
        try FieldRules.bankAccountToken(bankAccountToken)
        guard !chargeIDs.isEmpty else { throw WireError(field: "charge_ids", rule: .missing) }
        for (index, id) in chargeIDs.enumerated() { try FieldRules.identifier(id, field: "charge_ids[\(index)]") }
        try FieldRules.reason(reason)
    }
}

extension PayCompensationRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.PayCompensationRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        caseID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, caseID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(caseID, field: "case_id")
        try FieldRules.reason(reason)
    }
}

extension CloseCompensationCaseRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.CloseCompensationCaseRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        caseID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, caseID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(caseID, field: "case_id")
        try FieldRules.reason(reason)
    }
}

extension ListCompensationCasesRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListCompensationCasesRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {}
    public func write(to w: inout MessageWriter) {}
}

extension ListCompensationCasesResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListCompensationCasesResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        cases = try r.repeatedMessages(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, cases)
    }
}

extension Merchant: WireMessage {
    public static let protoName = "bankgw.admin.v1.Merchant"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        merchantID = r.string(1)
        name = r.string(2)
        balanceYen = r.int64(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, merchantID)
        w.set(2, name)
        w.set(3, balanceYen)
    }
}

extension RegisterMerchantRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.RegisterMerchantRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        merchantID = r.string(1)
        name = r.string(2)
        reason = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, merchantID)
        w.set(2, name)
        w.set(3, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(merchantID, field: "merchant_id")
        try FieldRules.freeText(name, field: "name", maxCharacters: FieldRules.maxReasonCharacters)
        guard !name.isEmpty else { throw WireError(field: "name", rule: .missing) }
        try FieldRules.reason(reason)
    }
}

extension PayFromWalletRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.PayFromWalletRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        walletAccountID = r.string(1)
        merchantID = r.string(2)
        amountYen = r.int64(3)
        reference = r.string(4)
        reason = r.string(5)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, merchantID)
        w.set(3, amountYen)
        w.set(4, reference)
        w.set(5, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id")
        try FieldRules.identifier(merchantID, field: "merchant_id")
        guard amountYen > 0 else {
            throw WireError(field: "amount_yen", rule: .invalid("must be at least 1 yen, got \(amountYen)"))
        }
        try FieldRules.freeText(reference, field: "reference", maxCharacters: FieldRules.maxReasonCharacters)
        try FieldRules.reason(reason)
    }
}

extension WalletPayment: WireMessage {
    public static let protoName = "bankgw.admin.v1.WalletPayment"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        self.init()
        paymentID = r.string(1)
        walletAccountID = r.string(2)
        merchantID = r.string(3)
        amountYen = r.int64(4)
        walletBalanceYen = r.int64(5)
        paidAtUnixMs = r.int64(6)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, paymentID)
        w.set(2, walletAccountID)
        w.set(3, merchantID)
        w.set(4, amountYen)
        w.set(5, walletBalanceYen)
        w.set(6, paidAtUnixMs)
    }
}

