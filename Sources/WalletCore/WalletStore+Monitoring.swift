import Foundation
import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

/// Wakes the `WatchAlerts` streams after a commit that changed an alert (they then read what changed).
///
/// Why a wake-up and not the alerts themselves: the committed rows are the truth (a stream reads them by change
/// sequence), so a slow watcher misses nothing and the writer never waits for one.
public final class AlertFeed: @unchecked Sendable {
    /// Streams per process. 256; beyond it `subscribe` returns nil.
    public static let maxSubscribers = 256
    private let lock = NSLock()
    private var subscribers: [Int: AsyncStream<Void>.Continuation] = [:]
    private var nextID = 0

    public init() {}

    /// A stream that yields after every commit that changed an alert (coalesced), and its id for `unsubscribe`.
    public func subscribe() -> (id: Int, changes: AsyncStream<Void>)? {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        return lock.withLock {
            guard subscribers.count < Self.maxSubscribers else { return nil }
            nextID += 1
            subscribers[nextID] = continuation
            return (nextID, stream)
        }
    }

    public func unsubscribe(_ id: Int) {
        let continuation = lock.withLock { subscribers.removeValue(forKey: id) }
        continuation?.finish()
    }

    func notify() {
        let all = lock.withLock { Array(subscribers.values) }
        for continuation in all { continuation.yield() }
    }
}

/// Filters of `ListAlerts` (SPEC §8); nil matches anything. `state` nil means unresolved (OPEN, ACKNOWLEDGED).
public struct AlertFilter: Sendable, Hashable {
    public var state: AlertState?
    public var severity: AlertSeverity?
    public var rule: String?
    public var bankCode: String?
    public var walletID: String?
    public init(
        state: AlertState? = nil, severity: AlertSeverity? = nil, rule: String? = nil, bankCode: String? = nil,
        walletID: String? = nil
    ) {
        self.state = state
        self.severity = severity
        self.rule = rule
        self.bankCode = bankCode
        self.walletID = walletID
    }
}

/// One bucket of a bank's decisions (the console's chart).
public struct DecisionBucket: Sendable, Hashable {
    public var bankCode: String
    public var startUnixMs: Int64
    public var approved: Int
    public var held: Int
    public var declined: Int
}

extension WalletStore {
    /// A listing returns at most this many alerts, newest change first. 1,000.
    public static let maxAlertsListed = 1_000

    // MARK: Alerts

    public func alerts(
        _ filter: AlertFilter = .init(), limit: Int = WalletStore.maxAlertsListed
    ) async throws(WalletError) -> [Alert] {
        precondition(limit > 0, "a listing is bounded")
        return try await read { db in
            var clauses: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let state = filter.state {
                clauses.append("state = ?")
                arguments.append(state.rawValue)
            } else {
                clauses.append("state <> 3")
            }
            if let severity = filter.severity { clauses.append("severity = ?"); arguments.append(severity.rawValue) }
            if let rule = filter.rule { clauses.append("rule = ?"); arguments.append(rule) }
            if let bank = filter.bankCode { clauses.append("bank_code = ?"); arguments.append(bank) }
            if let wallet = filter.walletID { clauses.append("wallet_id = ?"); arguments.append(wallet) }
            arguments.append(limit)
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT * FROM alert WHERE \(clauses.joined(separator: " AND ")) ORDER BY change_seq DESC LIMIT ?",
                arguments: StatementArguments(arguments))
            return try rows.map { try Ledger.alert(db, from: $0) }
        }
    }

    public func alert(id: String) async throws(WalletError) -> Alert? {
        try await read { db in try Ledger.alert(db, id: id) }
    }

    /// Alerts changed after `sequence` (any state), oldest change first, at most `limit`: what a watcher missed.
    public func alertChanges(afterSequence sequence: Int64, limit: Int = 500) async throws(WalletError) -> [Alert] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alert WHERE change_seq > ? ORDER BY change_seq LIMIT ?",
                arguments: [sequence, limit]
            ).map { try Ledger.alert(db, from: $0) }
        }
    }

    /// The latest change sequence (0 without alerts).
    public func alertSequence() async throws(WalletError) -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(change_seq), 0) FROM alert") ?? 0 }
    }

    /// OPEN → ACKNOWLEDGED (again: a new assignee or note). A resolved alert stays resolved.
    public func acknowledgeAlert(
        id: String, assignee: String?, note: String?, audit: AuditContext
    ) async throws(WalletError) -> Alert {
        try await write(factsCache: .alertsChanged) { db, state in
            let now = state.clock()
            guard let alert = try Ledger.alert(db, id: id) else { throw WalletError.notFound("alert \(id)") }
            guard alert.state != .resolved else {
                throw WalletError.failedPrecondition("alert \(id) is already RESOLVED")
            }
            let who = assignee.flatMap { $0.isEmpty ? nil : $0 } ?? audit.actor
            try db.execute(
                sql: "UPDATE alert SET state = 2, assignee = ?, change_seq = ? WHERE id = ?",
                arguments: [who, try Ledger.nextAlertChange(db), id])
            if let note, !note.isEmpty { try Self.addNote(db, id, note, audit.actor, now) }
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "alert.acknowledge", subject: id,
                reason: note ?? "", detail: "\(alert.rule) \(alert.subject) assignee \(who)")
            state.alertsChanged = true
            return try Ledger.alert(db, id: id)!
        }
    }

    /// → RESOLVED with a note (required: what was found and done). The rule firing again opens a new alert.
    public func resolveAlert(id: String, note: String, audit: AuditContext) async throws(WalletError) -> Alert {
        guard !note.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .invalidArgument("note: resolving an alert needs a note")
        }
        return try await write(factsCache: .alertsChanged) { db, state in
            let now = state.clock()
            guard let alert = try Ledger.alert(db, id: id) else { throw WalletError.notFound("alert \(id)") }
            guard alert.state != .resolved else {
                throw WalletError.failedPrecondition("alert \(id) is already RESOLVED")
            }
            try db.execute(
                sql: """
                    UPDATE alert SET state = 3, resolved_at_unix_ms = ?, assignee = COALESCE(assignee, ?),
                        change_seq = ? WHERE id = ?
                    """, arguments: [now, audit.actor, try Ledger.nextAlertChange(db), id])
            try Self.addNote(db, id, note, audit.actor, now)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "alert.resolve", subject: id,
                reason: note, detail: "\(alert.rule) \(alert.subject)")
            state.alertsChanged = true
            return try Ledger.alert(db, id: id)!
        }
    }

    private static func addNote(_ db: Database, _ id: String, _ note: String, _ actor: String, _ now: Int64) throws {
        try db.execute(
            sql: "INSERT INTO alert_note(alert_id, at_unix_ms, actor, note) VALUES (?, ?, ?, ?)",
            arguments: [id, now, actor, note])
    }

    /// Confirms the suspension a `bank.decline_burst` alert proposes: link and charge SUSPENDED (effective for the
    /// next request), the alert ACKNOWLEDGED by the operator with the proposal confirmed, all in one transaction.
    /// Returns the bank code.
    public func confirmSuspension(alertID: String, audit: AuditContext) async throws(WalletError) -> String {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard let alert = try Ledger.alert(db, id: alertID) else { throw WalletError.notFound("alert \(alertID)") }
            guard !alert.proposedAction.isEmpty, alert.subjectKind == .bank else {
                throw WalletError.failedPrecondition("alert \(alertID) (\(alert.rule)) proposes no suspension")
            }
            guard !alert.proposalConfirmed else {
                throw WalletError.failedPrecondition("the suspension of alert \(alertID) was already confirmed")
            }
            let code = alert.subject
            for operation in [GatewayWire.Operation.link, .charge] {
                try Self.applyBankState(db, state, code: code, operation: operation, state: .suspended, audit: audit)
            }
            try db.execute(
                sql: """
                    UPDATE alert SET proposal_confirmed = 1, state = CASE state WHEN 1 THEN 2 ELSE state END,
                        assignee = COALESCE(assignee, ?), change_seq = ? WHERE id = ?
                    """, arguments: [audit.actor, try Ledger.nextAlertChange(db), alertID])
            try Self.addNote(db, alertID, "suspension confirmed: \(audit.reason)", audit.actor, now)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "alert.confirm_suspension",
                subject: alertID, reason: audit.reason, detail: "bank \(code) SUSPENDED for link and charge")
            state.alertsChanged = true
            return code
        }
    }

    /// Writes an alert that no bank request carries (tls.refusals), in its own transaction.
    public func raiseAlert(_ signal: AlertSignal) async throws(WalletError) {
        try await write(factsCache: .alertsChanged) { db, state in
            try Ledger.raiseAlert(db, state, signal, atUnixMs: state.clock())
        }
    }

    /// The `hold.overdue` sweep (SPEC §8): every hold open longer than `holdOverdueAfterMs` joins its bank's
    /// unresolved `hold.overdue` alert (MEDIUM; HIGH once one is `holdOverdueHighAfterMs` old). A hold already in
    /// that alert does not raise the count again; only its escalation changes the alert. Returns the holds added.
    @discardableResult
    public func sweepOverdueHolds(maxHolds: Int = 1_000) async throws(WalletError) -> Int {
        let thresholds = monitoring.thresholds
        return try await write(factsCache: .alertsChanged) { db, state in
            let now = state.clock()
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, bank_code, wallet_id, amount_yen, created_at_unix_ms FROM charge
                    WHERE hold_state = 1 AND created_at_unix_ms < ? ORDER BY created_at_unix_ms LIMIT ?
                    """, arguments: [now - thresholds.holdOverdueAfterMs, maxHolds])
            var added = 0
            for row in rows {
                let chargeID: String = row["id"]
                let bankCode: String = row["bank_code"]
                let ageMs = now - (row["created_at_unix_ms"] as Int64)
                guard let severity = MonitoringRules.holdOverdueSeverity(ageMs: ageMs, thresholds) else { continue }
                let already = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT a.severity FROM alert a JOIN alert_charge c ON c.alert_id = a.id
                        WHERE c.charge_id = ? AND a.rule = 'hold.overdue' AND a.state <> 3
                        """, arguments: [chargeID])
                if let already, (already["severity"] as Int32) >= severity.rawValue { continue }
                let signal = AlertSignal(
                    rule: "hold.overdue", severity: severity, subjectKind: .bank, subject: bankCode, bankCode: bankCode,
                    walletID: row["wallet_id"],
                    detail: "hold \(chargeID) of \(row["amount_yen"] as Int64) yen open for \(ageMs / 60_000) min")
                try Ledger.raiseAlert(
                    db, state, signal, atUnixMs: now, chargeID: chargeID, held: true, countsAsFiring: already == nil)
                if already == nil { added += 1 }
            }
            return added
        }
    }

    // MARK: Block lists

    /// Lists the blocked values (every kind when nil), newest first.
    public func blocked(kind: BlockKind? = nil, limit: Int = 10_000) async throws(WalletError) -> [BlockedValue] {
        try await read { db in
            let rows: [Row]
            if let kind {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM blocked_value WHERE kind = ? ORDER BY blocked_at_unix_ms DESC LIMIT ?",
                    arguments: [kind.rawValue, limit])
            } else {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM blocked_value ORDER BY blocked_at_unix_ms DESC LIMIT ?", arguments: [limit])
            }
            return rows.map(Self.blockedValue(from:))
        }
    }

    /// Adds a value to a block list: the very next link or charge naming it is DECLINED FRAUD_SUSPECTED with a
    /// `blocklist.hit` alert. Account tokens are kept only as the keyed hash of `BANK:token`.
    public func block(
        kind: BlockKind, value: String, bankCode: String?, audit: AuditContext
    ) async throws(WalletError) -> BlockedValue {
        let (lookup, shown) = try blockKey(kind: kind, value: value, bankCode: bankCode)
        return try await write { db, state in
            let now = state.clock()
            try db.execute(
                sql: """
                    INSERT INTO blocked_value(kind, lookup, shown, bank_code, reason, blocked_by, blocked_at_unix_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET reason = excluded.reason, blocked_by = excluded.blocked_by,
                        blocked_at_unix_ms = excluded.blocked_at_unix_ms
                    """,
                arguments: [
                    kind.rawValue, Data(lookup), shown, kind == .accountToken ? bankCode : nil, audit.reason,
                    audit.actor, now,
                ])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "blocklist.add", subject: shown,
                reason: audit.reason, detail: "\(kind)")
            return try Self.blockedRow(db, kind, lookup)!
        }
    }

    /// Removes a value (as given to `block`, or for tokens also the shown `BANK:hash prefix`). Returns what was
    /// removed; `.notFound` when it was not listed.
    public func unblock(
        kind: BlockKind, value: String, bankCode: String?, audit: AuditContext
    ) async throws(WalletError) -> BlockedValue {
        let shownGiven = kind == .accountToken && value.contains(":") && value.split(separator: ":").count == 2
        let key = shownGiven ? nil : try blockKey(kind: kind, value: value, bankCode: bankCode)
        return try await write { db, state in
            let now = state.clock()
            let row: Row?
            if let key {
                row = try Row.fetchOne(
                    db, sql: "SELECT * FROM blocked_value WHERE kind = ? AND lookup = ?",
                    arguments: [kind.rawValue, Data(key.lookup)])
            } else {
                row = try Row.fetchOne(
                    db, sql: "SELECT * FROM blocked_value WHERE kind = ? AND shown = ?",
                    arguments: [kind.rawValue, value])
            }
            guard let row else { throw WalletError.notFound("\(kind) \(key?.shown ?? value) on the block list") }
            let removed = Self.blockedValue(from: row)
            try db.execute(
                sql: "DELETE FROM blocked_value WHERE kind = ? AND lookup = ?",
                arguments: [kind.rawValue, row["lookup"] as Data])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "blocklist.remove", subject: removed.value,
                reason: audit.reason, detail: "\(kind)")
            return removed
        }
    }

    private func blockKey(
        kind: BlockKind, value: String, bankCode: String?
    ) throws(WalletError) -> (lookup: [UInt8], shown: String) {
        guard !value.isEmpty else { throw .invalidArgument("value: required") }
        switch kind {
        case .accountToken:
            guard let bankCode, bankCode.count == 4 else {
                throw .invalidArgument("bank_code: an account token is blocked for one bank (4 digits)")
            }
            let hash = Ledger.tokenHash(key: tokenKey, bankCode: bankCode, token: value)
            return (hash, Ledger.tokenSubject(bankCode: bankCode, hash: hash))
        case .wallet, .clientAddress:
            return (Array(value.utf8), value)
        case .unspecified:
            throw .invalidArgument("kind: required (ACCOUNT_TOKEN, WALLET or CLIENT_ADDRESS)")
        }
    }

    private static func blockedRow(_ db: Database, _ kind: BlockKind, _ lookup: [UInt8]) throws -> BlockedValue? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM blocked_value WHERE kind = ? AND lookup = ?",
            arguments: [kind.rawValue, Data(lookup)]
        ).map(blockedValue(from:))
    }

    private static func blockedValue(from row: Row) -> BlockedValue {
        var value = BlockedValue()
        value.kind = BlockKind(rawValue: row["kind"]) ?? .unspecified
        value.value = row["shown"]
        value.bankCode = row["bank_code"] ?? ""
        value.reason = row["reason"]
        value.blockedBy = row["blocked_by"]
        value.blockedAtUnixMs = row["blocked_at_unix_ms"]
        return value
    }

    // MARK: Decision history (the console's chart)

    public func decisionBuckets(sinceUnixMs: Int64) async throws(WalletError) -> [DecisionBucket] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM decision_bucket WHERE bucket_unix_ms >= ? ORDER BY bank_code, bucket_unix_ms
                    """, arguments: [sinceUnixMs]
            ).map { row in
                DecisionBucket(
                    bankCode: row["bank_code"], startUnixMs: row["bucket_unix_ms"], approved: row["approved"],
                    held: row["held"], declined: row["declined"])
            }
        }
    }

    /// Deletes decision buckets older than `olderThanUnixMs` (the rules look back minutes, the chart an hour).
    public func pruneDecisionBuckets(olderThanUnixMs: Int64) async throws(WalletError) {
        try await write(factsCache: .decisionBucketsPruned(olderThanUnixMs: olderThanUnixMs)) { db, _ in
            try db.execute(sql: "DELETE FROM decision_bucket WHERE bucket_unix_ms < ?", arguments: [olderThanUnixMs])
        }
    }

    // MARK: Reads for the desk

    public func hold(chargeID: String) async throws(WalletError) -> Hold? {
        try await read { db in try Ledger.hold(db, chargeID: chargeID) }
    }

    /// The wallet's links, newest first.
    public func links(walletID: String, limit: Int = 100) async throws(WalletError) -> [LinkFacts] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT id FROM link WHERE wallet_id = ? ORDER BY linked_at_unix_ms DESC LIMIT ?",
                arguments: [walletID, limit]
            ).compactMap { try Ledger.link(db, id: $0["id"]) }
        }
    }

    /// The wallet's recent charges, newest first: (id, bank, amount, decision, rule, at).
    public func recentCharges(
        walletID: String, limit: Int = 50
    ) async throws(WalletError)
        -> [(id: String, bankCode: String, amountYen: Int64, decision: Decision, rule: String, atUnixMs: Int64)]
    {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, bank_code, amount_yen, decision, rule, created_at_unix_ms FROM charge
                    WHERE wallet_id = ? ORDER BY created_at_unix_ms DESC LIMIT ?
                    """, arguments: [walletID, limit]
            ).map { row in
                (
                    row["id"], row["bank_code"], row["amount_yen"], Decision(rawValue: row["decision"]) ?? .unspecified,
                    row["rule"], row["created_at_unix_ms"]
                )
            }
        }
    }

    /// The bank's conformance runs, newest first: (passed, ran at, detail, recorded by).
    public func conformanceRuns(
        bankCode: String, limit: Int = 20
    ) async throws(WalletError) -> [(passed: Bool, ranAtUnixMs: Int64, detail: String, recordedBy: String)] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT passed, ran_at_unix_ms, detail, recorded_by FROM conformance_run WHERE bank_code = ?
                    ORDER BY ran_at_unix_ms DESC LIMIT ?
                    """, arguments: [bankCode, limit]
            ).map { ($0["passed"], $0["ran_at_unix_ms"], $0["detail"], $0["recorded_by"]) }
        }
    }

    // MARK: The token key

    /// The key of the keyed token hashes: `token-hash.key` (32 random bytes, mode 0600) beside the database,
    /// created on first open. Losing it only makes existing token block entries unmatchable (re-block them).
    static func loadOrCreateTokenKey(databasePath: String) throws(WalletError) -> [UInt8] {
        let path = ((databasePath as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("token-hash.key")
        do throws(SecretKeyFile.Failure) {
            return try SecretKeyFile.loadOrCreate(path: path, byteCount: 32)
        } catch {
            switch error {
            case .wrongSize: throw .storeUnavailable("\(path) is not a 32-byte token hash key")
            case .cannotCreate, .cannotWrite: throw .storeUnavailable("cannot create the token hash key \(path)")
            }
        }
    }
}
