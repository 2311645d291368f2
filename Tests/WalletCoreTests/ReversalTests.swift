import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// SPEC §9 in the wallet core: reversals, the compensation account, cases, payments, four eyes, and the outbox.
final class ReversalTests: XCTestCase {
    private func charge(_ store: WalletStore, _ id: String, link: String, yen: Int64) async throws -> String {
        let response = try await store.submitCharge(
            chargeRequest(id, link: link, yen: yen), bankCode: "9900", bodyDigest: digest(id), decide: approveAll,
            sign: testSign)
        XCTAssertEqual(response.decision, .approved)
        return response.chargeID
    }

    private func spend(_ store: WalletStore, yen: Int64) async throws {
        if try await store.merchantBalanceYen(id: "shop") == nil {
            try await store.registerMerchant(id: "shop", name: "店", audit: operatorAudit)
        }
        _ = try await store.payFromWallet(
            walletID: "W0000001", merchantID: "shop", amountYen: yen, reference: "r", audit: operatorAudit)
    }

    private func events(_ store: WalletStore, bank: String = "9900") async throws -> [BankEvent] {
        try await store.pool.read { db in try Ledger.events(db, bankCode: bank, after: 0, limit: 1_000) }
    }

    func testAShortWalletIsReversedFromTheCompensationAccountAndTheBankIsMadeWhole() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let before = try await store.settlementBalanceYen(bankCode: "9900")!
        let chargeID = try await charge(store, "c1", link: link, yen: 30_000)
        try await spend(store, yen: 25_000)

        let reversal = try await store.reverseCharge(
            chargeID: chargeID, amountYen: 30_000, reason: "fraud", requestedBy: "operator/a", approvedBy: "operator/b")

        XCTAssertEqual([reversal.fromWalletYen, reversal.fromCompensationYen], [5_000, 25_000])
        let settlement = try await store.settlementBalanceYen(bankCode: "9900")
        let wallet = try await store.wallet(id: "W0000001")
        let compensation = try await store.compensationBalanceYen()
        XCTAssertEqual(settlement, before, "the bank's settlement account is whole again")
        XCTAssertEqual(wallet?.balanceYen, 0)
        XCTAssertEqual(wallet?.chargeFrozen, true, "a reversal freezes the wallet's charges by default")
        XCTAssertEqual(compensation, -25_000)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
        let kinds = try await events(store).map(\.type)
        XCTAssertEqual(kinds, [.linkCreated, .chargeReversed, .compensationPaid, .walletFrozen])
    }

    func testReversalsAreRefusedNamingTheRule() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let chargeID = try await charge(store, "c1", link: link, yen: 10_000)
        let declined = try await store.submitCharge(
            chargeRequest("c2", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("c2"),
            decide: { _ in .decline(.limitExceeded, rule: "limit") }, sign: testSign)
        let held = try await store.submitCharge(
            chargeRequest("c3", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("c3"),
            decide: { _ in .hold(rule: "big") }, sign: testSign)
        func reverse(_ id: String, _ yen: Int64) async throws -> ChargeReversalRecord {
            try await store.reverseCharge(
                chargeID: id, amountYen: yen, reason: "t", keepChargesOpen: true, requestedBy: "operator/a",
                approvedBy: "operator/b")
        }
        await XCTAssertThrowsWalletError(
            try await reverse(chargeID, 10_001),
            .failedPrecondition(
                "reversing 10001 yen would exceed charge \(chargeID)'s unreversed 10000 yen "
                    + "(credited 10000 yen, reversed 0 yen) (rule reversal.at-most-credited)"))
        await XCTAssertThrowsWalletError(
            try await reverse(declined.chargeID, 1),
            .failedPrecondition(
                "charge \(declined.chargeID) was declined: nothing was credited, so nothing can be "
                    + "reversed (rule reversal.credited-only)"))
        await XCTAssertThrowsWalletError(
            try await reverse(held.chargeID, 1),
            .failedPrecondition(
                "charge \(held.chargeID) is held: nothing was credited; release or reject the hold "
                    + "instead (rule reversal.credited-only)"))
        _ = try await reverse(chargeID, 4_000)
        _ = try await reverse(chargeID, 6_000)
        await XCTAssertThrowsWalletError(
            try await reverse(chargeID, 1),
            .failedPrecondition(
                "charge \(chargeID) is already fully reversed (credited 10000 yen, reversed 10000 yen) "
                    + "(rule reversal.at-most-credited)"))
        await XCTAssertThrowsWalletError(
            try await store.reverseCharge(
                chargeID: chargeID, amountYen: 1, reason: "t", requestedBy: "operator/a", approvedBy: "operator/a"),
            .rejected(
                Rejection(
                    .permissionDenied,
                    "operator/a requested this reversal and cannot also approve it (rule four-eyes)")))
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.chargeFrozen, false, "keepChargesOpen leaves charges open")
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
    }

    func testApprovalExecutesOnlyWithASecondOperatorAndLapsesAfterADay() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let chargeID = try await charge(store, "c1", link: link, yen: 10_000)
        let requester = AuditContext(actor: "operator/demo", reason: "fraud")
        let lapseMs = store.monitoring.thresholds.approvalLapseMs
        XCTAssertEqual(lapseMs, 24 * 3_600_000, "SPEC §8: a request lapses after 24 h")
        let request = try await store.requestReversal(
            chargeID: chargeID, amountYen: 10_000, keepChargesOpen: false, lapseMs: lapseMs, audit: requester)
        XCTAssertEqual(request.kind, ApprovalKind.chargeReverse.rawValue)
        XCTAssertEqual(request.subject, chargeID)
        XCTAssertEqual(request.state, .pending)
        let balanceAfterRequest = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balanceAfterRequest, 10_000, "a request moves nothing")
        do {
            _ = try await store.decideApproval(id: request.approvalID, approve: true, audit: requester, sign: testSign)
            XCTFail("the requester approved their own request")
        } catch {
            guard case .rejected(let rejection) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(rejection.code, .permissionDenied)
        }
        let approved = try await store.decideApproval(
            id: request.approvalID, approve: true, audit: AuditContext(actor: "operator/demo2", reason: "checked"),
            sign: testSign)
        XCTAssertEqual(approved.state, .approved)
        XCTAssertEqual(approved.decidedBy, "operator/demo2")
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 0)
        let reversals = try await store.reversals(chargeID: chargeID)
        XCTAssertEqual(reversals.map(\.requestedBy), ["operator/demo"])
        XCTAssertEqual(reversals.map(\.approvedBy), ["operator/demo2"])

        try await store.unfreezeCharges(walletID: "W0000001", audit: operatorAudit)
        let other = try await charge(store, "c4", link: link, yen: 1_000)
        let late = try await store.requestReversal(
            chargeID: other, amountYen: 1_000, keepChargesOpen: false, lapseMs: lapseMs, audit: requester)
        clock.advance(ms: lapseMs)
        let lapsed = try await store.decideApproval(
            id: late.approvalID, approve: true, audit: AuditContext(actor: "operator/demo2", reason: "late"),
            sign: testSign)
        XCTAssertEqual(lapsed.state, .lapsed, "nobody approved it within 24 h: nothing done")
        let unreversed = try await store.reversals(chargeID: other)
        XCTAssertEqual(unreversed, [])
        let balanceAfterLapse = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balanceAfterLapse, 1_000)
    }

    func testACompensationCaseIsPaidInFullAndReported() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let ids = [
            try await charge(store, "c1", link: link, yen: 30_000),
            try await charge(store, "c2", link: link, yen: 35_000),
            try await charge(store, "c3", link: link, yen: 25_000),
        ]
        try await spend(store, yen: 80_000)
        let opened = try await store.openCompensationCase(
            bankCode: "9900", bankAccountToken: "tok-hanako", chargeIDs: ids, audit: operatorAudit)
        XCTAssertEqual(opened.state, .open)
        XCTAssertEqual(opened.chargedYen, 90_000)
        await XCTAssertThrowsWalletError(
            try await store.openCompensationCase(
                bankCode: "9900", bankAccountToken: "tok-other", chargeIDs: [ids[0]], audit: operatorAudit),
            .failedPrecondition("charge \(ids[0]) is not a charge of bank 9900 on a link with this account token"))
        _ = try await store.reverseCharge(
            chargeID: ids[0], amountYen: 5_000, reason: "first part", requestedBy: "operator/a",
            approvedBy: "operator/b")
        let paid = try await store.payCompensation(
            caseID: opened.caseID, reason: "victim", requestedBy: "operator/a", approvedBy: "operator/b")
        XCTAssertEqual(paid.state, .paid)
        XCTAssertEqual(paid.reversedFromWalletsYen, 10_000)
        XCTAssertEqual(paid.paidFromCompensationYen, 80_000)
        XCTAssertEqual(paid.reversals.map(\.amountYen).reduce(0, +), 90_000)
        let wallet = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(wallet, 0)
        let closed = try await store.closeCompensationCase(caseID: opened.caseID, audit: operatorAudit)
        XCTAssertEqual(closed.state, .closed)
        await XCTAssertThrowsWalletError(
            try await store.payCompensation(
                caseID: opened.caseID, reason: "again", requestedBy: "operator/a", approvedBy: "operator/b"),
            .failedPrecondition("compensation case \(opened.caseID) is closed, not OPEN"))
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
        let tokens = try await store.count("SELECT count(*) FROM audit WHERE detail LIKE '%tok-hanako%'")
        XCTAssertEqual(tokens, 0, "the account token is never written to the audit log")
    }

    func testAPaymentNeverTakesAWalletBelowZero() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await charge(store, "c1", link: link, yen: 1_000)
        try await store.registerMerchant(id: "shop", name: "店", audit: operatorAudit)
        await XCTAssertThrowsWalletError(
            try await store.payFromWallet(
                walletID: "W0000001", merchantID: "shop", amountYen: 1_001, reference: "", audit: operatorAudit),
            .failedPrecondition("wallet W0000001 holds 1000 yen; it cannot pay 1001 yen (rule payment.within-balance)"))
        let paid = try await store.payFromWallet(
            walletID: "W0000001", merchantID: "shop", amountYen: 1_000, reference: "o1", audit: operatorAudit)
        XCTAssertEqual(paid.walletBalanceYen, 0)
        let merchant = try await store.merchantBalanceYen(id: "shop")
        XCTAssertEqual(merchant?.balanceYen, 1_000)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
    }

    func testLedgerVerifyFindsAReversalBeyondTheCreditAndAnEventThatDoesNotMatch() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let chargeID = try await charge(store, "c1", link: link, yen: 10_000)
        _ = try await store.reverseCharge(
            chargeID: chargeID, amountYen: 10_000, reason: "t", requestedBy: "operator/a", approvedBy: "operator/b")
        // Tampering by someone who can write the file: a reversal transfer that no reversal accounts for.
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    SELECT o.ledger_account_id, b.settlement_account_id, 1, 'reversal', ?, 0, 0, 0
                    FROM operator_account o, bank b WHERE o.name = 'compensation' AND b.code = '9900'
                    """, arguments: [chargeID])
        }
        let broken = try await store.verifyLedger()
        XCTAssertEqual(broken.firstFailure?.name, "reversals-match-transfers")

        let other = TemporaryDirectory()
        let (clean, otherLink) = try await makeLinkedStore(other, clock: ManualClock(noonTokyo))
        let second = try await charge(clean, "c1", link: otherLink, yen: 10_000)
        _ = try await clean.reverseCharge(
            chargeID: second, amountYen: 4_000, reason: "t", requestedBy: "operator/a", approvedBy: "operator/b")
        try await clean.pool.write { db in
            try db.execute(sql: "DROP TRIGGER reversal_is_never_edited")
            try db.execute(sql: "UPDATE reversal SET amount_yen = 12000, from_wallet_yen = 12000")
        }
        let verification = try await clean.verifyLedger()
        XCTAssertEqual(verification.firstFailure?.name, "reversed-at-most-credited")
    }
}

/// v9-reversals rebuilds `ledger_account` and `transfer` (SQLite cannot alter a CHECK): nothing may be lost.
final class ReversalMigrationTests: XCTestCase {
    func testTheReversalsRebuildKeepsBalancesReservationsAndTheLedgerTriggers() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v8-alerts")
        try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 1, walletAccountID: 2, balanceCapYen: 100000)
            try db.execute(
                sql: """
                    INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                        rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature)
                    VALUES ('ch_ok', '9900', 'r-ok', 'ln_1', 'W0000001', 7000, 1, 0, 'approved', 0, \(noonTokyo),
                            \(noonTokyo), x'01'),
                           ('ch_held', '9900', 'r-held', 'ln_1', 'W0000001', 45000, 2, 0, 'near', 1, \(noonTokyo),
                            \(noonTokyo), x'01');
                    INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    VALUES (1, 2, 7000, 'charge', 'ch_ok', \(noonTokyo), 0, 0);
                    INSERT INTO pending_transfer(charge_id, debit_account_id, credit_account_id, amount_yen, tokyo_day,
                        tokyo_month, state, created_at_unix_ms)
                    VALUES ('ch_held', 1, 2, 45000, 0, 0, 'pending', \(noonTokyo));
                    INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                        decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms)
                    VALUES ('9900', 'r-ok', 'charge', zeroblob(32), 1, 'ch_ok', 0, \(noonTokyo), x'01', 0, \(noonTokyo)),
                           ('9900', 'r-held', 'charge', zeroblob(32), 2, 'ch_held', 0, \(noonTokyo), x'01', 0,
                            \(noonTokyo));
                    """)
        }
        try queue.close()

        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo + 60_000 })
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.balanceYen, 7_000, "posted totals survive the rebuild")
        XCTAssertEqual(wallet?.reservedYen, 45_000, "reservations survive the rebuild")
        let settlement = try await store.settlementBalanceYen(bankCode: "9900")
        XCTAssertEqual(settlement, -7_000)
        let compensation = try await store.compensationBalanceYen()
        XCTAssertEqual(compensation, 0, "the compensation account exists, nothing paid yet")
        let triggers = try await store.pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('transfer', 'ledger_account')
                    ORDER BY name
                    """)
        }
        XCTAssertEqual(
            triggers,
            [
                "transfer_counts_charge", "transfer_is_never_deleted", "transfer_is_never_edited", "transfer_posts",
                "wallet_within_cap_with_reservations",
            ])
        // The reservation trigger still refuses a balance that would rise over the cap with its reservations.
        do {
            try await store.pool.write { db in
                try db.execute(
                    sql: "UPDATE ledger_account SET credits_posted_yen = credits_posted_yen + 50000 WHERE id = 2")
            }
            XCTFail("balance + reservations over the cap was accepted")
        } catch let error as DatabaseError {
            XCTAssertTrue(error.message?.contains("reservations") ?? false, "\(error)")
        }
        do {
            try await store.pool.write { db in try db.execute(sql: "UPDATE transfer SET amount_yen = 1") }
            XCTFail("a transfer was edited")
        } catch let error as DatabaseError {
            XCTAssertTrue(error.message?.contains("never edited") ?? false, "\(error)")
        }
        // Transfers still post (the release credits through the trigger), and the ledger verifies.
        _ = try await store.releaseHold(chargeID: "ch_held", audit: operatorAudit, sign: testSign)
        let released = try await store.wallet(id: "W0000001")
        XCTAssertEqual(released?.balanceYen, 52_000)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
    }
}

/// The outbox: gap-free per bank, written with the act, delivered from a sequence, bounded, pruned.
final class BankEventTests: XCTestCase {
    func testEventsAreWrittenWithTheirActsGapFreePerBank() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let held = try await store.submitCharge(
            chargeRequest("h1", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h1"),
            decide: { _ in .hold(rule: "large") }, sign: testSign)
        _ = try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)
        try await store.setBankState(code: "0005", operation: .link, state: .suspended, audit: operatorAudit)
        _ = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "u1", bodyDigest: digest("u1"), reason: "FRAUD stolen")

        let events9900 = try await store.pool.read { db in
            try Ledger.events(db, bankCode: "9900", after: 0, limit: 100)
        }
        XCTAssertEqual(events9900.map(\.sequence), [1, 2, 3, 4, 5])
        XCTAssertEqual(
            events9900.map(\.type), [.linkCreated, .chargeHeld, .chargeReleased, .linkRemoved, .walletFrozen])
        XCTAssertEqual(events9900[1].amountYen, 45_000)
        XCTAssertEqual(events9900[1].reason, "large")
        let events0005 = try await store.pool.read { db in
            try Ledger.events(db, bankCode: "0005", after: 0, limit: 100)
        }
        XCTAssertEqual(events0005.map(\.sequence), [1], "each bank has its own sequence from 1")
        XCTAssertEqual(events0005.first?.type, .bankStateChanged)

        // The schema refuses a gap (the sequence is allocated in the writer transaction, not by the caller).
        do {
            try await store.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO bank_event(bank_code, sequence, occurred_at_unix_ms, type, link_id, charge_id,
                            request_id, amount_yen, reason) VALUES ('9900', 7, 0, 1, '', '', '', 0, 'gap')
                        """)
            }
            XCTFail("a gap was accepted")
        } catch let error as DatabaseError {
            XCTAssertTrue(error.message?.contains("gap-free") ?? false, "\(error)")
        }
    }

    func testAWatchResumesAfterItsSequenceAndSeesLiveEventsOnce() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        for index in 0..<3 {
            _ = try await store.submitCharge(
                chargeRequest("h\(index)", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("h\(index)"),
                decide: { _ in .hold(rule: "rule") }, sign: testSign)
        }
        let received = EventLog()
        let watch = Task {
            try await store.watchEvents(bankCode: "9900", afterSequence: 2) { event in received.append(event) }
        }
        try await received.wait(count: 2)
        _ = try await store.submitCharge(
            chargeRequest("h9", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("h9"),
            decide: { _ in .hold(rule: "rule") }, sign: testSign)
        try await received.wait(count: 3)
        watch.cancel()
        _ = await watch.result
        XCTAssertEqual(received.events.map(\.sequence), [3, 4, 5])
        XCTAssertEqual(store.events.watchCount(bankCode: "9900"), 0, "a cancelled watch frees its slot")
    }

    func testAtMostFourWatchesPerBankAndOutOfRangeSequencesAreRefused() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, _) = try await makeLinkedStore(directory, clock: clock)
        let watches = (0..<4).map { _ in
            Task { try await store.watchEvents(bankCode: "9900", afterSequence: 0) { _ in } }
        }
        var waited = 0
        while store.events.watchCount(bankCode: "9900") < 4 && waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        do {
            try await store.watchEvents(bankCode: "9900", afterSequence: 0) { _ in }
            XCTFail("a fifth watch was accepted")
        } catch let error as WalletError {
            guard case .rejected(let rejection) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(rejection.code, .resourceExhausted)
        }
        for watch in watches { watch.cancel() }
        for watch in watches { _ = await watch.result }

        do {
            try await store.watchEvents(bankCode: "9900", afterSequence: 2) { _ in }
            XCTFail("a sequence never issued was accepted")
        } catch let error as WalletError {
            guard case .outOfRange(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("never issued"), message)
        }
        // 31 days later the first event is pruned: a watch from before it is OUT_OF_RANGE, from it is fine.
        try await store.setBankState(code: "9900", operation: .link, state: .suspended, audit: operatorAudit)
        clock.advance(ms: 31 * 86_400_000)
        try await store.setBankState(code: "9900", operation: .link, state: .enabled, audit: operatorAudit)
        let pruned = try await store.pruneEvents()
        XCTAssertEqual(pruned, 2)
        do {
            try await store.watchEvents(bankCode: "9900", afterSequence: 1) { _ in }
            XCTFail("a pruned sequence was accepted")
        } catch let error as WalletError {
            guard case .outOfRange(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("older than the events kept"), message)
        }
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(String(describing: verification.firstFailure))")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [BankEvent] = []

    var events: [BankEvent] { lock.withLock { stored } }

    func append(_ event: BankEvent) { lock.withLock { stored.append(event) } }

    func wait(count: Int) async throws {
        for _ in 0..<500 {
            if events.count >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("only \(events.count) of \(count) events arrived")
    }
}
