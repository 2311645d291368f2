// Swift value types for every message of Protos/ (SPEC §2). Field names follow the proto fields with units kept
// (`amountYen`, `sentAtUnixMs`). Decoding goes through protobuf-c (see `WireMessage`); request messages are
// validated against the SPEC field rules on decode, so a decoded request is well-formed.

// MARK: - bankgw.v1

public struct RequestHeader: Sendable, Hashable {
    /// 4 digits; must equal the bank in the client certificate.
    public var bankCode: String
    /// 1...64 of `[A-Za-z0-9._-]`; the idempotency key, unique per bank.
    public var requestID: String
    /// Must be within 300 s of the gateway's clock (checked by policy, not by the codec).
    public var sentAtUnixMs: Int64

    public init(bankCode: String = "", requestID: String = "", sentAtUnixMs: Int64 = 0) {
        self.bankCode = bankCode
        self.requestID = requestID
        self.sentAtUnixMs = sentAtUnixMs
    }
}

public struct CustomerAuth: Sendable, Hashable {
    public var method: AuthMethod
    public var authenticatedAtUnixMs: Int64
    public var authReference: String

    public init(method: AuthMethod = .unspecified, authenticatedAtUnixMs: Int64 = 0, authReference: String = "") {
        self.method = method
        self.authenticatedAtUnixMs = authenticatedAtUnixMs
        self.authReference = authReference
    }
}

public struct LinkAccountRequest: Sendable, Hashable {
    public var header: RequestHeader
    public var walletAccountID: String
    public var linkCode: String
    public var bankAccountToken: String
    public var accountHolderKana: String
    /// Absent on the wire decodes as `nil`; policy declines it as weak customer auth.
    public var customerAuth: CustomerAuth?

    public init(
        header: RequestHeader = .init(), walletAccountID: String = "", linkCode: String = "",
        bankAccountToken: String = "", accountHolderKana: String = "", customerAuth: CustomerAuth? = nil
    ) {
        self.header = header
        self.walletAccountID = walletAccountID
        self.linkCode = linkCode
        self.bankAccountToken = bankAccountToken
        self.accountHolderKana = accountHolderKana
        self.customerAuth = customerAuth
    }
}

public struct LinkAccountResponse: Sendable, Hashable {
    public var decision: Decision
    public var linkID: String
    public var declineReason: DeclineReason

    public init(decision: Decision = .unspecified, linkID: String = "", declineReason: DeclineReason = .unspecified) {
        self.decision = decision
        self.linkID = linkID
        self.declineReason = declineReason
    }
}

public struct ChargeRequest: Sendable, Hashable {
    public var header: RequestHeader
    public var linkID: String
    /// 1 ... the bank's per-charge limit.
    public var amountYen: Int64
    /// Required when the bank's profile says so.
    public var customerAuth: CustomerAuth?

    public init(header: RequestHeader = .init(), linkID: String = "", amountYen: Int64 = 0, customerAuth: CustomerAuth? = nil) {
        self.header = header
        self.linkID = linkID
        self.amountYen = amountYen
        self.customerAuth = customerAuth
    }
}

public struct ChargeResponse: Sendable, Hashable {
    public var decision: Decision
    public var chargeID: String
    public var declineReason: DeclineReason
    public var processedAtUnixMs: Int64
    /// ECDSA P-256/SHA-256 over this message's encoding with this field empty (SPEC §5).
    public var receiptSignature: [UInt8]
    /// What the receipt binds (SPEC §2/§5): the request it answers, for how much, and the signing key.
    public var requestID: String
    public var bankCode: String
    public var linkID: String
    public var amountYen: Int64
    /// Hex SHA-256 of the signing key's SubjectPublicKeyInfo, first 16 characters.
    public var receiptKeyID: String

    public init(
        decision: Decision = .unspecified, chargeID: String = "", declineReason: DeclineReason = .unspecified,
        processedAtUnixMs: Int64 = 0, receiptSignature: [UInt8] = [], requestID: String = "", bankCode: String = "",
        linkID: String = "", amountYen: Int64 = 0, receiptKeyID: String = ""
    ) {
        self.decision = decision
        self.chargeID = chargeID
        self.declineReason = declineReason
        self.processedAtUnixMs = processedAtUnixMs
        self.receiptSignature = receiptSignature
        self.requestID = requestID
        self.bankCode = bankCode
        self.linkID = linkID
        self.amountYen = amountYen
        self.receiptKeyID = receiptKeyID
    }
}

public struct GetChargeRequest: Sendable, Hashable {
    public var header: RequestHeader
    public var originalRequestID: String

    public init(header: RequestHeader = .init(), originalRequestID: String = "") {
        self.header = header
        self.originalRequestID = originalRequestID
    }
}

public struct UnlinkRequest: Sendable, Hashable {
    public var header: RequestHeader
    public var linkID: String
    /// Free text; a reason starting `FRAUD` freezes charges to the wallet (SPEC §4).
    public var reason: String

    public init(header: RequestHeader = .init(), linkID: String = "", reason: String = "") {
        self.header = header
        self.linkID = linkID
        self.reason = reason
    }
}

public struct UnlinkResponse: Sendable, Hashable {
    public var unlinked: Bool

    public init(unlinked: Bool = false) {
        self.unlinked = unlinked
    }
}

// MARK: - grpc.health.v1

public struct HealthCheckRequest: Sendable, Hashable {
    public var service: String

    public init(service: String = "") {
        self.service = service
    }
}

public struct HealthCheckResponse: Sendable, Hashable {
    public var status: ServingStatus

    public init(status: ServingStatus = .unknown) {
        self.status = status
    }
}
