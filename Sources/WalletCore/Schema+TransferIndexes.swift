import GRDB

extension Schema {
    /// Issue 14: an approved charge's transfer is written into one index by its charge, not two.
    ///
    /// v9 gave `transfer` two indexes on `charge_id`: `transfer_one_per_charge` (UNIQUE, `kind = 'charge'`: the
    /// rule that a charge credits at most once) and `transfer_by_charge` (`charge_id, kind` for every transfer
    /// that names a charge). Every approved charge paid for both, and every lookup by charge the code makes asks
    /// for `kind = 'charge'`, which the unique index answers alone; reversal transfers are reached through their
    /// `reversal` row's transfer ids. So the second index goes.
    ///
    /// What it still did: index the child side of the `charge_id` foreign key, which SQLite reads only when a
    /// charge's `id` is deleted or changed. Charges are never deleted and their ids never change; were one to be,
    /// the check would scan `transfer` (slower, still exact).
    static func v14OneIndexPerChargeTransfer(_ db: Database) throws {
        try db.execute(sql: "DROP INDEX transfer_by_charge")
    }
}
