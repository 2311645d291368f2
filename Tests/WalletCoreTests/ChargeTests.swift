import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class ChargeTests: XCTestCase {
    func testApprovedChargeIsOneTransferFromSettlementToWalletWithItsIdempotencyRecord() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)

        let response = try await store.submitCharge(
            chargeRequest("r1", link: link, yen: 12_000), bankCode: "9900", bodyDigest: digest("r1"),
            decide: approveAll, sign: testSign)

        XCTAssertEqual(response.decision, .approved)
        XCTAssertTrue(response.chargeID.hasPrefix("ch_"))
        XCTAssertEqual(response.processedAtUnixMs, noonTokyo)
        // The receipt binds the request (SPEC §5 fields 6-9) and names its key (field 10).
        XCTAssertEqual(
            response,
            testSign(
                ChargeResponse(
                    decision: .approved, chargeID: response.chargeID, processedAtUnixMs: noonTokyo, requestID: "r1",
                    bankCode: "9900", linkID: link, amountYen: 12_000)))
        let fetched = try await store.charge(bankCode: "9900", requestID: "r1")
        XCTAssertEqual(fetched, response, "GetCharge returns the same sealed receipt")
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.balanceYen, 12_000)
        let transfers = try await store.count(
            """
            SELECT count(*) FROM transfer t JOIN bank b ON b.settlement_account_id = t.debit_account_id
            JOIN wallet w ON w.ledger_account_id = t.credit_account_id
            WHERE t.charge_id = ? AND b.code = '9900' AND w.id = 'W0000001' AND t.amount_yen = 12000
            """, [response.chargeID])
        XCTAssertEqual(transfers, 1)
        // The charge row is its own idempotency record (v12): the body digest beside the answer, nothing in
        // `idempotency`.
        let ownRecord = try await store.count(
            "SELECT count(*) FROM charge WHERE bank_code = '9900' AND request_id = 'r1' AND id = ? AND body_sha256 = ?",
            [response.chargeID, Data(digest("r1"))])
        XCTAssertEqual(ownRecord, 1)
        let records = try await store.count("SELECT count(*) FROM idempotency WHERE request_id = 'r1'")
        XCTAssertEqual(records, 0)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    /// Issue 14: a charge id begins with its time, so new charges append to the indexes keyed by charge id; the rest
    /// stays random, so ids drawn in the same millisecond differ and cannot be guessed from one another.
    func testChargeIDsBeginWithTheirTimeAndSortInTheOrderTheyWereMade() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        var ids: [String] = []
        for (index, stepMs) in [0, 0, 1, 999, 86_400_000].enumerated() {
            clock.advance(ms: Int64(stepMs))
            let response = try await store.submitCharge(
                chargeRequest("t\(index)", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("t\(index)"),
                decide: approveAll, sign: testSign)
            let time = String(response.processedAtUnixMs, radix: 16)
            XCTAssertEqual(response.chargeID.count, 3 + 12 + 20, response.chargeID)
            XCTAssertTrue(
                response.chargeID.hasPrefix("ch_" + String(repeating: "0", count: 12 - time.count) + time),
                "\(response.chargeID) begins with its processed_at \(response.processedAtUnixMs)")
            ids.append(response.chargeID)
        }
        XCTAssertEqual(Set(ids).count, ids.count, "two charges in one millisecond still get different ids")
        XCTAssertEqual(Array(ids.dropFirst(2)), ids.dropFirst(2).sorted(), "later charges sort after earlier ones")
        XCTAssertLessThan(max(ids[0], ids[1]), ids[2])
    }

    func testHeldChargeIsRecordedWithoutCreditingTheWallet() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))

        let response = try await store.submitCharge(
            chargeRequest("h1", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h1"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)

        XCTAssertEqual(response.decision, .held)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 0)
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 0)
        let holds = try await store.holds()
        XCTAssertEqual(holds.map(\.chargeID), [response.chargeID])
        XCTAssertEqual(holds.first?.rule, "near-limit")
    }

    func testDeclinedChargeIsRecordedAndReplayedButCreditsNothing() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let decline: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .decline(.limitExceeded, rule: "daily") }

        let first = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("d1"), decide: decline,
            sign: testSign)
        let retry = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("d1"),
            decide: approveAll, sign: testSign)

        XCTAssertEqual(first.decision, .declined)
        XCTAssertEqual(first.declineReason, .limitExceeded)
        XCTAssertEqual(retry, first, "a retry gets the stored answer, not a new judgement")
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 0)
    }

    func testRejectedChargeWritesNothingAndDoesNotConsumeTheRequestID() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let rejection = Rejection(.permissionDenied, "bank 9900 is SUSPENDED for charge")

        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("x1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("x1"),
                decide: { _ in .reject(rejection) }, sign: testSign),
            .rejected(rejection))
        let rows = try await store.count(
            """
            SELECT (SELECT count(*) FROM charge) + (SELECT count(*) FROM idempotency WHERE request_id = 'x1')
            """)
        XCTAssertEqual(rows, 0)

        let later = try await store.submitCharge(
            chargeRequest("x1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("x1"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(later.decision, .approved)
    }

    func testRetryWithSameBodyReturnsTheStoredResponseByteForByteWithoutSecondCredit() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let first = try await store.submitCharge(
            chargeRequest("same", link: link, yen: 5_000), bankCode: "9900", bodyDigest: digest("same"),
            decide: approveAll, sign: testSign)

        clock.advance(ms: 60_000)
        let second = try await store.submitCharge(
            chargeRequest("same", link: link, yen: 5_000), bankCode: "9900", bodyDigest: digest("same"),
            decide: approveAll,
            sign: {
                var other = $0; other.receiptSignature = [0xFF]; return other
            })

        XCTAssertEqual(second, first)
        XCTAssertEqual(second.receiptSignature, first.receiptSignature)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 5_000)
    }

    func testRetryAcrossRestartReturnsTheStoredResponse() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        var (store, link) = try await makeLinkedStore(directory, clock: clock)
        let first = try await store.submitCharge(
            chargeRequest("restart", link: link, yen: 7_000), bankCode: "9900", bodyDigest: digest("restart"),
            decide: approveAll, sign: testSign)

        store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        let second = try await store.submitCharge(
            chargeRequest("restart", link: link, yen: 7_000), bankCode: "9900", bodyDigest: digest("restart"),
            decide: approveAll, sign: testSign)

        XCTAssertEqual(second, first)
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 1)
    }

    func testRequestIDReusedWithDifferentBodyIsDuplicateRequestDifferentBody() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await store.submitCharge(
            chargeRequest("dup", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("dup-a"),
            decide: approveAll, sign: testSign)

        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("dup", link: link, yen: 9_000), bankCode: "9900", bodyDigest: digest("dup-b"),
                decide: approveAll, sign: testSign),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "dup"))
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 1_000)
    }

    func testRequestIDOfALinkReusedForAChargeIsDuplicateRequestDifferentBody() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        // makeLinkedStore used request id "link-W0000001-1" for the link.
        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("link-W0000001-1", link: link, yen: 1_000), bankCode: "9900",
                bodyDigest: digest("link" + "W0000001" + "1" + "tok-hanako"), decide: approveAll, sign: testSign),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "link-W0000001-1"))
    }

    func testSameRequestIDFromAnotherBankIsADifferentRequest() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let otherLink = try await store.linkForTest(walletID: "W0000002", bank: "0001", token: "tok-ichiro", code: 2)

        let a = try await store.submitCharge(
            chargeRequest("shared", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("a"),
            decide: approveAll, sign: testSign)
        let b = try await store.submitCharge(
            chargeRequest("shared", link: otherLink, yen: 2_000, bank: "0001"), bankCode: "0001",
            bodyDigest: digest("b"), decide: approveAll, sign: testSign)

        XCTAssertNotEqual(a.chargeID, b.chargeID)
        XCTAssertEqual(b.decision, .approved)
    }

    func testTwinOfAQueuedRequestIsRequestInFlight() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        // The first request's decide blocks inside the batch until the twin has been turned away.
        let slowDecide: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in
            entered.signal()
            release.wait()
            return .approve
        }
        let first = Task {
            try await store.submitCharge(
                chargeRequest("twin", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("twin"),
                decide: slowDecide, sign: testSign)
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                entered.wait()
                continuation.resume()
            }
        }

        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("twin", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("twin"),
                decide: approveAll, sign: testSign),
            .requestInFlight(bankCode: "9900", requestID: "twin"))
        release.signal()
        let answered = try await first.value
        XCTAssertEqual(answered.decision, .approved)
    }

    func testApproveOverTheBalanceCapIsDeclinedBalanceCapExceeded() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let capOnly = ChargeChecks(rules: [ChargeRules.balanceCap])
        _ = try await store.submitCharge(
            chargeRequest("fill", link: link, yen: 999_000), bankCode: "9900", bodyDigest: digest("fill"),
            decide: approveAll, sign: testSign)

        let over = try await store.submitCharge(
            chargeRequest("over", link: link, yen: 1_001), bankCode: "9900", bodyDigest: digest("over"),
            decide: { capOnly.evaluate($0) }, sign: testSign)
        let exact = try await store.submitCharge(
            chargeRequest("exact", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("exact"),
            decide: { capOnly.evaluate($0) }, sign: testSign)

        XCTAssertEqual(over.decision, .declined)
        XCTAssertEqual(over.declineReason, .balanceCapExceeded)
        XCTAssertEqual(exact.decision, .approved, "the cap itself is allowed")
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 1_000_000)
    }

    func testAnApproveVerdictThatBreaksTheCapIsAnInvariantViolationAndWritesNothing() async throws {
        // The wallet core no longer keeps its own copy of the cap rule: an approve over the cap means the chain that
        // decided lacks `charge.balance_cap`, and the request is refused whole (INTERNAL), not recorded.
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await store.submitCharge(
            chargeRequest("fill", link: link, yen: 999_000), bankCode: "9900", bodyDigest: digest("fill"),
            decide: approveAll, sign: testSign)
        await XCTAssertThrowsInvariantViolation(
            try await store.submitCharge(
                chargeRequest("over", link: link, yen: 1_001), bankCode: "9900", bodyDigest: digest("over"),
                decide: approveAll, sign: testSign))
        let rows = try await store.count(
            "SELECT (SELECT count(*) FROM charge WHERE request_id = 'over') + (SELECT count(*) FROM transfer) - 1")
        XCTAssertEqual(rows, 0, "no charge row for the refused request, one transfer (the fill)")
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testSchemaRefusesAWalletBalanceOverItsCapEvenWhenCodeTriesIt() async throws {
        let directory = TemporaryDirectory()
        let (store, _) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        do {
            try await store.pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE ledger_account SET credits_posted_yen = balance_cap_yen + 1 WHERE kind = 'wallet'
                        """)
            }
            XCTFail("the CHECK constraint must refuse a balance over the cap")
        } catch let error as DatabaseError {
            XCTAssertEqual(error.extendedResultCode, .SQLITE_CONSTRAINT_CHECK)
        }
    }

    func testApproveOnAnInactiveOrForeignLinkIsDeclinedLinkNotActive() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let linkOnly = ChargeChecks(rules: [ChargeRules.linkActive])
        let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { linkOnly.evaluate($0) }

        let unknown = try await store.submitCharge(
            chargeRequest("u1", link: "ln_nope", yen: 1_000), bankCode: "9900", bodyDigest: digest("u1"),
            decide: decide, sign: testSign)
        let foreign = try await store.submitCharge(
            chargeRequest("f1", link: link, yen: 1_000, bank: "0001"), bankCode: "0001", bodyDigest: digest("f1"),
            decide: decide, sign: testSign)
        _ = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "un1", bodyDigest: digest("un1"),
            reason: "customer request")
        let unlinked = try await store.submitCharge(
            chargeRequest("i1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("i1"),
            decide: decide, sign: testSign)

        for response in [unknown, foreign, unlinked] {
            XCTAssertEqual(response.decision, .declined)
            XCTAssertEqual(response.declineReason, .linkNotActive)
        }
        // An approve through the unlinked link breaks the chain's guarantee: refused whole, nothing written.
        await XCTAssertThrowsInvariantViolation(
            try await store.submitCharge(
                chargeRequest("i2", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("i2"),
                decide: approveAll, sign: testSign))
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 0)
    }

    func testApproveForAFrozenWalletIsDeclinedFraudSuspected() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        try await store.pool.write { db in try db.execute(sql: "UPDATE wallet SET charge_frozen = 1") }
        let frozenOnly = ChargeChecks(rules: [ChargeRules.walletNotFrozen])

        let response = try await store.submitCharge(
            chargeRequest("fz", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("fz"),
            decide: { frozenOnly.evaluate($0) }, sign: testSign)

        XCTAssertEqual(response.declineReason, .fraudSuspected)
        await XCTAssertThrowsInvariantViolation(
            try await store.submitCharge(
                chargeRequest("fz2", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("fz2"),
                decide: approveAll, sign: testSign))
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 0)
    }

    func testGetChargeReadsTheOutcomeAndUnknownRequestIsNil() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let response = try await store.submitCharge(
            chargeRequest("g1", link: link, yen: 3_000), bankCode: "9900", bodyDigest: digest("g1"),
            decide: approveAll, sign: testSign)

        let found = try await store.charge(bankCode: "9900", requestID: "g1")
        let otherBank = try await store.charge(bankCode: "0001", requestID: "g1")
        let unknown = try await store.charge(bankCode: "9900", requestID: "nope")
        XCTAssertEqual(found, response)
        XCTAssertNil(otherBank)
        XCTAssertNil(unknown)
    }

    /// Records in `idempotency` (a HELD charge's first answer, a link's) are kept 30 days, then pruned, and their
    /// request ids stay consumed; an APPROVED or DECLINED charge is its own record and answers its retries as long
    /// as it exists (SPEC §3: "at least 30 days").
    func testIdempotencyRecordsAreKeptThirtyDaysThenPrunedAndTheRequestIDStaysConsumed() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let held = try await store.submitCharge(
            chargeRequest("old", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("old"),
            decide: { _ in .hold(rule: "r") }, sign: testSign)
        let approved = try await store.submitCharge(
            chargeRequest("kept", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("kept"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(held.decision, .held)

        clock.advance(ms: 30 * 86_400_000)
        let keptAtThirtyDays = try await store.pruneIdempotency()
        let replay = try await store.submitCharge(
            chargeRequest("old", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("old"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(replay, held)

        clock.advance(ms: 1)
        let pruned = try await store.pruneIdempotency()
        XCTAssertEqual(keptAtThirtyDays, 0)
        XCTAssertEqual(pruned, 2, "the held charge's record and the link's")
        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("old", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("old"),
                decide: approveAll, sign: testSign),
            .requestIDExpired(bankCode: "9900", requestID: "old"))
        // One namespace per bank across operations: the consumed id is refused to an unlink as well.
        await XCTAssertThrowsWalletError(
            try await store.unlink(
                linkID: link, bankCode: "9900", requestID: "old", bodyDigest: digest("old-unlink"),
                reason: "customer request"),
            .requestIDExpired(bankCode: "9900", requestID: "old"))
        let stillAnswered = try await store.submitCharge(
            chargeRequest("kept", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("kept"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(stillAnswered, approved)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 1)
    }

    /// A charge that is its own record (v12) shares the bank's one request_id namespace with links and unlinks
    /// (SPEC §3): the same id with another body, or for another operation, is ALREADY_EXISTS, and nothing moves.
    func testAChargesOwnRecordRefusesAnotherBodyAndAnotherOperation() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let declined = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("d1"),
            decide: { _ in .decline(.fraudSuspected, rule: "test") }, sign: testSign)
        XCTAssertEqual(declined.decision, .declined)
        let replay = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("d1"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(replay, declined, "a DECLINED answer is replayed, not judged again")

        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("d1", link: link, yen: 2_000), bankCode: "9900", bodyDigest: digest("d1-other"),
                decide: approveAll, sign: testSign),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "d1"))
        await XCTAssertThrowsWalletError(
            try await store.unlink(
                linkID: link, bankCode: "9900", requestID: "d1", bodyDigest: digest("d1"), reason: "customer request"),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "d1"))
        let link1 = try await store.link(id: link)
        XCTAssertEqual(link1?.active, true, "the refused unlink changed nothing")
        let other = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 1_000, bank: "0001"), bankCode: "0001", bodyDigest: digest("d1"),
            decide: { _ in .decline(.linkNotActive, rule: "link") }, sign: testSign)
        XCTAssertNotEqual(other.chargeID, declined.chargeID, "another bank's namespace is its own")
        let transfers = try await store.count("SELECT count(*) FROM transfer")
        XCTAssertEqual(transfers, 0, "no money moved")
    }

    /// The schema holds the v12 rules whatever the code does: a final charge carries its digest and a HELD one does
    /// not; a charge's own record is never edited; a request id is in one home only.
    func testTheSchemaKeepsAChargesOwnRecordWhole() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let approved = try await store.submitCharge(
            chargeRequest("s1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("s1"),
            decide: approveAll, sign: testSign)
        let insert = """
            INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature, body_sha256)
            VALUES (?, '9900', ?, ?, 'W0000001', 1000, ?, ?, 'r', ?, 0, 0, x'01', ?)
            """
        let refusals: [(String, StatementArguments)] = [
            (insert, ["ch_a", "s2", link, 1, 0, 0, nil] as StatementArguments),
            (insert, ["ch_b", "s3", link, 2, 0, 1, Data(digest("s3"))]),
            (insert, ["ch_c", "link-request", link, 3, 1, 0, Data(digest("x"))]),
            ("UPDATE charge SET decision = 3, decline_reason = 1 WHERE id = ?", [approved.chargeID]),
            ("UPDATE charge SET receipt_signature = x'02' WHERE id = ?", [approved.chargeID]),
            ("UPDATE charge SET body_sha256 = NULL WHERE id = ?", [approved.chargeID]),
            (
                """
                INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                    decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms)
                VALUES ('9900', 's1', 'link', zeroblob(32), 1, 'ln_x', 0, 0, x'01', 0, 0)
                """, []
            ),
        ]
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                        decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms)
                    VALUES ('9900', 'link-request', 'link', zeroblob(32), 1, 'ln_x', 0, 0, x'01', 0, 0)
                    """)
        }
        for (sql, arguments) in refusals {
            do {
                try await store.pool.write { db in try db.execute(sql: sql, arguments: arguments) }
                XCTFail("the schema accepted: \(sql) \(arguments)")
            } catch let error as DatabaseError {
                XCTAssertEqual(error.resultCode, .SQLITE_CONSTRAINT, "\(sql): \(error)")
            }
        }
        let after = try await store.charge(bankCode: "9900", requestID: "s1")
        XCTAssertEqual(after, approved)
    }

    func testUnknownBankIsRejectedPermissionDenied() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("b1", link: link, yen: 1_000, bank: "1234"), bankCode: "1234", bodyDigest: digest("b1"),
                decide: approveAll, sign: testSign),
            .rejected(Rejection(.permissionDenied, "bank 1234 is not registered")))
    }
}
