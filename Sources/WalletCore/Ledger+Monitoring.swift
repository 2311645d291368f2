import Foundation
import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

// SPEC §8 inside the writer's transaction: the facts the monitoring rules read, and alert records written beside
// the decision that fired them (no alert without its decision, no decision without its alert).
extension Ledger {
    /// Decision counts go into buckets of this width (the burst window and the console's chart sum them). 10 s.
    static let decisionBucketMs: Int64 = 10_000
    /// Notes kept per alert listing (the newest). 100.
    static let maxNotesShown = 100
    /// Charges listed per alert (the first). 200.
    static let maxChargesShown = 200

    // MARK: Facts

    /// Which of the attempt's wallet, token and client address are block-listed, each asked of `isBlocked`
    /// (`Ledger.isBlocked`, or the writer's facts cache).
    static func blocklistFacts(
        walletID: String?, tokenHash: [UInt8]?, clientAddress: String?,
        isBlocked: (BlockKind, [UInt8]) throws -> Bool
    ) rethrows -> BlocklistFacts {
        var facts = BlocklistFacts()
        if let walletID { facts.walletBlocked = try isBlocked(.wallet, Array(walletID.utf8)) }
        if let tokenHash { facts.tokenBlocked = try isBlocked(.accountToken, tokenHash) }
        if let clientAddress { facts.clientAddressBlocked = try isBlocked(.clientAddress, Array(clientAddress.utf8)) }
        return facts
    }

    static func isBlocked(_ db: Database, kind: BlockKind, lookup: [UInt8]) throws -> Bool {
        try db.fetchFirstDirect(
            "SELECT 1 FROM blocked_value WHERE kind = ? AND lookup = ?",
            {
                $0.bind(kind.rawValue)
                $0.bind(lookup)
            }, read: { _ in true }) != nil
    }

    /// Credited (APPROVED, or released) to the wallet since `sinceUnixMs`, all banks.
    static func creditedToWallet(_ db: Database, walletID: String, sinceUnixMs: Int64) throws -> Int64 {
        try db.fetchFirstDirect(
            creditedToWalletSQL,
            {
                $0.bind(walletID)
                $0.bind(sinceUnixMs)
            }, read: { $0.int64(0) }) ?? 0
    }

    /// Answered from `charge_by_wallet_time` alone (v11 made it covering): no table row is read.
    static let creditedToWalletSQL = """
        SELECT COALESCE(SUM(amount_yen), 0) FROM charge
        WHERE wallet_id = ? AND created_at_unix_ms >= ? AND decision = 1
        """

    /// The credits `creditedToWallet` sums, oldest first, at most `limit`: what the writer's facts cache keeps.
    static func creditsToWallet(
        _ db: Database, walletID: String, sinceUnixMs: Int64, limit: Int
    ) throws -> [(atUnixMs: Int64, amountYen: Int64)] {
        try db.fetchAllDirect(
            creditsToWalletSQL,
            {
                $0.bind(walletID)
                $0.bind(sinceUnixMs)
                $0.bind(limit)
            }, read: { (atUnixMs: $0.int64(0), amountYen: $0.int64(1)) })
    }

    static let creditsToWalletSQL = """
        SELECT created_at_unix_ms, amount_yen FROM charge
        WHERE wallet_id = ? AND created_at_unix_ms >= ? AND decision = 1
        ORDER BY created_at_unix_ms LIMIT ?
        """

    /// An unresolved `wallet.many_accounts` alert on the wallet (its charges are held, SPEC §8).
    static func manyAccountsAlertOpen(_ db: Database, walletID: String) throws -> Bool {
        try unresolvedAlertExists(
            db, rule: MonitoringRules.walletManyAccountsHold.name, subjectKind: .wallet, subject: walletID)
    }

    static func unresolvedAlertExists(
        _ db: Database, rule: String, subjectKind: AlertSubjectKind, subject: String
    ) throws -> Bool {
        try db.fetchFirstDirect(
            "SELECT 1 FROM alert WHERE rule = ? AND subject_kind = ? AND subject = ? AND state <> 3",
            {
                $0.bind(rule)
                $0.bind(subjectKind.rawValue)
                $0.bind(subject)
            }, read: { _ in true }) != nil
    }

    /// Records this attempt of `tokenHash` for `walletID` and returns the distinct wallets tried within the window.
    static func recordTokenAttempt(
        _ db: Database, tokenHash: [UInt8], walletID: String, nowUnixMs: Int64, windowMs: Int64
    ) throws -> Int {
        try db.cachedStatement(
            sql: """
                INSERT INTO token_wallet_attempt(token_hash, wallet_id, last_at_unix_ms) VALUES (?, ?, ?)
                ON CONFLICT DO UPDATE SET last_at_unix_ms = excluded.last_at_unix_ms
                """
        ).execute(arguments: [Data(tokenHash), walletID, nowUnixMs])
        return try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COUNT(*) FROM token_wallet_attempt WHERE token_hash = ? AND last_at_unix_ms >= ?
                    """), arguments: [Data(tokenHash), nowUnixMs - windowMs]) ?? 0
    }

    /// Distinct bank account tokens linked to the wallet since `sinceUnixMs` (any bank, active or not).
    static func tokensLinkedToWallet(_ db: Database, walletID: String, sinceUnixMs: Int64) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COUNT(DISTINCT bank_code || ':' || bank_account_token) FROM link
                    WHERE wallet_id = ? AND linked_at_unix_ms >= ?
                    """), arguments: [walletID, sinceUnixMs]) ?? 0
    }

    /// Counts one decision of the bank in its bucket (`decisionBucket(ofUnixMs:)`).
    static func countDecision(_ db: Database, bankCode: String, decision: Decision, nowUnixMs: Int64) throws {
        try db.executeDirect(
            """
            INSERT INTO decision_bucket(bank_code, bucket_unix_ms, approved, held, declined) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET approved = approved + excluded.approved, held = held + excluded.held,
                declined = declined + excluded.declined
            """
        ) {
            $0.bind(bankCode)
            $0.bind(decisionBucket(ofUnixMs: nowUnixMs))
            $0.bind(decision == .approved)
            $0.bind(decision == .held)
            $0.bind(decision == .declined)
        }
    }

    /// The start of the bucket `atUnixMs` is counted in.
    static func decisionBucket(ofUnixMs atUnixMs: Int64) -> Int64 { atUnixMs - atUnixMs % decisionBucketMs }

    /// The bank's decisions in buckets starting after `afterUnixMs`.
    static func decisionWindow(_ db: Database, bankCode: String, afterUnixMs: Int64) throws -> BankDecisionWindow {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COALESCE(SUM(declined), 0), COALESCE(SUM(approved + held + declined), 0)
                    FROM decision_bucket WHERE bank_code = ? AND bucket_unix_ms > ?
                    """), arguments: [bankCode, afterUnixMs])
        return BankDecisionWindow(declines: row?[0] ?? 0, decisions: row?[1] ?? 0)
    }

    /// The bank's buckets starting after `afterUnixMs`, oldest first: what the writer's facts cache keeps to answer
    /// `decisionWindow` for later windows without reading again.
    static func decisionBuckets(
        _ db: Database, bankCode: String, afterUnixMs: Int64
    ) throws -> [(bucketUnixMs: Int64, declines: Int, decisions: Int)] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT bucket_unix_ms, declined, approved + held + declined FROM decision_bucket
                    WHERE bank_code = ? AND bucket_unix_ms > ? ORDER BY bucket_unix_ms
                    """), arguments: [bankCode, afterUnixMs]
        ).map { ($0[0], $0[1], $0[2]) }
    }

    // MARK: Alerts

    static func nextAlertChange(_ db: Database) throws -> Int64 {
        (try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(change_seq) FROM alert")) ?? 0) + 1
    }

    /// Writes `signal` as an alert in the caller's transaction: a new OPEN alert, or +1 on the count of the
    /// unresolved one for the same (rule, subject); the severity only ever rises. `chargeID` joins the alert's
    /// charges. Audited as the gateway. Returns the alert's id.
    @discardableResult
    static func raiseAlert(
        _ db: Database, _ state: WriterState, _ signal: AlertSignal, atUnixMs now: Int64, chargeID: String? = nil,
        held: Bool = false, countsAsFiring: Bool = true
    ) throws -> String {
        let change = try nextAlertChange(db)
        let id: String
        if let existing = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, severity FROM alert WHERE rule = ? AND subject_kind = ? AND subject = ? AND state <> 3
                    """), arguments: [signal.rule, signal.subjectKind.rawValue, signal.subject])
        {
            id = existing["id"]
            let severity = max(existing["severity"] as Int32, signal.severity.rawValue)
            try db.cachedStatement(
                sql: """
                    UPDATE alert SET count = count + ?, last_seen_unix_ms = MAX(last_seen_unix_ms, ?), detail = ?,
                        severity = ?, change_seq = ?, bank_code = COALESCE(bank_code, ?), wallet_id = COALESCE(wallet_id, ?)
                    WHERE id = ?
                    """
            ).execute(arguments: [
                countsAsFiring ? 1 : 0, now, signal.detail, severity, change, signal.bankCode, signal.walletID, id,
            ])
            if countsAsFiring || severity != existing["severity"] {
                try audit(
                    db, state, atUnixMs: now, actor: "gateway", action: "alert.fired_again", subject: id,
                    reason: signal.rule, detail: "\(signal.subject): \(signal.detail)")
            }
        } else {
            id = newID(prefix: "al_")
            try db.cachedStatement(
                sql: """
                    INSERT INTO alert(id, rule, severity, subject_kind, subject, bank_code, wallet_id, first_seen_unix_ms,
                        last_seen_unix_ms, count, state, detail, proposed_action, change_seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)
                    """
            ).execute(arguments: [
                id, signal.rule, signal.severity.rawValue, signal.subjectKind.rawValue, signal.subject,
                signal.bankCode, signal.walletID, now, now, signal.detail, signal.proposedAction, change,
            ])
            try audit(
                db, state, atUnixMs: now, actor: "gateway", action: "alert.raised", subject: id, reason: signal.rule,
                detail: "\(signal.severity) \(signal.subjectKind) \(signal.subject): \(signal.detail)")
        }
        if let chargeID {
            try db.cachedStatement(
                sql: """
                    INSERT INTO alert_charge(alert_id, charge_id, held) VALUES (?, ?, ?)
                    ON CONFLICT DO UPDATE SET held = MAX(held, excluded.held)
                    """
            ).execute(arguments: [id, chargeID, held])
        }
        state.alertsChanged = true
        return id
    }

    static func alert(_ db: Database, id: String) throws -> Alert? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM alert WHERE id = ?", arguments: [id]) else {
            return nil
        }
        return try alert(db, from: row)
    }

    static func alert(_ db: Database, from row: Row) throws -> Alert {
        var alert = Alert()
        alert.alertID = row["id"]
        alert.rule = row["rule"]
        alert.severity = AlertSeverity(rawValue: row["severity"]) ?? .unspecified
        alert.subjectKind = AlertSubjectKind(rawValue: row["subject_kind"]) ?? .unspecified
        alert.subject = row["subject"]
        alert.bankCode = row["bank_code"] ?? ""
        alert.walletAccountID = row["wallet_id"] ?? ""
        alert.firstSeenUnixMs = row["first_seen_unix_ms"]
        alert.lastSeenUnixMs = row["last_seen_unix_ms"]
        alert.count = row["count"]
        alert.state = AlertState(rawValue: row["state"]) ?? .unspecified
        alert.assignee = row["assignee"] ?? ""
        alert.detail = row["detail"]
        alert.proposedAction = row["proposed_action"] ?? ""
        alert.proposalConfirmed = row["proposal_confirmed"]
        alert.changeSequence = row["change_seq"]
        let charges = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT charge_id, held FROM alert_charge WHERE alert_id = ? ORDER BY charge_id LIMIT ?"),
            arguments: [alert.alertID, maxChargesShown])
        alert.chargeIDs = charges.map { $0["charge_id"] }
        alert.holdIDs = charges.filter { $0["held"] as Bool }.map { $0["charge_id"] }
        alert.notes = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT at_unix_ms, actor, note FROM alert_note WHERE alert_id = ? ORDER BY id LIMIT ?
                    """), arguments: [alert.alertID, maxNotesShown]
        ).map { row in
            var note = AlertNote()
            note.atUnixMs = row["at_unix_ms"]
            note.operatorName = row["actor"]
            note.text = row["note"]
            return note
        }
        return alert
    }

    // MARK: Keyed token hashes

    /// HMAC-SHA-256 of `BANK:token` under the store's token key: how block lists and attempt records keep tokens.
    static func tokenHash(key: KeyedHash.Key, bankCode: String, token: String) -> [UInt8] {
        key.sha256("\(bankCode):\(token)")
    }

    /// How alerts and block lists show a token: `BANK:` and the first 16 hex digits of its keyed hash.
    static func tokenSubject(bankCode: String, hash: [UInt8]) -> String {
        "\(bankCode):" + Digest.hex(hash.prefix(8))
    }
}
