import GatewayPolicy
import GatewayWire
import XCTest

/// Issue 16's policy holes (SPEC §3, §4 as amended), each a rule defined once here and called by the wallet core.
final class Issue16PolicyTests: XCTestCase {
    // MARK: item 2 — the FRAUD reason: first word after leading white space, any case

    func testFraudAsTheFirstWordAfterAnyLeadingWhiteSpaceFreezesCharges() {
        for reason in ["  FRAUD: stolen PIN", "\u{3000}Fraud（盗難）", "\u{00A0}fraud", "\n\tFRAUD", "FRAUD-ring"] {
            XCTAssertTrue(UnlinkReason.freezesCharges(reason), reason)
        }
    }

    func testAWordThatOnlyStartsWithFraudDoesNotFreezeCharges() {
        for reason in ["FRAUDULENT looking", "fraudster", "FRAUD2", "  not fraud"] {
            XCTAssertFalse(UnlinkReason.freezesCharges(reason), reason)
        }
    }

    // MARK: item 6 — declines of the bank's own state do not count toward the five-decline lock

    func testNotInPilotDeclinesDoNotMoveTheLinkDeclineStreak() {
        let notInPilot = LinkChecks.standard.evaluate(Fixture.link(bank: Fixture.bank0001))
        XCTAssertEqual(notInPilot, .decline(.notInPilot, rule: "link.bank_enabled"))
        XCTAssertEqual(LinkDeclineStreak.next(current: 4, after: notInPilot), .init(streak: 4, lockWallet: false))
        let mismatch = Verdict.decline(.nameMismatch, rule: "link.name_match")
        XCTAssertEqual(LinkDeclineStreak.next(current: 4, after: mismatch), .init(streak: 5, lockWallet: true))
    }

    // MARK: item 4 — one active link per token, the rapid rule per (wallet, token)

    func testATokenActivelyLinkedToTheSameWalletIsDeclinedAccountLinkLimit() {
        var facts = Fixture.link()
        facts.tokenActivelyLinked = true
        XCTAssertEqual(
            LinkChecks.standard.evaluate(facts), .decline(.accountLinkLimit, rule: "link.account_link_limit"))
    }

    func testTheFourthChargeFromATokenToAWalletIsHeldWhateverLinkCarriesIt() {
        var facts = Fixture.charge(amountYen: 1_000)
        facts.chargesFromTokenToWalletInWindow = ChargeRules.maxChargesFromTokenInWindowBeforeHold
        XCTAssertEqual(ChargeChecks.standard.evaluate(facts), .hold(rule: "charge.hold.rapid_charges_on_link"))
    }

    // MARK: item 3 — holds reserve; the release chain is the credit rules

    func testOpenHoldsCountAgainstTheDailyAndMonthlyLimitsAndTheCap() {
        var daily = Fixture.charge(amountYen: 10_000)
        daily.chargedTodayYen = 450_000
        daily.reservedTodayYen = 45_000
        XCTAssertEqual(ChargeChecks.standard.evaluate(daily), .decline(.limitExceeded, rule: "charge.limit.daily"))
        daily.reservedTodayYen = 40_000
        XCTAssertEqual(ChargeChecks.standard.evaluate(daily), .approve, "exactly at the limit with the hold counted")

        var monthly = Fixture.charge(amountYen: 10_000)
        monthly.chargedThisMonthYen = 1_950_000
        monthly.reservedThisMonthYen = 45_000
        XCTAssertEqual(ChargeChecks.standard.evaluate(monthly), .decline(.limitExceeded, rule: "charge.limit.monthly"))

        var wallet = Fixture.w1
        wallet.balanceYen = 900_000
        wallet.reservedYen = 95_000
        XCTAssertEqual(
            ChargeChecks.standard.evaluate(Fixture.charge(wallet: wallet, amountYen: 10_000)),
            .decline(.balanceCapExceeded, rule: "charge.balance_cap"))
    }

    func testTheReleaseChainIsTheNewChargeChainWithoutCustomerAuthAndMonitoring() {
        let expected = ChargeRules.all.map(\.name).filter {
            $0 != "charge.customer_auth" && !$0.hasPrefix("charge.hold.")
        }
        XCTAssertEqual(ChargeChecks.release.rules.map(\.name), expected)
        // A charge the standard chain would hold for monitoring is credited by the release chain…
        let nearLimit = Fixture.charge(amountYen: 250_000)
        XCTAssertEqual(ChargeChecks.standard.evaluate(nearLimit), .hold(rule: "charge.hold.near_limit"))
        XCTAssertEqual(ChargeChecks.release.evaluate(nearLimit), .approve)
        // …and refused when the wallet is frozen or the bank suspended at release time.
        var frozen = Fixture.w1
        frozen.chargeFrozen = true
        XCTAssertEqual(
            ChargeChecks.release.evaluate(Fixture.charge(wallet: frozen, amountYen: 250_000)),
            .decline(.fraudSuspected, rule: "charge.wallet_not_frozen"))
        guard case .reject = ChargeChecks.release.evaluate(Fixture.charge(bank: Fixture.bank0009)) else {
            return XCTFail("a SUSPENDED bank's hold is not released")
        }
    }

    // MARK: issue 11 item 5 — one Tokyo calendar

    func testTheTokyoCalendarKeysDaysAndMonthsAtTokyoMidnight() {
        let midnight = TokyoTime.startOfDayUnixMs(year: 2026, month: 12, day: 1)
        XCTAssertEqual(TokyoTime.dayIndex(ofUnixMs: midnight) - TokyoTime.dayIndex(ofUnixMs: midnight - 1), 1)
        XCTAssertEqual(TokyoTime.monthIndex(ofUnixMs: midnight) - TokyoTime.monthIndex(ofUnixMs: midnight - 1), 1)
        XCTAssertEqual(TokyoTime.monthIndex(ofUnixMs: midnight), 2026 * 12 + 11)
    }
}
