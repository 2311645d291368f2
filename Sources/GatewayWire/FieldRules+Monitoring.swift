// The SPEC §8 request rules (alerts, block lists, approvals), beside the generated bindings.

extension AcknowledgeAlertRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: Field.alertID)
        try FieldRules.freeText(assignee, field: Field.assignee, maxCharacters: 128)
        try FieldRules.freeText(note, field: Field.note, maxCharacters: FieldRules.maxReasonCharacters)
    }
}

extension ResolveAlertRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: Field.alertID)
        guard !note.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) else {
            throw WireError(field: Field.note, rule: .missing)
        }
        try FieldRules.freeText(note, field: Field.note, maxCharacters: FieldRules.maxReasonCharacters)
    }
}

extension ConfirmSuspensionRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(alertID, field: Field.alertID)
        try FieldRules.reason(reason)
    }
}

extension BlockRequest {
    public func validate() throws(WireError) {
        try FieldRules.blockedValue(kind: kind, value: value, bankCode: bankCode)
        try FieldRules.reason(reason)
    }
}

extension UnblockRequest {
    public func validate() throws(WireError) {
        try FieldRules.blockedValue(kind: kind, value: value, bankCode: bankCode)
        try FieldRules.reason(reason)
    }
}

extension ApproveRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(approvalID, field: Field.approvalID)
        try FieldRules.reason(reason)
    }
}

extension DeclineRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(approvalID, field: Field.approvalID)
        try FieldRules.reason(reason)
    }
}

extension FieldRules {
    static func blockedValue(kind: BlockKind, value: String, bankCode: String) throws(WireError) {
        guard kind != .unspecified else { throw WireError(field: "kind", rule: .missing) }
        guard !value.isEmpty else { throw WireError(field: "value", rule: .missing) }
        try freeText(value, field: "value", maxCharacters: 256)
        if kind == .accountToken { try FieldRules.bankCode(bankCode, field: "bank_code") }
    }
}
