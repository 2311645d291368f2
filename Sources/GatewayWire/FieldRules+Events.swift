// The SPEC field rules of the events branch's request messages (§2 WatchEvents, §9 reversals and compensation,
// spending), run after decoding, beside the generated bindings. Approve / Decline are §8's (FieldRules+Monitoring).

extension WatchEventsRequest {
    public func validate() throws(WireError) {
        try FieldRules.header(header)
    }
}

extension ReverseChargeRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: Field.chargeID)
        guard amountYen > 0 else {
            throw WireError(field: Field.amountYen, rule: .invalid("must be at least 1 yen, got \(amountYen)"))
        }
        try FieldRules.reason(reason)
    }
}

extension OpenCompensationCaseRequest {
    /// Most charges one case names: a victim's charges, not a bulk import. 1,000.
    public static let maxCharges = 1_000

    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: Field.bankCode)
        try FieldRules.bankAccountToken(bankAccountToken)
        guard !chargeIDs.isEmpty else { throw WireError(field: Field.chargeIDs, rule: .missing) }
        guard chargeIDs.count <= Self.maxCharges else {
            throw WireError(field: Field.chargeIDs, rule: .invalid("at most \(Self.maxCharges) charges per case"))
        }
        for (index, id) in chargeIDs.enumerated() {
            try FieldRules.identifier(id, field: "\(Field.chargeIDs)[\(index)]")
        }
        try FieldRules.reason(reason)
    }
}

extension PayCompensationRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(caseID, field: Field.caseID)
        try FieldRules.reason(reason)
    }
}

extension CloseCompensationCaseRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(caseID, field: Field.caseID)
        try FieldRules.reason(reason)
    }
}

extension RegisterMerchantRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(merchantID, field: Field.merchantID)
        guard !name.isEmpty else { throw WireError(field: Field.name, rule: .missing) }
        try FieldRules.freeText(name, field: Field.name, maxCharacters: FieldRules.maxReasonCharacters)
        try FieldRules.reason(reason)
    }
}

extension PayFromWalletRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
        try FieldRules.identifier(merchantID, field: Field.merchantID)
        guard amountYen > 0 else {
            throw WireError(field: Field.amountYen, rule: .invalid("must be at least 1 yen, got \(amountYen)"))
        }
        try FieldRules.freeText(reference, field: Field.reference, maxCharacters: FieldRules.maxReasonCharacters)
        try FieldRules.reason(reason)
    }
}
