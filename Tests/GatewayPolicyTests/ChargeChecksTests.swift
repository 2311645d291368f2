import GatewayPolicy
import GatewayWire
import XCTest

final class ChargeChecksTests: XCTestCase {
    private let checks = ChargeChecks.standard

    func testGoodChargeIsApproved() {
        XCTAssertEqual(checks.evaluate(Fixture.charge()), .approve)
    }

    func testStandardChainRunsTheRulesInSpecOrder() {
        XCTAssertEqual(
            checks.rules.map(\.name),
            [
                "charge.bank_enabled", "charge.link_active", "charge.wallet_not_frozen", "charge.customer_auth",
                "charge.limit.per_charge", "charge.limit.daily", "charge.limit.monthly", "charge.balance_cap",
                "charge.limit.new_link", "charge.hold.new_link_near_limit", "charge.hold.near_limit",
                "charge.hold.rapid_charges_on_link", "charge.hold.token_moved_wallets",
            ])
    }

    // MARK: Bank enabled

    func testChargeIsRejectedWhenBankIsSuspendedAndMessageNamesTheState() {
        let verdict = checks.evaluate(Fixture.charge(bank: Fixture.bank0009))
        XCTAssertEqual(verdict.rejection?.code, .permissionDenied)
        XCTAssertEqual(verdict.rejection?.message, "bank 0009 is SUSPENDED for charge")
    }

    func testBankSuspendedForChargeOnlyStillUsesItsLinkState() {
        let bank = BankFacts(code: "0123", linkState: .enabled, chargeState: .suspended)
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(bank: bank)).rejection?.message, "bank 0123 is SUSPENDED for charge")
        XCTAssertEqual(LinkChecks.standard.evaluate(Fixture.link(bank: bank)), .approve)
    }

    func testPendingBankMayChargeATestWalletOnly() {
        XCTAssertEqual(checks.evaluate(Fixture.charge(bank: Fixture.bank0005, wallet: Fixture.testWallet)), .approve)
        let verdict = checks.evaluate(Fixture.charge(bank: Fixture.bank0005, wallet: Fixture.w1))
        XCTAssertEqual(verdict.rejection?.code, .permissionDenied)
        XCTAssertTrue(verdict.rejection?.message.contains("PENDING") ?? false, "\(verdict)")
    }

    func testPendingBankChargeOnAnUnknownLinkIsRejectedLikeARealWallet() {
        var facts = Fixture.charge(bank: Fixture.bank0005, wallet: Fixture.w1)
        let real = checks.evaluate(facts)
        facts.link = nil
        facts.wallet = nil
        XCTAssertEqual(checks.evaluate(facts), real)
    }

    func testPilotBankMayChargeOnlyWalletsOnItsPilotList() {
        XCTAssertEqual(checks.evaluate(Fixture.charge(bank: Fixture.bank0001, wallet: Fixture.w2)), .approve)
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(bank: Fixture.bank0001, wallet: Fixture.w1)),
            .decline(.notInPilot, rule: "charge.bank_enabled"))
    }

    // MARK: Link

    func testChargeIsDeclinedWhenLinkDoesNotExist() {
        var facts = Fixture.charge()
        facts.link = nil
        facts.wallet = nil
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkNotActive, rule: "charge.link_active"))
    }

    func testChargeIsDeclinedWhenLinkIsNotActive() {
        var facts = Fixture.charge()
        facts.link?.active = false
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkNotActive, rule: "charge.link_active"))
    }

    func testChargeIsDeclinedWhenLinkBelongsToAnotherBank() {
        var facts = Fixture.charge()
        facts.link?.bankCode = "0001"
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkNotActive, rule: "charge.link_active"))
    }

    func testChargeIsDeclinedWhenLinkHasNoWallet() {
        var facts = Fixture.charge()
        facts.wallet = nil
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkNotActive, rule: "charge.link_active"))
    }

    func testChargeIsDeclinedFraudSuspectedWhenWalletIsChargeFrozen() {
        var wallet = Fixture.w1
        wallet.chargeFrozen = true
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(wallet: wallet)),
            .decline(.fraudSuspected, rule: "charge.wallet_not_frozen"))
    }

    // MARK: Customer auth

    func testChargeNeedsNoCustomerAuthUnlessTheProfileRequiresIt() {
        var facts = Fixture.charge()
        facts.request.customerAuth = CustomerAuth(method: .passwordOnly, authenticatedAtUnixMs: 0)
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.bank.profile.chargeRequiresCustomerAuth = true
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "charge.customer_auth"))
        facts.request.customerAuth = nil
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "charge.customer_auth"))
        facts.request.customerAuth = Fixture.strongAuth(agoMs: 600_000, method: .biometric)
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.request.customerAuth = Fixture.strongAuth(agoMs: 600_001, method: .biometric)
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "charge.customer_auth"))
    }

    // MARK: Limits

    func testChargeUpToThePerChargeLimitPassesAndOneYenOverIsDeclined() {
        var facts = Fixture.charge(amountYen: 300_000)
        facts.wallet?.balanceYen = 0
        XCTAssertNil(ChargeRules.perChargeLimit.evaluate(facts))
        facts.request.amountYen = 300_001
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.per_charge"))
    }

    func testNonPositiveAmountIsRejectedAsInvalidArgument() {
        for amount: Int64 in [0, -1, .min] {
            let verdict = checks.evaluate(Fixture.charge(amountYen: amount))
            XCTAssertEqual(verdict.rejection?.code, .invalidArgument, "\(amount)")
            XCTAssertTrue(verdict.rejection?.message.hasPrefix("amount_yen") ?? false)
        }
    }

    func testDailyLimitAllowsExactlyTheLimitAndDeclinesOneYenOver() {
        var facts = Fixture.charge(amountYen: 100_000)
        facts.chargedTodayYen = 400_000
        facts.chargedThisMonthYen = 400_000
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.chargedTodayYen = 400_001
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.daily"))
    }

    func testMonthlyLimitAllowsExactlyTheLimitAndDeclinesOneYenOver() {
        var facts = Fixture.charge(amountYen: 100_000)
        facts.chargedThisMonthYen = 1_900_000
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.chargedThisMonthYen = 1_900_001
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.monthly"))
    }

    func testBalanceCapAllowsExactlyTheCapAndDeclinesOneYenOver() {
        var facts = Fixture.charge(amountYen: 100_000)
        facts.wallet?.balanceYen = 900_000
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.wallet?.balanceYen = 900_001
        XCTAssertEqual(checks.evaluate(facts), .decline(.balanceCapExceeded, rule: "charge.balance_cap"))
    }

    func testBankProfileLimitsReplaceTheDefaults() {
        var facts = Fixture.charge(amountYen: 20_001)
        facts.bank.profile.maxChargeYen = 20_000
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.per_charge"))
        facts.bank.profile = BankProfile(maxDailyYenPerWallet: 20_000)
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.daily"))
        facts.wallet?.balanceCapYen = 20_000
        facts.bank.profile = BankProfile()
        XCTAssertEqual(checks.evaluate(facts), .decline(.balanceCapExceeded, rule: "charge.balance_cap"))
    }

    func testSumsThatOverflowAreOverTheLimit() {
        let broken = ChargeChecks(rules: [ChargeRules.dailyLimit, ChargeRules.monthlyLimit, ChargeRules.balanceCap])
        var facts = Fixture.charge(amountYen: .max)
        facts.chargedTodayYen = 1
        XCTAssertEqual(broken.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.daily"))
    }

    // MARK: New-link caution

    func testNewLinkAllowsFiftyThousandYenAndDeclinesOneYenOver() {
        let facts = Fixture.charge(amountYen: 50_000, linkAgeMs: Fixture.hour)
        XCTAssertNil(ChargeRules.newLinkCaution.evaluate(facts))
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(amountYen: 50_001, linkAgeMs: Fixture.hour)),
            .decline(.limitExceeded, rule: "charge.limit.new_link"))
    }

    func testLinkIsNewUntilOneMillisecondBeforeTwentyFourHours() {
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(amountYen: 60_000, linkAgeMs: 24 * Fixture.hour - 1)),
            .decline(.limitExceeded, rule: "charge.limit.new_link"))
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 60_000, linkAgeMs: 24 * Fixture.hour)), .approve)
    }

    // MARK: Monitoring holds

    func testChargeOfEightyPercentOfTheNewLinkLimitIsHeldInTheFirstDay() {
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 39_999, linkAgeMs: Fixture.hour)), .approve)
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(amountYen: 40_000, linkAgeMs: Fixture.hour)),
            .hold(rule: "charge.hold.new_link_near_limit"))
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(amountYen: 50_000, linkAgeMs: Fixture.hour)),
            .hold(rule: "charge.hold.new_link_near_limit"))
    }

    func testChargeOfEightyPercentOfThePerChargeLimitIsHeldAfterTheFirstDay() {
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 239_999)), .approve)
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 240_000)), .hold(rule: "charge.hold.near_limit"))
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 300_000)), .hold(rule: "charge.hold.near_limit"))
    }

    func testNearLimitHoldSwitchesLimitsExactlyAtTwentyFourHours() {
        XCTAssertEqual(
            checks.evaluate(Fixture.charge(amountYen: 45_000, linkAgeMs: 24 * Fixture.hour - 1)),
            .hold(rule: "charge.hold.new_link_near_limit"))
        XCTAssertEqual(checks.evaluate(Fixture.charge(amountYen: 45_000, linkAgeMs: 24 * Fixture.hour)), .approve)
    }

    func testNearLimitHoldFollowsTheProfileLimits() {
        var facts = Fixture.charge(amountYen: 8_000)
        facts.bank.profile.maxChargeYen = 10_000
        XCTAssertEqual(checks.evaluate(facts), .hold(rule: "charge.hold.near_limit"))
        facts.request.amountYen = 7_999
        XCTAssertEqual(checks.evaluate(facts), .approve)
        // 80 % of 12 yen is 9.6: 9 is below it, 10 is at or above it.
        facts.bank.profile.maxChargeYen = 12
        facts.request.amountYen = 9
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.request.amountYen = 10
        XCTAssertEqual(checks.evaluate(facts), .hold(rule: "charge.hold.near_limit"))
    }

    func testFourthChargeOnOneLinkWithinTenMinutesIsHeld() {
        var facts = Fixture.charge()
        facts.chargesFromTokenToWalletInWindow = 2
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.chargesFromTokenToWalletInWindow = 3
        XCTAssertEqual(checks.evaluate(facts), .hold(rule: "charge.hold.rapid_charges_on_link"))
        facts.chargesFromTokenToWalletInWindow = 9
        XCTAssertEqual(checks.evaluate(facts), .hold(rule: "charge.hold.rapid_charges_on_link"))
    }

    func testFirstChargeAfterTheTokenMovedWalletsIsHeld() {
        var facts = Fixture.charge()
        facts.firstChargeAfterTokenMovedWallets = true
        XCTAssertEqual(checks.evaluate(facts), .hold(rule: "charge.hold.token_moved_wallets"))
    }

    // MARK: Order and composition

    func testADeclineAlwaysWinsOverAHold() {
        var facts = Fixture.charge(amountYen: 250_000)  // would be held near the limit
        facts.chargesFromTokenToWalletInWindow = 5
        facts.firstChargeAfterTokenMovedWallets = true
        facts.wallet?.balanceYen = 800_000  // but it breaks the balance cap
        XCTAssertEqual(checks.evaluate(facts), .decline(.balanceCapExceeded, rule: "charge.balance_cap"))
    }

    func testEveryFailingFactIsDecidedByTheRuleBeforeAllLaterOnes() {
        let failures: [(String, (inout ChargeAttemptFacts) -> Void)] = [
            ("charge.bank_enabled", { $0.bank.chargeState = .suspended }),
            ("charge.link_active", { $0.link?.active = false }),
            ("charge.wallet_not_frozen", { $0.wallet?.chargeFrozen = true }),
            ("charge.customer_auth", { $0.bank.profile.chargeRequiresCustomerAuth = true }),
            ("charge.limit.per_charge", { $0.bank.profile.maxChargeYen = 40_000 }),
            ("charge.limit.daily", { $0.chargedTodayYen = 499_000 }),
            ("charge.limit.monthly", { $0.chargedThisMonthYen = 1_999_000 }),
            ("charge.balance_cap", { $0.wallet?.balanceYen = 999_000 }),
            ("charge.limit.new_link", { $0.link?.linkedAtUnixMs = Fixture.now - Fixture.hour }),
            ("charge.hold.rapid_charges_on_link", { $0.chargesFromTokenToWalletInWindow = 3 }),
            ("charge.hold.token_moved_wallets", { $0.firstChargeAfterTokenMovedWallets = true }),
        ]
        var facts = Fixture.charge(amountYen: 60_000)
        for (rule, fail) in failures.reversed() {
            fail(&facts)
            let verdict = checks.evaluate(facts)
            XCTAssertEqual(
                verdict.rule ?? verdict.rejection.map { "\($0)" },
                rule == "charge.bank_enabled"
                    ? "permissionDenied: bank 9900 is SUSPENDED for charge" : rule)
        }
    }

    func testChainWithoutTheNewLinkCautionApprovesABigFirstDayCharge() {
        let broken = ChargeChecks(
            rules: ChargeChecks.standard.rules.filter {
                $0.name != "charge.limit.new_link" && $0.name != "charge.hold.new_link_near_limit"
            })
        let facts = Fixture.charge(amountYen: 200_000, linkAgeMs: Fixture.hour)
        XCTAssertEqual(checks.evaluate(facts), .decline(.limitExceeded, rule: "charge.limit.new_link"))
        XCTAssertEqual(broken.evaluate(facts), .approve)
    }

    func testEachRuleAloneJudgesOnlyItsOwnFact() {
        var facts = Fixture.charge()
        facts.link = nil
        facts.wallet = nil
        for rule in ChargeRules.all where rule.name != "charge.link_active" {
            XCTAssertNil(rule.evaluate(facts), rule.name)
        }
    }
}
