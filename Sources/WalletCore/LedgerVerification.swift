import GRDB

/// One invariant `bankgw ledger verify` checked (SPEC §7), with what it looked at.
public struct LedgerCheck: Sendable, Hashable {
    /// Stable name, e.g. `balances-match-transfers`.
    public var name: String
    /// What was checked (counts), or the first offending row.
    public var detail: String
    public var passed: Bool
}

/// The result of verifying the ledger: the checks run in order, stopping at the first broken invariant.
public struct LedgerVerification: Sendable, Hashable {
    public var checks: [LedgerCheck]
    public var firstFailure: LedgerCheck? { checks.first { !$0.passed } }
    public var passed: Bool { firstFailure == nil }
}

extension WalletStore {
    /// Recomputes every balance and charged total from the transfers and checks the ledger's invariants, in one
    /// read transaction (a consistent snapshot; the writer is not blocked). Stops at the first broken one.
    public func verifyLedger() async throws(WalletError) -> LedgerVerification {
        let retentionCutoff = clock() - limits.idempotencyRetentionMs
        return try await read { db in try Self.verify(db, idempotencyRetentionCutoffUnixMs: retentionCutoff) }
    }

    static func verify(_ db: Database, idempotencyRetentionCutoffUnixMs cutoff: Int64) throws -> LedgerVerification {
        var checks: [LedgerCheck] = []
        func check(_ name: String, _ body: () throws -> (passed: Bool, detail: String)) throws -> Bool {
            let (passed, detail) = try body()
            checks.append(LedgerCheck(name: name, detail: detail, passed: passed))
            return passed
        }
        func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int64 {
            try Int64.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }

        let steps: [(String, () throws -> (Bool, String))] = [
            (
                "database-integrity",
                {
                    let result = try String.fetchAll(db, sql: "PRAGMA quick_check")
                    let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
                    if result != ["ok"] { return (false, "quick_check: \(result.prefix(3).joined(separator: "; "))") }
                    if let row = foreignKeys.first { return (false, "foreign key broken: \(row)") }
                    return (true, "quick_check ok, foreign keys ok")
                }
            ),
            (
                "balances-match-transfers",
                {
                    let accounts = try count("SELECT count(*) FROM ledger_account")
                    let transfers = try count("SELECT count(*) FROM transfer")
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT a.id, a.kind, a.debits_posted_yen, a.credits_posted_yen,
                                   coalesce(d.total, 0) AS debits, coalesce(c.total, 0) AS credits
                            FROM ledger_account a
                            LEFT JOIN (SELECT debit_account_id AS id, sum(amount_yen) AS total FROM transfer GROUP BY 1) d
                                ON d.id = a.id
                            LEFT JOIN (SELECT credit_account_id AS id, sum(amount_yen) AS total FROM transfer GROUP BY 1) c
                                ON c.id = a.id
                            WHERE a.debits_posted_yen <> coalesce(d.total, 0) OR a.credits_posted_yen <> coalesce(c.total, 0)
                            LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "account \(row["id"] as Int64) (\(row["kind"] as String)) posts debits "
                                + "\(row["debits_posted_yen"] as Int64)/credits \(row["credits_posted_yen"] as Int64) yen, "
                                + "its transfers sum to \(row["debits"] as Int64)/\(row["credits"] as Int64)"
                        )
                    }
                    return (true, "\(accounts) accounts recomputed from \(transfers) transfers")
                }
            ),
            (
                "debits-equal-credits",
                {
                    let debits = try count("SELECT coalesce(sum(debits_posted_yen), 0) FROM ledger_account")
                    let credits = try count("SELECT coalesce(sum(credits_posted_yen), 0) FROM ledger_account")
                    let moved = try count("SELECT coalesce(sum(amount_yen), 0) FROM transfer")
                    return (
                        debits == credits && credits == moved,
                        "debits \(debits) yen, credits \(credits) yen, transfers \(moved) yen"
                    )
                }
            ),
            (
                "wallet-balance-within-cap",
                {
                    let wallets = try count("SELECT count(*) FROM ledger_account WHERE kind = 'wallet'")
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT w.id, a.credits_posted_yen - a.debits_posted_yen AS balance, a.balance_cap_yen
                            FROM ledger_account a JOIN wallet w ON w.ledger_account_id = a.id
                            WHERE a.credits_posted_yen - a.debits_posted_yen NOT BETWEEN 0 AND a.balance_cap_yen LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "wallet \(row["id"] as String) balance \(row["balance"] as Int64) yen, "
                                + "cap \(row["balance_cap_yen"] as Int64)"
                        )
                    }
                    return (true, "\(wallets) wallets within [0, cap]")
                }
            ),
            (
                "approved-charge-has-one-transfer",
                {
                    let approved = try count("SELECT count(*) FROM charge WHERE decision = 1")
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT c.id FROM charge c WHERE c.decision = 1
                              AND (SELECT count(*) FROM transfer t WHERE t.charge_id = c.id AND t.kind = 'charge') <> 1
                            LIMIT 1
                            """)
                    {
                        return (false, "approved charge \(id) does not have exactly one transfer")
                    }
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT t.charge_id FROM transfer t JOIN charge c ON c.id = t.charge_id
                            WHERE t.kind = 'charge' AND c.decision <> 1 LIMIT 1
                            """)
                    {
                        return (false, "charge \(id) was not approved but has a transfer")
                    }
                    return (true, "\(approved) approved charges, one transfer each; none for held or declined")
                }
            ),
            (
                "transfer-matches-charge",
                {
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT c.id FROM transfer t JOIN charge c ON c.id = t.charge_id
                            JOIN bank b ON b.code = c.bank_code JOIN wallet w ON w.id = c.wallet_id
                            WHERE t.kind = 'charge' AND (t.amount_yen <> c.amount_yen
                                OR t.debit_account_id <> b.settlement_account_id OR t.credit_account_id <> w.ledger_account_id)
                            LIMIT 1
                            """)
                    {
                        return (false, "charge \(id): its transfer's amount or accounts differ from the charge")
                    }
                    return (
                        true,
                        "every charge transfer moves the charge's amount from its bank's settlement account "
                            + "to its wallet"
                    )
                }
            ),
            (
                // v15: a link's charges are found through its wallet's (`charge_by_wallet_time`).
                "charge-carries-its-links-wallet",
                {
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT c.id FROM charge c JOIN link l ON l.id = c.link_id
                            WHERE c.wallet_id IS NOT l.wallet_id LIMIT 1
                            """)
                    {
                        return (false, "charge \(id) does not carry its link's wallet")
                    }
                    return (true, "every charge on a known link carries that link's wallet")
                }
            ),
            (
                "charge-has-one-idempotency-record",
                {
                    let recent = try count("SELECT count(*) FROM charge WHERE created_at_unix_ms >= ?", [cutoff])
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT c.id FROM charge c
                            WHERE c.created_at_unix_ms >= ? AND (c.body_sha256 IS NOT NULL) + EXISTS (
                                SELECT 1 FROM idempotency i WHERE i.bank_code = c.bank_code AND i.request_id = c.request_id
                                  AND i.operation = 'charge' AND i.result_id = c.id) <> 1
                            LIMIT 1
                            """, arguments: [cutoff])
                    {
                        return (
                            false,
                            "charge \(id) has no idempotency record, or two (its own row's and one in idempotency)"
                        )
                    }
                    return (
                        true,
                        "\(recent) charges within the idempotency retention, one record each (its own row, or in "
                            + "idempotency for a hold and a charge written before v12)"
                    )
                }
            ),
            (
                "charged-totals-match-transfers",
                {
                    let sql = """
                        WITH recomputed AS (
                            SELECT credit_account_id AS account, 'day' AS period, tokyo_day AS period_index,
                                   sum(amount_yen) AS total
                            FROM transfer WHERE kind = 'charge' GROUP BY 1, 3
                            UNION ALL
                            SELECT credit_account_id, 'month', tokyo_month, sum(amount_yen)
                            FROM transfer WHERE kind = 'charge' GROUP BY 1, 3)
                        SELECT r.account, r.period, r.period_index FROM recomputed r
                        LEFT JOIN wallet_charged_total t ON t.wallet_account_id = r.account AND t.period = r.period
                            AND t.period_index = r.period_index
                        WHERE t.charged_yen IS NOT r.total
                        UNION ALL
                        SELECT t.wallet_account_id, t.period, t.period_index FROM wallet_charged_total t
                        WHERE NOT EXISTS (SELECT 1 FROM recomputed r WHERE r.account = t.wallet_account_id
                            AND r.period = t.period AND r.period_index = t.period_index)
                        LIMIT 1
                        """
                    if let row = try Row.fetchOne(db, sql: sql) {
                        return (
                            false,
                            "account \(row[0] as Int64) \(row[1] as String) \(row[2] as Int64): charged total "
                                + "differs from its transfers"
                        )
                    }
                    let totals = try count("SELECT count(*) FROM wallet_charged_total")
                    return (true, "\(totals) daily/monthly totals recomputed from transfers")
                }
            ),
            (
                "holds-have-one-pending-transfer",
                {
                    let open = try count("SELECT count(*) FROM charge WHERE hold_state = 1")
                    // Each hold's pending transfer matches it, and its state follows the hold's: open ↔ pending,
                    // released ↔ posted, rejected ↔ voided; nothing else has one.
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT c.id FROM charge c JOIN bank b ON b.code = c.bank_code
                            LEFT JOIN wallet w ON w.id = c.wallet_id
                            LEFT JOIN pending_transfer p ON p.charge_id = c.id
                            WHERE c.hold_state <> 0 AND (p.charge_id IS NULL OR p.amount_yen <> c.amount_yen
                                OR p.credit_account_id IS NOT w.ledger_account_id
                                OR p.debit_account_id <> b.settlement_account_id
                                OR p.state <> CASE c.hold_state WHEN 1 THEN 'pending' WHEN 2 THEN 'posted' ELSE 'voided' END)
                            LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "held charge \(id): its pending transfer is missing, differs from it, or is in "
                                + "the wrong state for the hold"
                        )
                    }
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT p.charge_id FROM pending_transfer p JOIN charge c ON c.id = p.charge_id
                            WHERE c.hold_state = 0 LIMIT 1
                            """)
                    {
                        return (false, "charge \(id) was never held but has a pending transfer")
                    }
                    return (true, "\(open) open holds, each reserved by one pending transfer")
                }
            ),
            (
                "reservations-match-pending-transfers",
                {
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT a.id, a.pending_credits_yen, coalesce(p.total, 0) AS total FROM ledger_account a
                            LEFT JOIN (SELECT credit_account_id AS id, sum(amount_yen) AS total FROM pending_transfer
                                WHERE state = 'pending' GROUP BY 1) p ON p.id = a.id
                            WHERE a.pending_credits_yen <> coalesce(p.total, 0) LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "account \(row[0] as Int64) reserves \(row[1] as Int64) yen, its pending transfers "
                                + "sum to \(row[2] as Int64)"
                        )
                    }
                    let reserved = try count(
                        """
                        SELECT coalesce(sum(amount_yen), 0) FROM pending_transfer WHERE state = 'pending'
                        """)
                    return (true, "\(reserved) yen reserved by open holds, as the accounts say")
                }
            ),
            (
                "wallet-balance-plus-reservations-within-cap",
                {
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT w.id, a.credits_posted_yen - a.debits_posted_yen, a.pending_credits_yen, a.balance_cap_yen
                            FROM ledger_account a JOIN wallet w ON w.ledger_account_id = a.id
                            WHERE a.credits_posted_yen - a.debits_posted_yen + a.pending_credits_yen > a.balance_cap_yen
                            LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "wallet \(row[0] as String) balance \(row[1] as Int64) + reserved "
                                + "\(row[2] as Int64) yen is over its cap \(row[3] as Int64)"
                        )
                    }
                    return (true, "every wallet's balance plus open holds within its cap")
                }
            ),
            (
                "one-active-link-per-token",
                {
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT bank_code, count(*) FROM link WHERE active = 1
                            GROUP BY bank_code, bank_account_token HAVING count(*) > 1 LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "a bank account token of bank \(row[0] as String) has \(row[1] as Int64) active "
                                + "links (SPEC §4 allows one)"
                        )
                    }
                    return (true, "each bank account token has at most one active link")
                }
            ),
        ]
        for (name, body) in steps + reversalAndEventChecks(db) {
            guard try check(name, body) else { break }
        }
        return LedgerVerification(checks: checks)
    }
}
