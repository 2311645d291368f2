import Foundation
import GRDB
import GatewayPolicy

/// The wallet database's versioned migrations.
///
/// The ledger's rules live here as well as in code (STYLE: trust SQLite more than yourself): NOT NULL, CHECK,
/// foreign keys, one transfer per charge, balances posted by a trigger from transfers, transfers and the audit log
/// immutable. A shipped migration is never edited; a change is a new migration appended below.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ledger", migrate: v1)
        migrator.registerMigration("v2-audit-chain", migrate: v2AuditChain)
        migrator.registerMigration("v3-holds-reserve", migrate: v3HoldsReserve)
        migrator.registerMigration("v4-idempotency-digest-version", migrate: v4IdempotencyDigestVersion)
        migrator.registerMigration("v5-link-code-hmac", migrate: v5LinkCodeHMAC)
        migrator.registerMigration("v6-receipt-key-id", migrate: v6ReceiptKeyID)
        migrator.registerMigration("v7-trace-id", migrate: v7TraceID)
        migrator.registerMigration("v8-alerts", migrate: v8Alerts)
        migrator.registerMigration("v9-reversals", migrate: v9Reversals)
        migrator.registerMigration("v10-events", migrate: v10Events)
        migrator.registerMigration("v11-wallet-credits-covered", migrate: v11WalletCreditsCovered)
        migrator.registerMigration("v12-charge-is-its-own-record", migrate: v12ChargeIsItsOwnRecord)
        migrator.registerMigration("v13-constraints-without-lists", migrate: v13ConstraintsWithoutLists)
        migrator.registerMigration("v14-one-index-per-charge-transfer", migrate: v14OneIndexPerChargeTransfer)
        migrator.registerMigration("v15-charge-links-through-wallet-index", migrate: v15ChargeLinksThroughWalletIndex)
        return migrator
    }

    /// SPEC §5 receipts name their key (`receipt_key_id`, ChargeResponse field 10), which must come back byte for
    /// byte on a replay or GetCharge after a key rotation. Rows written before keep '' and their fields 6-10 empty,
    /// which is exactly what their signatures cover.
    private static func v6ReceiptKeyID(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE charge ADD COLUMN receipt_key_id TEXT NOT NULL DEFAULT '';
                ALTER TABLE idempotency ADD COLUMN receipt_key_id TEXT NOT NULL DEFAULT '';
                """)
    }

    private static func v1(_ db: Database) throws {
        // Ledger accounts hold TigerBeetle-style posted totals; balance = credits - debits. A bank's settlement
        // account is debited by every charge (its balance goes negative: what the bank owes the wallet's trust
        // account); a wallet's balance must stay within [0, cap], the last line of defence behind the checks.
        try db.execute(
            sql: """
                CREATE TABLE ledger_account (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('bank_settlement', 'wallet')),
                    debits_posted_yen INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted_yen >= 0),
                    credits_posted_yen INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted_yen >= 0),
                    balance_cap_yen INTEGER CHECK (balance_cap_yen IS NULL OR balance_cap_yen >= 0),
                    CHECK ((kind = 'wallet') = (balance_cap_yen IS NOT NULL)),
                    CHECK (kind <> 'wallet' OR credits_posted_yen - debits_posted_yen BETWEEN 0 AND balance_cap_yen)
                ) STRICT;

                CREATE TABLE bank (
                    code TEXT PRIMARY KEY CHECK (length(code) = 4 AND code NOT GLOB '*[^0-9]*'),
                    name TEXT NOT NULL,
                    settlement_account_id INTEGER NOT NULL UNIQUE REFERENCES ledger_account(id),
                    link_state INTEGER NOT NULL CHECK (link_state BETWEEN 1 AND 4),
                    charge_state INTEGER NOT NULL CHECK (charge_state BETWEEN 1 AND 4),
                    max_charge_yen INTEGER NOT NULL CHECK (max_charge_yen > 0),
                    max_daily_yen_per_wallet INTEGER NOT NULL CHECK (max_daily_yen_per_wallet > 0),
                    max_monthly_yen_per_wallet INTEGER NOT NULL CHECK (max_monthly_yen_per_wallet > 0),
                    new_link_max_charge_yen INTEGER NOT NULL CHECK (new_link_max_charge_yen > 0),
                    new_link_caution_ms INTEGER NOT NULL CHECK (new_link_caution_ms >= 0),
                    charge_requires_customer_auth INTEGER NOT NULL CHECK (charge_requires_customer_auth IN (0, 1)),
                    required_ekyc_methods TEXT NOT NULL DEFAULT '',
                    pinned_spki_sha256 BLOB CHECK (pinned_spki_sha256 IS NULL OR length(pinned_spki_sha256) = 32),
                    max_requests_per_second INTEGER NOT NULL CHECK (max_requests_per_second > 0),
                    created_at_unix_ms INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE bank_pilot_wallet (
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    wallet_id TEXT NOT NULL,
                    PRIMARY KEY (bank_code, wallet_id)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE conformance_run (
                    id INTEGER PRIMARY KEY,
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
                    ran_at_unix_ms INTEGER NOT NULL,
                    detail TEXT NOT NULL,
                    recorded_by TEXT NOT NULL
                ) STRICT;
                CREATE INDEX conformance_run_by_bank ON conformance_run(bank_code, passed, ran_at_unix_ms);

                CREATE TABLE wallet (
                    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 32),
                    ledger_account_id INTEGER NOT NULL UNIQUE REFERENCES ledger_account(id),
                    is_test INTEGER NOT NULL CHECK (is_test IN (0, 1)),
                    ekyc_status INTEGER NOT NULL CHECK (ekyc_status BETWEEN 1 AND 4),
                    ekyc_method INTEGER NOT NULL CHECK (ekyc_method BETWEEN 0 AND 4),
                    ekyc_name_kana TEXT NOT NULL,
                    ekyc_verified_at_unix_ms INTEGER NOT NULL,
                    phone_verified INTEGER NOT NULL CHECK (phone_verified IN (0, 1)),
                    link_locked INTEGER NOT NULL CHECK (link_locked IN (0, 1)),
                    consecutive_link_declines INTEGER NOT NULL CHECK (consecutive_link_declines >= 0),
                    charge_frozen INTEGER NOT NULL CHECK (charge_frozen IN (0, 1)),
                    created_at_unix_ms INTEGER NOT NULL,
                    CHECK (ekyc_status <> 3 OR (ekyc_method <> 0 AND ekyc_verified_at_unix_ms > 0))
                ) STRICT;

                CREATE TABLE link_code (
                    code_sha256 BLOB PRIMARY KEY CHECK (length(code_sha256) = 32),
                    wallet_id TEXT NOT NULL REFERENCES wallet(id),
                    issued_at_unix_ms INTEGER NOT NULL,
                    expires_at_unix_ms INTEGER NOT NULL CHECK (expires_at_unix_ms > issued_at_unix_ms),
                    used_at_unix_ms INTEGER,
                    used_by_link_id TEXT,
                    CHECK ((used_at_unix_ms IS NULL) = (used_by_link_id IS NULL))
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE link (
                    id TEXT PRIMARY KEY,
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    wallet_id TEXT NOT NULL REFERENCES wallet(id),
                    bank_account_token TEXT NOT NULL CHECK (length(bank_account_token) > 0),
                    active INTEGER NOT NULL CHECK (active IN (0, 1)),
                    linked_at_unix_ms INTEGER NOT NULL,
                    unlinked_at_unix_ms INTEGER,
                    unlink_reason TEXT,
                    CHECK ((active = 1) = (unlinked_at_unix_ms IS NULL))
                ) STRICT;
                CREATE INDEX link_by_token ON link(bank_code, bank_account_token, active, wallet_id);
                CREATE INDEX link_by_wallet ON link(wallet_id);

                -- One row per judged charge (APPROVED, HELD or DECLINED); a rejected request leaves none. The response
                -- columns hold the charge's current outcome for GetCharge (a released hold reads APPROVED, re-signed);
                -- the idempotency record keeps the first answer for retries.
                CREATE TABLE charge (
                    id TEXT PRIMARY KEY,
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    request_id TEXT NOT NULL,
                    link_id TEXT NOT NULL,
                    wallet_id TEXT REFERENCES wallet(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    decision INTEGER NOT NULL CHECK (decision IN (1, 2, 3)),
                    decline_reason INTEGER NOT NULL CHECK (decline_reason BETWEEN 0 AND 12),
                    rule TEXT NOT NULL,
                    hold_state INTEGER NOT NULL CHECK (hold_state BETWEEN 0 AND 3),
                    created_at_unix_ms INTEGER NOT NULL,
                    processed_at_unix_ms INTEGER NOT NULL,
                    receipt_signature BLOB NOT NULL,
                    resolved_by TEXT,
                    resolved_at_unix_ms INTEGER,
                    UNIQUE (bank_code, request_id),
                    CHECK ((decision = 3) = (decline_reason <> 0)),
                    CHECK ((decision = 1) <= (wallet_id IS NOT NULL)),
                    CHECK ((hold_state = 1) = (decision = 2)),
                    CHECK (hold_state <> 2 OR decision = 1),
                    CHECK (hold_state <> 3 OR decision = 3)
                ) STRICT;
                CREATE INDEX charge_by_link_time ON charge(link_id, created_at_unix_ms, decision);
                CREATE INDEX charge_open_hold ON charge(hold_state, created_at_unix_ms) WHERE hold_state <> 0;

                -- Immutable double-entry transfers: corrections are new transfers, never edits. At most one 'charge'
                -- transfer per charge (caller-chosen ids in TigerBeetle's sense: the charge id is the transfer's key).
                CREATE TABLE transfer (
                    id INTEGER PRIMARY KEY,
                    debit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    credit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    kind TEXT NOT NULL CHECK (kind IN ('charge', 'reversal', 'correction')),
                    charge_id TEXT REFERENCES charge(id),
                    created_at_unix_ms INTEGER NOT NULL,
                    tokyo_day INTEGER NOT NULL,
                    tokyo_month INTEGER NOT NULL,
                    CHECK (debit_account_id <> credit_account_id),
                    CHECK (kind = 'correction' OR charge_id IS NOT NULL)
                ) STRICT;
                CREATE UNIQUE INDEX transfer_one_per_charge ON transfer(charge_id) WHERE kind = 'charge';

                -- Per-wallet charged totals per Asia/Tokyo day and month, so the limit facts are two primary-key reads
                -- however many charges a wallet has. Maintained only by the trigger below; `ledger verify` recomputes
                -- them from transfers.
                CREATE TABLE wallet_charged_total (
                    wallet_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    period TEXT NOT NULL CHECK (period IN ('day', 'month')),
                    period_index INTEGER NOT NULL,
                    charged_yen INTEGER NOT NULL CHECK (charged_yen > 0),
                    PRIMARY KEY (wallet_account_id, period, period_index)
                ) STRICT, WITHOUT ROWID;

                CREATE TRIGGER transfer_posts AFTER INSERT ON transfer BEGIN
                    UPDATE ledger_account SET debits_posted_yen = debits_posted_yen + NEW.amount_yen
                        WHERE id = NEW.debit_account_id;
                    UPDATE ledger_account SET credits_posted_yen = credits_posted_yen + NEW.amount_yen
                        WHERE id = NEW.credit_account_id;
                END;
                CREATE TRIGGER transfer_counts_charge AFTER INSERT ON transfer WHEN NEW.kind = 'charge' BEGIN
                    INSERT INTO wallet_charged_total(wallet_account_id, period, period_index, charged_yen)
                        VALUES (NEW.credit_account_id, 'day', NEW.tokyo_day, NEW.amount_yen)
                        ON CONFLICT DO UPDATE SET charged_yen = charged_yen + excluded.charged_yen;
                    INSERT INTO wallet_charged_total(wallet_account_id, period, period_index, charged_yen)
                        VALUES (NEW.credit_account_id, 'month', NEW.tokyo_month, NEW.amount_yen)
                        ON CONFLICT DO UPDATE SET charged_yen = charged_yen + excluded.charged_yen;
                END;
                CREATE TRIGGER transfer_is_never_edited BEFORE UPDATE ON transfer BEGIN
                    SELECT RAISE(ABORT, 'transfers are never edited: post a correction transfer');
                END;
                CREATE TRIGGER transfer_is_never_deleted BEFORE DELETE ON transfer BEGIN
                    SELECT RAISE(ABORT, 'transfers are never deleted: post a correction transfer');
                END;

                -- (bank, request_id) → the first response, for ≥ 30 days (SPEC §3). request_id is one namespace per
                -- bank across operations; `operation` keeps a charge retry from replaying a link's answer.
                CREATE TABLE idempotency (
                    bank_code TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    operation TEXT NOT NULL CHECK (operation IN ('link', 'charge', 'unlink')),
                    body_sha256 BLOB NOT NULL,
                    decision INTEGER NOT NULL,
                    result_id TEXT NOT NULL,
                    decline_reason INTEGER NOT NULL,
                    processed_at_unix_ms INTEGER NOT NULL,
                    receipt_signature BLOB NOT NULL,
                    unlinked INTEGER NOT NULL CHECK (unlinked IN (0, 1)),
                    created_at_unix_ms INTEGER NOT NULL,
                    PRIMARY KEY (bank_code, request_id)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX idempotency_by_age ON idempotency(created_at_unix_ms);

                -- Append-only: who did what, when and why (operators and the gateway itself).
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_unix_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL CHECK (length(actor) > 0),
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    detail TEXT NOT NULL
                ) STRICT;
                CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit BEGIN
                    SELECT RAISE(ABORT, 'the audit log is append-only');
                END;
                CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit BEGIN
                    SELECT RAISE(ABORT, 'the audit log is append-only');
                END;
                """)
    }

    /// The audit log becomes a hash chain (tamper-evident): each entry carries `prev_hash` (the previous entry's
    /// `hash`, 32 zero bytes for the first) and `hash` = SHA-256(prev_hash ‖ canonical content), see `AuditChain`.
    /// Existing rows are chained in id order here. The append-only triggers stay; they stop accidents, the chain
    /// shows tampering by anyone who can write the file (and so could drop a trigger).
    private static func v2AuditChain(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TRIGGER audit_is_append_only_update;
                ALTER TABLE audit ADD COLUMN prev_hash BLOB;
                ALTER TABLE audit ADD COLUMN hash BLOB;
                """)
        var previous = AuditChain.genesisHash
        let rows = try Row.fetchAll(
            db, sql: "SELECT id, at_unix_ms, actor, action, subject, reason, detail FROM audit ORDER BY id")
        for row in rows {
            let entry = AuditEntry(row: row, prevHash: previous, hash: [])
            let hash = AuditChain.hash(of: entry, after: previous)
            try db.execute(
                sql: "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                arguments: [Data(previous), Data(hash), entry.id])
            previous = hash
        }
        try db.execute(
            sql: """
                CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit BEGIN
                    SELECT RAISE(ABORT, 'the audit log is append-only');
                END;
                CREATE INDEX audit_by_subject ON audit(subject, id);
                CREATE TRIGGER audit_is_chained BEFORE INSERT ON audit
                    WHEN NEW.hash IS NULL OR length(NEW.hash) <> 32 OR NEW.prev_hash IS NULL OR length(NEW.prev_hash) <> 32
                BEGIN
                    SELECT RAISE(ABORT, 'every audit entry carries prev_hash and hash (32 bytes each)');
                END;
                """)
    }

    /// A HELD charge reserves its amount against the wallet's limits and cap from the moment it is held (SPEC §4):
    /// one `pending_transfer` per held charge (TigerBeetle's two-phase transfer), `pending` until the hold is
    /// released (`posted`, and the real transfer is inserted) or rejected (`voided`). The wallet's account carries
    /// the sum of its pending credits, kept by triggers, and the schema refuses any change that raises a wallet's
    /// balance plus reservations over its cap. Holds open when this migration runs are reserved here (in their own
    /// Tokyo day and month), before the cap trigger exists, so an old over-cap backlog cannot stop the upgrade;
    /// `ledger verify` names such a wallet.
    private static func v3HoldsReserve(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE ledger_account ADD COLUMN pending_credits_yen INTEGER NOT NULL DEFAULT 0
                    CHECK (pending_credits_yen >= 0);

                CREATE TABLE pending_transfer (
                    charge_id TEXT PRIMARY KEY REFERENCES charge(id),
                    debit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    credit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    tokyo_day INTEGER NOT NULL,
                    tokyo_month INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
                    created_at_unix_ms INTEGER NOT NULL,
                    resolved_at_unix_ms INTEGER,
                    CHECK (debit_account_id <> credit_account_id),
                    CHECK ((state = 'pending') = (resolved_at_unix_ms IS NULL))
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX pending_transfer_open ON pending_transfer(credit_account_id) WHERE state = 'pending';

                CREATE TRIGGER pending_transfer_reserves AFTER INSERT ON pending_transfer WHEN NEW.state = 'pending' BEGIN
                    UPDATE ledger_account SET pending_credits_yen = pending_credits_yen + NEW.amount_yen
                        WHERE id = NEW.credit_account_id;
                END;
                CREATE TRIGGER pending_transfer_is_resolved_once BEFORE UPDATE ON pending_transfer
                    WHEN OLD.state <> 'pending' OR NEW.state = 'pending' OR NEW.amount_yen <> OLD.amount_yen
                        OR NEW.credit_account_id <> OLD.credit_account_id OR NEW.debit_account_id <> OLD.debit_account_id
                        OR NEW.charge_id <> OLD.charge_id OR NEW.tokyo_day <> OLD.tokyo_day
                        OR NEW.tokyo_month <> OLD.tokyo_month
                BEGIN
                    SELECT RAISE(ABORT, 'a pending transfer is resolved once (posted or voided) and never edited');
                END;
                CREATE TRIGGER pending_transfer_frees AFTER UPDATE OF state ON pending_transfer BEGIN
                    UPDATE ledger_account SET pending_credits_yen = pending_credits_yen - OLD.amount_yen
                        WHERE id = OLD.credit_account_id;
                END;
                CREATE TRIGGER pending_transfer_is_never_deleted BEFORE DELETE ON pending_transfer BEGIN
                    SELECT RAISE(ABORT, 'pending transfers are never deleted: void them');
                END;
                CREATE INDEX charge_by_wallet_hold ON charge(wallet_id, hold_state) WHERE hold_state = 1;
                """)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT c.id, c.amount_yen, c.created_at_unix_ms, b.settlement_account_id, w.ledger_account_id
                FROM charge c JOIN bank b ON b.code = c.bank_code JOIN wallet w ON w.id = c.wallet_id
                WHERE c.hold_state = 1
                """)
        for row in rows {
            let createdAt: Int64 = row[2]
            try db.execute(
                sql: """
                    INSERT INTO pending_transfer(charge_id, debit_account_id, credit_account_id, amount_yen, tokyo_day,
                        tokyo_month, state, created_at_unix_ms)
                    VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                    """,
                arguments: [
                    row[0] as String, row[3] as Int64, row[4] as Int64, row[1] as Int64,
                    TokyoTime.dayIndex(ofUnixMs: createdAt), TokyoTime.monthIndex(ofUnixMs: createdAt), createdAt,
                ])
        }
        try db.execute(
            sql: """
                -- (A balance over the cap by itself is the v1 CHECK's to refuse; this adds the reservations.)
                CREATE TRIGGER wallet_within_cap_with_reservations BEFORE UPDATE ON ledger_account
                    WHEN NEW.kind = 'wallet'
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen <= NEW.balance_cap_yen
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen + NEW.pending_credits_yen > NEW.balance_cap_yen
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen + NEW.pending_credits_yen
                            > OLD.credits_posted_yen - OLD.debits_posted_yen + OLD.pending_credits_yen
                BEGIN
                    SELECT RAISE(ABORT, 'a wallet balance plus its reservations may not rise over its cap');
                END;
                """)
    }

    /// SPEC §3 as amended: "the same body" is the request with `header.sent_at_unix_ms` left out. Records written
    /// before this migration hold the digest of the whole request (version 1) and are still compared that way (a
    /// retry with the original `sent_at` matches; a re-stamped one cannot be told from another body, so it is
    /// ALREADY_EXISTS as before, until the record ages out after 30 days). New records are version 2.
    private static func v4IdempotencyDigestVersion(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE idempotency ADD COLUMN body_digest_version INTEGER NOT NULL DEFAULT 1
                    CHECK (body_digest_version IN (1, 2));
                """)
    }

    /// Link codes are kept as HMAC-SHA256 under a secret in the state directory (`LinkCodeKey`), not as a plain
    /// SHA-256 that anyone with the file could reverse by trying the 31^8 codes. Unused codes of the old kind are
    /// deleted (they live 10 minutes; the user asks for a new one); used ones stay as the record of which link used
    /// them, and can never match again.
    private static func v5LinkCodeHMAC(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE link_code RENAME COLUMN code_sha256 TO code_mac;
                DELETE FROM link_code WHERE used_at_unix_ms IS NULL;
                """)
    }

    /// The W3C trace id of the request behind an audit entry (SPEC §10). Existing entries get '' (none), which
    /// `AuditChain.hash` leaves out, so their hashes still verify.
    private static func v7TraceID(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE audit ADD COLUMN trace_id TEXT NOT NULL DEFAULT ''")
    }
}
