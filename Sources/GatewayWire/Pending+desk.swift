// Hand-written bindings of the SPEC §8 monitoring messages of bankgw.admin.v1 (alerts, block lists, approvals),
// following the conventions of AdminMessages.swift, until the generated bindings (wiregen) replace them: then this
// file is deleted. Generated from a field list by a throwaway script; keep in step with admin.proto.

/// `bankgw.admin.v1.AlertSeverity`.
public enum AlertSeverity: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case low = 1
    case medium = 2
    case high = 3
    case critical = 4
}

/// `bankgw.admin.v1.AlertState`: OPEN → ACKNOWLEDGED → RESOLVED.
public enum AlertState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case open = 1
    /// Someone is on it (the assignee).
    case acknowledged = 2
    /// With a note; the rule firing again on the subject opens a new alert.
    case resolved = 3
}

/// `bankgw.admin.v1.AlertSubjectKind`.
public enum AlertSubjectKind: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case bank = 1
    case wallet = 2
    case link = 3
    case accountToken = 4
    case clientAddress = 5
}

/// `bankgw.admin.v1.BlockKind`.
public enum BlockKind: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// Kept only as a keyed hash.
    case accountToken = 1
    case wallet = 2
    case clientAddress = 3
}

/// `bankgw.admin.v1.ApprovalState`.
public enum ApprovalState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// Waiting for a second operator.
    case pending = 1
    /// Executed when approved.
    case approved = 2
    case declined = 3
    /// Nobody approved within the lapse time: nothing done.
    case lapsed = 4
}

public struct AlertNote: Sendable, Hashable {
    public var atUnixMs: Int64 = 0
    public var operatorName: String = ""
    public var text: String = ""
    public init() {}
}

extension AlertNote: WireMessage {
    public static let protoName = "bankgw.admin.v1.AlertNote"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        atUnixMs = r.int64(1)
        operatorName = r.string(2)
        text = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, atUnixMs)
        w.set(2, operatorName)
        w.set(3, text)
    }
}

public struct Alert: Sendable, Hashable {
    public var alertID: String = ""
    public var rule: String = ""
    public var severity: AlertSeverity = .unspecified
    public var subjectKind: AlertSubjectKind = .unspecified
    public var subject: String = ""
    public var bankCode: String = ""
    public var walletAccountID: String = ""
    public var firstSeenUnixMs: Int64 = 0
    public var lastSeenUnixMs: Int64 = 0
    public var count: Int64 = 0
    public var state: AlertState = .unspecified
    public var assignee: String = ""
    public var notes: [AlertNote] = []
    public var chargeIDs: [String] = []
    public var holdIDs: [String] = []
    public var detail: String = ""
    public var proposedAction: String = ""
    public var proposalConfirmed: Bool = false
    public var changeSequence: Int64 = 0
    public init() {}
}

extension Alert: WireMessage {
    public static let protoName = "bankgw.admin.v1.Alert"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        alertID = r.string(1)
        rule = r.string(2)
        severity = try r.enumValue(3)
        subjectKind = try r.enumValue(4)
        subject = r.string(5)
        bankCode = r.string(6)
        walletAccountID = r.string(7)
        firstSeenUnixMs = r.int64(8)
        lastSeenUnixMs = r.int64(9)
        count = r.int64(10)
        state = try r.enumValue(11)
        assignee = r.string(12)
        notes = try r.repeatedMessages(13)
        chargeIDs = r.repeatedStrings(14)
        holdIDs = r.repeatedStrings(15)
        detail = r.string(16)
        proposedAction = r.string(17)
        proposalConfirmed = r.bool(18)
        changeSequence = r.int64(19)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, alertID)
        w.set(2, rule)
        w.set(3, severity)
        w.set(4, subjectKind)
        w.set(5, subject)
        w.set(6, bankCode)
        w.set(7, walletAccountID)
        w.set(8, firstSeenUnixMs)
        w.set(9, lastSeenUnixMs)
        w.set(10, count)
        w.set(11, state)
        w.set(12, assignee)
        w.set(13, notes)
        w.set(14, chargeIDs)
        w.set(15, holdIDs)
        w.set(16, detail)
        w.set(17, proposedAction)
        w.set(18, proposalConfirmed)
        w.set(19, changeSequence)
    }
}

public struct ListAlertsRequest: Sendable, Hashable {
    public var state: AlertState = .unspecified
    public var severity: AlertSeverity = .unspecified
    public var rule: String = ""
    public var bankCode: String = ""
    public var walletAccountID: String = ""
    public init() {}
}

extension ListAlertsRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListAlertsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        state = try r.enumValue(1)
        severity = try r.enumValue(2)
        rule = r.string(3)
        bankCode = r.string(4)
        walletAccountID = r.string(5)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, state)
        w.set(2, severity)
        w.set(3, rule)
        w.set(4, bankCode)
        w.set(5, walletAccountID)
    }
}

public struct ListAlertsResponse: Sendable, Hashable {
    public var alerts: [Alert] = []
    public init() {}
}

extension ListAlertsResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListAlertsResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        alerts = try r.repeatedMessages(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, alerts)
    }
}

public struct WatchAlertsRequest: Sendable, Hashable {
    public init() {}
}

extension WatchAlertsRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.WatchAlertsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {}
    public func write(to w: inout MessageWriter) {}
}

public struct AcknowledgeAlertRequest: Sendable, Hashable {
    public var alertID: String = ""
    public var assignee: String = ""
    public var note: String = ""
    public init() {}
}

extension AcknowledgeAlertRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.AcknowledgeAlertRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        alertID = r.string(1)
        assignee = r.string(2)
        note = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, alertID)
        w.set(2, assignee)
        w.set(3, note)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: "alert_id")
        try FieldRules.freeText(assignee, field: "assignee", maxCharacters: 128)
        try FieldRules.freeText(note, field: "note", maxCharacters: FieldRules.maxReasonCharacters)
    }
}

public struct ResolveAlertRequest: Sendable, Hashable {
    public var alertID: String = ""
    public var note: String = ""
    public init() {}
}

extension ResolveAlertRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ResolveAlertRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        alertID = r.string(1)
        note = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, alertID)
        w.set(2, note)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: "alert_id")
        guard !note.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) else {
            throw WireError(field: "note", rule: .missing)
        }
        try FieldRules.freeText(note, field: "note", maxCharacters: FieldRules.maxReasonCharacters)
    }
}

public struct ConfirmSuspensionRequest: Sendable, Hashable {
    public var alertID: String = ""
    public var reason: String = ""
    public init() {}
}

extension ConfirmSuspensionRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ConfirmSuspensionRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        alertID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, alertID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: "alert_id")
        try FieldRules.reason(reason)
    }
}

public struct BlockedValue: Sendable, Hashable {
    public var kind: BlockKind = .unspecified
    public var value: String = ""
    public var bankCode: String = ""
    public var reason: String = ""
    public var blockedBy: String = ""
    public var blockedAtUnixMs: Int64 = 0
    public init() {}
}

extension BlockedValue: WireMessage {
    public static let protoName = "bankgw.admin.v1.BlockedValue"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        kind = try r.enumValue(1)
        value = r.string(2)
        bankCode = r.string(3)
        reason = r.string(4)
        blockedBy = r.string(5)
        blockedAtUnixMs = r.int64(6)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, kind)
        w.set(2, value)
        w.set(3, bankCode)
        w.set(4, reason)
        w.set(5, blockedBy)
        w.set(6, blockedAtUnixMs)
    }
}

public struct ListBlockedRequest: Sendable, Hashable {
    public var kind: BlockKind = .unspecified
    public init() {}
}

extension ListBlockedRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListBlockedRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        kind = try r.enumValue(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, kind)
    }
}

public struct ListBlockedResponse: Sendable, Hashable {
    public var entries: [BlockedValue] = []
    public init() {}
}

extension ListBlockedResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListBlockedResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        entries = try r.repeatedMessages(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, entries)
    }
}

public struct BlockRequest: Sendable, Hashable {
    public var kind: BlockKind = .unspecified
    public var value: String = ""
    public var bankCode: String = ""
    public var reason: String = ""
    public init() {}
}

extension BlockRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.BlockRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        kind = try r.enumValue(1)
        value = r.string(2)
        bankCode = r.string(3)
        reason = r.string(4)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, kind)
        w.set(2, value)
        w.set(3, bankCode)
        w.set(4, reason)
    }
    public func validate() throws(WireError) {
        guard kind != .unspecified else { throw WireError(field: "kind", rule: .missing) }
        guard !value.isEmpty else { throw WireError(field: "value", rule: .missing) }
        try FieldRules.freeText(value, field: "value", maxCharacters: 256)
        if kind == .accountToken { try FieldRules.bankCode(bankCode, field: "bank_code") }
        try FieldRules.reason(reason)
    }
}

public struct UnblockRequest: Sendable, Hashable {
    public var kind: BlockKind = .unspecified
    public var value: String = ""
    public var bankCode: String = ""
    public var reason: String = ""
    public init() {}
}

extension UnblockRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.UnblockRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        kind = try r.enumValue(1)
        value = r.string(2)
        bankCode = r.string(3)
        reason = r.string(4)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, kind)
        w.set(2, value)
        w.set(3, bankCode)
        w.set(4, reason)
    }
    public func validate() throws(WireError) {
        guard kind != .unspecified else { throw WireError(field: "kind", rule: .missing) }
        guard !value.isEmpty else { throw WireError(field: "value", rule: .missing) }
        try FieldRules.freeText(value, field: "value", maxCharacters: 256)
        if kind == .accountToken { try FieldRules.bankCode(bankCode, field: "bank_code") }
        try FieldRules.reason(reason)
    }
}

public struct Approval: Sendable, Hashable {
    public var approvalID: String = ""
    public var kind: String = ""
    public var subject: String = ""
    public var summary: String = ""
    public var payloadJSON: String = ""
    public var requestedBy: String = ""
    public var requestReason: String = ""
    public var requestedAtUnixMs: Int64 = 0
    public var expiresAtUnixMs: Int64 = 0
    public var state: ApprovalState = .unspecified
    public var decidedBy: String = ""
    public var decidedAtUnixMs: Int64 = 0
    public var decisionReason: String = ""
    public var result: String = ""
    public init() {}
}

extension Approval: WireMessage {
    public static let protoName = "bankgw.admin.v1.Approval"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        approvalID = r.string(1)
        kind = r.string(2)
        subject = r.string(3)
        summary = r.string(4)
        payloadJSON = r.string(5)
        requestedBy = r.string(6)
        requestReason = r.string(7)
        requestedAtUnixMs = r.int64(8)
        expiresAtUnixMs = r.int64(9)
        state = try r.enumValue(10)
        decidedBy = r.string(11)
        decidedAtUnixMs = r.int64(12)
        decisionReason = r.string(13)
        result = r.string(14)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvalID)
        w.set(2, kind)
        w.set(3, subject)
        w.set(4, summary)
        w.set(5, payloadJSON)
        w.set(6, requestedBy)
        w.set(7, requestReason)
        w.set(8, requestedAtUnixMs)
        w.set(9, expiresAtUnixMs)
        w.set(10, state)
        w.set(11, decidedBy)
        w.set(12, decidedAtUnixMs)
        w.set(13, decisionReason)
        w.set(14, result)
    }
}

public struct ListApprovalsRequest: Sendable, Hashable {
    public var includeDecided: Bool = false
    public init() {}
}

extension ListApprovalsRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListApprovalsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        includeDecided = r.bool(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, includeDecided)
    }
}

public struct ListApprovalsResponse: Sendable, Hashable {
    public var approvals: [Approval] = []
    public init() {}
}

extension ListApprovalsResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListApprovalsResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        approvals = try r.repeatedMessages(1)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, approvals)
    }
}

public struct ApproveRequest: Sendable, Hashable {
    public var approvalID: String = ""
    public var reason: String = ""
    public init() {}
}

extension ApproveRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ApproveRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
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

public struct DeclineRequest: Sendable, Hashable {
    public var approvalID: String = ""
    public var reason: String = ""
    public init() {}
}

extension DeclineRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.DeclineRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
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

extension WireJSON {
    /// The §8 types for `WireJSON.types` (until generated bindings list every type).
    static let pendingDeskTypes: [any WireMessage.Type] = [
        AlertNote.self, Alert.self, ListAlertsRequest.self, ListAlertsResponse.self, WatchAlertsRequest.self,
        AcknowledgeAlertRequest.self, ResolveAlertRequest.self, ConfirmSuspensionRequest.self, BlockedValue.self,
        ListBlockedRequest.self, ListBlockedResponse.self, BlockRequest.self, UnblockRequest.self, Approval.self,
        ListApprovalsRequest.self, ListApprovalsResponse.self, ApproveRequest.self, DeclineRequest.self,
    ]
}
