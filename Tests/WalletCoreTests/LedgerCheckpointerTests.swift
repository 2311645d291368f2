import Foundation
import GRDB
import XCTest

@testable import WalletCore

/// Issue 14: checkpoints run beside the writer, never inside its commits, and the write-ahead log stays bounded
/// under a writer that never pauses (SQLite starts the log over only when a write begins with every frame copied).
final class LedgerCheckpointerTests: XCTestCase {
    func testTheStoresWritingConnectionNeverCheckpointsInsideACommit() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path)
        let (autocheckpoint, busyTimeoutMs) = try await store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint"), try Int.fetchOne(db, sql: "PRAGMA busy_timeout"))
        }
        XCTAssertEqual(autocheckpoint, 0)
        // The writer waits out a RESTART checkpoint as the tests below do (`testAWriterWaitsForARestartCheckpoint…`).
        XCTAssertEqual(busyTimeoutMs, Int(WalletStore.busyTimeoutSeconds * 1_000))
        try await store.seedDemo()
        try await eventually { store.checkpointStatistics().passiveCheckpoints > 0 }
        XCTAssertEqual(store.checkpointStatistics().failedCheckpoints, 0)
    }

    /// A writer committing back to back, as the ledger writer does under load: without the writer's catch-up the
    /// log would hold every frame (≥ 2 per transaction, > 12,000 here); with it, it starts over again and again.
    func testTheLogStartsOverWhileTheWriterNeverPausesAndKeepsEveryCommit() throws {
        let restartAtFrames = 1_024
        let run = try commitBackToBack(transactions: 6_000, catchUpAtFrames: 64, restartAtFrames: restartAtFrames)
        XCTAssertGreaterThan(run.statistics.writerCatchUps, 0, "the writer caught the log up between transactions")
        // Bounded by the restart threshold plus what one checkpoint interval adds, far below the unbounded log.
        XCTAssertLessThan(run.walBytes, 2 * restartAtFrames * 4_200, "WAL of \(run.walBytes) bytes")
        XCTAssertEqual(run.rows, 6_000, "every commit is kept")
    }

    /// A RESTART checkpoint holds the write lock while it copies the log (CI once caught the writer of the test
    /// above refused with "database is locked" when a noisy box let its log pass the restart threshold): the writer
    /// waits for it, with the store's busy timeout, and no batch is refused. A restart threshold just above the
    /// catch-up one makes nearly every checkpoint here a RESTART.
    func testAWriterWaitsForARestartCheckpointAndNoBatchIsRefused() throws {
        let run = try commitBackToBack(transactions: 2_000, catchUpAtFrames: 64, restartAtFrames: 65)
        XCTAssertGreaterThan(run.statistics.restartCheckpoints, 0, "\(run.statistics)")
        XCTAssertEqual(run.rows, 2_000, "every commit is kept")
    }

    /// Commits `transactions` one-page rows back to back on a pool configured as the store's writer (no automatic
    /// checkpoint, the store's busy timeout), with a checkpointer beside it.
    private func commitBackToBack(
        transactions: Int, catchUpAtFrames: Int, restartAtFrames: Int
    ) throws -> (statistics: CheckpointStatistics, walBytes: Int, rows: Int?) {
        let directory = TemporaryDirectory()
        let path = directory.path + "/log.sqlite"
        var configuration = Configuration()
        configuration.busyMode = .timeout(WalletStore.busyTimeoutSeconds)
        configuration.prepareDatabase { db in
            // Durability is not under test here (the crash tests cover it); fsyncs would only slow the loop.
            try db.execute(sql: "PRAGMA synchronous = OFF")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "CREATE TABLE row(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        }
        let checkpointer = try LedgerCheckpointer(
            path: path, catchUpAtFrames: catchUpAtFrames, restartAtFrames: restartAtFrames)
        let payload = Data(repeating: 0xA5, count: 4_000)  // about one page per row
        for n in 0..<transactions {
            try pool.writeWithoutTransaction { db in
                checkpointer.catchUpIfLogIsLong(db)
                try db.inTransaction {
                    try db.execute(sql: "INSERT INTO row(id, payload) VALUES (?, ?)", arguments: [n, payload])
                    return .commit
                }
            }
            checkpointer.committed()
        }
        checkpointer.stop()
        let walBytes = try XCTUnwrap(
            FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        let rows = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM row") }
        return (checkpointer.currentStatistics(), walBytes, rows)
    }

    private func eventually(_ condition: () -> Bool, timeoutMs: Int = 5_000) async throws {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(timeoutMs))
        while !condition() {
            guard ContinuousClock.now < deadline else { return XCTFail("not within \(timeoutMs) ms") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Issue 14: the writer's per-charge reads use the indexes they were written for (query plans, not timings).
final class ChargeQueryPlanTests: XCTestCase {
    func testWalletVelocityIsAnsweredFromTheCoveringIndex() async throws {
        let plan = try await queryPlan(Ledger.creditedToWalletSQL, ["W0000001", 0])
        XCTAssertTrue(plan.contains("USING COVERING INDEX charge_by_wallet_time"), plan)
    }

    /// v15: the wallet's charges in the window from the covering wallet index, their links checked against the
    /// token's (a link or two) rather than the wallet's (dozens).
    func testRecentChargesOnALinkAreTheWalletsChargesFromItsTokensLinks() async throws {
        for sql in [Ledger.recentChargeCountSQL, Ledger.recentChargeTimesSQL] {
            let plan = try await queryPlan(sql, ["9900", "tok", "W0000001", 0, 64])
            XCTAssertTrue(plan.contains("USING COVERING INDEX charge_by_wallet_time"), plan)
            XCTAssertTrue(plan.contains("INDEX link_by_token"), plan)
            XCTAssertFalse(plan.contains("link_by_wallet"), plan)
            XCTAssertFalse(plan.contains("SCAN c") || plan.contains("TEMP B-TREE"), plan)
        }
        let earlier = try await queryPlan(Ledger.earlierChargeOnLinkSQL, ["W0000001", "ln_1"])
        XCTAssertTrue(earlier.contains("USING COVERING INDEX charge_by_wallet_time"), earlier)
    }

    private func queryPlan(_ sql: String, _ arguments: StatementArguments) async throws -> String {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path)
        try await store.seedDemo()
        return try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                .map { $0["detail"] as String }.joined(separator: "\n")
        }
    }
}
