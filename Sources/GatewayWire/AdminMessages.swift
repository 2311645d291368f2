// Swift value types and protobuf-c bindings of bankgw.admin.v1 (the operator's surface; Protos/bankgw/admin/v1).
// Request messages carry no header: the operator is who its certificate says, and the gateway audits every act.

public struct AdminBankProfile: Sendable, Hashable {
    public var maxChargeYen: Int64 = 0
    public var maxDailyYenPerWallet: Int64 = 0
    public var maxMonthlyYenPerWallet: Int64 = 0
    public var newLinkMaxChargeYen: Int64 = 0
    public var newLinkCautionMs: Int64 = 0
    public var chargeRequiresCustomerAuth = false
    public var requiredEkycMethods: [EkycMethod] = []
    public var pinnedSPKISHA256: [UInt8] = []
    public var maxRequestsPerSecond: Int64 = 0
    public init() {}
}

public struct ConformanceRecord: Sendable, Hashable {
    public var bankCode = ""
    public var passed = false
    public var casesPassed: Int32 = 0
    public var casesFailed: Int32 = 0
    public var reportSHA256Hex = ""
    public var operatorName = ""
    public var bankIdentity = ""
    public var recordedAtUnixMs: Int64 = 0
    public var failedCases: [String] = []
    public init() {}
}

public struct AdminBank: Sendable, Hashable {
    public var bankCode = ""
    public var name = ""
    public var linkState: BankState = .unspecified
    public var chargeState: BankState = .unspecified
    public var profile: AdminBankProfile?
    public var pilotWalletIDs: [String] = []
    public var lastConformance: ConformanceRecord?
    public var settlementBalanceYen: Int64 = 0
    public init() {}
}

public struct ListBanksRequest: Sendable, Hashable { public init() {} }
public struct ListBanksResponse: Sendable, Hashable {
    public var banks: [AdminBank] = []
    public init(banks: [AdminBank] = []) { self.banks = banks }
}
public struct GetBankRequest: Sendable, Hashable {
    public var bankCode = ""
    public init(bankCode: String = "") { self.bankCode = bankCode }
}
public struct SetBankStateRequest: Sendable, Hashable {
    public var bankCode = ""
    public var operation: Operation = .unspecified
    public var state: BankState = .unspecified
    public var reason = ""
    public init(bankCode: String = "", operation: Operation = .unspecified, state: BankState = .unspecified, reason: String = "") {
        self.bankCode = bankCode
        self.operation = operation
        self.state = state
        self.reason = reason
    }
}
public struct SetBankProfileRequest: Sendable, Hashable {
    public var bankCode = ""
    public var profile: AdminBankProfile?
    public var reason = ""
    public init() {}
}
public struct SetPilotListRequest: Sendable, Hashable {
    public var bankCode = ""
    public var walletAccountIDs: [String] = []
    public var reason = ""
    public init() {}
}
public struct RecordConformanceRequest: Sendable, Hashable {
    public var record: ConformanceRecord?
    public init(record: ConformanceRecord? = nil) { self.record = record }
}

public struct AdminWallet: Sendable, Hashable {
    public var walletAccountID = ""
    public var test = false
    public var ekycStatus: EkycStatus = .unspecified
    public var ekycMethod: EkycMethod = .unspecified
    public var ekycNameKana = ""
    public var ekycVerifiedAtUnixMs: Int64 = 0
    public var phoneVerified = false
    public var linkLocked = false
    public var chargeFrozen = false
    public var balanceYen: Int64 = 0
    public var balanceCapYen: Int64 = 0
    public init() {}
}

public struct RegisterWalletRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public var test = false
    public var reason = ""
    public init(walletAccountID: String = "", test: Bool = false, reason: String = "") {
        self.walletAccountID = walletAccountID
        self.test = test
        self.reason = reason
    }
}
public struct GetWalletRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public init(walletAccountID: String = "") { self.walletAccountID = walletAccountID }
}
public struct RecordEkycRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public var status: EkycStatus = .unspecified
    public var method: EkycMethod = .unspecified
    public var nameKana = ""
    public var verifiedAtUnixMs: Int64 = 0
    public var reason = ""
    public init() {}
}
public struct MarkPhoneVerifiedRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public var reason = ""
    public init(walletAccountID: String = "", reason: String = "") {
        self.walletAccountID = walletAccountID
        self.reason = reason
    }
}
public struct IssueLinkCodeRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public init(walletAccountID: String = "") { self.walletAccountID = walletAccountID }
}
public struct IssueLinkCodeResponse: Sendable, Hashable {
    public var linkCode = ""
    public var expiresAtUnixMs: Int64 = 0
    public init(linkCode: String = "", expiresAtUnixMs: Int64 = 0) {
        self.linkCode = linkCode
        self.expiresAtUnixMs = expiresAtUnixMs
    }
}
public struct WalletActionRequest: Sendable, Hashable {
    public var walletAccountID = ""
    public var reason = ""
    public init(walletAccountID: String = "", reason: String = "") {
        self.walletAccountID = walletAccountID
        self.reason = reason
    }
}

public struct AdminHold: Sendable, Hashable {
    public var chargeID = ""
    public var bankCode = ""
    public var requestID = ""
    public var linkID = ""
    public var walletAccountID = ""
    public var amountYen: Int64 = 0
    public var rule = ""
    public var heldAtUnixMs: Int64 = 0
    public var state: HoldState = .unspecified
    public var resolvedBy = ""
    public var resolutionReason = ""
    public init() {}
}
public struct ListHoldsRequest: Sendable, Hashable {
    public var includeResolved = false
    public init(includeResolved: Bool = false) { self.includeResolved = includeResolved }
}
public struct ListHoldsResponse: Sendable, Hashable {
    public var holds: [AdminHold] = []
    public init(holds: [AdminHold] = []) { self.holds = holds }
}
public struct ReleaseHoldRequest: Sendable, Hashable {
    public var chargeID = ""
    public var reason = ""
    public init(chargeID: String = "", reason: String = "") {
        self.chargeID = chargeID
        self.reason = reason
    }
}
public struct RejectHoldRequest: Sendable, Hashable {
    public var chargeID = ""
    public var reason = ""
    public init(chargeID: String = "", reason: String = "") {
        self.chargeID = chargeID
        self.reason = reason
    }
}

// MARK: - protobuf-c bindings

extension AdminBankProfile: WireMessage {
    public static let protoName = "bankgw.admin.v1.BankProfile"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        maxChargeYen = r.int64(1)
        maxDailyYenPerWallet = r.int64(2)
        maxMonthlyYenPerWallet = r.int64(3)
        newLinkMaxChargeYen = r.int64(4)
        newLinkCautionMs = r.int64(5)
        chargeRequiresCustomerAuth = r.bool(6)
        requiredEkycMethods = try r.repeatedEnums(7)
        pinnedSPKISHA256 = r.bytes(8)
        maxRequestsPerSecond = r.int64(9)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, maxChargeYen)
        w.set(2, maxDailyYenPerWallet)
        w.set(3, maxMonthlyYenPerWallet)
        w.set(4, newLinkMaxChargeYen)
        w.set(5, newLinkCautionMs)
        w.set(6, chargeRequiresCustomerAuth)
        w.set(7, requiredEkycMethods)
        w.set(8, pinnedSPKISHA256)
        w.set(9, maxRequestsPerSecond)
    }
    public func validate() throws(WireError) {
        for (value, name) in [
            (maxChargeYen, "max_charge_yen"), (maxDailyYenPerWallet, "max_daily_yen_per_wallet"),
            (maxMonthlyYenPerWallet, "max_monthly_yen_per_wallet"), (newLinkMaxChargeYen, "new_link_max_charge_yen"),
            (newLinkCautionMs, "new_link_caution_ms"), (maxRequestsPerSecond, "max_requests_per_second"),
        ] where value < 0 {
            throw WireError(field: "profile.\(name)", rule: .invalid("must not be negative"))
        }
        guard pinnedSPKISHA256.isEmpty || pinnedSPKISHA256.count == 32 else {
            throw WireError(field: "profile.pinned_spki_sha256", rule: .invalid("must be empty or 32 bytes (SHA-256)"))
        }
    }
}

extension ConformanceRecord: WireMessage {
    public static let protoName = "bankgw.admin.v1.ConformanceRecord"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        bankCode = r.string(1)
        passed = r.bool(2)
        casesPassed = r.int32(3)
        casesFailed = r.int32(4)
        reportSHA256Hex = r.string(5)
        operatorName = r.string(6)
        bankIdentity = r.string(7)
        recordedAtUnixMs = r.int64(8)
        failedCases = r.repeatedStrings(9)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, passed)
        w.set(3, casesPassed)
        w.set(4, casesFailed)
        w.set(5, reportSHA256Hex)
        w.set(6, operatorName)
        w.set(7, bankIdentity)
        w.set(8, recordedAtUnixMs)
        w.set(9, failedCases)
    }
}

extension AdminBank: WireMessage {
    public static let protoName = "bankgw.admin.v1.Bank"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        bankCode = r.string(1)
        name = r.string(2)
        linkState = try r.enumValue(3)
        chargeState = try r.enumValue(4)
        profile = try r.message(5)
        pilotWalletIDs = r.repeatedStrings(6)
        lastConformance = try r.message(7)
        settlementBalanceYen = r.int64(8)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, name)
        w.set(3, linkState)
        w.set(4, chargeState)
        w.set(5, profile)
        w.set(6, pilotWalletIDs)
        w.set(7, lastConformance)
        w.set(8, settlementBalanceYen)
    }
}

extension ListBanksRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListBanksRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {}
    public func write(to w: inout MessageWriter) {}
}

extension ListBanksResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListBanksResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { banks = try r.repeatedMessages(1) }
    public func write(to w: inout MessageWriter) { w.set(1, banks) }
}

extension GetBankRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.GetBankRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { bankCode = r.string(1) }
    public func write(to w: inout MessageWriter) { w.set(1, bankCode) }
    public func validate() throws(WireError) { try FieldRules.bankCode(bankCode, field: "bank_code") }
}

extension SetBankStateRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.SetBankStateRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        bankCode = r.string(1)
        operation = try r.enumValue(2)
        state = try r.enumValue(3)
        reason = r.string(4)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, operation)
        w.set(3, state)
        w.set(4, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: "bank_code")
        guard operation != .unspecified else { throw WireError(field: "operation", rule: .missing) }
        guard state != .unspecified else { throw WireError(field: "state", rule: .missing) }
        try FieldRules.reason(reason)
    }
}

extension SetBankProfileRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.SetBankProfileRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        bankCode = r.string(1)
        profile = try r.message(2)
        reason = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, profile)
        w.set(3, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: "bank_code")
        guard let profile else { throw WireError(field: "profile", rule: .missing) }
        try profile.validate()
        try FieldRules.reason(reason)
    }
}

extension SetPilotListRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.SetPilotListRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        bankCode = r.string(1)
        walletAccountIDs = r.repeatedStrings(2)
        reason = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, bankCode)
        w.set(2, walletAccountIDs)
        w.set(3, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.bankCode(bankCode, field: "bank_code")
        for (index, id) in walletAccountIDs.enumerated() {
            try FieldRules.walletAccountID(id, field: "wallet_account_ids[\(index)]")
        }
        try FieldRules.reason(reason)
    }
}

extension RecordConformanceRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.RecordConformanceRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { record = try r.message(1) }
    public func write(to w: inout MessageWriter) { w.set(1, record) }
    public func validate() throws(WireError) {
        guard let record else { throw WireError(field: "record", rule: .missing) }
        try FieldRules.bankCode(record.bankCode, field: "record.bank_code")
        guard record.casesPassed >= 0, record.casesFailed >= 0 else {
            throw WireError(field: "record.cases_passed", rule: .invalid("case counts must not be negative"))
        }
        guard record.reportSHA256Hex.utf8.count == 64, record.reportSHA256Hex.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }) else {
            throw WireError(field: "record.report_sha256_hex", rule: .invalid("must be 64 hex digits (SHA-256 of the report)"))
        }
    }
}

extension AdminWallet: WireMessage {
    public static let protoName = "bankgw.admin.v1.Wallet"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        walletAccountID = r.string(1)
        test = r.bool(2)
        ekycStatus = try r.enumValue(3)
        ekycMethod = try r.enumValue(4)
        ekycNameKana = r.string(5)
        ekycVerifiedAtUnixMs = r.int64(6)
        phoneVerified = r.bool(7)
        linkLocked = r.bool(8)
        chargeFrozen = r.bool(9)
        balanceYen = r.int64(10)
        balanceCapYen = r.int64(11)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, test)
        w.set(3, ekycStatus)
        w.set(4, ekycMethod)
        w.set(5, ekycNameKana)
        w.set(6, ekycVerifiedAtUnixMs)
        w.set(7, phoneVerified)
        w.set(8, linkLocked)
        w.set(9, chargeFrozen)
        w.set(10, balanceYen)
        w.set(11, balanceCapYen)
    }
}

extension RegisterWalletRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.RegisterWalletRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        walletAccountID = r.string(1)
        test = r.bool(2)
        reason = r.string(3)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, test)
        w.set(3, reason)
    }
    public func validate() throws(WireError) {
        if !walletAccountID.isEmpty { try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id") }
        try FieldRules.reason(reason)
    }
}

extension GetWalletRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.GetWalletRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { walletAccountID = r.string(1) }
    public func write(to w: inout MessageWriter) { w.set(1, walletAccountID) }
    public func validate() throws(WireError) { try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id") }
}

extension RecordEkycRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.RecordEkycRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        walletAccountID = r.string(1)
        status = try r.enumValue(2)
        method = try r.enumValue(3)
        nameKana = r.string(4)
        verifiedAtUnixMs = r.int64(5)
        reason = r.string(6)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, status)
        w.set(3, method)
        w.set(4, nameKana)
        w.set(5, verifiedAtUnixMs)
        w.set(6, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id")
        guard status != .unspecified else { throw WireError(field: "status", rule: .missing) }
        if status == .verified {
            guard method != .unspecified else { throw WireError(field: "method", rule: .missing) }
            try FieldRules.kanaName(nameKana, field: "name_kana")
            guard verifiedAtUnixMs > 0 else { throw WireError(field: "verified_at_unix_ms", rule: .missing) }
        }
        try FieldRules.reason(reason)
    }
}

extension MarkPhoneVerifiedRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.MarkPhoneVerifiedRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        walletAccountID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id")
        try FieldRules.reason(reason)
    }
}

extension IssueLinkCodeRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.IssueLinkCodeRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { walletAccountID = r.string(1) }
    public func write(to w: inout MessageWriter) { w.set(1, walletAccountID) }
    public func validate() throws(WireError) { try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id") }
}

extension IssueLinkCodeResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.IssueLinkCodeResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        linkCode = r.string(1)
        expiresAtUnixMs = r.int64(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, linkCode)
        w.set(2, expiresAtUnixMs)
    }
}

extension WalletActionRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.WalletActionRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        walletAccountID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, walletAccountID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.walletAccountID(walletAccountID, field: "wallet_account_id")
        try FieldRules.reason(reason)
    }
}

extension AdminHold: WireMessage {
    public static let protoName = "bankgw.admin.v1.Hold"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        chargeID = r.string(1)
        bankCode = r.string(2)
        requestID = r.string(3)
        linkID = r.string(4)
        walletAccountID = r.string(5)
        amountYen = r.int64(6)
        rule = r.string(7)
        heldAtUnixMs = r.int64(8)
        state = try r.enumValue(9)
        resolvedBy = r.string(10)
        resolutionReason = r.string(11)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, chargeID)
        w.set(2, bankCode)
        w.set(3, requestID)
        w.set(4, linkID)
        w.set(5, walletAccountID)
        w.set(6, amountYen)
        w.set(7, rule)
        w.set(8, heldAtUnixMs)
        w.set(9, state)
        w.set(10, resolvedBy)
        w.set(11, resolutionReason)
    }
}

extension ListHoldsRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListHoldsRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { includeResolved = r.bool(1) }
    public func write(to w: inout MessageWriter) { w.set(1, includeResolved) }
}

extension ListHoldsResponse: WireMessage {
    public static let protoName = "bankgw.admin.v1.ListHoldsResponse"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) { holds = try r.repeatedMessages(1) }
    public func write(to w: inout MessageWriter) { w.set(1, holds) }
}

extension ReleaseHoldRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.ReleaseHoldRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        chargeID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, chargeID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: "charge_id")
        try FieldRules.reason(reason)
    }
}

extension RejectHoldRequest: WireMessage {
    public static let protoName = "bankgw.admin.v1.RejectHoldRequest"
    public static let descriptor = MessageDescriptor.named(protoName)
    public init(reading r: MessageReader) throws(WireError) {
        chargeID = r.string(1)
        reason = r.string(2)
    }
    public func write(to w: inout MessageWriter) {
        w.set(1, chargeID)
        w.set(2, reason)
    }
    public func validate() throws(WireError) {
        try FieldRules.identifier(chargeID, field: "charge_id")
        try FieldRules.reason(reason)
    }
}
