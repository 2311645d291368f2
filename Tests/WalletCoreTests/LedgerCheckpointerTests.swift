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
        // Another process's write lock (a `bankgw ledger` command) is waited out, not answered BUSY at once.
        XCTAssertEqual(busyTimeoutMs, Int(WalletStore.busyTimeoutSeconds * 1_000))
        try await store.seedDemo()
        try await eventually { store.checkpointStatistics().passiveCheckpoints > 0 }
        XCTAssertEqual(store.checkpointStatistics().failedCheckpoints, 0)
    }

    /// A writer committing back to back, as the ledger writer does under load: without the writer's catch-up the
    /// log would hold every frame (≥ 2 per transaction, > 12,000 here); with it, it starts over again and again,
    /// and it is never longer than the writer's waiting threshold plus one transaction, whatever the checkpointer
    /// thread's timing (the writer measures the log itself after every commit).
    func testTheLogStartsOverWhileTheWriterNeverPausesAndKeepsEveryCommit() throws {
        let waitAtFrames = 1_024
        let run = try commitBackToBack(transactions: 6_000, catchUpAtFrames: 64, writerWaitsAtFrames: waitAtFrames)
        XCTAssertGreaterThan(run.statistics.writerCatchUps, 0, "the writer caught the log up between transactions")
        XCTAssertGreaterThan(run.statistics.logRestarts, 0, "\(run.statistics)")
        assertTheLogStayedUnder(waitAtFrames, run)
        XCTAssertEqual(run.rows, 6_000, "every commit is kept")
    }

    /// The checkpointer thread descheduled for 50 ms inside every checkpoint (at 10k commits/s, 1,000 frames).
    /// Before, the writer caught up only once that thread had seen a long log, so the log grew for as long as the
    /// thread was away (the flaky CI failures: 10 to 57 MB against 8.6); now the writer waits for the checkpoint at
    /// its threshold and the log stops there.
    func testTheLogStopsAtTheWritersThresholdWhileTheCheckpointerIsDescheduled() throws {
        let waitAtFrames = 256
        let run = try commitBackToBack(
            transactions: 1_500, catchUpAtFrames: 64, writerWaitsAtFrames: waitAtFrames, checkpointerLingerMs: 50)
        XCTAssertGreaterThan(run.statistics.writerWaits, 0, "\(run.statistics)")
        assertTheLogStayedUnder(waitAtFrames, run)
        XCTAssertEqual(run.rows, 1_500, "every commit is kept")
    }

    /// A reader holds the snapshot it took before the first commit until 1,000 transactions have committed: the
    /// log cannot start over meanwhile (the frames after its snapshot cannot be copied), the writer is not held up
    /// by it, and once the reader has gone the log starts over again.
    func testALogPinnedByAReaderStartsOverOnceTheReaderHasGone() throws {
        let run = try commitBackToBack(
            transactions: 2_000, catchUpAtFrames: 64, writerWaitsAtFrames: 256, readerLetsGoAfter: 1_000)
        let pinned = try XCTUnwrap(run.whenReaderLetGo)
        XCTAssertGreaterThan(pinned.catchUpsPinnedByAReader, 0, "\(pinned)")
        XCTAssertEqual(pinned.logRestarts, 0, "\(pinned)")
        XCTAssertGreaterThanOrEqual(pinned.walFrames, 1_000, "every transaction's frames are still in the log")
        XCTAssertGreaterThan(run.statistics.logRestarts, 0, "\(run.statistics)")
        XCTAssertLessThan(run.statistics.walFrames, pinned.walFrames, "\(run.statistics)")
        XCTAssertEqual(run.statistics.failedCheckpoints, 0, "\(run.statistics)")
        XCTAssertEqual(run.rows, 2_000, "every commit is kept")
    }

    /// The log never passed the writer's waiting threshold by more than one transaction, and the file is as long as
    /// the longest log: the writer's measure is the log's real length.
    private func assertTheLogStayedUnder(
        _ waitAtFrames: Int, _ run: Run, line: UInt = #line
    ) {
        XCTAssertLessThan(
            run.statistics.largestWALFrames, waitAtFrames + Self.framesPerTransaction, "\(run.statistics)",
            line: line)
        XCTAssertEqual(
            run.walBytes, Self.walHeaderBytes + run.statistics.largestWALFrames * Self.walFrameBytes, line: line)
    }

    /// What `commitBackToBack` saw: the checkpointer's statistics at the end and when the reader let go, the WAL
    /// file's length and the rows kept.
    private typealias Run = (
        statistics: CheckpointStatistics, whenReaderLetGo: CheckpointStatistics?, walBytes: Int, rows: Int?
    )

    /// One 4,000-byte row: its leaf page, page 1 (the database's size) and, when the leaf splits, the pages above.
    private static let framesPerTransaction = 6
    private static let walHeaderBytes = 32
    private static let walFrameBytes = 4_096 + 24

    /// Commits `transactions` one-page rows back to back on a pool configured as the store's writer (no automatic
    /// checkpoint, the store's busy timeout), with a checkpointer beside it and, when asked, a reader holding a
    /// snapshot taken before the first commit until `readerLetsGoAfter` transactions have committed.
    private func commitBackToBack(
        transactions: Int, catchUpAtFrames: Int, writerWaitsAtFrames: Int, checkpointerLingerMs: Int = 0,
        readerLetsGoAfter: Int? = nil
    ) throws -> Run {
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
        let reader = try readerLetsGoAfter.map { _ in try Reader(path: path) }
        let checkpointer = try LedgerCheckpointer(
            path: path, catchUpAtFrames: catchUpAtFrames, writerWaitsAtFrames: writerWaitsAtFrames,
            lingerMs: checkpointerLingerMs)
        var whenReaderLetGo: CheckpointStatistics?
        let payload = Data(repeating: 0xA5, count: 4_000)  // about one page per row
        for n in 0..<transactions {
            if n == readerLetsGoAfter, let reader {
                whenReaderLetGo = checkpointer.currentStatistics()
                reader.letGo()
            }
            let walFrames = try pool.writeWithoutTransaction { db in
                checkpointer.catchUpIfLogIsLong(db)
                return try WALLength.measuring(db) {
                    try db.inTransaction {
                        try db.execute(sql: "INSERT INTO row(id, payload) VALUES (?, ?)", arguments: [n, payload])
                        return .commit
                    }
                }.walFrames
            }
            checkpointer.committed(walFrames: walFrames)
        }
        checkpointer.stop()
        let walBytes = try XCTUnwrap(
            FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        let rows = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM row") }
        return (checkpointer.currentStatistics(), whenReaderLetGo, walBytes, rows)
    }

    /// A read transaction on a connection of its own, open from `init` (which returns once it holds its
    /// snapshot) until `letGo` (which returns once it has ended).
    private final class Reader: Sendable {
        private let holding = DispatchSemaphore(value: 0)
        private let release = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(path: String) throws {
            let connection = try DatabaseQueue(path: path)
            Thread { [holding, release, done] in
                try? connection.read { db in
                    _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM row")
                    holding.signal()
                    release.wait()
                }
                done.signal()
            }.start()
            holding.wait()
        }

        func letGo() {
            release.signal()
            done.wait()
        }
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
        let plan = try await queryPlan(Ledger.recentChargeCountSQL, ["9900", "tok", "W0000001", 0, 64])
        XCTAssertTrue(plan.contains("USING COVERING INDEX charge_by_wallet_time"), plan)
        XCTAssertTrue(plan.contains("INDEX link_by_token"), plan)
        XCTAssertFalse(plan.contains("link_by_wallet"), plan)
        XCTAssertFalse(plan.contains("SCAN c") || plan.contains("TEMP B-TREE"), plan)
        // The facts cache's read: the wallet's window in time order from the same index, each link by its key.
        let window = try await queryPlan(Ledger.recentChargesToWalletSQL, ["W0000001", 0, 1_025])
        XCTAssertTrue(window.contains("USING COVERING INDEX charge_by_wallet_time"), window)
        XCTAssertTrue(window.contains("SEARCH l USING INDEX sqlite_autoindex_link_1 (id=?)"), window)
        XCTAssertFalse(window.contains("SCAN") || window.contains("TEMP B-TREE"), window)
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
