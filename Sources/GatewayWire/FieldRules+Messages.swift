// The SPEC §2 field rules of each request message, run after decoding (hand-written beside the generated bindings
// in Generated/; field names come from each type's generated `Field`), and the few hand-written helpers of the
// generated types.

extension AuthMethod {
    /// Multi-factor means anything but a bare password (SPEC §2: `customer_auth` must be multi-factor).
    public var isMultiFactor: Bool {
        switch self {
        case .unspecified, .passwordOnly: return false
        case .smsOTP, .hardwareTokenOTP, .appPush, .jpkiMyNumberCard, .biometric: return true
        }
    }
}

// MARK: - bankgw.v1

extension LinkAccountRequest {
    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
        try FieldRules.linkCode(linkCode)
        try FieldRules.bankAccountToken(bankAccountToken)
        try FieldRules.kanaName(accountHolderKana, field: Field.accountHolderKana)
        if let customerAuth { try FieldRules.customerAuth(customerAuth) }
    }
}

extension ChargeRequest {
    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(linkID, field: Field.linkID)
        guard amountYen > 0 else {
            throw WireError(field: Field.amountYen, rule: .invalid("must be at least 1 yen, got \(amountYen)"))
        }
        if let customerAuth { try FieldRules.customerAuth(customerAuth) }
    }
}

extension ChargeResponse {
    /// The bytes the receipt signature covers (SPEC §5): this response's encoding with `receipt_signature` empty.
    public func receiptSignedBytes() throws(WireError) -> [UInt8] {
        var unsigned = self
        unsigned.receiptSignature = []
        return try unsigned.wireBytes()
    }
}

extension GetChargeRequest {
    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(originalRequestID, field: Field.originalRequestID)
    }
}

extension UnlinkRequest {
    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(linkID, field: Field.linkID)
        try FieldRules.freeText(reason, field: Field.reason, maxCharacters: FieldRules.maxReasonCharacters)
    }
}

// MARK: - grpc.health.v1

extension HealthCheckRequest {
    public func validate() throws(WireError) {
        try FieldRules.freeText(service, field: Field.service, maxCharacters: 256)
    }
}

// MARK: - bankgw.admin.v1

extension AdminBankProfile {
    public func validate() throws(WireError) {
        for (value, name) in [
            (maxChargeYen, Field.maxChargeYen), (maxDailyYenPerWallet, Field.maxDailyYenPerWallet),
            (maxMonthlyYenPerWallet, Field.maxMonthlyYenPerWallet), (newLinkMaxChargeYen, Field.newLinkMaxChargeYen),
            (newLinkCautionMs, Field.newLinkCautionMs), (maxRequestsPerSecond, Field.maxRequestsPerSecond),
        ] where value < 0 {
            throw WireError(field: "profile.\(name)", rule: .invalid("must not be negative"))
        }
        guard pinnedSPKISHA256.isEmpty || pinnedSPKISHA256.count == 32 else {
            throw WireError(
                field: "profile.\(Field.pinnedSPKISHA256)", rule: .invalid("must be empty or 32 bytes (SHA-256)"))
        }
    }
}

extension GetBankRequest {
    public func validate() throws(WireError) { try FieldRules.bankCode(bankCode, field: Field.bankCode) }
}

extension SetBankStateRequest {
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: Field.bankCode)
        guard operation != .unspecified else { throw WireError(field: Field.operation, rule: .missing) }
        guard state != .unspecified else { throw WireError(field: Field.state, rule: .missing) }
        try FieldRules.reason(reason)
    }
}

extension SetBankProfileRequest {
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: Field.bankCode)
        guard let profile else { throw WireError(field: Field.profile, rule: .missing) }
        try profile.validate()
        try FieldRules.reason(reason)
    }
}

extension SetPilotListRequest {
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: Field.bankCode)
        for (index, id) in walletAccountIDs.enumerated() {
            try FieldRules.walletAccountID(id, field: "\(Field.walletAccountIDs)[\(index)]")
        }
        try FieldRules.reason(reason)
    }
}

extension RecordConformanceRequest {
    public func validate() throws(WireError) {
        guard let record else { throw WireError(field: Field.record, rule: .missing) }
        typealias Record = ConformanceRecord.Field
        try FieldRules.bankCode(record.bankCode, field: "record.\(Record.bankCode)")
        guard record.casesPassed >= 0, record.casesFailed >= 0 else {
            throw WireError(field: "record.\(Record.casesPassed)", rule: .invalid("case counts must not be negative"))
        }
        guard record.reportSHA256Hex.utf8.count == 64,
            record.reportSHA256Hex.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit })
        else {
            throw WireError(
                field: "record.\(Record.reportSHA256Hex)",
                rule: .invalid("must be 64 hex digits (SHA-256 of the report)"))
        }
    }
}

extension RegisterWalletRequest {
    public func validate() throws(WireError) {
        if !walletAccountID.isEmpty { try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID) }
        try FieldRules.reason(reason)
    }
}

extension GetWalletRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
    }
}

extension RecordEkycRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
        guard status != .unspecified else { throw WireError(field: Field.status, rule: .missing) }
        if status == .verified {
            guard method != .unspecified else { throw WireError(field: Field.method, rule: .missing) }
            try FieldRules.kanaName(nameKana, field: Field.nameKana)
            guard verifiedAtUnixMs > 0 else { throw WireError(field: Field.verifiedAtUnixMs, rule: .missing) }
        }
        try FieldRules.reason(reason)
    }
}

extension MarkPhoneVerifiedRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
        try FieldRules.reason(reason)
    }
}

extension IssueLinkCodeRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
    }
}

extension WalletActionRequest {
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: Field.walletAccountID)
        try FieldRules.reason(reason)
    }
}

extension ReleaseHoldRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: Field.chargeID)
        try FieldRules.reason(reason)
    }
}

extension RejectHoldRequest {
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: Field.chargeID)
        try FieldRules.reason(reason)
    }
}
