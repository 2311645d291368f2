import GRDB

// Migrations of SPEC §9 (reversals, compensation, spending) and §2 WatchEvents (the bank event outbox). Reversals
// and compensation payments are four-eyes acts in v8-alerts' `approval` table (kinds charge.reverse and
// compensation.pay).
extension Schema {
    /// Reversals, compensation cases, the operator's compensation account, merchants and wallet payments.
    ///
    /// `ledger_account.kind` and `transfer.kind` are CHECKed, and SQLite cannot alter a CHECK: both tables are
    /// rebuilt (SQLite's 12-step procedure, foreign keys off — GRDB's migrator turns them off and checks them after).
    /// `legacy_alter_table` keeps RENAME from re-parsing the triggers that name the table being replaced.
    /// New kinds: `compensation` (the operator's account that pays what a wallet no longer holds; it only pays out,
    /// so its balance is minus what it paid) and `merchant_settlement` (where wallet payments land); transfer kind
    /// `payment` (wallet → merchant, no charge). A reversal is one or two `reversal` transfers back to the bank's
    /// settlement account for the charge: from the wallet what it still holds, from the compensation account the
    /// shortfall.
    static func v9Reversals(_ db: Database) throws {
        try db.execute(
            sql: """
                PRAGMA legacy_alter_table = ON;

                CREATE TABLE ledger_account_v9 (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL
                        CHECK (kind IN ('bank_settlement', 'wallet', 'compensation', 'merchant_settlement')),
                    debits_posted_yen INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted_yen >= 0),
                    credits_posted_yen INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted_yen >= 0),
                    balance_cap_yen INTEGER CHECK (balance_cap_yen IS NULL OR balance_cap_yen >= 0),
                    pending_credits_yen INTEGER NOT NULL DEFAULT 0 CHECK (pending_credits_yen >= 0),
                    CHECK ((kind = 'wallet') = (balance_cap_yen IS NOT NULL)),
                    CHECK (kind <> 'wallet' OR credits_posted_yen - debits_posted_yen BETWEEN 0 AND balance_cap_yen),
                    CHECK (kind <> 'compensation' OR credits_posted_yen = 0),
                    CHECK (kind <> 'merchant_settlement' OR debits_posted_yen = 0)
                ) STRICT;
                INSERT INTO ledger_account_v9(id, kind, debits_posted_yen, credits_posted_yen, balance_cap_yen,
                        pending_credits_yen)
                    SELECT id, kind, debits_posted_yen, credits_posted_yen, balance_cap_yen, pending_credits_yen
                    FROM ledger_account;
                DROP TABLE ledger_account;
                ALTER TABLE ledger_account_v9 RENAME TO ledger_account;

                CREATE TABLE transfer_v9 (
                    id INTEGER PRIMARY KEY,
                    debit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    credit_account_id INTEGER NOT NULL REFERENCES ledger_account(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    kind TEXT NOT NULL CHECK (kind IN ('charge', 'reversal', 'correction', 'payment')),
                    charge_id TEXT REFERENCES charge(id),
                    created_at_unix_ms INTEGER NOT NULL,
                    tokyo_day INTEGER NOT NULL,
                    tokyo_month INTEGER NOT NULL,
                    CHECK (debit_account_id <> credit_account_id),
                    CHECK (kind IN ('correction', 'payment') OR charge_id IS NOT NULL),
                    CHECK (kind <> 'payment' OR charge_id IS NULL)
                ) STRICT;
                INSERT INTO transfer_v9(id, debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    SELECT id, debit_account_id, credit_account_id, amount_yen, kind, charge_id, created_at_unix_ms,
                        tokyo_day, tokyo_month FROM transfer;
                DROP TABLE transfer;
                ALTER TABLE transfer_v9 RENAME TO transfer;

                PRAGMA legacy_alter_table = OFF;

                -- v3-holds-reserve's trigger went with the old ledger_account: the same trigger again.
                CREATE TRIGGER wallet_within_cap_with_reservations BEFORE UPDATE ON ledger_account
                    WHEN NEW.kind = 'wallet'
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen <= NEW.balance_cap_yen
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen + NEW.pending_credits_yen > NEW.balance_cap_yen
                        AND NEW.credits_posted_yen - NEW.debits_posted_yen + NEW.pending_credits_yen
                            > OLD.credits_posted_yen - OLD.debits_posted_yen + OLD.pending_credits_yen
                BEGIN
                    SELECT RAISE(ABORT, 'a wallet balance plus its reservations may not rise over its cap');
                END;

                CREATE UNIQUE INDEX transfer_one_per_charge ON transfer(charge_id) WHERE kind = 'charge';
                CREATE INDEX transfer_by_charge ON transfer(charge_id, kind) WHERE charge_id IS NOT NULL;
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

                -- The operator's own ledger accounts, one per purpose.
                CREATE TABLE operator_account (
                    name TEXT PRIMARY KEY CHECK (name IN ('compensation')),
                    ledger_account_id INTEGER NOT NULL UNIQUE REFERENCES ledger_account(id)
                ) STRICT, WITHOUT ROWID;
                INSERT INTO ledger_account(kind) VALUES ('compensation');
                INSERT INTO operator_account(name, ledger_account_id) VALUES ('compensation', last_insert_rowid());

                CREATE TABLE merchant (
                    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 32),
                    name TEXT NOT NULL CHECK (length(name) > 0),
                    settlement_account_id INTEGER NOT NULL UNIQUE REFERENCES ledger_account(id),
                    created_at_unix_ms INTEGER NOT NULL
                ) STRICT;

                -- A wallet spends at a merchant: one 'payment' transfer wallet → merchant settlement.
                CREATE TABLE wallet_payment (
                    id TEXT PRIMARY KEY,
                    wallet_id TEXT NOT NULL REFERENCES wallet(id),
                    merchant_id TEXT NOT NULL REFERENCES merchant(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    transfer_id INTEGER NOT NULL UNIQUE REFERENCES transfer(id),
                    reference TEXT NOT NULL,
                    paid_by TEXT NOT NULL,
                    created_at_unix_ms INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX wallet_payment_by_wallet ON wallet_payment(wallet_id, created_at_unix_ms);

                -- What one victim lost: the bank's account token as the bank sent it (its opaque token, never an
                -- account number; never logged), the charges, and OPEN (1) → PAID (2) → CLOSED (3).
                CREATE TABLE compensation_case (
                    id TEXT PRIMARY KEY,
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    bank_account_token TEXT NOT NULL CHECK (length(bank_account_token) > 0),
                    state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),
                    reason TEXT NOT NULL,
                    opened_by TEXT NOT NULL,
                    opened_at_unix_ms INTEGER NOT NULL,
                    paid_at_unix_ms INTEGER,
                    closed_at_unix_ms INTEGER,
                    CHECK ((state >= 2) = (paid_at_unix_ms IS NOT NULL)),
                    CHECK ((state = 3) = (closed_at_unix_ms IS NOT NULL))
                ) STRICT;
                CREATE TABLE compensation_case_charge (
                    case_id TEXT NOT NULL REFERENCES compensation_case(id),
                    charge_id TEXT NOT NULL UNIQUE REFERENCES charge(id),
                    PRIMARY KEY (case_id, charge_id)
                ) STRICT, WITHOUT ROWID;

                -- One reversal of (part of) a charge: amount = from the wallet + from the compensation account, each
                -- part its own transfer. Immutable, like transfers.
                CREATE TABLE reversal (
                    id TEXT PRIMARY KEY,
                    charge_id TEXT NOT NULL REFERENCES charge(id),
                    case_id TEXT REFERENCES compensation_case(id),
                    amount_yen INTEGER NOT NULL CHECK (amount_yen > 0),
                    from_wallet_yen INTEGER NOT NULL CHECK (from_wallet_yen >= 0),
                    from_compensation_yen INTEGER NOT NULL CHECK (from_compensation_yen >= 0),
                    wallet_transfer_id INTEGER UNIQUE REFERENCES transfer(id),
                    compensation_transfer_id INTEGER UNIQUE REFERENCES transfer(id),
                    reason TEXT NOT NULL,
                    requested_by TEXT NOT NULL CHECK (length(requested_by) > 0),
                    approved_by TEXT NOT NULL CHECK (length(approved_by) > 0),
                    created_at_unix_ms INTEGER NOT NULL,
                    CHECK (amount_yen = from_wallet_yen + from_compensation_yen),
                    CHECK ((from_wallet_yen > 0) = (wallet_transfer_id IS NOT NULL)),
                    CHECK ((from_compensation_yen > 0) = (compensation_transfer_id IS NOT NULL))
                ) STRICT;
                CREATE INDEX reversal_by_charge ON reversal(charge_id);
                CREATE INDEX reversal_by_case ON reversal(case_id) WHERE case_id IS NOT NULL;
                CREATE TRIGGER reversal_is_never_edited BEFORE UPDATE ON reversal BEGIN
                    SELECT RAISE(ABORT, 'reversals are never edited: reverse again or post a correction');
                END;
                CREATE TRIGGER reversal_is_never_deleted BEFORE DELETE ON reversal BEGIN
                    SELECT RAISE(ABORT, 'reversals are never deleted');
                END;
                """)
    }

    /// The bank event outbox of `WatchEvents` (SPEC §2, §9): each event is inserted in the transaction of the act
    /// it reports, with the bank's next sequence (gap-free from 1; the schema refuses any other number).
    /// `bank_event_head` keeps each bank's last sequence, and how far retention has pruned (`pruned_through`), so a
    /// watch from an older sequence is told OUT_OF_RANGE rather than silently missing events.
    static func v10Events(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE bank_event_head (
                    bank_code TEXT PRIMARY KEY REFERENCES bank(code),
                    last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0),
                    pruned_through INTEGER NOT NULL DEFAULT 0 CHECK (pruned_through BETWEEN 0 AND last_sequence)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE bank_event (
                    bank_code TEXT NOT NULL REFERENCES bank(code),
                    sequence INTEGER NOT NULL CHECK (sequence >= 1),
                    occurred_at_unix_ms INTEGER NOT NULL,
                    type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 9),
                    link_id TEXT NOT NULL,
                    charge_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    amount_yen INTEGER NOT NULL CHECK (amount_yen >= 0),
                    reason TEXT NOT NULL,
                    reversal_id TEXT REFERENCES reversal(id),
                    CHECK ((type IN (6, 7)) = (reversal_id IS NOT NULL)),
                    PRIMARY KEY (bank_code, sequence)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX bank_event_by_age ON bank_event(occurred_at_unix_ms);
                CREATE INDEX bank_event_by_reversal ON bank_event(reversal_id) WHERE reversal_id IS NOT NULL;

                CREATE TRIGGER bank_event_is_next BEFORE INSERT ON bank_event
                    WHEN NEW.sequence <> coalesce(
                        (SELECT last_sequence FROM bank_event_head WHERE bank_code = NEW.bank_code), 0) + 1
                BEGIN
                    SELECT RAISE(ABORT, 'bank events are gap-free: the sequence must be the bank''s last + 1');
                END;
                CREATE TRIGGER bank_event_advances_head AFTER INSERT ON bank_event BEGIN
                    INSERT INTO bank_event_head(bank_code, last_sequence) VALUES (NEW.bank_code, NEW.sequence)
                        ON CONFLICT DO UPDATE SET last_sequence = excluded.last_sequence;
                END;
                CREATE TRIGGER bank_event_is_never_edited BEFORE UPDATE ON bank_event BEGIN
                    SELECT RAISE(ABORT, 'bank events are never edited');
                END;
                CREATE TRIGGER bank_event_is_pruned_from_the_oldest BEFORE DELETE ON bank_event
                    WHEN OLD.sequence > (SELECT pruned_through FROM bank_event_head WHERE bank_code = OLD.bank_code)
                BEGIN
                    SELECT RAISE(ABORT, 'bank events are deleted only by retention, after pruned_through moves');
                END;
                """)
    }
}
