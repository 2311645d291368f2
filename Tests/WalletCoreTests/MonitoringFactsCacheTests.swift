import Foundation
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// The SPEC §8 facts the writer keeps between charges (issue 14): block-list entries, open `wallet.many_accounts`
/// alerts, a wallet's credits in the velocity window, a bank's decision buckets. Each test walks a cached fact
/// through the changes that must move it — a window sliding on, an operator's write between charges — and checks the
/// decision the rule then makes. Debug builds also compare every cached answer with the database's
/// (`WriterState.crossChecked`), so a drifting cache stops the test where it drifts.
final class MonitoringFactsCacheTests: XCTestCase {
    /// A seeded store with the §8 rules on (`configure` sets the thresholds) and W0000001 linked at 9900, on a
    /// manual clock at noon in Tokyo. `directory` keeps the database alive for the test.
    private struct Fixture {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        var store: WalletStore!
        var link = ""
    }

    private func makeStore(_ configure: (inout MonitoringThresholds) -> Void) async throws -> Fixture {
        var thresholds = MonitoringThresholds()
        configure(&thresholds)
        var fixture = Fixture()
        fixture.store = try WalletStore(
            stateDirectory: fixture.directory.path, clock: fixture.clock.provider,
            monitoring: MonitoringChecks(thresholds: thresholds))
        try await fixture.store.seedDemo()
        fixture.link = try await fixture.store.linkForTest(walletID: "W0000001", token: "tok-hanako", code: 1)
        return fixture
    }

    private func charge(
        _ store: WalletStore, _ requestID: String, link: String, yen: Int64,
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict = approveAll
    ) async throws -> ChargeResponse {
        try await store.submitCharge(
            chargeRequest(requestID, link: link, yen: yen), bankCode: "9900", bodyDigest: digest(requestID),
            decide: decide, sign: testSign)
    }

    /// The facts an APPROVED charge of 100 yen on `link` read from the database (the writer's cache did not hold).
    private func factsRead(
        _ store: WalletStore, _ link: String, by requestID: String,
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict = approveAll
    ) async throws -> Int {
        let before = await store.writerStatistics().factsRead
        let decision = try await charge(store, requestID, link: link, yen: 100, decide: decide).decision
        XCTAssertEqual(decision, .approved)
        return await store.writerStatistics().factsRead - before
    }

    /// A LinkAccount drops only what a link write can change (`ChargeFactsCache.linkAttempted`): a bank linking
    /// accounts all day no longer sends every other wallet's next charge back to the database for all its facts.
    /// (Before: every write but a Charge dropped the whole cache, and the charge below read 10 facts again.)
    func testALinkAccountKeepsTheFactsOfOtherWalletsAndDropsItsOwnWallets() async throws {
        let fixture = try await makeStore { _ in }
        let (store, link) = (fixture.store!, fixture.link)
        for n in 0..<2 { _ = try await charge(store, "warm\(n)", link: link, yen: 100) }
        var read = try await factsRead(store, link, by: "warm2")
        XCTAssertEqual(read, 0, "a warm link's charge reads nothing")

        // Another wallet's link: only the bank's decision buckets (which counted it) are read again.
        _ = try await store.linkForTest(walletID: "W0000002", token: "tok-ichiro", code: 2)
        read = try await factsRead(store, link, by: "after-other-link")
        XCTAssertEqual(read, 1)

        // A declined attempt on this charge's own wallet moves its decline streak: the wallet's row, its open
        // many-accounts alert and the bank's buckets are read again (debug builds check each against the database).
        let attempt = LinkAccountRequest(
            header: RequestHeader(bankCode: "9900", requestID: "bad-code"), walletAccountID: "W0000001",
            linkCode: "nope", bankAccountToken: "tok-other")
        let declined = try await store.submitLink(
            attempt, bankCode: "9900", bodyDigest: digest("bad-code"), linkCodeMAC: codeHash(9),
            decide: { _ in .decline(.linkCodeInvalid, rule: "test: bad code") })
        XCTAssertEqual(declined.response.decision, .declined)
        read = try await factsRead(store, link, by: "after-own-decline")
        XCTAssertEqual(read, 3)
        let streak = try await store.walletRecord(id: "W0000001")?.consecutiveLinkDeclines
        XCTAssertEqual(streak, 1)

        // Anything else (here an operator's write) still drops every fact.
        try await store.markPhoneVerified(walletID: "W0000004", audit: operatorAudit)
        read = try await factsRead(store, link, by: "after-operator-write")
        XCTAssertGreaterThan(read, 3)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    /// SPEC §4's recent charges (the hold on a token's 4th charge to a wallet in 10 minutes) are kept per wallet,
    /// each charge with its link's token, so the first charge on a wallet's new link counts them from memory. Kept
    /// per token, each new link's first charge read the wallet's whole window again: with 80 links per wallet (the
    /// Charge bench's) that read was 18% of the writer's time. Here the first charge on a new link reads 6 facts:
    /// its link, token-moved answer and token's block-list entry, and the wallet's row, open alert and the bank's
    /// decision buckets that its LinkAccount dropped. Kept per token it read 7: its token's recent charges too.
    func testTheFirstChargeOnAWarmWalletsNewLinkCountsItsRecentChargesFromMemory() async throws {
        let fixture = try await makeStore { $0.walletManyAccountsMinTokens = 100 }
        let (store, link) = (fixture.store!, fixture.link)
        _ = try await charge(store, "warm", link: link, yen: 100)
        let seen = FactsLog()
        for n in 0..<3 {
            let newLink = try await store.linkForTest(walletID: "W0000001", token: "tok-new-\(n)", code: UInt8(10 + n))
            let read = try await factsRead(store, newLink, by: "first-on-\(n)", decide: seen.approving)
            XCTAssertEqual(read, 6, "first charge on new link \(n)")
            let again = try await factsRead(store, newLink, by: "second-on-\(n)", decide: seen.approving)
            XCTAssertEqual(again, 0, "second charge on new link \(n)")
        }
        // Each token's own charges only (debug builds also check every count against the database).
        XCTAssertEqual(seen.facts.map(\.chargesFromTokenToWalletInWindow), [0, 1, 0, 1, 0, 1])
    }

    /// Refused TLS handshakes raise `tls.refusals` alerts through the writer. Anyone can cause them, without a
    /// certificate; each one used to drop every fact the writer kept, so a flood of refusals sent every bank's next
    /// charges to the database for all their facts (10 reads per charge here). An alert write now drops only the
    /// open-alert answers, and a `wallet.many_accounts` alert raised that way is still seen by the next charge.
    func testAnAlertRaisedOffTheChargePathDropsOnlyTheOpenAlertAnswers() async throws {
        let fixture = try await makeStore { _ in }
        let (store, link) = (fixture.store!, fixture.link)
        for n in 0..<2 { _ = try await charge(store, "warm\(n)", link: link, yen: 100) }
        let thresholds = store.monitoring.thresholds
        for n in 1...3 {
            let signal = try XCTUnwrap(
                MonitoringRules.tlsRefusals(
                    address: "198.51.100.\(n)", refusalsInWindow: thresholds.tlsRefusalsMinRefusals, thresholds))
            try await store.raiseAlert(signal)
        }
        let before = await store.writerStatistics().factsRead
        let next = try await charge(store, "after-refusals", link: link, yen: 100)
        XCTAssertEqual(next.decision, .approved)
        let read = await store.writerStatistics().factsRead - before
        XCTAssertEqual(read, 1, "only the wallet's open many-accounts alert is read again")

        // A wallet.many_accounts alert raised the same way holds the wallet's next charge.
        let many = try XCTUnwrap(
            MonitoringRules.walletManyAccounts(
                walletID: "W0000001", bankCode: "9900", tokensLinkedInWindow: thresholds.walletManyAccountsMinTokens,
                thresholds))
        try await store.raiseAlert(many)
        let held = try await charge(store, "while-many-accounts", link: link, yen: 100)
        XCTAssertEqual(held.decision, .held)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    /// The minutely prune of old decision buckets drops only the banks' windows that reach back to what it deleted
    /// (it used to drop every fact the writer kept, once a minute).
    func testPruningOldDecisionBucketsKeepsTheFactsOfCurrentWindows() async throws {
        let fixture = try await makeStore { _ in }
        let (store, link, clock) = (fixture.store!, fixture.link, fixture.clock)
        for n in 0..<2 { _ = try await charge(store, "warm\(n)", link: link, yen: 100) }
        try await store.pruneDecisionBuckets(olderThanUnixMs: clock.now - 2 * 3_600_000)
        var read = try await factsRead(store, link, by: "after-prune")
        XCTAssertEqual(read, 0)
        // A prune reaching into the bank's window (here every bucket, the current one too) drops that window.
        try await store.pruneDecisionBuckets(olderThanUnixMs: clock.now + 60_000)
        read = try await factsRead(store, link, by: "after-deep-prune")
        XCTAssertEqual(read, 1, "the bank's decision window is read again")
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testVelocityCountsEachCreditUntilItLeavesTheWindow() async throws {
        let fixture = try await makeStore {
            $0.walletVelocityMinYen = 1_000
            $0.walletVelocityWindowMs = 60_000
        }
        let (store, link, clock) = (fixture.store!, fixture.link, fixture.clock)
        var decisions: [Decision] = []
        for n in 0..<3 {
            decisions.append(try await charge(store, "v\(n)", link: link, yen: 300).decision)
            clock.advance(ms: 1_000)
        }
        // 900 credited within the minute: the next 300 crosses 1,000 and is held (and is no credit itself).
        decisions.append(try await charge(store, "v3", link: link, yen: 300).decision)
        XCTAssertEqual(decisions, [.approved, .approved, .approved, .held])

        // 61 s after the first credit it has left the window: 600 + 300 stays under, approved.
        clock.advance(ms: 58_000)
        let afterFirstLeft = try await charge(store, "v4", link: link, yen: 300)
        XCTAssertEqual(afterFirstLeft.decision, .approved)
        // 600 + 300 (v4) = 900 in the window now; 100 more reaches 1,000.
        let crossing = try await charge(store, "v5", link: link, yen: 100)
        XCTAssertEqual(crossing.decision, .held)

        // An hour on, the window is empty.
        clock.advance(ms: 3_600_000)
        let later = try await charge(store, "v6", link: link, yen: 900)
        XCTAssertEqual(later.decision, .approved)
        let alert = try await store.alerts().first { $0.rule == "wallet.velocity" }
        XCTAssertEqual(alert?.count, 2)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testABlockBetweenChargesDeclinesTheVeryNextOne() async throws {
        let fixture = try await makeStore { _ in }
        let (store, link) = (fixture.store!, fixture.link)
        let audit = AuditContext(actor: "operator/test", reason: "test")
        let before = try await charge(store, "b0", link: link, yen: 100)
        XCTAssertEqual(before.decision, .approved)

        _ = try await store.block(kind: .wallet, value: "W0000001", bankCode: nil, audit: audit)
        let blocked = try await charge(store, "b1", link: link, yen: 100)
        XCTAssertEqual(blocked.decision, .declined)
        XCTAssertEqual(blocked.declineReason, .fraudSuspected)

        _ = try await store.unblock(kind: .wallet, value: "W0000001", bankCode: nil, audit: audit)
        let unblocked = try await charge(store, "b2", link: link, yen: 100)
        XCTAssertEqual(unblocked.decision, .approved)

        _ = try await store.block(kind: .accountToken, value: "tok-hanako", bankCode: "9900", audit: audit)
        let tokenBlocked = try await charge(store, "b3", link: link, yen: 100)
        XCTAssertEqual(tokenBlocked.decision, .declined)
        // One alert per blocked subject (the wallet, then the token).
        let hits = try await store.alerts().filter { $0.rule == "blocklist.hit" }
        XCTAssertEqual(hits.count, 2)
    }

    func testDeclineBurstCountsTheBanksDecisionsInTheSlidingWindow() async throws {
        let fixture = try await makeStore {
            $0.declineBurstMinDeclines = 3
            $0.declineBurstMinPercentOfDecisions = 50
            $0.declineBurstWindowMs = 60_000
        }
        let (store, link, clock) = (fixture.store!, fixture.link, fixture.clock)
        let decline: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .decline(.limitExceeded, rule: "test") }
        // The link's decision and two approvals, then declines 10 s apart (one per bucket): the third decline is
        // 3 of 6, 50 %.
        for n in 0..<2 { _ = try await charge(store, "a\(n)", link: link, yen: 10) }
        for n in 0..<3 {
            clock.advance(ms: 10_000)
            _ = try await charge(store, "d\(n)", link: link, yen: 10, decide: decline)
        }
        var burst = try await store.alerts().first { $0.rule == "bank.decline_burst" }
        XCTAssertEqual(burst?.detail, "3 of 6 decisions declined within 1 min")

        // 35 s on (65 s after the link and the approvals) their bucket has left the window (buckets starting after now − 60 s)
        // and the first decline's has not: the next decline is 4 of 4, if the kept buckets slid as the query does.
        clock.advance(ms: 35_000)
        _ = try await charge(store, "d3", link: link, yen: 10, decide: decline)
        burst = try await store.alerts().first { $0.rule == "bank.decline_burst" }
        XCTAssertEqual(burst?.detail, "4 of 4 decisions declined within 1 min")
        XCTAssertEqual(burst?.count, 2)

        // An operator's write between charges (pruning the buckets) drops what the writer kept.
        try await store.pruneDecisionBuckets(olderThanUnixMs: clock.now + 1)
        _ = try await charge(store, "d4", link: link, yen: 10, decide: decline)
        let buckets = try await store.decisionBuckets(sinceUnixMs: 0)
        XCTAssertEqual(buckets.map(\.declined), [1])
    }

    func testAWalletWithMoreCreditsThanTheCacheKeepsIsJudgedOnTheDatabasesSum() async throws {
        let credits = ChargeFactsCache.maxChargesPerWallet + 76
        let fixture = try await makeStore {
            $0.walletVelocityMinYen = Int64(credits) + 50
        }
        let (store, link) = (fixture.store!, fixture.link)
        // One yen each, concurrently (batched): past the per-wallet bound the writer stops keeping the wallet's
        // credits and sums them in the database; the sum each charge sees is the same either way.
        try await withThrowingTaskGroup(of: Decision.self) { group in
            for n in 0..<credits {
                group.addTask {
                    try await store.submitCharge(
                        chargeRequest("one-\(n)", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("one-\(n)"),
                        decide: approveAll, sign: testSign
                    ).decision
                }
            }
            for try await decision in group { XCTAssertEqual(decision, .approved) }
        }
        let under = try await charge(store, "under", link: link, yen: 49)
        XCTAssertEqual(under.decision, .approved)
        let crossing = try await charge(store, "crossing", link: link, yen: 1)
        XCTAssertEqual(crossing.decision, .held)
    }
}
