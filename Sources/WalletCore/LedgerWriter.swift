import Foundation
import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

/// State the writer's batches share, touched only on the writer's thread (one batch at a time).
///
/// Why caches: every charge needs its bank's facts (row + pilot list) and its link's, wallet's and totals' (see
/// `ChargeFactsCache`). All writes go through the writer, so caches held by the writer are exact as long as every
/// write that changes what they hold drops it (`touchesBanks`; for the facts cache what `FactsCacheUse` says),
/// every rollback drops them, and so does any write from outside the writer (`checkForeignWrites`).
final class WriterState: @unchecked Sendable {
    let clock: @Sendable () -> Int64
    let limits: WalletLimits
    /// The SPEC §8 rules and thresholds (`MonitoringChecks.enabled` off: only the SPEC §4 chain).
    let monitoring: MonitoringChecks
    /// The key of the keyed token hashes (block lists, attempt records).
    let tokenKey: KeyedHash.Key
    /// Set by a write that changed an alert; the writer tells `alertFeed` after the batch commits.
    var alertsChanged = false
    let alertFeed: AlertFeed
    /// Woken after a commit that added bank events (`Ledger.appendEvent`).
    let events: BankEventFeed
    private var banks: [String: (record: BankRecord, settlementAccountID: Int64)] = [:]
    /// The charge path's facts between requests (see `ChargeFactsCache` for why it is exact).
    private var facts = ChargeFactsCache()
    /// On while a Charge applies (it keeps `facts` exact); off for every other write, which reads the database.
    private var factsCacheOn = false
    /// `PRAGMA data_version` after the writer's last batch: a different value means another connection committed.
    private var lastDataVersion: Int64?
    /// The writer connection's `total_changes` after its last batch's writes.
    private var lastTotalChanges = 0
    /// The audit chain's last entry, once read: every entry is appended by `Ledger.audit` on this state, so it stays
    /// exact across writes of every kind (not only Charges) until a rollback or a foreign commit drops it.
    private var auditTail: Ledger.AuditTail?
    /// Banks that got events in the batch being applied (a rolled-back request's too: a spurious wake-up only).
    private var banksWithNewEvents: Set<String> = []

    init(
        clock: @escaping @Sendable () -> Int64, limits: WalletLimits, monitoring: MonitoringChecks = .init(),
        tokenKey: KeyedHash.Key = KeyedHash.Key([]), alertFeed: AlertFeed = AlertFeed(),
        events: BankEventFeed = BankEventFeed()
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

    /// After a rolled-back transaction or savepoint (a failed batch, a fast attempt replayed isolated, a request's
    /// own error): drops every cache, since any of them may hold a fact only the rolled-back writes made true.
    func invalidateAfterRollback() {
        invalidateBanks()
        facts.removeAll()
        auditTail = nil
    }

    /// The audit chain's tail: kept between writes, read from the database only when dropped.
    func auditTail(_ db: Database) throws -> Ledger.AuditTail {
        let read = { try Ledger.auditTail(db) }
        guard let auditTail else {
            let tail = try read()
            auditTail = tail
            return tail
        }
        return try crossChecked(auditTail, "audit tail", read)
    }

    /// `Ledger.audit` appended `tail`, inside the batch's transaction (a rollback drops it again).
    func auditAppended(_ tail: Ledger.AuditTail) { auditTail = tail }

    /// Runs `body` as a write that keeps the facts cache exact (a Charge) or not (anything else: the cache is off
    /// while it runs, so it reads the database, and afterwards what it may have changed is dropped: for a
    /// LinkAccount its wallet's and bank's facts, for anything else every fact).
    func applying<T>(_ use: FactsCacheUse, _ body: () throws -> T) rethrows -> T {
        assert(!factsCacheOn, "writes apply one at a time")
        if case .maintains = use { factsCacheOn = true }
        defer {
            switch use {
            case .maintains, .changesNoFact: break
            case .linkAttempt(let bankCode, let walletID): facts.linkAttempted(bankCode: bankCode, walletID: walletID)
            case .alertsChanged: facts.alertsChanged()
            case .decisionBucketsPruned(let olderThanUnixMs):
                facts.decisionBucketsPruned(olderThanUnixMs: olderThanUnixMs)
            case .dropsAll: facts.removeAll()
            }
            factsCacheOn = false
        }
        return try body()
    }

    /// Facts the cache did not hold and read from the database since the last call (emptied).
    func takeFactsReads() -> Int { facts.takeReads() }

    /// Before a batch: drops every cache if anything but the writer changed the database since its last batch —
    /// another connection's commit (an operator tool on the same file: `PRAGMA data_version` moved; our own
    /// commits do not move it) or a write on the writer's own connection outside a batch (`total_changes` moved).
    func checkForeignWrites(_ db: Database) throws {
        let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
        if let last = lastDataVersion, last != version || lastTotalChanges != db.totalChangesCount {
            invalidateAfterRollback()
        }
        lastDataVersion = version
    }

    /// After a batch's writes, inside its transaction: what `checkForeignWrites` compares with next time.
    func batchApplied(_ db: Database) { lastTotalChanges = db.totalChangesCount }

    /// The charge facts, through the cache while a Charge applies, else straight from the database.
    func link(_ db: Database, id: String) throws -> LinkFacts? {
        let read = { try Ledger.link(db, id: id) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(try facts.link(db, id: id), "link", read)
    }

    func wallet(_ db: Database, id: String) throws -> Ledger.WalletRow? {
        let read = { try Ledger.wallet(db, id: id) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(try facts.wallet(db, id: id), "wallet", read)
    }

    func totals(_ db: Database, walletAccountID: Int64, atUnixMs: Int64) throws -> ChargeFactsCache.PeriodTotals {
        let read = {
            ChargeFactsCache.PeriodTotals(
                dayIndex: TokyoTime.dayIndex(ofUnixMs: atUnixMs), monthIndex: TokyoTime.monthIndex(ofUnixMs: atUnixMs),
                charged: try Ledger.chargedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs),
                reserved: try Ledger.reservedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs))
        }
        guard factsCacheOn else { return try read() }
        return try crossChecked(
            try facts.totals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs), "limit totals", read)
    }

    func recentChargeCount(_ db: Database, link: LinkFacts, sinceUnixMs: Int64, limit: Int) throws -> Int {
        let read = { try Ledger.recentChargeCount(db, link: link, sinceUnixMs: sinceUnixMs, limit: limit) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(
            try facts.recentChargeCount(db, link: link, sinceUnixMs: sinceUnixMs, limit: limit), "recent charges", read)
    }

    func firstChargeAfterTokenMovedWallets(_ db: Database, link: LinkFacts) throws -> Bool {
        let read = { try Ledger.firstChargeAfterTokenMovedWallets(db, link: link) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(try facts.firstChargeAfterTokenMovedWallets(db, link: link), "token moved", read)
    }

    // SPEC §8 facts, through the cache while a Charge applies.

    func tokenHash(link: LinkFacts) -> [UInt8] {
        guard factsCacheOn else {
            return Ledger.tokenHash(key: tokenKey, bankCode: link.bankCode, token: link.bankAccountToken)
        }
        return facts.tokenHash(key: tokenKey, link: link)
    }

    func isBlocked(_ db: Database, kind: BlockKind, lookup: [UInt8]) throws -> Bool {
        let read = { try Ledger.isBlocked(db, kind: kind, lookup: lookup) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(try facts.isBlocked(db, kind: kind, lookup: lookup), "block list", read)
    }

    func manyAccountsAlertOpen(_ db: Database, walletID: String) throws -> Bool {
        let read = { try Ledger.manyAccountsAlertOpen(db, walletID: walletID) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(try facts.manyAccountsAlertOpen(db, walletID: walletID), "many-accounts alert", read)
    }

    func creditedToWallet(_ db: Database, walletID: String, sinceUnixMs: Int64) throws -> Int64 {
        let read = { try Ledger.creditedToWallet(db, walletID: walletID, sinceUnixMs: sinceUnixMs) }
        guard factsCacheOn else { return try read() }
        return try crossChecked(
            try facts.creditedToWallet(db, walletID: walletID, sinceUnixMs: sinceUnixMs), "credits to wallet", read)
    }

    /// Counts the bank's decision and returns its decisions in buckets starting after `afterUnixMs`, this one
    /// included.
    func countDecision(
        _ db: Database, bankCode: String, decision: Decision, nowUnixMs: Int64, afterUnixMs: Int64
    ) throws -> BankDecisionWindow {
        let read = { try Ledger.decisionWindow(db, bankCode: bankCode, afterUnixMs: afterUnixMs) }
        guard factsCacheOn else {
            try Ledger.countDecision(db, bankCode: bankCode, decision: decision, nowUnixMs: nowUnixMs)
            return try read()
        }
        let counted = try facts.countDecision(
            db, bankCode: bankCode, decision: decision, nowUnixMs: nowUnixMs, afterUnixMs: afterUnixMs)
        return try crossChecked(counted, "decision window", read)
    }

    /// Debug builds compare an answer of the facts cache with the database's, so every test that charges is the
    /// cache's oracle (a mismatch stops the process); release builds trust the cache.
    private func crossChecked<T: Equatable>(_ cached: T, _ what: String, _ read: () throws -> T) rethrows -> T {
        #if DEBUG
        let fromDatabase = try read()
        assert(cached == fromDatabase, "writer cache: \(what) is \(cached), the database says \(fromDatabase)")
        #endif
        return cached
    }

    /// A Charge wrote `decision` for `attempt` (called after its writes, inside its transaction).
    func chargeRecorded(_ attempt: ChargeAttempt, decision: Decision) {
        if factsCacheOn { facts.chargeRecorded(attempt, decision: decision) }
    }
}

/// What a write does with the writer's facts cache (`ChargeFactsCache`).
enum FactsCacheUse: Sendable {
    /// A Charge: reads through the cache and keeps it exact (`WriterState.chargeRecorded`).
    case maintains
    /// A LinkAccount for `walletID` at `bankCode`: reads the database, then drops only what such a write can change
    /// (`ChargeFactsCache.linkAttempted`), so the charges of every other wallet stay warm while banks link accounts.
    case linkAttempt(bankCode: String, walletID: String)
    /// A write of alerts alone (raised, acknowledged, resolved): reads the database, then drops the open-alert
    /// answers (`ChargeFactsCache.alertsChanged`), the only facts read from alerts. A refused TLS handshake raises
    /// one of these: were it to drop every fact, anyone without a certificate could send every bank's charges to
    /// the database for all their facts.
    case alertsChanged
    /// Decision buckets older than `olderThanUnixMs` deleted (the periodic prune): drops the banks' decision
    /// windows that reach back that far (`ChargeFactsCache.decisionBucketsPruned`).
    case decisionBucketsPruned(olderThanUnixMs: Int64)
    /// A write of rows no fact is read from (a link code): reads the database, drops nothing.
    case changesNoFact
    /// Anything else: reads the database, then drops every fact (it may have changed any).
    case dropsAll
}

/// One request waiting for, or inside, a batch.
protocol PendingWrite: AnyObject, Sendable {
    var idempotencyKey: IdempotencyKey? { get }
    /// Runs the request inside the batch transaction.
    ///
    /// `isolated` false (the fast path): no savepoint; an error that belongs to the request is its outcome when the
    /// request had written nothing yet, else it throws `BatchNeedsIsolation`, so the writer rolls the batch back and
    /// replays it isolated (nothing of the failed attempt is kept; every request of it runs again). `isolated` true: in its own savepoint; errors that belong to the request are kept as its
    /// outcome (its savepoint is rolled back, the batch goes on). Either way an error that dooms the transaction
    /// (I/O, disk full, busy) is thrown and fails the whole batch.
    func apply(_ db: Database, _ state: WriterState, isolated: Bool) throws
    /// Answers the caller: with the kept outcome after the commit, or with `failure` when the batch failed.
    func finish(batchFailure: WalletError?)
    /// Answers the caller with `error` without applying the write (a twin in flight, a full queue).
    func refuse(_ error: WalletError)
}

/// Thrown on the fast path by a request whose own error must be kept as its outcome while writes it already made
/// are undone: without a savepoint only the whole batch can be undone, so the writer rolls it back and replays it
/// with a savepoint per request. Rare: declines, holds and replays do not throw, and refusals throw before the
/// request writes (an invariant violation after a write is our bug), so the common batch pays no savepoints.
struct BatchNeedsIsolation: Error {}

/// A request of result type `Value`.
final class LedgerWrite<Value: Sendable>: PendingWrite, @unchecked Sendable {
    let idempotencyKey: IdempotencyKey?
    /// Set when this write changes banks; the writer drops its bank cache after applying it.
    let touchesBanks: Bool
    /// How the write uses the writer's facts cache (only a Charge reads through it).
    let factsCache: FactsCacheUse
    private let body: (Database, WriterState) throws -> Value
    /// The submitting task's trace id (`AuditTrace`), bound again while the write applies.
    private let traceID = AuditTrace.traceID
    private var outcome: Result<Value, WalletError>?
    /// Who is told the result: an awaiting task, or a callback (set once, before the write is queued).
    private var reply: Reply?

    enum Reply {
        case continuation(CheckedContinuation<Result<Value, WalletError>, Never>)
        case completion(@Sendable (Result<Value, WalletError>) -> Void)
    }

    init(
        idempotencyKey: IdempotencyKey? = nil, touchesBanks: Bool = false, factsCache: FactsCacheUse = .dropsAll,
        _ body: @escaping (Database, WriterState) throws -> Value
    ) {
        self.idempotencyKey = idempotencyKey
        self.touchesBanks = touchesBanks
        self.factsCache = factsCache
        self.body = body
    }

    func setReply(_ reply: Reply) {
        precondition(self.reply == nil, "a write is submitted once")
        self.reply = reply
    }

    func apply(_ db: Database, _ state: WriterState, isolated: Bool) throws {
        defer { if touchesBanks { state.invalidateBanks() } }
        outcome = nil  // a replayed or re-queued write answers with its last application's outcome only
        guard isolated else {
            // Rows changed by this request so far: an error before its first write (a rejection, a refused
            // duplicate, an expired request id: every refusal of a charge comes before it writes) has nothing to
            // undo, so it is kept as the outcome right here, exactly as the isolated path would keep it.
            let changesBefore = db.totalChangesCount
            do {
                let value = try run(db, state)
                outcome = .success(value)
            } catch let error as WalletError where db.totalChangesCount == changesBefore {
                try keep(error, db, state)
            } catch let error as DatabaseError
                where error.resultCode == .SQLITE_CONSTRAINT && db.totalChangesCount == changesBefore
            {
                // SQLite undid the failed statement itself; nothing else of the request was written.
                keep(error)
            } catch is WalletError {
                throw BatchNeedsIsolation()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw BatchNeedsIsolation()
            }
            return
        }
        try db.cachedStatement(sql: "SAVEPOINT request").execute()
        do {
            let value = try run(db, state)
            try db.cachedStatement(sql: "RELEASE request").execute()
            outcome = .success(value)
        } catch let error as WalletError {
            try rollBackRequest(db, state)
            try keep(error, db, state)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            try rollBackRequest(db, state)
            keep(error)
        }
    }

    /// Keeps a request's own error as its outcome, its writes (if any) already undone.
    private func keep(_ error: WalletError, _ db: Database, _ state: WriterState) throws {
        if case .duplicateRequestDifferentBody(let bankCode, let requestID) = error {
            // SPEC §3/§8: the refusal keeps its alert (the request's own writes are gone, the alert stays).
            try Ledger.raiseAlert(
                db, state, MonitoringRules.idempotencyConflict(bankCode: bankCode, requestID: requestID),
                atUnixMs: state.clock())
        }
        outcome = .failure(error)
    }

    private func keep(_ error: DatabaseError) {
        // Our bug (the code should check before the schema refuses), but it belongs to this request only.
        outcome = .failure(.invariantViolated("\(error.message ?? "constraint failed") (\(error.sql ?? ""))"))
    }

    private func run(_ db: Database, _ state: WriterState) throws -> Value {
        try AuditTrace.$traceID.withValue(traceID) {
            try state.applying(factsCache) { try body(db, state) }
        }
    }

    private func rollBackRequest(_ db: Database, _ state: WriterState) throws {
        state.invalidateAfterRollback()
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
        answer(result)
    }

    func refuse(_ error: WalletError) { answer(.failure(error)) }

    private func answer(_ result: Result<Value, WalletError>) {
        guard let reply else {
            assertionFailure("a write is finished after it was submitted")
            return
        }
        self.reply = nil
        switch reply {
        case .continuation(let continuation): continuation.resume(returning: result)
        case .completion(let completion): completion(result)
        }
    }
}

/// Where the writer's batches become durable: the one writing connection of the wallet database.
///
/// The seam for a second store (issue 14): a wallet core on a shared database (several gateways, one ledger)
/// would conform here with its own connection and commit protocol, and the writer, its batches, the fast path and
/// the facts cache stay as they are. What a conformer must keep: one batch at a time on one connection;
/// `synchronous=FULL` (a commit returns only once durable); and every write by anyone else either moves
/// `PRAGMA data_version` or `total_changes` as seen from that connection, so `WriterState.checkForeignWrites` drops
/// the caches before the next batch. Not built: today the only conformer is the local `DatabasePool`.
protocol LedgerStorage: Sendable {
    /// Runs `body` on the writing connection, outside any transaction (the batch opens its own), blocking the
    /// calling thread (the writer's own) until it returns.
    func withWritingConnection<T>(_ body: (Database) throws -> T) throws -> T
}

extension DatabasePool: LedgerStorage {
    func withWritingConnection<T>(_ body: (Database) throws -> T) throws -> T {
        // GRDB's synchronous write runs `body` on this thread under the writer queue's exclusion: no thread hop.
        try writeWithoutTransaction(body)
    }
}

/// The single writer: takes concurrent requests, applies them in arrival order in one transaction per batch,
/// commits once (`synchronous=FULL`: durable when the commit returns), then answers every caller.
///
/// Why: a commit's fsync costs far more than applying one request, so sharing it across a batch (group commit)
/// multiplies durable throughput, while each request still sees every earlier one (no stale limit totals).
/// Batches are bounded by `WalletLimits.maxBatchWrites` and `.maxBatchDuration`; the queue by `.maxPendingWrites`.
///
/// It runs on a thread of its own (issue 14), not as an actor: `submit` only appends under a lock and the thread
/// takes everything queued as the next batch while the previous one commits, runs it on GRDB's writer connection
/// synchronously (no hop to GRDB's queue and back) and answers each caller directly — resuming its continuation,
/// or calling its completion with no task at all (`WalletStore.submitCharge(…, completion:)`).
final class LedgerWriter: @unchecked Sendable {
    // @unchecked: every mutable field below is guarded by `condition`'s lock, except what only the writer thread
    // touches (`state`, while it applies a batch).
    private let storage: any LedgerStorage
    /// Told after every commit (checkpoints never run inside one); nil: the storage checkpoints by itself.
    private let checkpointer: LedgerCheckpointer?
    private let state: WriterState
    private let events: WriterEventsBox
    private let condition = NSCondition()
    private var pending: [any PendingWrite] = []
    /// Keys of requests queued or in a batch: a twin arriving meanwhile is answered `.requestInFlight`.
    private var inFlight: Set<IdempotencyKey> = []
    private var statistics = WriterStatistics()
    private var stopped = false

    init(
        storage: any LedgerStorage, checkpointer: LedgerCheckpointer? = nil, state: WriterState,
        events: WriterEventsBox = WriterEventsBox()
    ) {
        self.storage = storage
        self.checkpointer = checkpointer
        self.state = state
        self.events = events
        let thread = Thread { [self] in run() }
        thread.name = "wallet-writer"
        thread.start()
    }

    /// Ends the writer thread once the queue is empty (the store is going away). Idempotent.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    /// Queues `write`, whose reply is already set; refuses it at once (answering through its reply) when its
    /// idempotency key is in flight or the queue is full.
    func enqueue(_ write: any PendingWrite) {
        let refusal: WalletError? = condition.withLock {
            if let key = write.idempotencyKey {
                guard inFlight.insert(key).inserted else {
                    return .requestInFlight(bankCode: key.bankCode, requestID: key.requestID)
                }
            }
            guard pending.count < state.limits.maxPendingWrites, !stopped else {
                if let key = write.idempotencyKey { inFlight.remove(key) }
                return stopped
                    ? .storeUnavailable("the wallet writer has stopped")
                    : .overloaded("the wallet writer has \(pending.count) requests queued (the maximum)")
            }
            pending.append(write)
            if pending.count == 1 { condition.signal() }
            return nil
        }
        if let refusal { write.refuse(refusal) }
    }

    func submit<Value: Sendable>(_ write: LedgerWrite<Value>) async -> Result<Value, WalletError> {
        await withCheckedContinuation { continuation in
            write.setReply(.continuation(continuation))
            enqueue(write)
        }
    }

    func currentStatistics() -> WriterStatistics { condition.withLock { statistics } }

    /// The writer thread: the next batch is everything queued (up to `maxBatchWrites`) when the previous one ends.
    private func run() {
        while let batch = nextBatch() {
            let cpuBefore = Self.threadCPUTime()
            var applied: Int
            var failure: WalletError?
            var committing = Duration.zero
            var isolated = false
            var applying = Duration.zero
            let state = self.state
            var walFrames: Int?
            do {
                let outcome = try storage.withWritingConnection { [checkpointer] db in
                    checkpointer?.catchUpIfLogIsLong(db)
                    return try WALLength.measuring(db) { try Self.runBatch(db, batch, state) }
                }
                ((applied, applying, committing, isolated), walFrames) = outcome
            } catch {
                // Rolled back: whatever the writer's caches learnt from it is not in the database.
                state.invalidateAfterRollback()
                state.alertsChanged = false
                applied = batch.count
                failure = (error as? WalletError) ?? .storeUnavailable("wallet database write failed: \(error)")
            }
            // Emptied either way; after a failed batch its banks are just dropped.
            let banksWithNewEvents = state.takeBanksWithNewEvents()
            let factsRead = state.takeFactsReads()
            if failure == nil {
                checkpointer?.committed(walFrames: walFrames)
                if state.alertsChanged {
                    state.alertsChanged = false
                    state.alertFeed.notify()
                }
                // Wake the banks' watchers, who read the committed events back themselves.
                state.events.committed(banks: banksWithNewEvents)
            }
            let queued: Int = condition.withLock {
                // Requests the time bound left out go back to the front, still in arrival order.
                if applied < batch.count { pending.insert(contentsOf: batch[applied...], at: 0) }
                if failure == nil {
                    statistics.batchesCommitted += 1
                    statistics.writesCommitted += applied
                    statistics.largestBatch = max(statistics.largestBatch, applied)
                    statistics.applying += applying
                    statistics.committing += committing
                    statistics.writerCPU += Self.threadCPUTime() - cpuBefore
                    statistics.factsRead += factsRead
                    if isolated { statistics.batchesReplayedIsolated += 1 }
                } else {
                    statistics.batchesFailed += 1
                }
                for write in batch[..<applied] {
                    if let key = write.idempotencyKey { inFlight.remove(key) }
                }
                return pending.count
            }
            if failure == nil {
                let events = events.current
                events.batchCommitted(applied, committing, queued)
                if let walFrames { events.logLength(walFrames) }
            }
            // Answered outside the lock: a completion may submit again at once.
            for write in batch[..<applied] { write.finish(batchFailure: failure) }
        }
    }

    /// CPU time of the calling thread (the writer's: what bounds its throughput, whatever else runs on the box).
    private static func threadCPUTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }

    /// Waits for work; nil once stopped with nothing queued.
    private func nextBatch() -> [any PendingWrite]? {
        condition.withLock {
            while pending.isEmpty && !stopped { condition.wait() }
            guard !pending.isEmpty else { return nil }
            let count = min(pending.count, state.limits.maxBatchWrites)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            return batch
        }
    }

    /// Applies writes in order until the batch's time bound, commits, and returns how many it applied and how long
    /// applying and committing took.
    ///
    /// First without savepoints (the fast path: four statements fewer per request); when a request's own error
    /// needs its writes undone alone (`BatchNeedsIsolation`), the attempt is rolled back whole, the writer's caches
    /// dropped (they may hold what the rolled-back attempt wrote) and the same requests replayed with a savepoint
    /// each: today's semantics, each request's error its own outcome.
    private static func runBatch(
        _ db: Database, _ batch: [any PendingWrite], _ state: WriterState
    ) throws -> (applied: Int, applying: Duration, committing: Duration, isolated: Bool) {
        do {
            let outcome = try runBatch(db, batch, state, isolated: false)
            return (outcome.applied, outcome.applying, outcome.committing, false)
        } catch is BatchNeedsIsolation {
            state.invalidateAfterRollback()
            let outcome = try runBatch(db, batch, state, isolated: true)
            return (outcome.applied, outcome.applying, outcome.committing, true)
        }
    }

    private static func runBatch(
        _ db: Database, _ batch: [any PendingWrite], _ state: WriterState, isolated: Bool
    ) throws -> (applied: Int, applying: Duration, committing: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: state.limits.maxBatchDuration)
        var applied = 0
        var applyEnd = start
        try db.inTransaction(.immediate) {
            try state.checkForeignWrites(db)
            for write in batch {
                // Always apply at least one, so a slow request still makes progress.
                if applied > 0 && clock.now >= deadline { break }
                try write.apply(db, state, isolated: isolated)
                applied += 1
            }
            applyEnd = clock.now
            state.batchApplied(db)
            return .commit
        }
        assert(applied >= 1 && applied <= batch.count, "a batch applies at least one of its requests")
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
    /// Batches whose fast (savepoint-free) attempt was rolled back for a request's own error and replayed with a
    /// savepoint per request.
    public var batchesReplayedIsolated = 0
    /// Time spent applying requests inside batch transactions, and committing them (the fsync).
    public var applying: Duration = .zero
    public var committing: Duration = .zero
    /// CPU time the writer's thread spent on committed batches (applying and committing them).
    public var writerCPU: Duration = .zero
    /// Charge facts read from the database because the writer's facts cache did not hold them (committed batches).
    public var factsRead = 0

    public var meanBatch: Double { batchesCommitted == 0 ? 0 : Double(writesCommitted) / Double(batchesCommitted) }
}
