// Wire enums of SPEC §2 as exhaustive Swift enums. Raw values are the proto enum numbers.

/// How the bank authenticated its customer for this act (`bankgw.v1.AuthMethod`).
public enum AuthMethod: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case passwordOnly = 1
    case smsOTP = 2
    case hardwareTokenOTP = 3
    case appPush = 4
    case jpkiMyNumberCard = 5
    case biometric = 6

    /// Multi-factor means anything but a bare password (SPEC §2: `customer_auth` must be multi-factor).
    public var isMultiFactor: Bool {
        switch self {
        case .unspecified, .passwordOnly: return false
        case .smsOTP, .hardwareTokenOTP, .appPush, .jpkiMyNumberCard, .biometric: return true
        }
    }
}

/// The gateway's answer to a link or charge (`bankgw.v1.Decision`).
public enum Decision: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// Linked, or credited to the wallet.
    case approved = 1
    /// Recorded; nothing credited until an operator releases it.
    case held = 2
    case declined = 3
}

/// Why a link or charge was declined (`bankgw.v1.DeclineReason`).
public enum DeclineReason: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case walletNotFound = 1
    case walletKYCIncomplete = 2
    case walletPhoneUnverified = 3
    case nameMismatch = 4
    case weakCustomerAuth = 5
    case linkCodeInvalid = 6
    case linkNotActive = 7
    case limitExceeded = 8
    case balanceCapExceeded = 9
    case fraudSuspected = 10
    case accountLinkLimit = 11
    case notInPilot = 12
}

/// Enablement of one operation for one bank (`bankgw.admin.v1.BankState`, SPEC §4).
public enum BankState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// Test wallets only: where the bank runs its conformance suite.
    case pending = 1
    /// Wallets on the bank's pilot list only.
    case pilot = 2
    case enabled = 3
    /// Kill switch, effective for the next request.
    case suspended = 4
}

/// The operation a bank state applies to (`bankgw.admin.v1.Operation`).
public enum Operation: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case link = 1
    case charge = 2
}

/// 犯収法 identity-verification method of an eKYC result (`bankgw.admin.v1.EkycMethod`).
public enum EkycMethod: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// ホ: photo ID image + selfie. Refused for new links from 2027-04-01.
    case hoPhotoIDAndSelfie = 1
    /// ヘ: IC chip data + selfie.
    case heICChipAndSelfie = 2
    /// ト: document + confirmation with a bank.
    case toDocumentAndBank = 3
    /// ワ: JPKI signature (My Number Card).
    case waJPKI = 4
}

/// Where a wallet's eKYC stands (`bankgw.admin.v1.EkycStatus`).
public enum EkycStatus: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    /// E-mail only: nothing verified.
    case none = 1
    case submitted = 2
    case verified = 3
    case rejected = 4
}

/// Health of a service (`grpc.health.v1.HealthCheckResponse.ServingStatus`).
public enum ServingStatus: Int32, Sendable, CaseIterable, Hashable {
    case unknown = 0
    case serving = 1
    case notServing = 2
    /// Used only by Watch, for a service name the server does not know.
    case serviceUnknown = 3
}

/// Lifecycle of a held charge (`bankgw.admin.v1.AdminHold.State`).
public enum HoldState: Int32, Sendable, CaseIterable, Hashable {
    case unspecified = 0
    case open = 1
    /// Credited through the normal ledger path.
    case released = 2
    /// Nothing credited.
    case rejected = 3
}
