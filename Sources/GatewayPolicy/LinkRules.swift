import GatewayWire

// The link chain of SPEC §4, one rule per check, in SPEC order:
// bank enabled → wallet exists → wallet not locked → eKYC VERIFIED → eKYC method accepted → phone verified →
// link code valid → customer auth strong → holder name matches → account token not linked elsewhere → approve.
//
// Each rule judges only its own concern. A fact another rule judges (say, a missing wallet) is not its business:
// it passes, so a chain built without that other rule really lacks that check — which is what the conformance
// suite's "broken gateway" needs to see.
//
// Where the SPEC names no reason, the choice and why:
// - wallet locked for linking (five declines in a row) → FRAUD_SUSPECTED: the lock exists because the attempts
//   look like someone working through guesses.
// - eKYC method not accepted (bank requires ヘ/ワ, or ホ from 2027-04-01), VERIFIED without a recorded method →
//   WALLET_KYC_INCOMPLETE: the wallet's user can fix it by verifying again with another method.
// - customer auth time more than `CustomerAuthStrength.maxFutureSkewMs` in the future → WEAK_CUSTOMER_AUTH, a
//   decline like any other weak auth (not a gRPC error): the request is well-formed, its proof is not good enough.

/// The link rules, each testable on its own; `LinkChecks.standard` runs `all` in order.
public enum LinkRules {
    /// Instant from which ホ (photo ID image + selfie) is refused for new links: 2027-04-01 00:00 Asia/Tokyo.
    public static let hoMethodRefusedFromUnixMs: Int64 = TokyoTime.startOfDayUnixMs(year: 2027, month: 4, day: 1)
    /// How long a one-time link code lives (SPEC §2: expires in 10 min). Admin issues codes with it; the wallet
    /// core refuses to store one that lives longer.
    public static let linkCodeLifetimeMs: Int64 = 10 * 60_000

    public static let all: [Rule<LinkAttemptFacts>] = [
        bankEnabled, walletExists, walletNotLocked, walletEkycVerified, walletEkycMethodAccepted,
        walletPhoneVerified, linkCodeValid, customerAuthStrong, nameMatch, accountLinkLimit,
    ]

    /// The bank's `link` state allows this wallet (see `BankEnablement.judge`).
    public static let bankEnabled = Rule<LinkAttemptFacts>("link.bank_enabled") { facts in
        if facts.bank.linkState == .enabled { return .pass }  // the common case, without copying the wallet's id
        return BankEnablement.judge(
            bank: facts.bank, operation: .link,
            target: .init(
                walletID: facts.wallet == nil ? nil : facts.request.walletAccountID,
                walletIsTest: facts.wallet?.isTest ?? false))
    }

    public static let walletExists = Rule<LinkAttemptFacts>("link.wallet_exists") { facts in
        facts.wallet == nil ? .decline(.walletNotFound) : .pass
    }

    /// Five declined link attempts in a row lock a wallet for linking until an operator clears it.
    public static let walletNotLocked = Rule<LinkAttemptFacts>("link.wallet_not_locked") { facts in
        facts.wallet?.linkLocked == true ? .decline(.fraudSuspected) : .pass
    }

    public static let walletEkycVerified = Rule<LinkAttemptFacts>("link.wallet_ekyc_verified") { facts in
        guard let wallet = facts.wallet else { return .pass }
        return wallet.ekycStatus == .verified ? .pass : .decline(.walletKYCIncomplete)
    }

    /// The 犯収法 method recorded with the eKYC result is one this bank, and the law on this date, accept.
    public static let walletEkycMethodAccepted = Rule<LinkAttemptFacts>("link.wallet_ekyc_method_accepted") { facts in
        guard let wallet = facts.wallet, wallet.ekycStatus == .verified else { return .pass }
        let method = wallet.ekycMethod
        if method == .unspecified { return .decline(.walletKYCIncomplete) }
        if method == .hoPhotoIDAndSelfie && facts.nowUnixMs >= hoMethodRefusedFromUnixMs {
            return .decline(.walletKYCIncomplete)
        }
        let required = facts.bank.profile.requiredEkycMethods
        if !required.isEmpty && !required.contains(method) { return .decline(.walletKYCIncomplete) }
        return .pass
    }

    /// Named in the SPEC's example audit entries.
    public static let walletPhoneVerified = Rule<LinkAttemptFacts>("link.wallet_phone_verified") { facts in
        guard let wallet = facts.wallet else { return .pass }
        return wallet.phoneVerified ? .pass : .decline(.walletPhoneUnverified)
    }

    /// The one-time code exists, has not expired (expired at `expiresAtUnixMs` itself), was not used, and was
    /// issued for the wallet the bank names — so a code shown to one user cannot link another user's wallet.
    public static let linkCodeValid = Rule<LinkAttemptFacts>("link.link_code_valid") { facts in
        guard let code = facts.linkCode, !code.used, facts.nowUnixMs < code.expiresAtUnixMs,
            code.walletID == facts.request.walletAccountID
        else { return .decline(.linkCodeInvalid) }
        return .pass
    }

    public static let customerAuthStrong = Rule<LinkAttemptFacts>("link.customer_auth_strong") { facts in
        CustomerAuthStrength.isStrong(facts.request.customerAuth, nowUnixMs: facts.nowUnixMs)
            ? .pass : .decline(.weakCustomerAuth)
    }

    /// The bank's holder name is the wallet's eKYC name (see `KanaName` for what is normalised).
    public static let nameMatch = Rule<LinkAttemptFacts>("link.name_match") { facts in
        guard let wallet = facts.wallet else { return .pass }
        return KanaName.matches(facts.request.accountHolderKana, wallet.ekycNameKana) ? .pass : .decline(.nameMismatch)
    }

    /// One active link per bank account token (SPEC §4): a token still actively linked to any wallet — this one
    /// included — must be unlinked first. A second link of the same token to the same wallet would split its charges
    /// over two links.
    public static let accountLinkLimit = Rule<LinkAttemptFacts>("link.account_link_limit") { facts in
        facts.tokenActivelyLinked ? .decline(.accountLinkLimit) : .pass
    }
}
