import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class StoreTests: XCTestCase {
    func testDatabaseIsWALWithSynchronousFullAndMigrated() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path)
        let settings = try await store.pool.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Schema.migrator.hasCompletedMigrations(db)
            )
        }
        XCTAssertEqual(settings.0, "wal")
        XCTAssertEqual(settings.1, 2, "synchronous=FULL")
        XCTAssertTrue(settings.2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.databasePath))
    }

    func testCorruptDatabaseFileIsRefusedNamingTheFileAndLeftUntouched() throws {
        let directory = TemporaryDirectory()
        let garbage = Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        FileManager.default.createFile(atPath: directory.databasePath, contents: garbage)

        XCTAssertThrowsError(try WalletStore(stateDirectory: directory.path)) { error in
            guard case .storeUnavailable(let message) = error as? WalletError else {
                return XCTFail("expected storeUnavailable, got \(error)")
            }
            XCTAssertTrue(message.contains(directory.databasePath), message)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: directory.databasePath), garbage)
    }

    func testDatabaseWithCorruptPagesIsRefusedNamingTheFile() async throws {
        let directory = TemporaryDirectory()
        do {
            let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
            _ = try await store.submitCharge(
                chargeRequest("c", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("c"),
                decide: approveAll, sign: testSign)
            // The store's checkpointer thread may hold the checkpoint lock this very moment (SQLITE_BUSY at
            // once, no busy wait for that lock): try again until the whole log is in the database file.
            for attempt in 1... {
                do {
                    try await store.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
                    break
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 100 {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        // Keep the 100-byte header valid, scribble over the schema page.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: directory.databasePath))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 3_000))
        try handle.close()
        let before = FileManager.default.contents(atPath: directory.databasePath)

        XCTAssertThrowsError(try WalletStore(stateDirectory: directory.path)) { error in
            guard case .storeUnavailable(let message) = error as? WalletError else {
                return XCTFail("expected storeUnavailable, got \(error)")
            }
            XCTAssertTrue(message.contains(directory.databasePath), message)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: directory.databasePath), before)
    }

    func testUnwritableDatabasePathIsRefusedNamingTheFile() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.databasePath, withIntermediateDirectories: false)
        XCTAssertThrowsError(try WalletStore(stateDirectory: directory.path)) { error in
            XCTAssertEqual(
                error as? WalletError,
                .storeUnavailable("wallet database \(directory.databasePath) is a directory"))
        }
        // A state directory that is a file cannot hold the database.
        let blocker = (directory.path as NSString).appendingPathComponent("blocked")
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        XCTAssertThrowsError(try WalletStore(stateDirectory: blocker)) { error in
            guard case .storeUnavailable(let message) = error as? WalletError else {
                return XCTFail("expected storeUnavailable, got \(error)")
            }
            XCTAssertTrue(message.contains(blocker), message)
        }
    }

    func testReadOnlyOpenOfAMissingDatabaseDoesNotCreateIt() {
        let directory = TemporaryDirectory()
        XCTAssertThrowsError(try WalletStore(stateDirectory: directory.path, create: false))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.databasePath))
    }

    func testDatabaseFromANewerSchemaIsRefused() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try WalletStore(stateDirectory: directory.path)
            try await store.pool.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99-from-the-future')")
            }
        }
        XCTAssertThrowsError(try WalletStore(stateDirectory: directory.path)) { error in
            XCTAssertEqual(
                error as? WalletError,
                .storeUnavailable(
                    "wallet database \(directory.databasePath) was written by a newer bankgw (unknown schema migrations)"
                ))
        }
    }

    func testTransfersAreNeverEditedOrDeleted() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await store.submitCharge(
            chargeRequest("c", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c"), decide: approveAll,
            sign: testSign)
        for sql in [
            "UPDATE transfer SET amount_yen = 1", "DELETE FROM transfer",
            "UPDATE audit SET reason = 'x'", "DELETE FROM audit",
        ] {
            do {
                try await store.pool.write { db in try db.execute(sql: sql) }
                XCTFail("\(sql) must be refused")
            } catch let error as DatabaseError {
                XCTAssertEqual(error.resultCode, .SQLITE_CONSTRAINT, sql)
            }
        }
    }

    func testVerifyPassesOnAHealthyLedgerAndNamesTheFirstBrokenInvariant() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let hold: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .hold(rule: "r") }
        for n in 0..<5 {
            _ = try await store.submitCharge(
                chargeRequest("v\(n)", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("v\(n)"),
                decide: n == 2 ? hold : approveAll, sign: testSign)
        }
        let healthy = try await store.verifyLedger()
        XCTAssertTrue(healthy.passed, "\(healthy.checks)")
        XCTAssertEqual(
            healthy.checks.map(\.name),
            [
                "database-integrity", "balances-match-transfers", "debits-equal-credits", "wallet-balance-within-cap",
                "approved-charge-has-one-transfer", "transfer-matches-charge", "charge-carries-its-links-wallet",
                "charge-has-one-idempotency-record",
                "charged-totals-match-transfers", "holds-have-one-pending-transfer",
                "reservations-match-pending-transfers",
                "wallet-balance-plus-reservations-within-cap", "one-active-link-per-token", "reversed-at-most-credited",
                "reversals-match-transfers", "compensation-balance-is-minus-paid", "payments-match-transfers",
                "events-gap-free", "events-match-transfers",
            ])

        // A balance edited behind the ledger's back.
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE ledger_account SET credits_posted_yen = credits_posted_yen + 1 WHERE kind = 'wallet'")
        }
        let broken = try await store.verifyLedger()
        XCTAssertEqual(broken.firstFailure?.name, "balances-match-transfers")
        XCTAssertEqual(broken.checks.last?.name, "balances-match-transfers", "verification stops at the first failure")
    }

    /// A linked store (noon in Tokyo) with one charge of 1,000 yen held under request id "h": a charge the verify
    /// tests below break one invariant at a time.
    private func storeWithAHeldCharge(_ directory: TemporaryDirectory) async throws -> (WalletStore, ChargeResponse) {
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let held = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 1_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: { _ in .hold(rule: "r") }, sign: testSign)
        return (store, held)
    }

    func testVerifyNamesAnApprovedChargeWithoutTransferAndAMissingIdempotencyRecord() async throws {
        let directory = TemporaryDirectory()
        let (store, held) = try await storeWithAHeldCharge(directory)
        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE charge SET decision = 1, hold_state = 2 WHERE id = ?", arguments: [held.chargeID])
        }
        let noTransfer = try await store.verifyLedger()
        XCTAssertEqual(noTransfer.firstFailure?.name, "approved-charge-has-one-transfer")

        try await store.pool.write { db in
            try db.execute(
                sql: "UPDATE charge SET decision = 2, hold_state = 1 WHERE id = ?", arguments: [held.chargeID])
            try db.execute(sql: "DELETE FROM idempotency WHERE request_id = 'h'")
        }
        let noRecord = try await store.verifyLedger()
        XCTAssertEqual(noRecord.firstFailure?.name, "charge-has-one-idempotency-record")
    }

    /// v15 finds a link's charges through its wallet's: a charge that does not carry its link's wallet is named.
    func testVerifyNamesAChargeThatDoesNotCarryItsLinksWallet() async throws {
        let directory = TemporaryDirectory()
        let (store, held) = try await storeWithAHeldCharge(directory)
        let healthy = try await store.verifyLedger()
        XCTAssertTrue(healthy.passed, "\(healthy.checks)")
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE charge SET wallet_id = NULL WHERE id = ?", arguments: [held.chargeID])
        }
        let broken = try await store.verifyLedger()
        XCTAssertEqual(broken.firstFailure?.name, "charge-carries-its-links-wallet")
        XCTAssertTrue(broken.firstFailure?.detail.contains(held.chargeID) ?? false, "\(broken.checks)")
    }
}
