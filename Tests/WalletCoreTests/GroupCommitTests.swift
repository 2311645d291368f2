import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class GroupCommitTests: XCTestCase {
    func testThousandConcurrentSubmissionsOfTheSameChargeMakeExactlyOneTransfer() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))

        let outcomes = await withTaskGroup(of: Result<ChargeResponse, WalletError>.self) { group in
            for _ in 0..<1_000 {
                group.addTask {
                    do {
                        return .success(
                            try await store.submitCharge(
                                chargeRequest("same-charge", link: link, yen: 2_500), bankCode: "9900",
                                bodyDigest: digest("same-charge"), decide: approveAll, sign: testSign))
                    } catch let error as WalletError {
                        return .failure(error)
                    } catch {
                        return .failure(.invariantViolated("untyped \(error)"))
                    }
                }
            }
            var all: [Result<ChargeResponse, WalletError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }

        let answers = outcomes.compactMap { try? $0.get() }
        let errors = outcomes.compactMap { outcome -> WalletError? in
            if case .failure(let error) = outcome { return error } else { return nil }
        }
        XCTAssertGreaterThanOrEqual(answers.count, 1)
        XCTAssertEqual(Set(answers).count, 1, "every answer is the same stored response")
        XCTAssertEqual(answers.first?.decision, .approved)
        XCTAssertTrue(
            errors.allSatisfy { $0 == WalletError.requestInFlight(bankCode: "9900", requestID: "same-charge") })
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 1)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 2_500)
    }

    func testThousandDistinctChargesFromFiftyTasksMakeThousandTransfersAndBalancesMatch() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, linkA) = try await makeLinkedStore(directory, clock: clock)
        let linkB = try await store.linkForTest(walletID: "W0000002", token: "tok-ichiro", code: 2)

        let approved = try await withThrowingTaskGroup(of: Int64.self) { group in
            for task in 0..<50 {
                group.addTask {
                    var credited: Int64 = 0
                    for n in 0..<20 {
                        let yen = Int64(100 + task * 20 + n)
                        let link = task % 2 == 0 ? linkA : linkB
                        let response = try await store.submitCharge(
                            chargeRequest("t\(task)-\(n)", link: link, yen: yen), bankCode: "9900",
                            bodyDigest: digest("t\(task)-\(n)"), decide: approveAll, sign: testSign)
                        XCTAssertEqual(response.decision, .approved)
                        credited += yen
                    }
                    return credited
                }
            }
            return try await group.reduce(0, +)
        }

        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 1_000)
        let a = try await store.wallet(id: "W0000001")?.balanceYen ?? -1
        let b = try await store.wallet(id: "W0000002")?.balanceYen ?? -1
        XCTAssertEqual(a + b, approved)
        let settlement = try await store.count(
            """
            SELECT a.debits_posted_yen FROM ledger_account a JOIN bank b ON b.settlement_account_id = a.id
            WHERE b.code = '9900'
            """)
        XCTAssertEqual(Int64(settlement), approved)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testFailureInsideABatchFailsOnlyTheRequestThatCausedIt() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let rejection = Rejection(.invalidArgument, "bad")

        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<64 {
                group.addTask {
                    let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in
                        n % 8 == 3 ? .reject(rejection) : .approve
                    }
                    let ok =
                        (try? await store.submitCharge(
                            chargeRequest("mix-\(n)", link: link, yen: 10), bankCode: "9900",
                            bodyDigest: digest("m\(n)"),
                            decide: decide, sign: testSign)) != nil
                    return (n, ok)
                }
            }
            var all: [Int: Bool] = [:]
            for await (n, ok) in group { all[n] = ok }
            return all
        }

        for (n, ok) in results { XCTAssertEqual(ok, n % 8 != 3, "request \(n)") }
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 56)
    }

    func testOneCommitPerRequestModeGivesTheSameLedger() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(
            directory, clock: ManualClock(noonTokyo), limits: WalletLimits(maxBatchWrites: 1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<100 {
                group.addTask {
                    _ = try await store.submitCharge(
                        chargeRequest("one-\(n)", link: link, yen: 7), bankCode: "9900", bodyDigest: digest("o\(n)"),
                        decide: approveAll, sign: testSign)
                }
            }
            try await group.waitForAll()
        }
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 700)
    }

    func testChargesInOneBatchSeeEachOthersTotals() async throws {
        // Two charges racing for the same daily limit: the second must see the first's credit.
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let dailyLimit: @Sendable (ChargeAttemptFacts) -> Verdict = { facts in
            facts.chargedTodayYen + facts.request.amountYen > 500_000
                ? .decline(.limitExceeded, rule: "daily") : .approve
        }
        let responses = try await withThrowingTaskGroup(of: ChargeResponse.self) { group in
            for n in 0..<20 {
                group.addTask {
                    try await store.submitCharge(
                        chargeRequest("race-\(n)", link: link, yen: 100_000), bankCode: "9900",
                        bodyDigest: digest("race\(n)"), decide: dailyLimit, sign: testSign)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(responses.filter { $0.decision == .approved }.count, 5)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 500_000)
    }

    func testReadsDoNotWaitForTheWriter() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let blocked = Task {
            try await store.submitCharge(
                chargeRequest("blocker", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("blocker"),
                decide: { _ in
                    entered.signal(); release.wait(); return .approve
                }, sign: testSign)
        }
        await withCheckedContinuation { c in
            DispatchQueue.global().async {
                entered.wait(); c.resume()
            }
        }

        // The writer is stuck inside its batch transaction; reads still answer.
        let bank = try await store.bank(code: "9900")
        let wallet = try await store.wallet(id: "W0000001")
        let charge = try await store.charge(bankCode: "9900", requestID: "blocker")
        XCTAssertEqual(bank?.chargeState, .enabled)
        XCTAssertEqual(wallet?.balanceYen, 0)
        XCTAssertNil(charge, "the batch is not committed yet")
        release.signal()
        _ = try await blocked.value
        let after = try await store.charge(bankCode: "9900", requestID: "blocker")
        XCTAssertEqual(after?.decision, .approved)
    }
}
