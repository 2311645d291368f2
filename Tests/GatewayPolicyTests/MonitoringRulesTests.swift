import GatewayPolicy
import GatewayWire
import XCTest

/// SPEC §8 rules, each at its threshold and one below, without a database.
final class MonitoringRulesTests: XCTestCase {
    private let checks = MonitoringChecks()

    private func facts(
        _ attempt: ChargeAttemptFacts = Fixture.charge(), blocked: BlocklistFacts = .init(), creditedYen: Int64 = 0,
        manyAccountsOpen: Bool = false
    ) -> ChargeMonitoringFacts {
        ChargeMonitoringFacts(
            attempt: attempt, clientAddress: "203.0.113.7", blocked: blocked, tokenSubject: "9900:abcd",
            walletCreditedInVelocityWindowYen: creditedYen, walletManyAccountsAlertOpen: manyAccountsOpen)
    }

    func testWalletVelocityHoldsTheChargeThatReachesThreeHundredThousandYenInAnHour() {
        let (held, alerts) = checks.charge(
            facts(Fixture.charge(amountYen: 10_000), creditedYen: 290_000), verdict: .approve)
        XCTAssertEqual(held, .hold(rule: "wallet.velocity"))
        XCTAssertEqual(alerts.map(\.rule), ["wallet.velocity"])
        XCTAssertEqual(alerts.first?.severity, .high)
        let (approved, none) = checks.charge(
            facts(Fixture.charge(amountYen: 9_999), creditedYen: 290_000), verdict: .approve)
        XCTAssertEqual(approved, .approve)
        XCTAssertTrue(none.isEmpty)
    }

    func testLinkThenDrainHoldsOnlyWithinAnHourOfLinking() {
        var attempt = Fixture.charge(amountYen: 100_000, linkAgeMs: 30 * Fixture.minute)
        attempt.chargedTodayYen = 300_000  // 400,000 = 80 % of the 500,000 daily limit
        XCTAssertEqual(checks.charge(facts(attempt), verdict: .approve).0, .hold(rule: "link.then_drain"))
        attempt.link?.linkedAtUnixMs = Fixture.now - Fixture.hour
        XCTAssertEqual(checks.charge(facts(attempt), verdict: .approve).0, .approve, "at exactly 1 h it is not")
    }

    func testBlocklistHitDeclinesFraudSuspectedWhateverTheChainSaid() {
        for verdict in [Verdict.approve, .hold(rule: "charge.hold.near_limit"), .decline(.limitExceeded, rule: "x")] {
            let (result, alerts) = checks.charge(facts(blocked: BlocklistFacts(walletBlocked: true)), verdict: verdict)
            XCTAssertEqual(result, .decline(.fraudSuspected, rule: "blocklist.hit"))
            XCTAssertEqual(alerts.map(\.subjectKind), [.wallet])
        }
    }

    func testARejectionRaisesNothing() {
        let rejection = Verdict.reject(Rejection(.permissionDenied, "bank 0009 is SUSPENDED for charge"))
        let (result, alerts) = checks.charge(facts(blocked: BlocklistFacts(walletBlocked: true)), verdict: rejection)
        XCTAssertEqual(result, rejection)
        XCTAssertTrue(alerts.isEmpty)
    }

    func testHoldingRulesNeverTurnADeclineIntoAHold() {
        let decline = Verdict.decline(.limitExceeded, rule: "charge.limit.daily")
        XCTAssertEqual(checks.charge(facts(manyAccountsOpen: true), verdict: decline).0, decline)
    }

    func testDeclineBurstNeedsFiftyDeclinesAndTwentyPercent() {
        let limits = MonitoringThresholds()
        XCTAssertNil(MonitoringRules.declineBurst(bankCode: "0001", window: .init(declines: 49, decisions: 49), limits))
        XCTAssertNil(
            MonitoringRules.declineBurst(bankCode: "0001", window: .init(declines: 50, decisions: 251), limits))
        let burst = MonitoringRules.declineBurst(bankCode: "0001", window: .init(declines: 50, decisions: 250), limits)
        XCTAssertEqual(burst?.severity, .critical)
        XCTAssertEqual(burst?.proposedAction, "suspend bank 0001")
    }

    func testTLSRefusalsRaiseAtTheThresholdAndItsMultiplesOnly() {
        let limits = MonitoringThresholds()
        XCTAssertNil(MonitoringRules.tlsRefusals(address: "198.51.100.1", refusalsInWindow: 19, limits))
        XCTAssertNotNil(MonitoringRules.tlsRefusals(address: "198.51.100.1", refusalsInWindow: 20, limits))
        XCTAssertNil(MonitoringRules.tlsRefusals(address: "198.51.100.1", refusalsInWindow: 21, limits))
        XCTAssertNotNil(MonitoringRules.tlsRefusals(address: "198.51.100.1", refusalsInWindow: 40, limits))
    }

    func testHoldOverdueIsMediumAfterThirtyMinutesAndHighFromTwoHours() {
        let limits = MonitoringThresholds()
        XCTAssertNil(MonitoringRules.holdOverdueSeverity(ageMs: 30 * Fixture.minute, limits))
        XCTAssertEqual(MonitoringRules.holdOverdueSeverity(ageMs: 30 * Fixture.minute + 1, limits), .medium)
        XCTAssertEqual(MonitoringRules.holdOverdueSeverity(ageMs: 2 * Fixture.hour, limits), .high)
    }

    func testFourEyesThresholdsAndTheRequesterCannotApprove() {
        let limits = MonitoringThresholds()
        XCTAssertFalse(FourEyes.holdReleaseNeedsApproval(amountYen: 99_999, limits))
        XCTAssertTrue(FourEyes.holdReleaseNeedsApproval(amountYen: 100_000, limits))
        XCTAssertTrue(FourEyes.bankStateNeedsApproval(.enabled))
        XCTAssertFalse(FourEyes.bankStateNeedsApproval(.suspended))
        XCTAssertFalse(FourEyes.mayApprove(approver: "operator/demo", requester: "operator/demo"))
        XCTAssertTrue(FourEyes.mayApprove(approver: "operator/demo2", requester: "operator/demo"))
    }

    func testAccountManyWalletsAtThreeWallets() {
        func linkFacts(_ wallets: Int) -> LinkMonitoringFacts {
            LinkMonitoringFacts(
                attempt: Fixture.link(), clientAddress: nil, blocked: .init(), tokenSubject: "9900:abcd",
                walletsTriedForToken: wallets)
        }
        XCTAssertTrue(checks.link(linkFacts(2), verdict: .approve).1.isEmpty)
        let (verdict, alerts) = checks.link(linkFacts(3), verdict: .approve)
        XCTAssertEqual(verdict, .approve, "raises an alert, changes no decision")
        XCTAssertEqual(alerts.map(\.rule), ["account.many_wallets"])
    }
}
