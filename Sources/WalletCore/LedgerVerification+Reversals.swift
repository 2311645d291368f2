import GRDB

extension WalletStore {
    /// The invariants of SPEC §9 and the event outbox, run by `ledger verify` after the ledger's own:
    /// reversals never exceed what a charge credited and match their transfers; the compensation account's balance
    /// is minus what it paid; payments match their transfers; every bank's events are gap-free and their amounts
    /// match the transfers they report.
    static func reversalAndEventChecks(_ db: Database) -> [(String, () throws -> (Bool, String))] {
        func count(_ sql: String) throws -> Int64 { try Int64.fetchOne(db, sql: sql) ?? 0 }
        return [
            (
                "reversed-at-most-credited",
                {
                    let reversals = try count("SELECT count(*) FROM reversal")
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT r.charge_id, sum(r.amount_yen) AS reversed,
                                (SELECT coalesce(sum(t.amount_yen), 0) FROM transfer t
                                 WHERE t.charge_id = r.charge_id AND t.kind = 'charge') AS credited
                            FROM reversal r GROUP BY r.charge_id HAVING reversed > credited LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "charge \(row[0] as String) reversed \(row[1] as Int64) yen, credited only "
                                + "\(row[2] as Int64)"
                        )
                    }
                    return (true, "\(reversals) reversals, none beyond what its charge credited")
                }
            ),
            (
                "reversals-match-transfers",
                {
                    // Each part of a reversal is one 'reversal' transfer of its charge, to the charge's bank settlement
                    // account: the wallet part from the charge's wallet, the shortfall from the compensation account.
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT r.id FROM reversal r JOIN charge c ON c.id = r.charge_id
                            JOIN bank b ON b.code = c.bank_code JOIN wallet w ON w.id = c.wallet_id
                            LEFT JOIN transfer tw ON tw.id = r.wallet_transfer_id
                            LEFT JOIN transfer tc ON tc.id = r.compensation_transfer_id
                            WHERE (r.wallet_transfer_id IS NOT NULL AND (tw.kind <> 'reversal' OR tw.charge_id <> r.charge_id
                                    OR tw.amount_yen <> r.from_wallet_yen OR tw.debit_account_id <> w.ledger_account_id
                                    OR tw.credit_account_id <> b.settlement_account_id))
                               OR (r.compensation_transfer_id IS NOT NULL AND (tc.kind <> 'reversal'
                                    OR tc.charge_id <> r.charge_id OR tc.amount_yen <> r.from_compensation_yen
                                    OR tc.debit_account_id <> (SELECT ledger_account_id FROM operator_account
                                                               WHERE name = 'compensation')
                                    OR tc.credit_account_id <> b.settlement_account_id))
                            LIMIT 1
                            """)
                    {
                        return (false, "reversal \(id): its transfers' amounts or accounts differ from the reversal")
                    }
                    let orphans = try count(
                        """
                        SELECT count(*) FROM transfer t WHERE t.kind = 'reversal' AND NOT EXISTS (
                            SELECT 1 FROM reversal r WHERE r.wallet_transfer_id = t.id OR r.compensation_transfer_id = t.id)
                        """)
                    if orphans > 0 { return (false, "\(orphans) reversal transfers belong to no reversal") }
                    return (true, "every reversal's parts are its transfers, wallet and compensation to the bank")
                }
            ),
            (
                "compensation-balance-is-minus-paid",
                {
                    let balance = try count(
                        """
                        SELECT a.credits_posted_yen - a.debits_posted_yen FROM ledger_account a
                        JOIN operator_account o ON o.ledger_account_id = a.id WHERE o.name = 'compensation'
                        """)
                    let paid = try count("SELECT coalesce(sum(from_compensation_yen), 0) FROM reversal")
                    return (balance == -paid, "compensation account balance \(balance) yen, paid \(paid) yen")
                }
            ),
            (
                "payments-match-transfers",
                {
                    let payments = try count("SELECT count(*) FROM wallet_payment")
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT p.id FROM wallet_payment p JOIN transfer t ON t.id = p.transfer_id
                            JOIN wallet w ON w.id = p.wallet_id JOIN merchant m ON m.id = p.merchant_id
                            WHERE t.kind <> 'payment' OR t.amount_yen <> p.amount_yen
                               OR t.debit_account_id <> w.ledger_account_id OR t.credit_account_id <> m.settlement_account_id
                            LIMIT 1
                            """)
                    {
                        return (false, "payment \(id): its transfer's amount or accounts differ from the payment")
                    }
                    let orphans = try count(
                        """
                        SELECT count(*) FROM transfer t WHERE t.kind = 'payment'
                          AND NOT EXISTS (SELECT 1 FROM wallet_payment p WHERE p.transfer_id = t.id)
                        """)
                    if orphans > 0 { return (false, "\(orphans) payment transfers belong to no payment") }
                    return (true, "\(payments) wallet payments, one transfer each, wallet to merchant")
                }
            ),
            (
                "events-gap-free",
                {
                    let events = try count("SELECT count(*) FROM bank_event")
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT h.bank_code, h.last_sequence, h.pruned_through, count(e.sequence), min(e.sequence),
                                max(e.sequence)
                            FROM bank_event_head h LEFT JOIN bank_event e ON e.bank_code = h.bank_code
                            GROUP BY h.bank_code
                            HAVING count(e.sequence) <> h.last_sequence - h.pruned_through
                                OR (count(e.sequence) > 0 AND (min(e.sequence) <> h.pruned_through + 1
                                    OR max(e.sequence) <> h.last_sequence))
                            LIMIT 1
                            """)
                    {
                        let first = row[4] as Int64? ?? 0
                        let last = row[5] as Int64? ?? 0
                        return (
                            false,
                            "bank \(row[0] as String): events \(first)...\(last) (\(row[3] as Int64)) do not "
                                + "fill \(row[2] as Int64 + 1)...\(row[1] as Int64)"
                        )
                    }
                    return (true, "\(events) events, every bank's sequence without gaps")
                }
            ),
            (
                "events-match-transfers",
                {
                    // Released: the charge's one transfer, of the event's amount. Held, rejected: the charge's amount;
                    // rejected charges never credit. Reversed: the reversal's amount, which its transfers add up to
                    // (checked above); compensation: the reversal's compensation part. One event per reversal part.
                    if let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT e.bank_code, e.sequence FROM bank_event e
                            LEFT JOIN charge c ON c.id = e.charge_id
                            LEFT JOIN reversal r ON r.id = e.reversal_id
                            WHERE (e.type = 4 AND e.amount_yen IS NOT (SELECT t.amount_yen FROM transfer t
                                        WHERE t.charge_id = e.charge_id AND t.kind = 'charge'))
                               OR (e.type IN (3, 5) AND e.amount_yen IS NOT c.amount_yen)
                               OR (e.type = 5 AND EXISTS (SELECT 1 FROM transfer t WHERE t.charge_id = e.charge_id
                                        AND t.kind = 'charge'))
                               OR (e.type = 6 AND (r.charge_id IS NOT e.charge_id OR e.amount_yen <> r.amount_yen))
                               OR (e.type = 7 AND (r.charge_id IS NOT e.charge_id OR e.amount_yen <> r.from_compensation_yen
                                        OR r.from_compensation_yen = 0))
                               OR (e.type IN (3, 4, 5, 6, 7) AND c.bank_code IS NOT e.bank_code)
                            LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "bank \(row[0] as String) event \(row[1] as Int64): its amount differs from the "
                                + "transfers it reports"
                        )
                    }
                    if let id = try String.fetchOne(
                        db,
                        sql: """
                            SELECT r.id FROM reversal r
                            WHERE (SELECT h.pruned_through FROM bank_event_head h JOIN charge c ON c.bank_code = h.bank_code
                                   WHERE c.id = r.charge_id) IS NOT NULL
                              AND (SELECT h.pruned_through FROM bank_event_head h JOIN charge c ON c.bank_code = h.bank_code
                                   WHERE c.id = r.charge_id) = 0
                              AND ((SELECT count(*) FROM bank_event e WHERE e.reversal_id = r.id AND e.type = 6) <> 1
                             OR (SELECT count(*) FROM bank_event e WHERE e.reversal_id = r.id AND e.type = 7)
                                <> (r.from_compensation_yen > 0))
                            LIMIT 1
                            """)
                    {
                        return (
                            false,
                            "reversal \(id) is not reported by exactly one CHARGE_REVERSED event (and one "
                                + "COMPENSATION_PAID for a shortfall)"
                        )
                    }
                    return (true, "every event's amount matches the transfers it reports; every reversal reported")
                }
            ),
        ]
    }
}
