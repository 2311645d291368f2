import GRDB

extension Schema {
    /// Issue 14: a new charge is written into one index by who it credits, not two.
    ///
    /// Before v15 every charge went into `charge_by_link_time (link_id, …)` and `charge_by_wallet_time (wallet_id,
    /// …)`. Link ids are random, so the first put each charge on a page of its own: in the WAL of a peak-load run
    /// it was half of all frames written (1,713 of 3,377), each one written again by the checkpoint. Every charge on
    /// a link carries that link's wallet (`ledger verify` checks it), so the link's charges are the wallet's charges
    /// with that `link_id`: the wallet index, carrying `link_id` as well, answers the link questions too.
    ///
    /// What it costs: a link's recent charges are found by reading the wallet's charges in the window (newest first,
    /// stopping at the counting limit), and "has this link ever been charged" reads the wallet's charges until one is
    /// the link's. Both run only when the writer's facts cache does not know the answer, and the second only for a
    /// token that moved wallets (`Ledger.firstChargeAfterTokenMovedWallets` asks that first).
    static func v15ChargeLinksThroughWalletIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP INDEX charge_by_link_time;
                DROP INDEX charge_by_wallet_time;
                CREATE INDEX charge_by_wallet_time
                    ON charge(wallet_id, created_at_unix_ms, decision, amount_yen, link_id);
                """)
    }
}
