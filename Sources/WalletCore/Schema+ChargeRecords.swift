import GRDB

extension Schema {
    /// Issue 14: an APPROVED or DECLINED charge's answer never changes, so its row is its own idempotency record
    /// (SPEC §3): `body_sha256` (digest version 2) beside the answer columns, and no `idempotency` row. That is two
    /// B-tree inserts fewer per charge (the record's primary key and `idempotency_by_age`) and one lookup fewer (the
    /// charge row was looked up anyway, to tell a pruned record from a new request).
    ///
    /// A HELD charge's answer columns are rewritten when the hold is resolved, so its first answer stays in
    /// `idempotency`, as links' and unlinks' do; so do the records of charges written before this migration. A
    /// charge's own record is never pruned: its retries are answered as long as the charge exists (SPEC §3: "at
    /// least 30 days").
    static func v12ChargeIsItsOwnRecord(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE charge ADD COLUMN body_sha256 BLOB
                    CHECK (body_sha256 IS NULL OR (length(body_sha256) = 32 AND decision <> 2));

                -- From now on a charge carries its record exactly when its answer is final (not HELD), and its key
                -- is free: one request_id namespace per bank across operations (SPEC §3).
                CREATE TRIGGER charge_carries_its_record BEFORE INSERT ON charge BEGIN
                    SELECT RAISE(ABORT, 'an APPROVED or DECLINED charge carries its body digest, a HELD one does not')
                        WHERE (NEW.decision = 2) = (NEW.body_sha256 IS NOT NULL);
                    SELECT RAISE(ABORT, 'the request_id has an idempotency record already')
                        WHERE NEW.body_sha256 IS NOT NULL AND EXISTS (
                            SELECT 1 FROM idempotency WHERE bank_code = NEW.bank_code AND request_id = NEW.request_id);
                END;
                CREATE TRIGGER idempotency_key_is_not_a_charge_record BEFORE INSERT ON idempotency
                    WHEN EXISTS (
                        SELECT 1 FROM charge
                        WHERE bank_code = NEW.bank_code AND request_id = NEW.request_id AND body_sha256 IS NOT NULL)
                BEGIN
                    SELECT RAISE(ABORT, 'the request_id is a charge''s own idempotency record already');
                END;
                -- The record is the first answer, byte for byte: none of its columns ever changes.
                CREATE TRIGGER charge_record_is_never_edited BEFORE UPDATE OF bank_code, request_id, decision,
                    decline_reason, processed_at_unix_ms, receipt_signature, receipt_key_id, body_sha256 ON charge
                    WHEN OLD.body_sha256 IS NOT NULL
                BEGIN
                    SELECT RAISE(ABORT, 'a charge that is its own idempotency record is never edited');
                END;
                """)
    }
}
