import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// The bank event outbox behind `WatchEvents` (SPEC §2, §9). An event is a row of `bank_event`, inserted by
// `Ledger.appendEvent` in the transaction of the act it reports, so it exists exactly when the act committed; the
// sequence is allocated there too (the bank's last + 1, the schema refuses any other), so it is gap-free per bank.
// Watchers read committed rows from a pool reader and are woken by the writer after each commit that added events
// for their bank: nothing uncommitted is ever sent, and a reconnect with the last sequence misses nothing.

extension Ledger {
    /// Appends one event to `bankCode`'s outbox in the caller's transaction and returns its sequence. Every code
    /// path that reports to a bank calls this one function (link, unlink, hold, release, reject, reversal,
    /// compensation, bank state, freeze), so the outbox has one writer and one shape.
    @discardableResult
    static func appendEvent(
        _ db: Database, _ state: WriterState, bankCode: String, type: EventType, atUnixMs: Int64,
        linkID: String = "", chargeID: String = "", requestID: String = "", amountYen: Int64 = 0,
        reason: String, reversalID: String? = nil
    ) throws -> UInt64 {
        precondition(type != .unspecified, "an event has a type")
        assert(amountYen >= 0, "an event's amount is never negative")
        try db.cachedStatement(
            sql: """
                INSERT INTO bank_event(bank_code, sequence, occurred_at_unix_ms, type, link_id, charge_id, request_id,
                    amount_yen, reason, reversal_id)
                VALUES (?1, coalesce((SELECT last_sequence FROM bank_event_head WHERE bank_code = ?1), 0) + 1,
                    ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                """
        ).execute(arguments: [
            bankCode, atUnixMs, type.rawValue, linkID, chargeID, requestID, amountYen, reason, reversalID,
        ])
        state.eventsAppended(bankCode: bankCode)
        let sequence =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT last_sequence FROM bank_event_head WHERE bank_code = ?"),
                arguments: [bankCode]) ?? 0
        assert(sequence >= 1, "the head moved with the insert")
        return UInt64(sequence)
    }

    /// Freezes charges to `walletID` (SPEC §4: until an operator reviews it). When it was not frozen yet, every
    /// bank with an active link to the wallet — and the bank of `alsoLink`, whose link may just have ended — gets
    /// a WALLET_FROZEN event naming its own link. Returns whether it was newly frozen.
    @discardableResult
    static func freezeCharges(
        _ db: Database, _ state: WriterState, walletID: String, atUnixMs: Int64, reason: String,
        alsoLink: (bankCode: String, linkID: String)? = nil
    ) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE wallet SET charge_frozen = 1 WHERE id = ? AND charge_frozen = 0")
            .execute(arguments: [walletID])
        guard db.changesCount == 1 else { return false }
        var notified: [(String, String)] = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT bank_code, id FROM link WHERE wallet_id = ? AND active = 1 ORDER BY bank_code, linked_at_unix_ms
                    """), arguments: [walletID]
        ).map { ($0[0], $0[1]) }
        if let alsoLink, !notified.contains(where: { $0.0 == alsoLink.bankCode && $0.1 == alsoLink.linkID }) {
            notified.insert((alsoLink.bankCode, alsoLink.linkID), at: 0)
        }
        for (bankCode, linkID) in notified {
            try appendEvent(
                db, state, bankCode: bankCode, type: .walletFrozen, atUnixMs: atUnixMs, linkID: linkID, reason: reason)
        }
        return true
    }

    /// The bank's last sequence and how far retention has pruned (0, 0 before its first event).
    static func eventHead(_ db: Database, bankCode: String) throws -> (lastSequence: UInt64, prunedThrough: UInt64) {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT last_sequence, pruned_through FROM bank_event_head WHERE bank_code = ?"),
                arguments: [bankCode])
        else { return (0, 0) }
        return (UInt64(row[0] as Int64), UInt64(row[1] as Int64))
    }

    /// The bank's events with sequence > `after`, in order, at most `limit`.
    static func events(_ db: Database, bankCode: String, after: UInt64, limit: Int) throws -> [BankEvent] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT sequence, occurred_at_unix_ms, type, link_id, charge_id, request_id, amount_yen, reason
                    FROM bank_event WHERE bank_code = ? AND sequence > ? ORDER BY sequence LIMIT ?
                    """), arguments: [bankCode, Int64(after), limit]
        ).map { row in
            BankEvent(
                sequence: UInt64(row[0] as Int64), occurredAtUnixMs: row[1],
                type: EventType(rawValue: row[2]) ?? .unspecified, linkID: row[3], chargeID: row[4],
                requestID: row[5], amountYen: row[6], reason: row[7])
        }
    }
}

/// Wakes the watchers of a bank after the writer commits events for it, and bounds how many watch at once.
///
/// Only a wake-up travels here (coalesced: a watcher that is busy sending sees one pending wake-up however many
/// commits happened); the events themselves are always read back from the database, so a watcher never sees
/// anything the database does not hold.
public final class BankEventFeed: @unchecked Sendable {
    /// Concurrent `WatchEvents` streams per bank (SPEC §9); beyond it a watch is RESOURCE_EXHAUSTED. 4.
    public static let maxWatchesPerBank = 4

    private let lock = NSLock()
    private var watchers: [String: [Int: AsyncStream<Void>.Continuation]] = [:]
    private var nextID = 0
    private var finished = false

    init() {}

    /// A wake-up stream for `bankCode`, or `.rejected(resourceExhausted)` when the bank already has the maximum.
    func subscribe(bankCode: String) throws(WalletError) -> (id: Int, wakeUps: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = lock.withLock {
            guard (watchers[bankCode]?.count ?? 0) < Self.maxWatchesPerBank else { return nil }
            let id = nextID
            nextID += 1
            if finished {
                continuation.finish()
            } else {
                watchers[bankCode, default: [:]][id] = continuation
            }
            return id
        }
        guard let id else {
            throw .rejected(
                Rejection(
                    .resourceExhausted,
                    "bank \(bankCode) already has \(Self.maxWatchesPerBank) WatchEvents streams open (the maximum)"))
        }
        return (id, stream)
    }

    func unsubscribe(bankCode: String, id: Int) {
        let continuation: AsyncStream<Void>.Continuation? = lock.withLock {
            let removed = watchers[bankCode]?.removeValue(forKey: id)
            if watchers[bankCode]?.isEmpty == true { watchers[bankCode] = nil }
            return removed
        }
        continuation?.finish()
    }

    /// Called by the writer after a commit that appended events for `banks`.
    func committed(banks: Set<String>) {
        guard !banks.isEmpty else { return }
        let woken: [AsyncStream<Void>.Continuation] = lock.withLock {
            banks.flatMap { watchers[$0].map { Array($0.values) } ?? [] }
        }
        for continuation in woken { continuation.yield() }
    }

    /// Open watches of `bankCode` (for tests and metrics).
    public func watchCount(bankCode: String) -> Int {
        lock.withLock { watchers[bankCode]?.count ?? 0 }
    }

    /// Shutdown: every watch ends after what it has already read.
    public func finish() {
        let all: [AsyncStream<Void>.Continuation] = lock.withLock {
            finished = true
            return watchers.values.flatMap { Array($0.values) }
        }
        for continuation in all { continuation.finish() }
    }
}

extension WalletStore {
    /// Events read per database round trip while catching up. 256.
    public static let maxEventsPerRead = 256

    /// `WatchEvents` for `bankCode`: `deliver` gets every event with sequence > `afterSequence` in order, then new
    /// ones as they commit, until the task is cancelled (the caller went away, deadline, shutdown) or `deliver`
    /// throws. `afterSequence` 0 starts at the oldest kept; an older sequence than the kept ones, or one never
    /// issued, is `.outOfRange`; a bank already at `BankEventFeed.maxWatchesPerBank` watches is refused.
    public func watchEvents(
        bankCode: String, afterSequence: UInt64, _ deliver: @Sendable (BankEvent) async throws -> Void
    ) async throws {
        // Subscribe before the first read: a commit between the read and the wait still wakes us.
        let (id, wakeUps) = try events.subscribe(bankCode: bankCode)
        defer { events.unsubscribe(bankCode: bankCode, id: id) }
        let head = try await read { db in try Ledger.eventHead(db, bankCode: bankCode) }
        if afterSequence > 0 && afterSequence < head.prunedThrough {
            throw WalletError.outOfRange(
                "after_sequence \(afterSequence) is older than the events kept for bank \(bankCode) "
                    + "(the oldest kept is \(head.prunedThrough + 1); events are kept 30 days)")
        }
        if afterSequence > head.lastSequence {
            throw WalletError.outOfRange(
                "after_sequence \(afterSequence) was never issued to bank \(bankCode) "
                    + "(its last is \(head.lastSequence))")
        }
        var cursor = afterSequence
        var iterator = wakeUps.makeAsyncIterator()
        while !Task.isCancelled {
            let after = cursor
            let batch = try await read { db in
                try Ledger.events(db, bankCode: bankCode, after: after, limit: Self.maxEventsPerRead)
            }
            for event in batch {
                assert(event.sequence == cursor + 1 || cursor < head.prunedThrough, "events are gap-free")
                try await deliver(event)
                cursor = event.sequence
            }
            if batch.count == Self.maxEventsPerRead { continue }
            guard await iterator.next() != nil else { return }
        }
    }

    /// The bank's last event sequence (0 before its first).
    public func lastEventSequence(bankCode: String) async throws(WalletError) -> UInt64 {
        try await read { db in try Ledger.eventHead(db, bankCode: bankCode).lastSequence }
    }

    /// Deletes events older than `limits.eventRetentionMs` (SPEC §9 keeps them ≥ 30 days), oldest first, at most
    /// `maxRows` per call; moves each bank's `pruned_through` first so a watch from a pruned sequence is told
    /// OUT_OF_RANGE. Returns how many it deleted.
    public func pruneEvents(maxRows: Int = 10_000) async throws(WalletError) -> Int {
        precondition(maxRows > 0, "a prune is bounded")
        let retention = limits.eventRetentionMs
        return try await write { db, state in
            let cutoff = state.clock() - retention
            var deleted = 0
            let banks = try String.fetchAll(db, sql: "SELECT bank_code FROM bank_event_head ORDER BY bank_code")
            for bank in banks where deleted < maxRows {
                guard
                    let through = try Int64.fetchOne(
                        db,
                        sql: """
                            SELECT max(sequence) FROM (SELECT sequence FROM bank_event
                                WHERE bank_code = ? AND occurred_at_unix_ms < ? ORDER BY sequence LIMIT ?)
                            """, arguments: [bank, cutoff, maxRows - deleted])
                else { continue }
                try db.execute(
                    sql: "UPDATE bank_event_head SET pruned_through = max(pruned_through, ?) WHERE bank_code = ?",
                    arguments: [through, bank])
                try db.execute(
                    sql: "DELETE FROM bank_event WHERE bank_code = ? AND sequence <= ?", arguments: [bank, through])
                deleted += db.changesCount
            }
            return deleted
        }
    }
}
