import GRDB

extension Schema {
    /// Issue 14: the same rules for `charge` and `transfer`, written so SQLite checks them with comparisons.
    ///
    /// SQLite checks `x IN (a, b, c)` (three or more constants) by building a temporary B-tree of the list, an
    /// in-memory pager opened and closed again for every statement that checks it: ~3 µs per insert here, paid by
    /// every charge twice (`charge.decision IN (1, 2, 3)`, `transfer.kind IN ('charge', …)`). The rules become
    /// `decision BETWEEN 1 AND 3` (an INTEGER column in a STRICT table) and four `kind = …` comparisons: the same sets
    /// of values, nothing else changes.
    ///
    /// SQLite cannot alter a CHECK, so both tables are rebuilt as in v9 (SQLite's 12-step procedure; the migrator
    /// turns foreign keys off and checks them after). Rows keep their rowids, so every reference stays valid.
    /// The tables' own indexes and triggers, made by several earlier migrations, are read from the schema before the
    /// rebuild and created again word for word. `legacy_alter_table` keeps RENAME from re-parsing other tables'
    /// triggers that name the table being replaced.
    static func v13ConstraintsWithoutLists(_ db: Database) throws {
        let kept = try String.fetchAll(
            db,
            sql: """
                SELECT sql FROM sqlite_schema
                WHERE tbl_name IN ('charge', 'transfer') AND type IN ('index', 'trigger') AND sql IS NOT NULL
                ORDER BY type, name
                """)
        try db.execute(
            sql: """
                PRAGMA legacy_alter_table = ON;

                CREATE TABLE charge_v13 (
                    id TEXT PRIMARY KEY,
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    request_id TEXT NOT NULL,
                    link_id TEXT NOT NULL,
                    wallet_id TEXT REFERENCES wallet(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    decision INTEGER NOT NULL CHECK (decision BETWEEN 1 AND 3),
                    decline_reason INTEGER NOT NULL CHECK (decline_reason BETWEEN 0 AND 12),
                    rule TEXT NOT NULL,
                    hold_state INTEGER NOT NULL CHECK (hold_state BETWEEN 0 AND 3),
                    created_at_unix_ms INTEGER NOT NULL,
                    processed_at_unix_ms INTEGER NOT NULL,
                    receipt_signature BLOB NOT NULL,
                    resolved_by TEXT,
                    resolved_at_unix_ms INTEGER,
                    receipt_key_id TEXT NOT NULL DEFAULT '',
                    body_sha256 BLOB
                        CHECK (body_sha256 IS NULL OR (length(body_sha256) = 32 AND decision <> 2)),
                    UNIQUE (bank_code, request_id),
                    CHECK ((decision = 3) = (decline_reason <> 0)),
                    CHECK ((decision = 1) <= (wallet_id IS NOT NULL)),
                    CHECK ((hold_state = 1) = (decision = 2)),
                    CHECK (hold_state <> 2 OR decision = 1),
                    CHECK (hold_state <> 3 OR decision = 3)
                ) STRICT;
                INSERT INTO charge_v13(rowid, id, bank_code, request_id, link_id, wallet_id, amount_yen, decision,
                        decline_reason, rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature,
                        resolved_by, resolved_at_unix_ms, receipt_key_id, body_sha256)
                    SELECT rowid, id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                        rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature, resolved_by,
                        resolved_at_unix_ms, receipt_key_id, body_sha256
                    FROM charge ORDER BY rowid;
                DROP TABLE charge;
                ALTER TABLE charge_v13 RENAME TO charge;

                CREATE TABLE transfer_v13 (
                    id INTEGER PRIMARY KEY,
                    debit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    credit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    kind TEXT NOT NULL
                        CHECK (kind = 'charge' OR kind = 'reversal' OR kind = 'correction' OR kind = 'payment'),
                    charge_id TEXT REFERENCES charge(id),
                    created_at_unix_ms INTEGER NOT NULL,
                    tokyo_day INTEGER NOT NULL,
                    tokyo_month INTEGER NOT NULL,
                    CHECK (debit_account_id <> credit_account_id),
                    CHECK (kind IN ('correction', 'payment') OR charge_id IS NOT NULL),
                    CHECK (kind <> 'payment' OR charge_id IS NULL)
                ) STRICT;
                INSERT INTO transfer_v13(id, debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    SELECT id, debit_account_id, credit_account_id, amount_yen, kind, charge_id, created_at_unix_ms,
                        tokyo_day, tokyo_month
                    FROM transfer ORDER BY id;
                DROP TABLE transfer;
                ALTER TABLE transfer_v13 RENAME TO transfer;

                PRAGMA legacy_alter_table = OFF;
                """)
        // DROP TABLE took the tables' indexes and triggers with it: the same ones again, as they were.
        for sql in kept { try db.execute(sql: sql) }
    }
}
