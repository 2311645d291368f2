import Foundation
import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

/// The wallet core: the durable ledger behind the gateway (one SQLite file under the state directory).
///
/// Writes go through one `LedgerWriter` (group commit); reads use the pool's readers and never wait for it.
/// Guarantees, modelled on TigerBeetle's transfers: a charge answered APPROVED is on disk exactly once, as one
/// immutable transfer from the bank's settlement account to the wallet, in the same transaction as the charge row
/// and its idempotency record; a retry of the same `(bank, request_id)` gets the first answer back.
public final class WalletStore: Sendable {
    /// The database file's name under the state directory.
    public static let databaseFileName = "wallet.sqlite"
    /// How long a connection waits for another's lock before SQLite answers BUSY: another process writing the same
    /// file (a `bankgw ledger` command), or recovering its log when it opens. Within one store nothing waits: the
    /// writer is the only one to write, and checkpoints are PASSIVE (`LedgerCheckpointer`).
    static let busyTimeoutSeconds: TimeInterval = 5

    public let path: String
    public let limits: WalletLimits
    let pool: DatabasePool
    let writer: LedgerWriter
    let checkpointer: LedgerCheckpointer
    let writerEvents: WriterEventsBox
    let clock: @Sendable () -> Int64
    /// The SPEC §8 rules the writer runs beside the SPEC §4 chain. A store runs the rules it is given: `.off` (only
    /// the §4 chain and the pre-§8 alerts) unless its owner passes them; `bankgw serve` passes the configured ones.
    public let monitoring: MonitoringChecks
    /// Wakes `WatchAlerts` streams after a commit that changed an alert.
    public let alertFeed: AlertFeed
    let tokenKey: KeyedHash.Key
    let linkCodeKey: LinkCodeKey
    /// The `WatchEvents` wake-ups and per-bank watch bound.
    public let events: BankEventFeed

    /// Milliseconds since the unix epoch, from the system clock.
    public static let systemClock: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Opens (creating if `create`) the wallet database at `path`, migrated to the current schema.
    ///
    /// Refuses, naming the file, a file that is not a wallet database, is corrupt, cannot be written, or was written
    /// by a newer schema; it never overwrites such a file.
    public init(
        path: String, create: Bool = true, limits: WalletLimits = .init(),
        clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock, monitoring: MonitoringChecks = .off
    ) throws(WalletError) {
        self.path = path
        self.limits = limits
        self.clock = clock
        self.monitoring = monitoring
        self.alertFeed = AlertFeed()
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fileManager.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            throw .storeUnavailable("wallet database \(path) is a directory")
        }
        if !exists && !create {
            throw .storeUnavailable("wallet database \(path) does not exist")
        }
        if exists && !fileManager.isWritableFile(atPath: path) {
            throw .storeUnavailable("wallet database \(path) is not writable")
        }
        let directory = (path as NSString).deletingLastPathComponent
        _ = SQLiteLibrary.configured  // before the first connection (process-wide, once)
        var configuration = Configuration()
        configuration.label = "wallet"
        configuration.busyMode = .timeout(Self.busyTimeoutSeconds)
        let pool: DatabasePool
        do {
            if !exists {
                try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
                // Owner-only from the first byte: SQLite gives the -wal and -shm files the database file's mode.
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else {
                    throw WalletError.storeUnavailable(
                        "cannot create wallet database \(path): \(String(cString: strerror(errno)))")
                }
                close(fd)
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = Schema.migrator
            try pool.read { db in
                if try migrator.hasBeenSuperseded(db) {
                    throw WalletError.storeUnavailable(
                        "wallet database \(path) was written by a newer bankgw (unknown schema migrations)")
                }
            }
            try migrator.migrate(pool)
            try pool.writeWithoutTransaction { db in
                // FULL: a commit returns only after the WAL is fsynced, so APPROVED is durable before the answer
                // leaves. Set on the pool's one writer connection after GRDB's WAL set-up (which picks NORMAL).
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // The writer touches index pages all over the charge and idempotency trees (random ids): keep them
                // in SQLite's cache rather than re-reading them from the OS (64 MiB; SQLite's default is 2 MiB).
                try db.execute(sql: "PRAGMA cache_size = -65536")
                // A replayed batch runs each request in a savepoint; its sub-journal belongs in memory, not in a
                // temp file written with pwrite for every page a request touches.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                // Checkpoints run on `LedgerCheckpointer`'s thread, never inside a batch's commit (issue 14).
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
                let journalMode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                guard journalMode == "wal", synchronous == 2 else {
                    throw WalletError.storeUnavailable(
                        "wallet database \(path): journal_mode=\(journalMode ?? "?") synchronous=\(synchronous ?? -1),"
                            + " need wal and FULL (2)")
                }
            }
            // A database made by an older bankgw (world-readable by the umask): owner-only now, with its WAL files.
            for file in [path, path + "-wal", path + "-shm"] where fileManager.fileExists(atPath: file) {
                guard chmod(file, 0o600) == 0 else {
                    throw WalletError.storeUnavailable(
                        "cannot make \(file) owner-only (0600): \(String(cString: strerror(errno)))")
                }
            }
        } catch let error as WalletError {
            throw error
        } catch let error as DatabaseError {
            throw .storeUnavailable(
                "cannot open wallet database \(path): \(error.message ?? "\(error)")"
                    + " (SQLite \(error.extendedResultCode.rawValue))")
        } catch {
            throw .storeUnavailable("cannot open wallet database \(path): \(error)")
        }
        self.pool = pool
        self.linkCodeKey = try LinkCodeKey.loadOrCreate(directory: directory.isEmpty ? "." : directory)
        let events = BankEventFeed()
        self.events = events
        let writerEvents = WriterEventsBox()
        self.writerEvents = writerEvents
        self.tokenKey = KeyedHash.Key(try Self.loadOrCreateTokenKey(databasePath: path))
        do {
            self.checkpointer = try LedgerCheckpointer(path: path)
        } catch {
            throw .storeUnavailable("cannot open wallet database \(path) for checkpoints: \(error)")
        }
        self.writer = LedgerWriter(
            storage: pool, checkpointer: checkpointer,
            state: WriterState(
                clock: clock, limits: limits, monitoring: monitoring, tokenKey: tokenKey, alertFeed: alertFeed,
                events: events),
            events: writerEvents)
    }

    /// The keyed MAC under which a link code is stored and looked up (`issueLinkCode`, `submitLink`): HMAC-SHA256
    /// with the secret in `link-code.key` beside the database.
    public func linkCodeMAC(of code: String) -> [UInt8] {
        linkCodeKey.mac(of: code)
    }

    deinit {
        // The writer's thread holds the writer; it ends once the queue is empty. The checkpointer copies what the
        // last batches committed and ends too.
        writer.stop()
        checkpointer.stop()
    }

    /// Opens `DIR/wallet.sqlite`.
    public convenience init(
        stateDirectory: String, create: Bool = true, limits: WalletLimits = .init(),
        clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock, monitoring: MonitoringChecks = .off
    ) throws(WalletError) {
        try self.init(
            path: (stateDirectory as NSString).appendingPathComponent(Self.databaseFileName), create: create,
            limits: limits, clock: clock, monitoring: monitoring)
    }

    /// Batching so far (for metrics and the benchmark).
    public func writerStatistics() async -> WriterStatistics {
        writer.currentStatistics()
    }

    /// Checkpoints so far (for the benchmark).
    public func checkpointStatistics() -> CheckpointStatistics {
        checkpointer.currentStatistics()
    }

    // MARK: - Plumbing

    /// `factsCache`: `.dropsAll` unless the write is one `FactsCacheUse` names.
    func write<Value: Sendable>(
        key: IdempotencyKey? = nil, touchesBanks: Bool = false, factsCache: FactsCacheUse = .dropsAll,
        _ body: @escaping (Database, WriterState) throws -> Value
    ) async throws(WalletError) -> Value {
        let write = LedgerWrite(idempotencyKey: key, touchesBanks: touchesBanks, factsCache: factsCache, body)
        return try await writer.submit(write).get()
    }

    func read<Value: Sendable>(
        _ body: @escaping @Sendable (Database) throws -> Value
    ) async throws(WalletError) -> Value {
        do {
            return try await pool.read(body)
        } catch let error as WalletError {
            throw error
        } catch {
            throw .storeUnavailable("wallet database read failed: \(error)")
        }
    }
}
