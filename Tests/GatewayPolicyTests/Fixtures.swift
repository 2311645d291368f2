import GatewayPolicy
import GatewayWire

// Facts for the SPEC §6 demo registry and wallets, and a link / charge attempt every rule passes, so each test
// changes exactly the one fact its rule is about.

enum Fixture {
    /// 2026-11-24 12:00 Asia/Tokyo.
    static let now: Int64 = TokyoTime.startOfDayUnixMs(year: 2026, month: 11, day: 24) + 12 * 3_600_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    // MARK: Demo banks (SPEC §6)

    static let bank9900 = BankFacts(code: "9900", linkState: .enabled, chargeState: .enabled)
    static let bank0001 = BankFacts(code: "0001", linkState: .pilot, chargeState: .pilot, pilotWalletIDs: ["W0000002"])
    static let bank0005 = BankFacts(code: "0005", linkState: .pending, chargeState: .pending)
    static let bank0009 = BankFacts(code: "0009", linkState: .suspended, chargeState: .suspended)

    // MARK: Demo wallets (SPEC §6)

    static let w1 = WalletFacts(
        id: "W0000001", ekycStatus: .verified, ekycMethod: .heICChipAndSelfie, ekycNameKana: "ヤマダ ハナコ",
        ekycVerifiedAtUnixMs: now - 30 * day, phoneVerified: true)
    static let w2 = WalletFacts(
        id: "W0000002", ekycStatus: .verified, ekycMethod: .waJPKI, ekycNameKana: "スズキ イチロウ",
        ekycVerifiedAtUnixMs: now - 30 * day, phoneVerified: true)
    static let w3 = WalletFacts(id: "W0000003", ekycStatus: .none, phoneVerified: false)
    static let w4 = WalletFacts(
        id: "W0000004", ekycStatus: .verified, ekycMethod: .heICChipAndSelfie, ekycNameKana: "タナカ ジロウ",
        ekycVerifiedAtUnixMs: now - 30 * day, phoneVerified: false)
    /// A conformance wallet (`test = true`) with the same good facts as W0000001.
    static let testWallet: WalletFacts = {
        var w = w1
        w.id = "W0009001"
        w.isTest = true
        return w
    }()

    static func strongAuth(agoMs: Int64 = 60_000, method: AuthMethod = .smsOTP) -> CustomerAuth {
        CustomerAuth(method: method, authenticatedAtUnixMs: now - agoMs, authReference: "auth-1")
    }

    // MARK: Attempts every rule passes

    /// Bank 9900 links W0000001 with a fresh code, SMS OTP a minute ago, the bank's half-width holder name.
    static func link(
        bank: BankFacts = bank9900, wallet: WalletFacts? = w1, holder: String = "ﾔﾏﾀﾞ ﾊﾅｺ"
    ) -> LinkAttemptFacts {
        let walletID = wallet?.id ?? "W0000099"
        let request = LinkAccountRequest(
            header: RequestHeader(bankCode: bank.code, requestID: "req-link-1", sentAtUnixMs: now),
            walletAccountID: walletID, linkCode: "483920", bankAccountToken: "tok-\(bank.code)-1",
            accountHolderKana: holder, customerAuth: strongAuth())
        return LinkAttemptFacts(
            request: request, bank: bank, wallet: wallet,
            linkCode: LinkCodeFacts(walletID: walletID, expiresAtUnixMs: now + 5 * minute, used: false),
            tokenActivelyLinked: false, nowUnixMs: now)
    }

    /// Bank 9900 charges 10,000 yen on a 30-day-old link to W0000001, nothing charged before.
    static func charge(
        bank: BankFacts = bank9900, wallet: WalletFacts? = w1, amountYen: Int64 = 10_000, linkAgeMs: Int64 = 30 * day
    ) -> ChargeAttemptFacts {
        let link = LinkFacts(
            id: "L-\(bank.code)-1", bankCode: bank.code, walletID: wallet?.id ?? "W0000099",
            bankAccountToken: "tok-\(bank.code)-1", active: true, linkedAtUnixMs: now - linkAgeMs)
        let request = ChargeRequest(
            header: RequestHeader(bankCode: bank.code, requestID: "req-charge-1", sentAtUnixMs: now),
            linkID: link.id, amountYen: amountYen, customerAuth: nil)
        return ChargeAttemptFacts(
            request: request, bank: bank, link: link, wallet: wallet, chargedTodayYen: 0, chargedThisMonthYen: 0,
            chargesFromTokenToWalletInWindow: 0, firstChargeAfterTokenMovedWallets: false, nowUnixMs: now)
    }
}

extension Verdict {
    /// The audit rule name, when the verdict has one.
    var rule: String? {
        switch self {
        case .approve, .reject: return nil
        case .hold(let rule), .decline(_, let rule): return rule
        }
    }

    var rejection: Rejection? {
        if case .reject(let rejection) = self { return rejection }
        return nil
    }
}
