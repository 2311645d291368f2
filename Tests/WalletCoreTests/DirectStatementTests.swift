import Foundation
import GRDB
import XCTest

@testable import WalletCore

/// The writer's direct statements (`Database.executeDirect`, `fetchFirstDirect`) store and read exactly what GRDB's
/// own binding does, fail as GRDB does, and leave no statement running.
final class DirectStatementTests: XCTestCase {
    private let insert = "INSERT INTO value(id, number, text, bytes, maybe) VALUES (?, ?, ?, ?, ?)"
    private let select = "SELECT number, text, bytes, maybe, typeof(text), typeof(bytes) FROM value WHERE id = ?"

    private func makeQueue() throws -> (TemporaryDirectory, DatabaseQueue) {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE value (id INTEGER PRIMARY KEY, number INTEGER NOT NULL, text TEXT NOT NULL,
                        bytes BLOB NOT NULL, maybe TEXT) STRICT
                    """)
        }
        return (directory, queue)
    }

    func testEveryKindOfValueIsStoredAsGRDBStoresItAndReadBack() throws {
        let (directory, queue) = try makeQueue()
        _ = directory
        let cases: [(Int64, String, [UInt8], String?)] = [
            (.max, "", [], nil), (.min, "ヤマダ ハナコ", [0, 1, 255], "x"),
            (0, "request-1 (retry)", [UInt8](repeating: 7, count: 300), ""),
        ]
        try queue.write { db in
            for (offset, (number, text, bytes, maybe)) in cases.enumerated() {
                try db.executeDirect(insert) {
                    $0.bind(Int64(offset))
                    $0.bind(number)
                    $0.bind(text)
                    $0.bind(bytes)
                    $0.bind(maybe)
                }
                // The same row through GRDB's binding, as the reference.
                try db.execute(
                    sql: insert, arguments: [offset + 100, number, text, Data(bytes), maybe])
            }
            for (offset, (number, text, bytes, maybe)) in cases.enumerated() {
                let direct = try XCTUnwrap(
                    db.fetchFirstDirect(select, { $0.bind(Int64(offset)) }) { row in
                        (
                            row.int64(0), row.text(1), row.blob(2), row.isNull(3) ? nil : row.text(3), row.text(4),
                            row.text(5)
                        )
                    })
                XCTAssertEqual(direct.0, number)
                XCTAssertEqual(direct.1, text)
                XCTAssertEqual(direct.2, bytes)
                XCTAssertEqual(direct.3, maybe)
                // '' is text and an empty blob is a blob: neither became NULL.
                XCTAssertEqual(direct.4, "text")
                XCTAssertEqual(direct.5, "blob")
                let mine = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM value WHERE id = ?", arguments: [offset]))
                let grdb = try XCTUnwrap(
                    Row.fetchOne(db, sql: "SELECT * FROM value WHERE id = ?", arguments: [offset + 100]))
                XCTAssertEqual(
                    [mine["number"], mine["text"], mine["bytes"], mine["maybe"]] as [DatabaseValue],
                    [grdb["number"], grdb["text"], grdb["bytes"], grdb["maybe"]] as [DatabaseValue])
            }
            XCTAssertNil(try db.fetchFirstDirect(select, { $0.bind(Int64(999)) }) { _ in true })
        }
    }

    func testAFailingStatementThrowsGRDBsErrorAndTheStatementWorksAfterIt() throws {
        let (directory, queue) = try makeQueue()
        _ = directory
        try queue.write { db in
            func insert(_ id: Int64, text: String?) throws {
                try db.executeDirect(self.insert) {
                    $0.bind(id)
                    $0.bind(Int64(1))
                    $0.bind(text)
                    $0.bind([UInt8]())
                    $0.bindNull()
                }
            }
            try insert(1, text: "first")
            XCTAssertThrowsError(try insert(1, text: "again")) { error in
                let error = error as? DatabaseError
                XCTAssertEqual(error?.resultCode, .SQLITE_CONSTRAINT)
                XCTAssertEqual(error?.extendedResultCode, .SQLITE_CONSTRAINT_PRIMARYKEY)
                XCTAssertEqual(error?.sql, self.insert)
                XCTAssertTrue(error?.message?.contains("value.id") ?? false, "\(String(describing: error))")
            }
            XCTAssertThrowsError(try insert(2, text: nil)) { error in
                XCTAssertEqual((error as? DatabaseError)?.extendedResultCode, .SQLITE_CONSTRAINT_NOTNULL)
            }
            try insert(3, text: "after")
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM value"), 2)
        }
    }

    func testADirectWriteRunsOnlyInsideAnOpenTransaction() throws {
        let (directory, queue) = try makeQueue()
        _ = directory
        func insert(_ db: Database, _ id: Int64) throws {
            try db.executeDirect(self.insert) {
                $0.bind(id)
                $0.bind(Int64(1))
                $0.bind("x")
                $0.bind([UInt8]())
                $0.bindNull()
            }
        }
        try queue.writeWithoutTransaction { db in
            // Autocommit: refused, not committed alone.
            XCTAssertThrowsError(try insert(db, 1)) { error in
                XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_ABORT)
            }
            // A transaction that ended under the writer (here: rolled back by hand) refuses the next write too.
            try db.execute(sql: "BEGIN IMMEDIATE")
            try insert(db, 2)
            try db.execute(sql: "ROLLBACK")
            XCTAssertThrowsError(try insert(db, 3)) { error in
                XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_ABORT)
            }
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM value"), 0)
        }
        // A failing statement that rolls its transaction back is SQLITE_ABORT, not the constraint it raised: the
        // writer carries on after a request's own constraint failure, and must not after this one.
        try queue.inDatabase { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER value_rolls_back BEFORE INSERT ON value WHEN NEW.id = 99
                    BEGIN SELECT RAISE(ROLLBACK, 'rolled back by the trigger'); END
                    """)
        }
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try insert(db, 4)
            XCTAssertThrowsError(try insert(db, 99)) { error in
                let error = error as? DatabaseError
                XCTAssertEqual(error?.resultCode, .SQLITE_ABORT)
                XCTAssertTrue(
                    error?.message?.contains("rolled back by the trigger") ?? false, "\(String(describing: error))")
            }
            XCTAssertFalse(db.isInsideTransaction)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM value"), 0)
        }
    }

    func testAWrongNumberOfValuesIsRefusedBeforeAnythingRuns() throws {
        let (directory, queue) = try makeQueue()
        _ = directory
        try queue.write { db in
            for count in [4, 6] {
                XCTAssertThrowsError(
                    try db.executeDirect(insert) { binder in
                        for value in 0..<count { binder.bind(Int64(value)) }
                    }
                ) { error in
                    let error = error as? DatabaseError
                    XCTAssertEqual(error?.message, "\(min(count, 6)) values bound to a statement with 5 parameters")
                }
            }
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM value"), 0)
        }
    }

    func testAQueryStopsAtItsFirstRowAndLeavesNoStatementRunning() throws {
        let (directory, queue) = try makeQueue()
        _ = directory
        try queue.write { db in
            for id in 1...3 {
                try db.executeDirect(insert) {
                    $0.bind(Int64(id))
                    $0.bind(Int64(id * 10))
                    $0.bind("row")
                    $0.bind([UInt8(id)])
                    $0.bindNull()
                }
            }
            let first = try db.fetchFirstDirect("SELECT number FROM value ORDER BY id", { _ in }) { $0.int64(0) }
            XCTAssertEqual(first, 10)
        }
        // A statement left stepping would keep the table locked: DROP TABLE fails with SQLITE_LOCKED then.
        try queue.write { db in try db.execute(sql: "DROP TABLE value") }
    }

    func testSQLiteCountsNoAllocationsOnceConfigured() throws {
        // Configured before this process's first connection, unless another test's came first: then SQLite keeps
        // counting, which is harmless. Either way the setting in force is the one reported (`ledger bench`, a fresh
        // process, prints it: `wallet sqlite_counts_allocations`).
        let configured = SQLiteLibrary.configured
        let (directory, queue) = try makeQueue()
        _ = directory
        XCTAssertEqual(SQLiteLibrary.countsAllocations, !configured)
        try queue.write { db in try db.execute(sql: "INSERT INTO value VALUES (1, 1, 'x', x'00', NULL)") }
        XCTAssertEqual(SQLiteLibrary.countsAllocations, !configured)
    }
}
