import GatewayWire

// The charge chain of SPEC §4, one rule per check, in SPEC order:
// bank enabled → link active and this bank's → wallet not charge-frozen → customer auth (when the profile says)
// → per charge → per wallet per day → per wallet per month → balance cap → new-link caution
// → monitoring holds (new-link near limit, near limit, rapid charges from a token, token moved wallets) → approve.
//
// Declines come before holds on purpose: a hold means "credit later if an operator agrees", so it must only ever
// be given to a charge that would be allowed to credit. A hold reserves its amount against the limits and the cap
// (the facts carry the reservations), and releasing it runs `credit` again at release time (`ChargeChecks.release`):
// every path that credits a wallet passes the same rules.
//
// As in the link chain, each rule judges only its own concern and passes when a fact it needs belongs to another
// rule (no link, no wallet). Sums are computed overflow-checked: an overflowing sum is over any limit.

/// The charge rules, each testable on its own; `ChargeChecks.standard` runs `all` in order.
public enum ChargeRules {
    /// Share of the per-charge limit in force at which a charge is held for review: 80 % (SPEC §4).
    public static let holdAtPercentOfLimit: Int64 = 80
    /// Charges from one token to one wallet within this window before now count toward the rapid-charge hold.
    /// 10 min (SPEC §4). The wallet core counts with it when it fills `chargesFromTokenToWalletInWindow`.
    public static let rapidChargeWindowMs: Int64 = 10 * 60_000
    /// How recently a token must have been linked to another wallet for its first charge on a new link to be
    /// held. 30 days (SPEC §4). The wallet core uses it for `firstChargeAfterTokenMovedWallets`.
    public static let tokenMovedWindowMs: Int64 = 30 * TokyoTime.msPerDay
    /// The 4th and later charge from one token to one wallet within `rapidChargeWindowMs` is held: i.e. 3 earlier
    /// ones (SPEC §4).
    public static let maxChargesFromTokenInWindowBeforeHold = 3

    /// The new-charge chain, in SPEC order.
    public static let all: [Rule<ChargeAttemptFacts>] = [
        bankEnabled, linkActive, walletNotFrozen, customerAuth,
        perChargeLimit, dailyLimit, monthlyLimit, balanceCap, newLinkCaution,
        holdNewLinkNearLimit, holdNearLimit, holdRapidChargesOnLink, holdTokenMovedWallets,
    ]

    /// What must hold at the moment money moves into a wallet, whether the charge is new or a released hold
    /// (SPEC §4: bank enabled for charge, link active, wallet not frozen, limits, cap): `all` without the checks of
    /// the bank's act itself (customer auth, judged when the bank asked) and without the monitoring holds (an
    /// operator releasing a hold has done the review they ask for). Same rules, same order as in `all`.
    public static let credit: [Rule<ChargeAttemptFacts>] = [
        bankEnabled, linkActive, walletNotFrozen,
        perChargeLimit, dailyLimit, monthlyLimit, balanceCap, newLinkCaution,
    ]

    /// The bank's `charge` state allows the link's wallet (see `BankEnablement.judge`). No link means no wallet,
    /// which no PENDING or PILOT bank may charge.
    public static let bankEnabled = Rule<ChargeAttemptFacts>("charge.bank_enabled") { facts in
        if facts.bank.chargeState == .enabled { return .pass }  // the common case, without copying the wallet's id
        return BankEnablement.judge(
            bank: facts.bank, operation: .charge,
            target: .init(
                walletID: facts.wallet == nil ? nil : facts.link?.walletID,
                walletIsTest: facts.wallet?.isTest ?? false))
    }

    /// The link exists, is still active, belongs to the calling bank, and points at a wallet. One bank can never
    /// charge through another bank's link, and cannot tell such a link from one that does not exist.
    public static let linkActive = Rule<ChargeAttemptFacts>("charge.link_active") { facts in
        guard facts.link?.active == true, facts.link?.bankCode == facts.bank.code, case .some = facts.wallet else {
            // A link without a wallet would be a wallet-core bug; failing closed keeps money out of limbo.
            return .decline(.linkNotActive)
        }
        return .pass
    }

    /// Set by an Unlink whose reason's first word is FRAUD (see `UnlinkReason`), until an operator reviews it.
    public static let walletNotFrozen = Rule<ChargeAttemptFacts>("charge.wallet_not_frozen") { facts in
        facts.wallet?.chargeFrozen == true ? .decline(.fraudSuspected) : .pass
    }

    /// When the bank's profile requires it: multi-factor and fresh, judged like a link's (`CustomerAuthStrength`).
    public static let customerAuth = Rule<ChargeAttemptFacts>("charge.customer_auth") { facts in
        guard facts.bank.profile.chargeRequiresCustomerAuth else { return .pass }
        return CustomerAuthStrength.isStrong(facts.request.customerAuth, nowUnixMs: facts.nowUnixMs)
            ? .pass : .decline(.weakCustomerAuth)
    }

    /// 1 ... `maxChargeYen`. A non-positive amount is refused as INVALID_ARGUMENT (the codec already does; this
    /// keeps the rules safe to call on anything).
    public static let perChargeLimit = Rule<ChargeAttemptFacts>("charge.limit.per_charge") { facts in
        let amount = facts.request.amountYen
        if amount <= 0 { return .reject(Rejection(.invalidArgument, "amount_yen: must be at least 1, got \(amount)")) }
        return amount > facts.bank.profile.maxChargeYen ? .decline(.limitExceeded) : .pass
    }

    /// Credited today (Asia/Tokyo) plus today's open holds plus this charge stays within `maxDailyYenPerWallet`;
    /// exactly at it is allowed.
    public static let dailyLimit = Rule<ChargeAttemptFacts>("charge.limit.daily") { facts in
        exceeds(
            facts.chargedTodayYen, facts.reservedTodayYen, facts.request.amountYen,
            limit: facts.bank.profile.maxDailyYenPerWallet)
            ? .decline(.limitExceeded) : .pass
    }

    /// Credited this month (Asia/Tokyo) plus this month's open holds plus this charge stays within
    /// `maxMonthlyYenPerWallet`.
    public static let monthlyLimit = Rule<ChargeAttemptFacts>("charge.limit.monthly") { facts in
        exceeds(
            facts.chargedThisMonthYen, facts.reservedThisMonthYen, facts.request.amountYen,
            limit: facts.bank.profile.maxMonthlyYenPerWallet)
            ? .decline(.limitExceeded) : .pass
    }

    /// The wallet's balance plus its open holds plus this credit stays within its cap (資金決済法 e-money wallets
    /// are capped).
    public static let balanceCap = Rule<ChargeAttemptFacts>("charge.balance_cap") { facts in
        guard let wallet = facts.wallet else { return .pass }
        return exceeds(wallet.balanceYen, wallet.reservedYen, facts.request.amountYen, limit: wallet.balanceCapYen)
            ? .decline(.balanceCapExceeded) : .pass
    }

    /// Within `newLinkCautionMs` of linking, at most `newLinkMaxChargeYen` a charge.
    public static let newLinkCaution = Rule<ChargeAttemptFacts>("charge.limit.new_link") { facts in
        guard isNewLink(facts) == true else { return .pass }
        return facts.request.amountYen > facts.bank.profile.newLinkMaxChargeYen ? .decline(.limitExceeded) : .pass
    }

    /// Monitoring, on a new link: ≥ 80 % of the per-charge limit in force (by default 40,000 ... 50,000 yen).
    public static let holdNewLinkNearLimit = Rule<ChargeAttemptFacts>("charge.hold.new_link_near_limit") { facts in
        guard isNewLink(facts) == true else { return .pass }
        let inForce = min(facts.bank.profile.newLinkMaxChargeYen, facts.bank.profile.maxChargeYen)
        return facts.request.amountYen >= holdThreshold(limit: inForce) ? .hold : .pass
    }

    /// Monitoring, on an established link: ≥ 80 % of the per-charge limit (by default 240,000 ... 300,000 yen).
    public static let holdNearLimit = Rule<ChargeAttemptFacts>("charge.hold.near_limit") { facts in
        guard isNewLink(facts) == false else { return .pass }
        return facts.request.amountYen >= holdThreshold(limit: facts.bank.profile.maxChargeYen) ? .hold : .pass
    }

    /// Monitoring: the 4th and later charge to one wallet from one bank account token within 10 minutes, whatever
    /// link carries them (a drained account, or a script). The name is a shipped audit identifier, kept.
    public static let holdRapidChargesOnLink = Rule<ChargeAttemptFacts>("charge.hold.rapid_charges_on_link") { facts in
        facts.chargesFromTokenToWalletInWindow >= maxChargesFromTokenInWindowBeforeHold ? .hold : .pass
    }

    /// Monitoring: the first charge on a bank account token that was linked to another wallet in the last 30 days
    /// (an account moved between wallets is how stolen accounts are cashed out).
    public static let holdTokenMovedWallets = Rule<ChargeAttemptFacts>("charge.hold.token_moved_wallets") { facts in
        facts.firstChargeAfterTokenMovedWallets ? .hold : .pass
    }

    // MARK: - Arithmetic

    /// A link is new while less than `newLinkCautionMs` has passed since linking: at exactly 24 h it is not.
    /// nil when there is no link.
    static func isNewLink(_ facts: ChargeAttemptFacts) -> Bool? {
        guard let linkedAtUnixMs = facts.link?.linkedAtUnixMs else { return nil }
        let (ageMs, overflow) = facts.nowUnixMs.subtractingReportingOverflow(linkedAtUnixMs)
        return overflow || ageMs < facts.bank.profile.newLinkCautionMs
    }

    /// The smallest amount that is at least `holdAtPercentOfLimit` % of `limit`, i.e. ⌈0.8 × limit⌉, computed
    /// without overflow: limit − ⌊limit / 5⌋ (300,000 → 240,000; 50,000 → 40,000).
    static func holdThreshold(limit: Int64) -> Int64 {
        assert(holdAtPercentOfLimit == 80, "holdThreshold's closed form is for 80 %")
        return limit - limit / 5
    }

    static func exceeds(_ current: Int64, plus amount: Int64, limit: Int64) -> Bool {
        let (sum, overflow) = current.addingReportingOverflow(amount)
        return overflow || sum > limit
    }

    /// Whether `credited + reserved + amount` is over `limit`, overflow-checked (no allocation: the hot path).
    static func exceeds(_ credited: Int64, _ reserved: Int64, _ amount: Int64, limit: Int64) -> Bool {
        let (partial, overflow) = credited.addingReportingOverflow(reserved)
        return overflow || exceeds(partial, plus: amount, limit: limit)
    }
}
