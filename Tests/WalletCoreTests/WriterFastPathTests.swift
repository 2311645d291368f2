import CSQLiteFaultVFS
import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// Issue 14's writer: the facts cache, the savepoint-free fast path, receipts sealed before the writer, the lazy
/// legacy digest — and that none of it weakens durability (a batch whose fsync fails answers no one APPROVED).
final class WriterFastPathTests: XCTestCase {
    /// Real fault injection: the wrapping VFS (Tests/Support/CSQLiteFaultVFS) makes the commit's xSync of the WAL
    /// return SQLITE_IOERR_FSYNC, so the commit fails exactly where a full or dying disk would fail it.
    func testABatchWhoseFsyncFailsAnswersNoOneApprovedAndLeavesNothingWritten() async throws {
        XCTAssertEqual(bankgw_faultvfs_install(), 0, "the fault VFS registers")
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let first = try await store.submitCharge(
            chargeRequest("before", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("before"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(first.decision, .approved)
        let failedBefore = bankgw_faultvfs_failed_syncs()

        bankgw_faultvfs_set_fail_sync(1)
        let outcomes = await withTaskGroup(of: Result<ChargeResponse, WalletError>.self) { group in
            for n in 0..<32 {
                group.addTask {
                    do {
                        return .success(
                            try await store.submitCharge(
                                chargeRequest("doomed-\(n)", link: link, yen: 100), bankCode: "9900",
                                bodyDigest: digest("doomed-\(n)"), decide: approveAll, sign: testSign))
                    } catch let error as WalletError {
                        return .failure(error)
                    } catch {
                        return .failure(.invariantViolated("untyped \(error)"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        bankgw_faultvfs_set_fail_sync(0)

        XCTAssertGreaterThan(bankgw_faultvfs_failed_syncs(), failedBefore, "the commit's fsync was failed")
        for outcome in outcomes {
            switch outcome {
            case .success(let response): XCTFail("answered \(response.decision) although the fsync failed")
            case .failure(.storeUnavailable): break
            case .failure(let error): XCTFail("expected storeUnavailable, got \(error)")
            }
        }
        // Nothing of the failed batches is visible: no charge, transfer, idempotency record or audit entry.
        let doomed = "SELECT count(*) FROM charge WHERE request_id LIKE 'doomed-%'"
        let doomedCharges = try await store.count(doomed)
        XCTAssertEqual(doomedCharges, 0)
        let doomedRecords = try await store.count("SELECT count(*) FROM idempotency WHERE request_id LIKE 'doomed-%'")
        XCTAssertEqual(doomedRecords, 0)
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 1)
        let audits = try await store.count("SELECT count(*) FROM audit WHERE detail LIKE '%doomed-%'")
        XCTAssertEqual(audits, 0)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 1_000)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")

        // The writer goes on, judging on the database's facts (its caches were dropped with the failed batch), and
        // a failed request may be sent again: it was never answered.
        let seen = FactsSeen()
        let again = try await store.submitCharge(
            chargeRequest("doomed-0", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("doomed-0"),
            decide: { facts in
                seen.record(facts)
                return .approve
            }, sign: testSign)
        XCTAssertEqual(again.decision, .approved)
        XCTAssertEqual(seen.all.map(\.chargedTodayYen), [1_000])
        XCTAssertEqual(seen.all.map { $0.wallet?.balanceYen }, [1_000])
        let after = try await store.verifyLedger()
        XCTAssertTrue(after.passed, "\(after.checks)")
        // Durable after a reopen too.
        let reopened = try WalletStore(stateDirectory: directory.path, clock: ManualClock(noonTokyo).provider)
        let reopenedBalance = try await reopened.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(reopenedBalance, 1_100)
    }

    func testChargesJudgedThroughTheFactsCacheSeeEveryEarlierCharge() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let seen = FactsSeen()
        let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { facts in
            seen.record(facts)
            return facts.request.amountYen == 3 ? .hold(rule: "test-hold") : .approve
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<40 {
                group.addTask {
                    _ = try await store.submitCharge(
                        chargeRequest("c-\(n)", link: link, yen: n % 4 == 0 ? 3 : 10), bankCode: "9900",
                        bodyDigest: digest("c-\(n)"), decide: decide, sign: testSign)
                }
            }
            try await group.waitForAll()
        }
        // In writer order each charge saw exactly the ones before it: counts 0..39, totals and balance growing.
        let facts = seen.all
        XCTAssertEqual(facts.map(\.chargesFromTokenToWalletInWindow), Array(0..<40))
        var charged: Int64 = 0
        var reserved: Int64 = 0
        for fact in facts {
            XCTAssertEqual(fact.chargedTodayYen, charged)
            XCTAssertEqual(fact.chargedThisMonthYen, charged)
            XCTAssertEqual(fact.reservedTodayYen, reserved)
            XCTAssertEqual(fact.wallet?.balanceYen, charged)
            XCTAssertEqual(fact.wallet?.reservedYen, reserved)
            if fact.request.amountYen == 3 { reserved += 3 } else { charged += 10 }
        }
        XCTAssertEqual(facts.filter(\.firstChargeAfterTokenMovedWallets).count, 0)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testChargeSeesAWalletFrozenByAWriteOutsideTheWriter() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let declineFrozen: @Sendable (ChargeAttemptFacts) -> Verdict = { facts in
            facts.wallet?.chargeFrozen == true ? .decline(.fraudSuspected, rule: "frozen") : .approve
        }
        let first = try await store.submitCharge(
            chargeRequest("warm", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("warm"),
            decide: declineFrozen, sign: testSign)
        XCTAssertEqual(first.decision, .approved)

        // On the writer's own connection, outside a batch (total_changes moves).
        try await store.pool.write { db in try db.execute(sql: "UPDATE wallet SET charge_frozen = 1") }
        let second = try await store.submitCharge(
            chargeRequest("after-freeze", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("after-freeze"),
            decide: declineFrozen, sign: testSign)
        XCTAssertEqual(second.decision, .declined)

        // From another connection (data_version moves).
        let other = try DatabaseQueue(path: directory.databasePath)
        try await other.write { db in try db.execute(sql: "UPDATE wallet SET charge_frozen = 0") }
        try other.close()
        let third = try await store.submitCharge(
            chargeRequest("after-thaw", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("after-thaw"),
            decide: declineFrozen, sign: testSign)
        XCTAssertEqual(third.decision, .approved)
    }

    func testChargeAfterAnUnlinkIsJudgedOnTheEndedLink() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let seen = FactsSeen()
        let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { facts in
            seen.record(facts)
            return facts.link?.active == true ? .approve : .decline(.linkNotActive, rule: "inactive")
        }
        _ = try await store.submitCharge(
            chargeRequest("before-unlink", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("b"),
            decide: decide, sign: testSign)
        _ = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "unlink-1", bodyDigest: digest("u"), reason: "customer")
        let after = try await store.submitCharge(
            chargeRequest("after-unlink", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("a"),
            decide: decide, sign: testSign)
        XCTAssertEqual(after.decision, .declined)
        XCTAssertEqual(seen.all.map { $0.link?.active }, [true, false])
    }

    func testLegacyDigestIsComputedOnlyForARecordStoredBeforeV4() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let computed = Counter()
        for _ in 0..<2 {  // the new charge, then its retry (a current-version record)
            let response = try await store.submitCharge(
                chargeRequest("lazy", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("lazy"),
                legacyBodyDigest: computed.next(digest("lazy-legacy")), decide: approveAll, sign: testSign)
            XCTAssertEqual(response.decision, .approved)
        }
        XCTAssertEqual(computed.value, 0, "no pre-v4 record: the legacy digest is never computed")
    }

    func testRetryOfAHeldChargeReturnsTheAnswerSealedOnTheWriterByteForByte() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let hold: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .hold(rule: "test-hold") }
        let first = try await store.submitCharge(
            chargeRequest("held", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("held"), decide: hold,
            sign: testSign)
        XCTAssertEqual(first.decision, .held)
        XCTAssertEqual(first, testSign(withoutSeal(first)), "sealed as HELD, not with the presigned APPROVED answer")
        let retry = try await store.submitCharge(
            chargeRequest("held", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("held"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(retry, first)
        XCTAssertEqual(try retry.wireBytes(), try first.wireBytes())
    }

    func testARejectedRequestInAFastBatchLeavesTheOthersAppliedOnce() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let rejection = Rejection(.invalidArgument, "bad")
        let results = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<200 {
                group.addTask {
                    let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in
                        n % 50 == 7 ? .reject(rejection) : .approve
                    }
                    return
                        (try? await store.submitCharge(
                            chargeRequest("f-\(n)", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("f\(n)"),
                            decide: decide, sign: testSign)) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertEqual(results.filter { $0 }.count, 196)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 1_960)
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 196)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }
    /// `decided` (what `bankgw_decisions_total` counts) is told once per committed new decision, even when the
    /// batch was replayed isolated and `decide` ran twice for its requests; a request refused as an invariant
    /// violation (an approve over the wallet's cap) is not a decision.
    func testDecidedIsToldOncePerCommittedDecisionWhenABatchIsReplayedIsolated() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let decideCalls = Counter()
        let decidedCalls = Counter()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<120 {
                group.addTask {
                    // Every 40th approves far over the cap: the writer refuses it after its charge row was written,
                    // so its batch is rolled back and replayed with a savepoint per request.
                    let yen: Int64 = n % 40 == 39 ? 900_000_000 : 10
                    return
                        (try? await store.submitCharge(
                            chargeRequest("d-\(n)", link: link, yen: yen), bankCode: "9900",
                            bodyDigest: digest("d\(n)"),
                            decide: { _ in decideCalls.next(.approve) }, sign: testSign,
                            decided: { verdict in
                                XCTAssertEqual(verdict, .approve)
                                _ = decidedCalls.next(())
                            })) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        let committed = outcomes.filter { $0 }.count
        XCTAssertEqual(committed, 117, "the three over-cap approvals are refused")
        XCTAssertEqual(decidedCalls.value, committed, "one decision counted per committed charge")
        let statistics = await store.writerStatistics()
        XCTAssertGreaterThan(statistics.batchesReplayedIsolated, 0, "the over-cap approvals forced isolated replays")
        XCTAssertGreaterThan(decideCalls.value, committed + 3, "the chain ran again for the replayed batches")
        // A retry is a replay, not a decision.
        _ = try await store.submitCharge(
            chargeRequest("d-0", link: link, yen: 10), bankCode: "9900", bodyDigest: digest("d0"), decide: approveAll,
            sign: testSign, decided: { _ in _ = decidedCalls.next(()) })
        XCTAssertEqual(decidedCalls.value, committed)
    }
}

/// The facts a chain was asked about, in the order it was asked (the writer's order).
private final class FactsSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var facts: [ChargeAttemptFacts] = []

    func record(_ fact: ChargeAttemptFacts) { lock.withLock { facts.append(fact) } }
    var all: [ChargeAttemptFacts] { lock.withLock { facts } }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func next<T>(_ value: T) -> T {
        lock.withLock { count += 1 }
        return value
    }

    var value: Int { lock.withLock { count } }
}

private func withoutSeal(_ response: ChargeResponse) -> ChargeResponse {
    var bare = response
    bare.receiptSignature = []
    bare.receiptKeyID = ""
    return bare
}
