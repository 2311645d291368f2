import GRDB

extension Schema {
    /// SPEC §8: alerts (deduplicated per rule and subject while unresolved, with the charges they concern and the
    /// operators' notes), block lists (account tokens only as keyed hashes), four-eyes approvals, and the facts the
    /// monitoring rules read cheaply: per-bank decision counts in 10 s buckets, the wallets each token was tried for,
    /// and charges by wallet and time.
    static func v8Alerts(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE alert (
                    id TEXT PRIMARY KEY,
                    rule TEXT NOT NULL CHECK (length(rule) > 0),
                    severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
                    subject_kind INTEGER NOT NULL CHECK (subject_kind BETWEEN 1 AND 5),
                    subject TEXT NOT NULL CHECK (length(subject) > 0),
                    bank_code TEXT,
                    wallet_id TEXT,
                    first_seen_unix_ms INTEGER NOT NULL,
                    last_seen_unix_ms INTEGER NOT NULL,
                    count INTEGER NOT NULL CHECK (count >= 1),
                    state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),
                    assignee TEXT,
                    detail TEXT NOT NULL,
                    proposed_action TEXT,
                    proposal_confirmed INTEGER NOT NULL DEFAULT 0 CHECK (proposal_confirmed IN (0, 1)),
                    change_seq INTEGER NOT NULL UNIQUE,
                    resolved_at_unix_ms INTEGER,
                    CHECK (last_seen_unix_ms >= first_seen_unix_ms),
                    CHECK ((state = 3) = (resolved_at_unix_ms IS NOT NULL)),
                    CHECK (proposal_confirmed = 0 OR proposed_action IS NOT NULL)
                ) STRICT;
                -- One unresolved alert per (rule, subject): a firing again raises its count.
                CREATE UNIQUE INDEX alert_unresolved_per_subject ON alert(rule, subject_kind, subject) WHERE state <> 3;
                CREATE INDEX alert_by_state ON alert(state, last_seen_unix_ms);

                CREATE TABLE alert_charge (
                    alert_id TEXT NOT NULL REFERENCES alert(id),
                    charge_id TEXT NOT NULL REFERENCES charge(id),
                    held INTEGER NOT NULL CHECK (held IN (0, 1)),
                    PRIMARY KEY (alert_id, charge_id)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX alert_charge_by_charge ON alert_charge(charge_id);

                CREATE TABLE alert_note (
                    id INTEGER PRIMARY KEY,
                    alert_id TEXT NOT NULL REFERENCES alert(id),
                    at_unix_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL CHECK (length(actor) > 0),
                    note TEXT NOT NULL CHECK (length(note) > 0)
                ) STRICT;
                CREATE INDEX alert_note_by_alert ON alert_note(alert_id, id);

                -- kind 1 account token (lookup = keyed hash of BANK:token, never the token), 2 wallet, 3 client address.
                CREATE TABLE blocked_value (
                    kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),
                    lookup BLOB NOT NULL,
                    shown TEXT NOT NULL,
                    bank_code TEXT,
                    reason TEXT NOT NULL CHECK (length(reason) > 0),
                    blocked_by TEXT NOT NULL CHECK (length(blocked_by) > 0),
                    blocked_at_unix_ms INTEGER NOT NULL,
                    PRIMARY KEY (kind, lookup),
                    CHECK ((kind = 1) = (bank_code IS NOT NULL))
                ) STRICT, WITHOUT ROWID;

                -- Four eyes: state 1 pending, 2 approved (executed), 3 declined, 4 lapsed. The schema itself refuses an
                -- approval by the operator who asked.
                CREATE TABLE approval (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (length(kind) > 0),
                    subject TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    requested_by TEXT NOT NULL CHECK (length(requested_by) > 0),
                    request_reason TEXT NOT NULL,
                    requested_at_unix_ms INTEGER NOT NULL,
                    expires_at_unix_ms INTEGER NOT NULL CHECK (expires_at_unix_ms > requested_at_unix_ms),
                    state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 4),
                    decided_by TEXT,
                    decided_at_unix_ms INTEGER,
                    decision_reason TEXT,
                    result TEXT,
                    CHECK ((state = 1) = (decided_at_unix_ms IS NULL)),
                    CHECK (state <> 2 OR (decided_by IS NOT NULL AND decided_by <> requested_by))
                ) STRICT;
                CREATE INDEX approval_by_state ON approval(state, requested_at_unix_ms);
                CREATE INDEX approval_by_subject ON approval(kind, subject, state);

                CREATE TABLE decision_bucket (
                    bank_code TEXT NOT NULL,
                    bucket_unix_ms INTEGER NOT NULL,
                    approved INTEGER NOT NULL CHECK (approved >= 0),
                    held INTEGER NOT NULL CHECK (held >= 0),
                    declined INTEGER NOT NULL CHECK (declined >= 0),
                    PRIMARY KEY (bank_code, bucket_unix_ms)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE token_wallet_attempt (
                    token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),
                    wallet_id TEXT NOT NULL,
                    last_at_unix_ms INTEGER NOT NULL,
                    PRIMARY KEY (token_hash, wallet_id)
                ) STRICT, WITHOUT ROWID;

                CREATE INDEX charge_by_wallet_time ON charge(wallet_id, created_at_unix_ms);
                """)
    }

    /// SPEC §8 `wallet.velocity` sums a wallet's credited charges over its window on every charge to it. v8's
    /// `charge_by_wallet_time` found the rows but each one's decision and amount were read from the table, one
    /// random page each (issue 14: a tenth of the writer's time with a few dozen charges per wallet in the window).
    /// The same index, covering: every query that used it still can.
    static func v11WalletCreditsCovered(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP INDEX charge_by_wallet_time;
                CREATE INDEX charge_by_wallet_time ON charge(wallet_id, created_at_unix_ms, decision, amount_yen);
                """)
    }
}
