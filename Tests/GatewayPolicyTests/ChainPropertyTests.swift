import GatewayPolicy
import GatewayWire
import XCTest

/// Money-safety invariants over many generated fact sets: whatever the mix, an attempt the chains let through
/// (approve, or hold — a hold may be released and credited) never breaks a SPEC §4 rule.
final class ChainPropertyTests: XCTestCase {
    private struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Values clustered around the SPEC's limits so boundaries are hit often.
    private func yen(_ rng: inout SplitMix64) -> Int64 {
        let anchors: [Int64] = [
            0, 1, 39_999, 40_000, 50_000, 50_001, 239_999, 240_000, 300_000, 300_001,
            500_000, 1_000_000, 2_000_000,
        ]
        let anchor = anchors.randomElement(using: &rng)!
        return max(0, anchor + Int64.random(in: -2...2, using: &rng))
    }

    private func randomCharge(_ rng: inout SplitMix64) -> ChargeAttemptFacts {
        let banks = [Fixture.bank9900, Fixture.bank0001, Fixture.bank0005, Fixture.bank0009]
        let wallets = [Fixture.w1, Fixture.w2, Fixture.testWallet]
        var bank = banks.randomElement(using: &rng)!
        if Bool.random(using: &rng) {
            bank.profile = BankProfile(
                maxChargeYen: yen(&rng), maxDailyYenPerWallet: yen(&rng), maxMonthlyYenPerWallet: yen(&rng),
                newLinkMaxChargeYen: yen(&rng), chargeRequiresCustomerAuth: Bool.random(using: &rng))
        }
        var wallet = wallets.randomElement(using: &rng)!
        wallet.balanceYen = yen(&rng)
        wallet.chargeFrozen = Int.random(in: 0..<10, using: &rng) == 0
        let linkAge = [0, Fixture.hour, 24 * Fixture.hour - 1, 24 * Fixture.hour, 30 * Fixture.day]
            .randomElement(using: &rng)!
        var facts = Fixture.charge(bank: bank, wallet: wallet, amountYen: max(1, yen(&rng)), linkAgeMs: linkAge)
        facts.chargedTodayYen = yen(&rng)
        facts.chargedThisMonthYen = facts.chargedTodayYen + yen(&rng)
        facts.chargesFromTokenToWalletInWindow = Int.random(in: 0...5, using: &rng)
        facts.firstChargeAfterTokenMovedWallets = Int.random(in: 0..<5, using: &rng) == 0
        facts.link?.active = Int.random(in: 0..<10, using: &rng) != 0
        if Bool.random(using: &rng) { facts.request.customerAuth = Fixture.strongAuth() }
        return facts
    }

    func testNoChargeThatBreaksALimitIsEverApprovedOrHeld() {
        var rng = SplitMix64(state: 42)
        var passed = 0
        var held = 0
        for _ in 0..<20_000 {
            let facts = randomCharge(&rng)
            let verdict = ChargeChecks.standard.evaluate(facts)
            guard verdict == .approve || verdict.rule?.hasPrefix("charge.hold.") == true else { continue }
            if verdict != .approve { held += 1 }
            passed += 1
            let profile = facts.bank.profile
            let amount = facts.request.amountYen
            let wallet = facts.wallet!
            let link = facts.link!
            let isNew = facts.nowUnixMs - link.linkedAtUnixMs < profile.newLinkCautionMs
            let context = "\(verdict) for \(facts)"
            XCTAssertTrue(amount >= 1 && amount <= profile.maxChargeYen, context)
            XCTAssertLessThanOrEqual(facts.chargedTodayYen + amount, profile.maxDailyYenPerWallet, context)
            XCTAssertLessThanOrEqual(facts.chargedThisMonthYen + amount, profile.maxMonthlyYenPerWallet, context)
            XCTAssertLessThanOrEqual(wallet.balanceYen + amount, wallet.balanceCapYen, context)
            XCTAssertTrue(!isNew || amount <= profile.newLinkMaxChargeYen, context)
            XCTAssertTrue(link.active && link.bankCode == facts.bank.code && !wallet.chargeFrozen, context)
            switch facts.bank.chargeState {
            case .enabled: break
            case .pilot: XCTAssertTrue(facts.bank.pilotWalletIDs.contains(wallet.id), context)
            case .pending: XCTAssertTrue(wallet.isTest, context)
            case .suspended, .unspecified: XCTFail(context)
            }
            if profile.chargeRequiresCustomerAuth { XCTAssertNotNil(facts.request.customerAuth, context) }
            // And nothing the monitoring rules flag is approved outright.
            let inForce = isNew ? min(profile.newLinkMaxChargeYen, profile.maxChargeYen) : profile.maxChargeYen
            if verdict == .approve {
                XCTAssertLessThan(amount * 5, inForce * 4, context)  // amount < 80 % of the limit in force
                XCTAssertLessThan(facts.chargesFromTokenToWalletInWindow, 3, context)
                XCTAssertFalse(facts.firstChargeAfterTokenMovedWallets, context)
            }
        }
        // The generator must actually reach the interesting cases, or the test proves nothing.
        XCTAssertGreaterThan(passed, 500)
        XCTAssertGreaterThan(held, 100)
    }

    func testALargerChargeIsNeverTreatedBetterThanASmallerOne() {
        // Severity: approve < hold < decline / reject. One more yen may only keep or raise it.
        func severity(_ verdict: Verdict) -> Int {
            switch verdict {
            case .approve: return 0
            case .hold: return 1
            case .decline, .reject: return 2
            }
        }
        var rng = SplitMix64(state: 7)
        for _ in 0..<10_000 {
            var facts = randomCharge(&rng)
            let smaller = severity(ChargeChecks.standard.evaluate(facts))
            facts.request.amountYen += Int64.random(in: 1...1_000, using: &rng)
            XCTAssertGreaterThanOrEqual(severity(ChargeChecks.standard.evaluate(facts)), smaller, "\(facts)")
        }
    }

    func testNoLinkThatBreaksARuleIsEverApproved() {
        var rng = SplitMix64(state: 99)
        var approved = 0
        for _ in 0..<20_000 {
            let banks = [Fixture.bank9900, Fixture.bank0001, Fixture.bank0005, Fixture.bank0009]
            let wallets: [WalletFacts?] = [Fixture.w1, Fixture.w2, Fixture.w3, Fixture.w4, Fixture.testWallet, nil]
            var wallet = wallets.randomElement(using: &rng)!
            if wallet != nil {
                wallet!.linkLocked = Int.random(in: 0..<8, using: &rng) == 0
                wallet!.ekycMethod = EkycMethod.allCases.randomElement(using: &rng)!
            }
            let holders = ["ﾔﾏﾀﾞ ﾊﾅｺ", "ｽｽﾞｷ ｲﾁﾛｳ", "ﾀﾅｶ ｼﾞﾛｳ", "ﾔﾏﾀﾞ ﾊﾅｴ", ""]
            var facts = Fixture.link(
                bank: banks.randomElement(using: &rng)!, wallet: wallet, holder: holders.randomElement(using: &rng)!)
            facts.tokenActivelyLinked = Int.random(in: 0..<8, using: &rng) == 0
            facts.linkCode?.used = Int.random(in: 0..<8, using: &rng) == 0
            facts.request.customerAuth = [
                nil, Fixture.strongAuth(), Fixture.strongAuth(agoMs: 700_000),
                Fixture.strongAuth(method: .passwordOnly),
            ].randomElement(using: &rng)!
            guard LinkChecks.standard.evaluate(facts) == .approve else { continue }
            approved += 1
            let context = "\(facts)"
            guard let w = facts.wallet else { XCTFail(context); continue }
            XCTAssertTrue(w.ekycStatus == .verified && w.ekycMethod != .unspecified && w.phoneVerified, context)
            XCTAssertFalse(w.linkLocked, context)
            XCTAssertFalse(facts.linkCode!.used || facts.tokenActivelyLinked, context)
            XCTAssertTrue(CustomerAuthStrength.isStrong(facts.request.customerAuth, nowUnixMs: facts.nowUnixMs))
            XCTAssertTrue(KanaName.matches(facts.request.accountHolderKana, w.ekycNameKana), context)
            switch facts.bank.linkState {
            case .enabled: break
            case .pilot: XCTAssertTrue(facts.bank.pilotWalletIDs.contains(w.id), context)
            case .pending: XCTAssertTrue(w.isTest, context)
            case .suspended, .unspecified: XCTFail(context)
            }
        }
        XCTAssertGreaterThan(approved, 50)  // 117 with this seed
    }
}
