import CSQLite
import GRDB

/// How long the write-ahead log is after a commit, as SQLite reports it to a WAL hook (issue 14).
///
/// The writer's commits are the only thing that lengthens the log, so the writer learns its length exactly and at
/// no cost, rather than from the checkpointer's last look at it (which lags by however long that thread was not
/// running). The hook is set only around `body` and points at a local: nothing outlives the call, and the
/// connection's other commits (tests, migrations) call no hook. `wal_autocheckpoint=0` has already removed SQLite's
/// own hook from the writer's connection, so none is replaced.
///
/// With `DirectStatement.swift`, this is the only WalletCore code that calls SQLite's C API.
enum WALLength {
    /// Runs `body` on `db` (the writer's connection) and returns its value with the log's length in frames after
    /// the last commit `body` made, or nil when it committed nothing to the log.
    static func measuring<T>(_ db: Database, _ body: () throws -> T) rethrows -> (value: T, walFrames: Int?) {
        guard let connection = db.sqliteConnection else { return (try body(), nil) }
        var walFrames: Int32 = -1
        return try withUnsafeMutablePointer(to: &walFrames) { frames in
            sqlite3_wal_hook(
                connection,
                { context, _, _, frames in
                    context?.assumingMemoryBound(to: Int32.self).pointee = frames
                    return SQLITE_OK
                }, frames)
            defer { sqlite3_wal_hook(connection, nil, nil) }
            let value = try body()
            return (value, frames.pointee >= 0 ? Int(frames.pointee) : nil)
        }
    }
}
