import CSQLite
import GRDB

// The writer's per-charge statements, bound, stepped and read straight through SQLite's C API (issue 14).
//
// GRDB's `execute(arguments:)` and `Row.fetchOne` turn every value into a `DatabaseValue` behind an existential,
// validate the argument list, nest a closure per string and build a `Row` per result: for the handful of statements
// a charge runs that was about 18% of the writer thread's samples, and binding directly cut the writer's CPU per
// charge by about a third (`ledger bench`, stop 24). Here the statement is still GRDB's cached one for the
// connection (prepared once); only binding, stepping and column reads are direct. A failure is thrown as GRDB's
// `DatabaseError` with SQLite's extended code, so callers handle it exactly as before (`SQLITE_CONSTRAINT` above
// all).
//
// This file and `WALLength.swift` are the only WalletCore code that calls SQLite's C API; `CSQLite` owns the C
// side. A statement run here is run only here: GRDB does not know the values bound to it.

/// Binds a statement's parameters in order, 1 to N: one `bind` call per `?`. Strings and blobs are copied by
/// SQLite (`SQLITE_TRANSIENT`), so nothing bound outlives its Swift value.
struct StatementBinder: ~Copyable {
    fileprivate let statement: OpaquePointer
    /// Parameters bound so far (the last bound index).
    fileprivate private(set) var count: Int32 = 0
    /// The first failing `sqlite3_bind_*` result, if any (only a bug makes one: an index past the parameters).
    fileprivate private(set) var failure: Int32 = SQLITE_OK

    fileprivate init(_ statement: OpaquePointer) { self.statement = statement }

    mutating func bind(_ value: Int64) { record(sqlite3_bind_int64(statement, next(), value)) }
    mutating func bind(_ value: Int) { bind(Int64(value)) }
    mutating func bind(_ value: Int32) { bind(Int64(value)) }
    mutating func bind(_ value: Bool) { bind(Int64(value ? 1 : 0)) }

    mutating func bind(_ value: String) {
        let index = next()
        var value = value
        let code = value.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) {
                bankgw_sqlite3_bind_text_copy(statement, index, $0.baseAddress, Int32(utf8.count))
            }
        }
        record(code)
    }

    mutating func bind(_ value: [UInt8]) {
        let index = next()
        let code = value.withUnsafeBytes {
            bankgw_sqlite3_bind_blob_copy(statement, index, $0.baseAddress, Int32($0.count))
        }
        record(code)
    }

    mutating func bind(_ value: String?) {
        if let value { bind(value) } else { bindNull() }
    }

    mutating func bind(_ value: Int64?) {
        if let value { bind(value) } else { bindNull() }
    }

    mutating func bindNull() { record(sqlite3_bind_null(statement, next())) }

    private mutating func next() -> Int32 {
        count += 1
        return count
    }

    private mutating func record(_ code: Int32) {
        if code != SQLITE_OK, failure == SQLITE_OK { failure = code }
    }
}

/// The current result row of a direct query, read by 0-based column index. Valid only inside the `read` closure.
struct DirectRow: ~Copyable {
    fileprivate let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }
    func bool(_ column: Int32) -> Bool { sqlite3_column_int64(statement, column) != 0 }

    /// The column as text (`""` for NULL).
    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column as bytes (empty for NULL or a zero-length blob).
    func blob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, column))
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

extension Database {
    /// Runs the write `sql` (the connection's cached statement) to completion with the values `bind` gives, in
    /// order, inside the caller's transaction.
    ///
    /// GRDB refuses every statement once SQLite has rolled a transaction back under its feet; this path keeps that
    /// rule itself, or a write after a swallowed failure would autocommit alone: it runs only inside an open
    /// transaction, and a failure that ended the transaction is thrown as `SQLITE_ABORT` (never mistaken for a
    /// request's own `SQLITE_CONSTRAINT`, which the writer keeps and carries on after).
    func executeDirect(_ sql: String, _ bind: (inout StatementBinder) -> Void) throws {
        let statement = try prepareDirect(sql, bind)
        defer { sqlite3_reset(statement) }
        let connection = sqlite3_db_handle(statement)
        guard sqlite3_get_autocommit(connection) == 0 else {
            throw DatabaseError(
                resultCode: .SQLITE_ABORT, message: "a direct write needs an open transaction: none is", sql: sql)
        }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_DONE: return
            case SQLITE_ROW: continue
            case let code:
                let error = Self.directError(code, statement, sql)
                guard sqlite3_get_autocommit(connection) == 0 else {
                    throw DatabaseError(
                        resultCode: .SQLITE_ABORT,
                        message: "the transaction was rolled back by: \(error.message ?? "SQLite \(code)")", sql: sql)
                }
                throw error
            }
        }
    }

    /// The first row of `sql` with the values `bind` gives, as `read` makes it; nil when there is none.
    func fetchFirstDirect<Value>(
        _ sql: String, _ bind: (inout StatementBinder) -> Void, read: (borrowing DirectRow) throws -> Value
    ) throws -> Value? {
        let statement = try prepareDirect(sql, bind)
        // Reset at once: a query left stepping keeps its read cursor (and its snapshot) open.
        defer { sqlite3_reset(statement) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return try read(DirectRow(statement: statement))
        case SQLITE_DONE: return nil
        case let code: throw Self.directError(code, statement, sql)
        }
    }

    /// Every row of `sql` with the values `bind` gives, as `read` makes each, in the query's order.
    func fetchAllDirect<Value>(
        _ sql: String, _ bind: (inout StatementBinder) -> Void, read: (borrowing DirectRow) throws -> Value
    ) throws -> [Value] {
        let statement = try prepareDirect(sql, bind)
        defer { sqlite3_reset(statement) }
        var values: [Value] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: values.append(try read(DirectRow(statement: statement)))
            case SQLITE_DONE: return values
            case let code: throw Self.directError(code, statement, sql)
            }
        }
    }

    private func prepareDirect(_ sql: String, _ bind: (inout StatementBinder) -> Void) throws -> OpaquePointer {
        let statement = try cachedStatement(sql: sql).sqliteStatement
        // A reset statement returns its last step's error again; that error was thrown then.
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        var binder = StatementBinder(statement)
        bind(&binder)
        let expected = sqlite3_bind_parameter_count(statement)
        guard binder.failure == SQLITE_OK, binder.count == expected else {
            sqlite3_clear_bindings(statement)
            throw DatabaseError(
                resultCode: binder.failure == SQLITE_OK ? .SQLITE_MISUSE : ResultCode(rawValue: binder.failure),
                message: "\(binder.count) values bound to a statement with \(expected) parameters", sql: sql)
        }
        return statement
    }

    private static func directError(_ code: Int32, _ statement: OpaquePointer, _ sql: String) -> DatabaseError {
        let message = sqlite3_db_handle(statement).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// Process-wide SQLite settings, applied once before the first connection opens.
enum SQLiteLibrary {
    /// Turns SQLite's allocation statistics off: with them on, every `sqlite3_malloc` and `sqlite3_free` takes a
    /// process-wide mutex (the lock and unlock were about 3% of the writer thread's samples), and nothing here reads
    /// them.
    /// Idempotent; a process that opened SQLite before this ran keeps the statistics (`SQLITE_MISUSE`, harmless).
    static let configured: Bool = bankgw_sqlite3_config_memstatus(0) == SQLITE_OK

    /// Whether SQLite is counting its allocations now (for the test that the setting took).
    static var countsAllocations: Bool { bankgw_sqlite3_memstatus_enabled() != 0 }
}

extension WalletStore {
    /// Whether this process's SQLite counts its allocations (`SQLiteLibrary.configured` turns that off).
    public static var sqliteCountsAllocations: Bool { SQLiteLibrary.countsAllocations }
}
