import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class AuditChainTests: XCTestCase {
    /// Opens the database file beside the store, as someone with file access would, and runs `sql`.
    private func tamper(_ directory: TemporaryDirectory, _ sql: String) throws {
        let queue = try DatabaseQueue(path: directory.databasePath)
        try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    func testChainHoldsAfterLinksChargesAndOperatorActs() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        _ = try await store.submitCharge(
            chargeRequest("c1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("c1"),
            decide: approveAll, sign: testSign)
        try await store.markPhoneVerified(walletID: "W0000004", audit: operatorAudit)
        let verification = try await store.verifyAudit()
        XCTAssertTrue(verification.passed, "\(verification.firstBroken.map { "\($0.id): \($0.why)" } ?? "")")
        let total = try await store.count("SELECT count(*) FROM audit")
        XCTAssertEqual(verification.entriesChecked, Int64(total))
        XCTAssertGreaterThan(total, 5)
        XCTAssertEqual(verification.headHash.count, 32)
    }

    /// The writer keeps the chain's tail between writes (issue 14). An entry appended by another connection (an
    /// operator tool on the same file) moves `PRAGMA data_version`, so the next entry chains after it rather than
    /// reusing its id; a failed batch's entries are never the tail either.
    func testEntriesChainAfterAnEntryAnotherConnectionAppendedAndAfterAFailedBatch() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        _ = try await store.submitCharge(
            chargeRequest("c1", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("c1"),
            decide: approveAll, sign: testSign)

        let queue = try DatabaseQueue(path: directory.databasePath)
        try await queue.write { db in
            let tail = try Ledger.auditTail(db)
            var entry = AuditEntry(
                id: tail.id + 1, atUnixMs: noonTokyo, actor: "operator/tool", action: "tool.note", subject: "9900",
                reason: "an entry written beside the gateway", detail: "", prevHash: tail.hash, hash: [])
            entry.hash = AuditChain.hash(of: entry, after: tail.hash)
            try db.execute(
                sql: """
                    INSERT INTO audit(id, at_unix_ms, actor, action, subject, reason, detail, prev_hash, hash, trace_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')
                    """,
                arguments: [
                    entry.id, entry.atUnixMs, entry.actor, entry.action, entry.subject, entry.reason, entry.detail,
                    Data(tail.hash), Data(entry.hash),
                ])
        }
        let second = try await store.submitCharge(
            chargeRequest("c2", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("c2"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(second.decision, .approved)

        // A batch that fails after it audited: its entry is rolled back, and so is the tail the writer kept.
        do {
            try await store.write { db, state in
                try Ledger.audit(
                    db, state, atUnixMs: noonTokyo, actor: "gateway", action: "test.doomed", subject: "x",
                    reason: "rolled back")
                throw DatabaseError(resultCode: .SQLITE_FULL, message: "disk full (test)")
            }
            XCTFail("the batch fails")
        } catch {
            guard case .storeUnavailable = error else { return XCTFail("\(error)") }
        }
        _ = try await store.submitCharge(
            chargeRequest("c3", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("c3"),
            decide: approveAll, sign: testSign)

        let verification = try await store.verifyAudit()
        XCTAssertTrue(verification.passed, "\(verification.firstBroken.map { "\($0.id): \($0.why)" } ?? "")")
        let total = try await store.count("SELECT count(*) FROM audit")
        XCTAssertEqual(verification.entriesChecked, Int64(total))
        let foreign = try await store.count("SELECT count(*) FROM audit WHERE action = 'tool.note'")
        let doomed = try await store.count("SELECT count(*) FROM audit WHERE action = 'test.doomed'")
        let secondEntries = try await store.count("SELECT count(*) FROM audit WHERE subject = ?", [second.chargeID])
        XCTAssertEqual([foreign, doomed, secondEntries], [1, 0, 1])
    }

    func testEveryChargeDecisionIsAuditedWithTheRuleThatDecided() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let held = try await store.submitCharge(
            chargeRequest("h1", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h1"),
            decide: { _ in .hold(rule: "monitoring: large charge on a new link") }, sign: testSign)
        let declined = try await store.submitCharge(
            chargeRequest("d1", link: link, yen: 2_000), bankCode: "9900", bodyDigest: digest("d1"),
            decide: { _ in .decline(.limitExceeded, rule: "limits: per wallet per day") }, sign: testSign)

        let heldEntries = try await store.auditEntries(subject: held.chargeID)
        XCTAssertEqual(heldEntries.map(\.action), ["charge.held"])
        XCTAssertEqual(heldEntries.first?.reason, "monitoring: large charge on a new link")
        XCTAssertEqual(heldEntries.first?.actor, "bank/9900")
        let declinedEntries = try await store.auditEntries(subject: declined.chargeID)
        XCTAssertEqual(declinedEntries.map(\.action), ["charge.declined"])
        XCTAssertEqual(declinedEntries.first?.reason, "limits: per wallet per day")

        _ = try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)
        let afterRelease = try await store.auditEntries(subject: held.chargeID)
        XCTAssertEqual(afterRelease.map(\.action), ["charge.held", "hold.release"])
        let linkEntries = try await store.auditEntries(subject: link)
        XCTAssertEqual(linkEntries.map(\.action), ["link.approved"])
    }

    func testEditingOneEntryBreaksTheChainAtThatEntry() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, _) = try await makeLinkedStore(directory, clock: clock)
        try tamper(
            directory,
            """
            DROP TRIGGER audit_is_append_only_update;
            UPDATE audit SET reason = 'nothing to see' WHERE id = 3;
            """)
        let verification = try await store.verifyAudit()
        XCTAssertEqual(verification.firstBroken?.id, 3)
        XCTAssertEqual(verification.entriesChecked, 3)
        XCTAssertTrue(verification.firstBroken?.why.contains("edited") ?? false)
    }

    func testDeletingOneEntryBreaksTheChainAtTheNextEntry() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, _) = try await makeLinkedStore(directory, clock: clock)
        try tamper(
            directory,
            """
            DROP TRIGGER audit_is_append_only_delete;
            DELETE FROM audit WHERE id = 2;
            """)
        let verification = try await store.verifyAudit()
        XCTAssertEqual(verification.firstBroken?.id, 3)
    }

    func testDeletingTheNewestEntriesIsNoticed() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, _) = try await makeLinkedStore(directory, clock: clock)
        let total = try await store.count("SELECT count(*) FROM audit")
        try tamper(
            directory,
            """
            DROP TRIGGER audit_is_append_only_delete;
            DELETE FROM audit WHERE id = \(total);
            """)
        let verification = try await store.verifyAudit()
        XCTAssertEqual(verification.firstBroken?.id, Int64(total))
    }

    func testAnEntryWithoutHashesIsRefusedBySchema() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        _ = try await makeLinkedStore(directory, clock: clock)
        XCTAssertThrowsError(
            try tamper(
                directory,
                """
                INSERT INTO audit(at_unix_ms, actor, action, subject, reason, detail) VALUES (1, 'x', 'y', 'z', '', '')
                """))
    }

    func testMigrationChainsExistingEntriesInIdOrder() async throws {
        let directory = TemporaryDirectory()
        try writeV1DatabaseWithAuditEntries(directory)
        let store = try WalletStore(stateDirectory: directory.path, create: false)
        let verification = try await store.verifyAudit()
        XCTAssertTrue(verification.passed)
        XCTAssertEqual(verification.entriesChecked, 3)
        let first = try await store.auditEntries(subject: "9900").first
        XCTAssertEqual(first?.prevHash, AuditChain.genesisHash)
        try await store.registerWallet(id: "W0000009", isTest: true, audit: operatorAudit)
        let extended = try await store.verifyAudit()
        XCTAssertTrue(extended.passed)
        XCTAssertEqual(extended.entriesChecked, 4)
    }

    /// A database as v1 shipped it, with audit entries written before the chain existed.
    private func writeV1DatabaseWithAuditEntries(_ directory: TemporaryDirectory) throws {
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v1-ledger")
        try queue.write { db in
            for index in 1...3 {
                try db.execute(
                    sql: """
                        INSERT INTO audit(at_unix_ms, actor, action, subject, reason, detail) VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [Int64(index), "operator/old", "bank.set_state", "9900", "reason \(index)", ""])
            }
        }
    }

    /// The canonical content is pinned: SHA-256(prev ‖ netstrings of id, time, actor, action, subject, reason,
    /// detail[, trace id]), spelled out here independently of `AuditChain.hash`, for ASCII, multi-byte UTF-8 and
    /// both trace-id cases (a changed encoding would break every stored chain).
    func testTheHashIsSHA256OfThePreviousHashAndTheNetstringsOfEveryColumn() {
        let previous = (0..<32).map { UInt8($0) }
        var entry = AuditEntry(
            id: 42, atUnixMs: 1_796_194_684_923, actor: "bank/9900", action: "charge.APPROVED", subject: "ch_1",
            reason: "approved", detail: "名義 カナ amount_yen=100", prevHash: previous, hash: [])
        func reference(_ fields: [String]) -> [UInt8] {
            var bytes = previous
            for field in fields { bytes += Array("\(Array(field.utf8).count):\(field),".utf8) }
            return AuditChain.sha256(bytes)
        }
        let columns = [
            "42", "1796194684923", "bank/9900", "charge.APPROVED", "ch_1", "approved", "名義 カナ amount_yen=100",
        ]
        XCTAssertEqual(AuditChain.hash(of: entry, after: previous), reference(columns))
        entry.traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        XCTAssertEqual(AuditChain.hash(of: entry, after: previous), reference(columns + [entry.traceID]))
        XCTAssertEqual(
            AuditChain.hex(AuditChain.sha256(Array("".utf8))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
