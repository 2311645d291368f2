import Foundation
import GRDB
import GatewayPolicy

/// State the writer's batches share, touched only on the database's writer queue (one batch at a time).
///
/// Why a cache: every charge needs its bank's facts (row + pilot list). All writes go through the writer, so a
/// cache held by the writer is exact as long as every write that touches banks invalidates it (`touchesBanks`).
final class WriterState: @unchecked Sendable {
    let clock: @Sendable () -> Int64
    let limits: WalletLimits
    /// The SPEC §8 rules and thresholds (`MonitoringChecks.enabled` off: only the SPEC §4 chain).
    let monitoring: MonitoringChecks
    /// The key of the keyed token hashes (block lists, attempt records).
    let tokenKey: [UInt8]
    /// Set by a write that changed an alert; the writer tells `alertFeed` after the batch commits.
    var alertsChanged = false
    let alertFeed: AlertFeed
    /// Woken after a commit that added bank events (`Ledger.appendEvent`).
    let events: BankEventFeed
    private var banks: [String: (record: BankRecord, settlementAccountID: Int64)] = [:]
    /// Banks that got events in the batch being applied (a rolled-back request's too: a spurious wake-up only).
    private var banksWithNewEvents: Set<String> = []

    init(
        clock: @escaping @Sendable () -> Int64, limits: WalletLimits, monitoring: MonitoringChecks = .init(),
        tokenKey: [UInt8] = [], alertFeed: AlertFeed = AlertFeed(), events: BankEventFeed = BankEventFeed()
    ) {
        self.clock = clock
        self.limits = limits
        self.monitoring = monitoring
        self.tokenKey = tokenKey
        self.alertFeed = alertFeed
        self.events = events
    }

    func eventsAppended(bankCode: String) { banksWithNewEvents.insert(bankCode) }

    /// The banks to wake after the batch's commit (emptied; after a failed batch, just dropped).
    func takeBanksWithNewEvents() -> Set<String> {
        defer { banksWithNewEvents.removeAll(keepingCapacity: true) }
        return banksWithNewEvents
    }

    func bank(_ db: Database, code: String) throws -> (record: BankRecord, settlementAccountID: Int64)? {
        if let cached = banks[code] { return cached }
        let read = try Ledger.bankRecord(db, code: code)
        if let read { banks[code] = read }
        return read
    }

    func invalidateBanks() { banks.removeAll(keepingCapacity: true) }
}

/// One request waiting for, or inside, a batch.
protocol PendingWrite: AnyObject, Sendable {
    var idempotencyKey: IdempotencyKey? { get }
    /// Runs the request inside the batch transaction, in its own savepoint. Errors that belong to the request are
    /// kept as its outcome (its savepoint is rolled back, the batch goes on); an error that dooms the transaction
    /// (I/O, disk full, busy) is thrown and fails the whole batch.
    func apply(_ db: Database, _ state: WriterState) throws
    /// Answers the caller: with the kept outcome after the commit, or with `failure` when the batch failed.
    func finish(batchFailure: WalletError?)
}

/// A request of result type `Value`.
final class LedgerWrite<Value: Sendable>: PendingWrite, @unchecked Sendable {
    let idempotencyKey: IdempotencyKey?
    /// Set when this write changes banks; the writer drops its bank cache after applying it.
    let touchesBanks: Bool
    private let body: (Database, WriterState) throws -> Value
    /// The submitting task's trace id (`AuditTrace`), bound again while the write applies.
    private let traceID = AuditTrace.traceID
    private var outcome: Result<Value, WalletError>?
    private var continuation: CheckedContinuation<Result<Value, WalletError>, Never>?

    init(
        idempotencyKey: IdempotencyKey? = nil, touchesBanks: Bool = false,
        _ body: @escaping (Database, WriterState) throws -> Value
    ) {
        self.idempotencyKey = idempotencyKey
        self.touchesBanks = touchesBanks
        self.body = body
    }

    func setContinuation(_ continuation: CheckedContinuation<Result<Value, WalletError>, Never>) {
        precondition(self.continuation == nil, "a write is submitted once")
        self.continuation = continuation
    }

    func apply(_ db: Database, _ state: WriterState) throws {
        defer { if touchesBanks { state.invalidateBanks() } }
        try db.cachedStatement(sql: "SAVEPOINT request").execute()
        do {
            let value = try AuditTrace.$traceID.withValue(traceID) { try body(db, state) }
            try db.cachedStatement(sql: "RELEASE request").execute()
            outcome = .success(value)
        } catch let error as WalletError {
            try rollBackRequest(db)
            if case .duplicateRequestDifferentBody(let bankCode, let requestID) = error {
                // SPEC §3/§8: the refusal keeps its alert (the request's own writes are gone, the alert stays).
                try Ledger.raiseAlert(
                    db, state, MonitoringRules.idempotencyConflict(bankCode: bankCode, requestID: requestID),
                    atUnixMs: state.clock())
            }
            outcome = .failure(error)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            // Our bug (the code should check before the schema refuses), but it belongs to this request only.
            try rollBackRequest(db)
            outcome = .failure(.invariantViolated("\(error.message ?? "constraint failed") (\(error.sql ?? ""))"))
        }
    }

    private func rollBackRequest(_ db: Database) throws {
        try db.cachedStatement(sql: "ROLLBACK TO request").execute()
        try db.cachedStatement(sql: "RELEASE request").execute()
    }

    func finish(batchFailure: WalletError?) {
        let result: Result<Value, WalletError>
        if let batchFailure {
            result = .failure(batchFailure)
        } else if let outcome {
            result = outcome
        } else {
            assertionFailure("a committed write has an outcome")
            result = .failure(.invariantViolated("write finished without an outcome"))
        }
        guard let continuation else {
            assertionFailure("a write is finished after it was submitted")
            return
        }
        self.continuation = nil
        continuation.resume(returning: result)
    }
}

/// The single writer: takes concurrent requests, applies them in arrival order in one transaction per batch,
/// commits once (`synchronous=FULL`: durable when the commit returns), then answers every caller.
///
/// Why: a commit's fsync costs far more than applying one request, so sharing it across a batch (group commit)
/// multiplies durable throughput, while each request still sees every earlier one (no stale limit totals).
/// Batches are bounded by `WalletLimits.maxBatchWrites` and `.maxBatchDuration`; the queue by `.maxPendingWrites`.
actor LedgerWriter {
    private let pool: DatabasePool
    private let state: WriterState
    private var pending: [any PendingWrite] = []
    /// Keys of requests queued or in a batch: a twin arriving meanwhile is answered `.requestInFlight`.
    private var inFlight: Set<IdempotencyKey> = []
    private var draining = false
    private var statistics = WriterStatistics()
    private let events: WriterEventsBox

    init(pool: DatabasePool, state: WriterState, events: WriterEventsBox = WriterEventsBox()) {
        self.pool = pool
        self.state = state
        self.events = events
    }

    func submit<Value: Sendable>(_ write: LedgerWrite<Value>) async -> Result<Value, WalletError> {
        if let key = write.idempotencyKey {
            guard inFlight.insert(key).inserted else {
                return .failure(.requestInFlight(bankCode: key.bankCode, requestID: key.requestID))
            }
        }
        guard pending.count < state.limits.maxPendingWrites else {
            if let key = write.idempotencyKey { inFlight.remove(key) }
            return .failure(.overloaded("the wallet writer has \(pending.count) requests queued (the maximum)"))
        }
        return await withCheckedContinuation { continuation in
            write.setContinuation(continuation)
            pending.append(write)
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let count = min(pending.count, state.limits.maxBatchWrites)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            let state = self.state
            var applied: Int
            var failure: WalletError?
            var committing = Duration.zero
            do {
                let outcome = try await pool.writeWithoutTransaction { db in
                    try Self.runBatch(db, batch, state)
                }
                applied = outcome.applied
                statistics.applying += outcome.applying
                statistics.committing += outcome.committing
                committing = outcome.committing
            } catch {
                state.invalidateBanks()
                state.alertsChanged = false
                applied = batch.count
                failure = (error as? WalletError) ?? .storeUnavailable("wallet database write failed: \(error)")
            }
            // Requests the time bound left out go back to the front, still in arrival order.
            if applied < batch.count {
                pending.insert(contentsOf: batch[applied...], at: 0)
            }
            if failure == nil, state.alertsChanged {
                state.alertsChanged = false
                state.alertFeed.notify()
            }
            // Committed (or not): wake the banks' watchers, who read the committed events back themselves.
            let banksWithNewEvents = state.takeBanksWithNewEvents()
            if failure == nil { state.events.committed(banks: banksWithNewEvents) }
            if failure == nil {
                statistics.batchesCommitted += 1
                statistics.writesCommitted += applied
                statistics.largestBatch = max(statistics.largestBatch, applied)
                events.current.batchCommitted(applied, committing, pending.count)
            } else {
                statistics.batchesFailed += 1
            }
            for write in batch[..<applied] {
                if let key = write.idempotencyKey { inFlight.remove(key) }
                write.finish(batchFailure: failure)
            }
        }
        draining = false
    }

    func currentStatistics() -> WriterStatistics { statistics }

    /// Applies writes in order until the batch's time bound, commits, and returns how many it applied and how long
    /// applying and committing took.
    private static func runBatch(
        _ db: Database, _ batch: [any PendingWrite], _ state: WriterState
    ) throws -> (applied: Int, applying: Duration, committing: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: state.limits.maxBatchDuration)
        var applied = 0
        var applyEnd = start
        try db.inTransaction(.immediate) {
            for write in batch {
                // Always apply at least one, so a slow request still makes progress.
                if applied > 0 && clock.now >= deadline { break }
                try write.apply(db, state)
                applied += 1
            }
            applyEnd = clock.now
            return .commit
        }
        return (applied, applyEnd - start, clock.now - applyEnd)
    }
}

/// What the writer has done since the store opened: how well group commit is batching.
public struct WriterStatistics: Sendable, Hashable {
    public var batchesCommitted = 0
    /// Requests applied in committed batches (including ones that ended in a request-level error).
    public var writesCommitted = 0
    public var largestBatch = 0
    /// Batches whose transaction failed (every request in them got `.storeUnavailable`).
    public var batchesFailed = 0
    /// Time spent applying requests inside batch transactions, and committing them (the fsync).
    public var applying: Duration = .zero
    public var committing: Duration = .zero

    public var meanBatch: Double { batchesCommitted == 0 ? 0 : Double(writesCommitted) / Double(batchesCommitted) }
}
