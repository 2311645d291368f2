// protobuf-c bindings of the bankgw.v1 and grpc.health.v1 messages: field numbers as in Protos/.

extension RequestHeader: WireMessage {
    public static let protoName = "bankgw.v1.RequestHeader"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(bankCode: r.string(1), requestID: r.string(2), sentAtUnixMs: r.int64(3))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, requestID)
        w.set(3, sentAtUnixMs)
    }
}

extension CustomerAuth: WireMessage {
    public static let protoName = "bankgw.v1.CustomerAuth"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(method: try r.enumValue(1), authenticatedAtUnixMs: r.int64(2), authReference: r.string(3))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, method)
        w.set(2, authenticatedAtUnixMs)
        w.set(3, authReference)
    }
}

extension LinkAccountRequest: WireMessage {
    public static let protoName = "bankgw.v1.LinkAccountRequest"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        guard let header = try r.message(1, as: RequestHeader.self) else {
            throw WireError(field: "header", rule: .missing)
        }
        self.init(
            header: header, walletAccountID: r.string(2), linkCode: r.string(3), bankAccountToken: r.string(4),
            accountHolderKana: r.string(5), customerAuth: try r.message(6)
        )
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, header)
        w.set(2, walletAccountID)
        w.set(3, linkCode)
        w.set(4, bankAccountToken)
        w.set(5, accountHolderKana)
        w.set(6, customerAuth)
    }

    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id")
        try FieldRules.linkCode(linkCode)
        try FieldRules.bankAccountToken(bankAccountToken)
        try FieldRules.kanaName(accountHolderKana, field: "account_holder_kana")
        if let customerAuth { try FieldRules.customerAuth(customerAuth) }
    }
}

extension LinkAccountResponse: WireMessage {
    public static let protoName = "bankgw.v1.LinkAccountResponse"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(decision: try r.enumValue(1), linkID: r.string(2), declineReason: try r.enumValue(3))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, decision)
        w.set(2, linkID)
        w.set(3, declineReason)
    }
}

extension ChargeRequest: WireMessage {
    public static let protoName = "bankgw.v1.ChargeRequest"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        guard let header = try r.message(1, as: RequestHeader.self) else {
            throw WireError(field: "header", rule: .missing)
        }
        self.init(header: header, linkID: r.string(2), amountYen: r.int64(3), customerAuth: try r.message(4))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, header)
        w.set(2, linkID)
        w.set(3, amountYen)
        w.set(4, customerAuth)
    }

    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(linkID, field: "link_id")
        guard amountYen > 0 else { throw WireError(field: "amount_yen", rule: .invalid("must be at least 1 yen, got \(amountYen)")) }
        if let customerAuth { try FieldRules.customerAuth(customerAuth) }
    }
}

extension ChargeResponse: WireMessage {
    public static let protoName = "bankgw.v1.ChargeResponse"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(
            decision: try r.enumValue(1), chargeID: r.string(2), declineReason: try r.enumValue(3),
            processedAtUnixMs: r.int64(4), receiptSignature: r.bytes(5), requestID: r.string(6),
            bankCode: r.string(7), linkID: r.string(8), amountYen: r.int64(9), receiptKeyID: r.string(10)
        )
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, decision)
        w.set(2, chargeID)
        w.set(3, declineReason)
        w.set(4, processedAtUnixMs)
        w.set(5, receiptSignature)
        w.set(6, requestID)
        w.set(7, bankCode)
        w.set(8, linkID)
        w.set(9, amountYen)
        w.set(10, receiptKeyID)
    }

    /// The bytes the receipt signature covers (SPEC §5): this response's encoding with field 5 empty.
    public func receiptSignedBytes() throws(WireError) -> [UInt8] {
        var unsigned = self
        unsigned.receiptSignature = []
        return try unsigned.wireBytes()
    }
}

extension GetChargeRequest: WireMessage {
    public static let protoName = "bankgw.v1.GetChargeRequest"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        guard let header = try r.message(1, as: RequestHeader.self) else {
            throw WireError(field: "header", rule: .missing)
        }
        self.init(header: header, originalRequestID: r.string(2))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, header)
        w.set(2, originalRequestID)
    }

    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(originalRequestID, field: "original_request_id")
    }
}

extension UnlinkRequest: WireMessage {
    public static let protoName = "bankgw.v1.UnlinkRequest"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        guard let header = try r.message(1, as: RequestHeader.self) else {
            throw WireError(field: "header", rule: .missing)
        }
        self.init(header: header, linkID: r.string(2), reason: r.string(3))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, header)
        w.set(2, linkID)
        w.set(3, reason)
    }

    public func validate() throws(WireError) {
        try FieldRules.header(header)
        try FieldRules.identifier(linkID, field: "link_id")
        try FieldRules.freeText(reason, field: "reason", maxCharacters: FieldRules.maxReasonCharacters)
    }
}

extension UnlinkResponse: WireMessage {
    public static let protoName = "bankgw.v1.UnlinkResponse"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(unlinked: r.bool(1))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, unlinked)
    }
}

extension HealthCheckRequest: WireMessage {
    public static let protoName = "grpc.health.v1.HealthCheckRequest"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(service: r.string(1))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, service)
    }

    public func validate() throws(WireError) {
        try FieldRules.freeText(service, field: "service", maxCharacters: 256)
    }
}

extension HealthCheckResponse: WireMessage {
    public static let protoName = "grpc.health.v1.HealthCheckResponse"
    public static let descriptor = MessageDescriptor.named(protoName)

    public init(reading r: MessageReader) throws(WireError) {
        self.init(status: try r.enumValue(1))
    }

    public func write(to w: inout MessageWriter) {
        w.set(1, status)
    }
}
