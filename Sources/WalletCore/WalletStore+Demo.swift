import GRDB
import GatewayPolicy
import GatewayWire

extension WalletStore {
    /// The SPEC §6 demo registry and wallets. Idempotent: creates what is missing and leaves what exists (an
    /// operator may have changed a demo bank's state since), so `serve --demo` can call it on every start.
    ///
    /// The PILOT and ENABLED demo banks get a passing conformance run recorded by the seed, so the registry obeys
    /// its own rule (SPEC §4) from the start.
    public func seedDemo() async throws(WalletError) {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            let actor = "operator/demo-seed"
            let banks: [(String, String, BankState, Set<String>)] = [
                ("9900", "ゆうちょ銀行", .enabled, []),
                ("0001", "みずほ銀行", .pilot, ["W0000002"]),
                ("0005", "三菱UFJ銀行", .pending, []),
                ("0009", "三井住友銀行", .suspended, []),
            ]
            for (code, name, bankState, pilot) in banks
            where try !(Bool.fetchOne(db, sql: "SELECT 1 FROM bank WHERE code = ?", arguments: [code]) ?? false) {
                try db.execute(sql: "INSERT INTO ledger_account(kind) VALUES ('bank_settlement')")
                let defaults = BankProfile()
                try db.execute(
                    sql: """
                        INSERT INTO bank(code, name, settlement_account_id, link_state, charge_state, max_charge_yen,
                            max_daily_yen_per_wallet, max_monthly_yen_per_wallet, new_link_max_charge_yen,
                            new_link_caution_ms, charge_requires_customer_auth, required_ekyc_methods, pinned_spki_sha256,
                            max_requests_per_second, created_at_unix_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', NULL, ?, ?)
                        """,
                    arguments: [
                        code, name, db.lastInsertedRowID, bankState.rawValue, bankState.rawValue, defaults.maxChargeYen,
                        defaults.maxDailyYenPerWallet, defaults.maxMonthlyYenPerWallet, defaults.newLinkMaxChargeYen,
                        defaults.newLinkCautionMs, defaults.maxRequestsPerSecond, now,
                    ])
                for id in pilot {
                    try db.execute(
                        sql: "INSERT INTO bank_pilot_wallet(bank_code, wallet_id) VALUES (?, ?)",
                        arguments: [code, id])
                }
                if bankState == .pilot || bankState == .enabled {
                    try db.execute(
                        sql: """
                            INSERT INTO conformance_run(bank_code, passed, ran_at_unix_ms, detail, recorded_by)
                            VALUES (?, 1, ?, 'demo seed', ?)
                            """, arguments: [code, now, actor])
                }
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: actor, action: "bank.register", subject: code,
                    reason: "demo seed (SPEC §6)", detail: "\(bankState)")
            }
            // (id, eKYC status, method, kana name, phone verified)
            let wallets: [(String, EkycStatus, EkycMethod, String, Bool)] = [
                ("W0000001", .verified, .heICChipAndSelfie, "ヤマダ ハナコ", true),
                ("W0000002", .verified, .heICChipAndSelfie, "スズキ イチロウ", true),
                ("W0000003", .none, .unspecified, "", false),
                ("W0000004", .verified, .heICChipAndSelfie, "タナカ ジロウ", false),
            ]
            for (id, status, method, name, phone) in wallets
            where try !(Bool.fetchOne(db, sql: "SELECT 1 FROM wallet WHERE id = ?", arguments: [id]) ?? false) {
                try db.execute(
                    sql: "INSERT INTO ledger_account(kind, balance_cap_yen) VALUES ('wallet', ?)",
                    arguments: [WalletFacts.balanceCapYenDefault])
                try db.execute(
                    sql: """
                        INSERT INTO wallet(id, ledger_account_id, is_test, ekyc_status, ekyc_method, ekyc_name_kana,
                            ekyc_verified_at_unix_ms, phone_verified, link_locked, consecutive_link_declines,
                            charge_frozen, created_at_unix_ms)
                        VALUES (?, ?, 0, ?, ?, ?, ?, ?, 0, 0, 0, ?)
                        """,
                    arguments: [
                        id, db.lastInsertedRowID, status.rawValue, method.rawValue, name,
                        status == .verified ? now : 0, phone, now,
                    ])
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: actor, action: "wallet.register", subject: id,
                    reason: "demo seed (SPEC §6)", detail: "\(status)")
            }
        }
    }
}
