import GatewayWire

// The facts the mutual security checks (SPEC §4) judge, and the verdict they return.
//
// Why facts, not queries: the wallet core reads these inside its writer transaction (so two charges racing for
// the same daily limit cannot both pass on stale totals), hands them to the rules, and applies the verdict in the
// same transaction. The rules themselves are pure functions of facts, testable without a database.

/// A bank's limits and requirements (SPEC §4 defaults; each bank's profile may change them).
public struct BankProfile: Sendable, Hashable {
    /// Per charge. Default 300,000 yen.
    public var maxChargeYen: Int64
    /// Per wallet per Asia/Tokyo calendar day. Default 500,000 yen.
    public var maxDailyYenPerWallet: Int64
    /// Per wallet per Asia/Tokyo calendar month. Default 2,000,000 yen.
    public var maxMonthlyYenPerWallet: Int64
    /// Per charge within `newLinkCautionMs` of linking. Default 50,000 yen.
    public var newLinkMaxChargeYen: Int64
    /// How long a link counts as new. Default 24 h.
    public var newLinkCautionMs: Int64
    /// Whether every charge must carry multi-factor `customer_auth`. Default false.
    public var chargeRequiresCustomerAuth: Bool
    /// eKYC methods this bank accepts for new links; empty means any method the law allows.
    public var requiredEkycMethods: Set<EkycMethod>
    /// SHA-256 of the bank certificate's SubjectPublicKeyInfo; nil means not pinned. Enforced at the TLS handshake.
    public var pinnedSPKISHA256: [UInt8]?
    /// Token-bucket rate per bank. Default 1,000 requests/s.
    public var maxRequestsPerSecond: Int64

    public static let maxChargeYenDefault: Int64 = 300_000
    public static let maxDailyYenPerWalletDefault: Int64 = 500_000
    public static let maxMonthlyYenPerWalletDefault: Int64 = 2_000_000
    public static let newLinkMaxChargeYenDefault: Int64 = 50_000
    public static let newLinkCautionMsDefault: Int64 = 24 * 3_600_000
    public static let maxRequestsPerSecondDefault: Int64 = 1_000

    public init(
        maxChargeYen: Int64 = BankProfile.maxChargeYenDefault,
        maxDailyYenPerWallet: Int64 = BankProfile.maxDailyYenPerWalletDefault,
        maxMonthlyYenPerWallet: Int64 = BankProfile.maxMonthlyYenPerWalletDefault,
        newLinkMaxChargeYen: Int64 = BankProfile.newLinkMaxChargeYenDefault,
        newLinkCautionMs: Int64 = BankProfile.newLinkCautionMsDefault,
        chargeRequiresCustomerAuth: Bool = false,
        requiredEkycMethods: Set<EkycMethod> = [],
        pinnedSPKISHA256: [UInt8]? = nil,
        maxRequestsPerSecond: Int64 = BankProfile.maxRequestsPerSecondDefault
    ) {
        self.maxChargeYen = maxChargeYen
        self.maxDailyYenPerWallet = maxDailyYenPerWallet
        self.maxMonthlyYenPerWallet = maxMonthlyYenPerWallet
        self.newLinkMaxChargeYen = newLinkMaxChargeYen
        self.newLinkCautionMs = newLinkCautionMs
        self.chargeRequiresCustomerAuth = chargeRequiresCustomerAuth
        self.requiredEkycMethods = requiredEkycMethods
        self.pinnedSPKISHA256 = pinnedSPKISHA256
        self.maxRequestsPerSecond = maxRequestsPerSecond
    }
}

/// A partner bank as the checks see it.
public struct BankFacts: Sendable, Hashable {
    /// 4-digit Japanese bank code.
    public var code: String
    public var linkState: BankState
    public var chargeState: BankState
    public var profile: BankProfile
    /// Wallets a PILOT bank may serve.
    public var pilotWalletIDs: Set<String>

    public init(
        code: String, linkState: BankState, chargeState: BankState, profile: BankProfile = .init(),
        pilotWalletIDs: Set<String> = []
    ) {
        self.code = code
        self.linkState = linkState
        self.chargeState = chargeState
        self.profile = profile
        self.pilotWalletIDs = pilotWalletIDs
    }
}

/// A wallet account as the checks see it.
public struct WalletFacts: Sendable, Hashable {
    public var id: String
    /// Registered by an operator with `test = true`; its money is never real. PENDING banks may use only these.
    public var isTest: Bool
    public var ekycStatus: EkycStatus
    public var ekycMethod: EkycMethod
    public var ekycNameKana: String
    public var ekycVerifiedAtUnixMs: Int64
    public var phoneVerified: Bool
    /// Set after five declined link attempts in a row; cleared by an operator.
    public var linkLocked: Bool
    /// Set by an Unlink whose reason's first word is `FRAUD` (`UnlinkReason`); cleared by an operator.
    public var chargeFrozen: Bool
    public var balanceYen: Int64
    /// Held charges' amounts reserved against the cap (SPEC §4: a hold is a pending transfer from the moment it is
    /// held), yen. The cap judges `balanceYen + reservedYen + amount`.
    public var reservedYen: Int64
    /// Default 1,000,000 yen.
    public var balanceCapYen: Int64

    public static let balanceCapYenDefault: Int64 = 1_000_000

    public init(
        id: String, isTest: Bool = false, ekycStatus: EkycStatus = .none, ekycMethod: EkycMethod = .unspecified,
        ekycNameKana: String = "", ekycVerifiedAtUnixMs: Int64 = 0, phoneVerified: Bool = false,
        linkLocked: Bool = false, chargeFrozen: Bool = false, balanceYen: Int64 = 0,
        balanceCapYen: Int64 = WalletFacts.balanceCapYenDefault, reservedYen: Int64 = 0
    ) {
        self.id = id
        self.isTest = isTest
        self.ekycStatus = ekycStatus
        self.ekycMethod = ekycMethod
        self.ekycNameKana = ekycNameKana
        self.ekycVerifiedAtUnixMs = ekycVerifiedAtUnixMs
        self.phoneVerified = phoneVerified
        self.linkLocked = linkLocked
        self.chargeFrozen = chargeFrozen
        self.balanceYen = balanceYen
        self.reservedYen = reservedYen
        self.balanceCapYen = balanceCapYen
    }
}

/// A one-time link code, found by the hash of the code the bank presented.
public struct LinkCodeFacts: Sendable, Hashable {
    /// The wallet the code was issued for.
    public var walletID: String
    public var expiresAtUnixMs: Int64
    public var used: Bool

    public init(walletID: String, expiresAtUnixMs: Int64, used: Bool) {
        self.walletID = walletID
        self.expiresAtUnixMs = expiresAtUnixMs
        self.used = used
    }
}

/// An account link between a bank account token and a wallet.
public struct LinkFacts: Sendable, Hashable {
    public var id: String
    public var bankCode: String
    public var walletID: String
    public var bankAccountToken: String
    /// False once unlinked.
    public var active: Bool
    public var linkedAtUnixMs: Int64

    public init(
        id: String, bankCode: String, walletID: String, bankAccountToken: String, active: Bool, linkedAtUnixMs: Int64
    ) {
        self.id = id
        self.bankCode = bankCode
        self.walletID = walletID
        self.bankAccountToken = bankAccountToken
        self.active = active
        self.linkedAtUnixMs = linkedAtUnixMs
    }
}

/// Everything the link checks need, read in the writer's transaction.
public struct LinkAttemptFacts: Sendable, Hashable {
    public var request: LinkAccountRequest
    public var bank: BankFacts
    /// nil: no wallet with `request.walletAccountID`.
    public var wallet: WalletFacts?
    /// nil: no code with that hash exists.
    public var linkCode: LinkCodeFacts?
    /// The bank account token is actively linked to any wallet, this one included (SPEC §4: one active link per
    /// token, so one account cannot feed a wallet through two links and dodge the per-token rules).
    public var tokenActivelyLinked: Bool
    public var nowUnixMs: Int64

    public init(
        request: LinkAccountRequest, bank: BankFacts, wallet: WalletFacts?, linkCode: LinkCodeFacts?,
        tokenActivelyLinked: Bool, nowUnixMs: Int64
    ) {
        self.request = request
        self.bank = bank
        self.wallet = wallet
        self.linkCode = linkCode
        self.tokenActivelyLinked = tokenActivelyLinked
        self.nowUnixMs = nowUnixMs
    }
}

/// Everything the charge checks need, read in the writer's transaction.
public struct ChargeAttemptFacts: Sendable, Hashable {
    public var request: ChargeRequest
    public var bank: BankFacts
    /// nil: no link with `request.linkID` (for any bank).
    public var link: LinkFacts?
    /// The link's wallet; nil when there is no link.
    public var wallet: WalletFacts?
    /// Credited (APPROVED, or HELD then released) to this wallet on today's Asia/Tokyo calendar day, yen.
    public var chargedTodayYen: Int64
    /// Credited to this wallet in this Asia/Tokyo calendar month, yen.
    public var chargedThisMonthYen: Int64
    /// Open holds on this wallet made on today's Asia/Tokyo day, yen: reserved against the daily limit (SPEC §4).
    /// When a hold is being released, that hold itself is left out.
    public var reservedTodayYen: Int64
    /// Open holds on this wallet made in this Asia/Tokyo month, yen: reserved against the monthly limit.
    public var reservedThisMonthYen: Int64
    /// Charges (any decision but DECLINED) to this link's wallet from this link's bank account token, over any of
    /// its links, within `ChargeRules.rapidChargeWindowMs` before now.
    public var chargesFromTokenToWalletInWindow: Int
    /// This is the link's first charge and its token was linked to another wallet within 30 days before this link.
    public var firstChargeAfterTokenMovedWallets: Bool
    public var nowUnixMs: Int64

    public init(
        request: ChargeRequest, bank: BankFacts, link: LinkFacts?, wallet: WalletFacts?, chargedTodayYen: Int64,
        chargedThisMonthYen: Int64, chargesFromTokenToWalletInWindow: Int, firstChargeAfterTokenMovedWallets: Bool,
        nowUnixMs: Int64, reservedTodayYen: Int64 = 0, reservedThisMonthYen: Int64 = 0
    ) {
        self.request = request
        self.bank = bank
        self.link = link
        self.wallet = wallet
        self.chargedTodayYen = chargedTodayYen
        self.chargedThisMonthYen = chargedThisMonthYen
        self.reservedTodayYen = reservedTodayYen
        self.reservedThisMonthYen = reservedThisMonthYen
        self.chargesFromTokenToWalletInWindow = chargesFromTokenToWalletInWindow
        self.firstChargeAfterTokenMovedWallets = firstChargeAfterTokenMovedWallets
        self.nowUnixMs = nowUnixMs
    }
}

/// A request the checks refuse to judge: it becomes a gRPC error, not a Decision, and is not stored.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// Bank not enabled for the operation (message names the state), wrong bank.
        case permissionDenied
        /// `sent_at_unix_ms` outside the replay window.
        case failedPrecondition
        case invalidArgument
        /// Over the bank's rate limit.
        case resourceExhausted
    }

    public var code: Code
    /// Names the field or rule, e.g. "bank 0009 is SUSPENDED for charge".
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// What the checks decided for a link or charge that could be judged.
public enum Verdict: Sendable, Hashable {
    /// Link it, or credit the wallet.
    case approve
    /// Record the charge; credit nothing until an operator releases it. `rule` names the monitoring rule.
    case hold(rule: String)
    /// `rule` names the check that decided, for the audit log.
    case decline(DeclineReason, rule: String)
    /// Not judged: a gRPC error.
    case reject(Rejection)
}
