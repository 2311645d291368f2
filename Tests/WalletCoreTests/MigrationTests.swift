import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// The issue-16 migrations on a database as v2 shipped it: open holds become reservations, old idempotency digests
/// still answer their retries, old unused link codes (plain SHA-256) are gone.
final class MigrationTests: XCTestCase {
    func testAV2DatabaseKeepsItsHoldsReservedAndItsStoredAnswers() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v2-audit-chain")
        let legacyDigest = [UInt8](repeating: 7, count: 32)
        try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 1, walletAccountID: 2, balanceCapYen: 1000000)
            try db.execute(
                sql: """
                    INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                        rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature)
                    VALUES ('ch_held', '9900', 'r-held', 'ln_1', 'W0000001', 45000, 2, 0, 'near', 1, ?, ?, x'01');
                    INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                        decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms)
                    VALUES ('9900', 'r-held', 'charge', ?, 2, 'ch_held', 0, ?, x'01', 0, ?);
                    INSERT INTO link_code(code_sha256, wallet_id, issued_at_unix_ms, expires_at_unix_ms)
                    VALUES (zeroblob(32), 'W0000001', 1, 2);
                    """, arguments: [noonTokyo, noonTokyo, Data(legacyDigest), noonTokyo, noonTokyo])
        }
        try queue.close()

        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo + 60_000 })
        let reserved = try await store.wallet(id: "W0000001")?.reservedYen
        XCTAssertEqual(reserved, 45_000, "the open hold reserves its amount")
        let codes = try await store.count("SELECT count(*) FROM link_code")
        XCTAssertEqual(codes, 0, "an unused plain-hash code is dropped")
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")

        // A retry of the pre-migration request, with its original sent_at (so the legacy digest matches) and a new
        // digest that differs from what was stored: answered from the store.
        let retry = try await store.submitCharge(
            chargeRequest("r-held", link: "ln_1", yen: 45_000), bankCode: "9900",
            bodyDigest: [UInt8](repeating: 9, count: 32), legacyBodyDigest: legacyDigest,
            decide: approveAll, sign: testSign)
        XCTAssertEqual(retry.chargeID, "ch_held")
        XCTAssertEqual(retry.decision, .held)
        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("r-held", link: "ln_1", yen: 45_000), bankCode: "9900",
                bodyDigest: [UInt8](repeating: 9, count: 32), legacyBodyDigest: [UInt8](repeating: 8, count: 32),
                decide: approveAll, sign: testSign),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "r-held"))

        let released = try await store.releaseHold(chargeID: "ch_held", audit: operatorAudit, sign: testSign)
        XCTAssertEqual(released.state, .released)
        let balance = try await store.wallet(id: "W0000001")
        XCTAssertEqual(balance?.balanceYen, 45_000)
        XCTAssertEqual(balance?.reservedYen, 0)
        let after = try await store.verifyLedger()
        XCTAssertTrue(after.passed, "\(after.checks)")
    }

    /// v12 makes a final charge its own idempotency record; a charge written before keeps its record in
    /// `idempotency`, which still answers its retries (and refuses another body), and the two homes never both hold
    /// one key.
    func testChargesWrittenBeforeV12AreStillAnsweredFromTheirIdempotencyRecord() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v11-wallet-credits-covered")
        let storedDigest = [UInt8](repeating: 5, count: 32)
        try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 11, walletAccountID: 12, balanceCapYen: 100000)
            try db.execute(
                sql: """
                    INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                        rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature)
                    VALUES ('ch_ok', '9900', 'r-ok', 'ln_1', 'W0000001', 7000, 1, 0, 'approved', 0, ?, ?, x'01');
                    INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    VALUES (11, 12, 7000, 'charge', 'ch_ok', ?, 0, 0);
                    INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                        decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms,
                        body_digest_version)
                    VALUES ('9900', 'r-ok', 'charge', ?, 1, 'ch_ok', 0, ?, x'01', 0, ?, 2);
                    """, arguments: [noonTokyo, noonTokyo, noonTokyo, Data(storedDigest), noonTokyo, noonTokyo])
        }
        try queue.close()

        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo + 60_000 })
        let migrated = try await store.verifyLedger()
        XCTAssertTrue(migrated.passed, "\(migrated.checks)")
        let retry = try await store.submitCharge(
            chargeRequest("r-ok", link: "ln_1", yen: 7_000), bankCode: "9900", bodyDigest: storedDigest,
            decide: approveAll, sign: testSign)
        XCTAssertEqual(retry.chargeID, "ch_ok")
        XCTAssertEqual(retry.decision, .approved)
        XCTAssertEqual(retry.receiptSignature, [1])
        await XCTAssertThrowsWalletError(
            try await store.submitCharge(
                chargeRequest("r-ok", link: "ln_1", yen: 7_000), bankCode: "9900", bodyDigest: digest("other"),
                decide: approveAll, sign: testSign),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "r-ok"))

        let fresh = try await store.submitCharge(
            chargeRequest("r-new", link: "ln_1", yen: 1_000), bankCode: "9900", bodyDigest: digest("r-new"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(fresh.decision, .approved)
        let homes = try await store.count(
            """
            SELECT (SELECT count(*) FROM charge WHERE request_id = 'r-new' AND body_sha256 IS NOT NULL) * 10
                + (SELECT count(*) FROM idempotency WHERE request_id = 'r-new')
                + (SELECT count(*) FROM charge WHERE request_id = 'r-ok' AND body_sha256 IS NOT NULL) * 100
            """)
        XCTAssertEqual(homes, 10, "the new charge is its own record; the old one's stays where it was")
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 8_000, "the retry credited nothing")
        let after = try await store.verifyLedger()
        XCTAssertTrue(after.passed, "\(after.checks)")
    }

    /// v13 rebuilds `charge` and `transfer` with their IN-list CHECKs as comparisons: the rows (rowids included),
    /// indexes and triggers are as they were, the same values are refused, and neither insert builds a temporary
    /// B-tree any more (what it was for: ~3 µs per insert).
    func testV13KeepsTheChargeAndTransferTablesWholeAndTheirRulesWithoutTemporaryBTrees() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v12-charge-is-its-own-record")
        let schemaSQL = """
            SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema
            WHERE tbl_name IN ('charge', 'transfer') AND type IN ('index', 'trigger') AND sql IS NOT NULL
            ORDER BY type, name
            """
        let rowsSQL = [
            "SELECT rowid, * FROM charge ORDER BY rowid", "SELECT * FROM transfer ORDER BY id",
        ]
        @Sendable func rows(_ db: Database) throws -> [[String]] {
            try rowsSQL.map { sql in try Row.fetchAll(db, sql: sql).map { "\($0)" } }
        }
        let (kept, before) = try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 11, walletAccountID: 12, balanceCapYen: 100000)
            // Rowids out of insertion order, to see they are kept.
            try db.execute(
                sql: """
                    INSERT INTO charge(rowid, id, bank_code, request_id, link_id, wallet_id, amount_yen, decision,
                        decline_reason, rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature,
                        receipt_key_id, body_sha256)
                    VALUES (7, 'ch_a', '9900', 'r-a', 'ln_1', 'W0000001', 7000, 1, 0, 'approved', 0, ?, ?, x'01', 'k1',
                        zeroblob(32)),
                        (3, 'ch_d', '9900', 'r-d', 'ln_1', 'W0000001', 500, 3, 4, 'limit', 0, ?, ?, x'02', 'k1',
                        zeroblob(32));
                    INSERT INTO transfer(id, debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                        created_at_unix_ms, tokyo_day, tokyo_month)
                    VALUES (5, 11, 12, 7000, 'charge', 'ch_a', ?, 0, 0);
                    """, arguments: [noonTokyo, noonTokyo, noonTokyo, noonTokyo, noonTokyo])
            return (try String.fetchAll(db, sql: schemaSQL), try rows(db))
        }
        try queue.close()

        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo + 60_000 })
        let (after, afterRows, tables) = try await store.pool.read { db in
            (
                try String.fetchAll(db, sql: schemaSQL), try rows(db),
                try String.fetchAll(
                    db, sql: "SELECT sql FROM sqlite_schema WHERE name IN ('charge', 'transfer') ORDER BY name")
            )
        }
        // The store migrates past v13: v14 drops `transfer_by_charge`, v15 folds `charge_by_link_time` into
        // `charge_by_wallet_time` (their own tests below).
        let v15WalletIndex = """
            index charge_by_wallet_time: CREATE INDEX charge_by_wallet_time
                ON charge(wallet_id, created_at_unix_ms, decision, amount_yen, link_id)
            """
        XCTAssertEqual(
            after,
            kept.filter { !$0.hasPrefix("index transfer_by_charge:") && !$0.hasPrefix("index charge_by_link_time:") }
                .map { $0.hasPrefix("index charge_by_wallet_time:") ? v15WalletIndex : $0 },
            "the same indexes and triggers, word for word")
        XCTAssertEqual(afterRows, before, "every row, rowids included")
        XCTAssertEqual(tables.count, 2)
        XCTAssertFalse(tables.joined().contains("decision IN ("), tables.joined())
        XCTAssertFalse(tables.joined().contains("kind IN ('charge'"), tables.joined())
        let verified = try await store.verifyLedger()
        XCTAssertTrue(verified.passed, "\(verified.checks)")

        @Sendable func charge(id: String, decision: Int) -> String {
            """
            INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature)
            VALUES ('\(id)', '9900', 'r-\(id)', 'ln_1', 'W0000001', 1, \(decision), 0, 'x', 0, 0, 0, x'01')
            """
        }
        @Sendable func transfer(kind: String) -> String {
            """
            INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                created_at_unix_ms, tokyo_day, tokyo_month)
            VALUES (11, 12, 1, '\(kind)', 'ch_a', 0, 0, 0)
            """
        }
        let refused = try await store.pool.write { db -> [String] in
            var refused: [String] = []
            for (what, sql) in [
                ("decision 4", charge(id: "ch_x", decision: 4)), ("decision 0", charge(id: "ch_y", decision: 0)),
                ("kind gift", transfer(kind: "gift")), ("kind Charge", transfer(kind: "Charge")),
            ] {
                do {
                    try db.execute(sql: sql)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    refused.append(what)
                }
            }
            return refused
        }
        XCTAssertEqual(refused, ["decision 4", "decision 0", "kind gift", "kind Charge"])

        // On the writing connection: a read-only one compiles an INSERT without its CHECKs.
        let ephemeral = try await store.pool.write { db in
            try [
                """
                INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                    rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature, receipt_key_id,
                    body_sha256)
                VALUES ('c', '9900', 'r', 'l', 'w', 1, 1, 0, 'x', 0, 1, 1, x'00', 'k', x'00')
                """,
                """
                INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                    created_at_unix_ms, tokyo_day, tokyo_month)
                VALUES (1, 2, 3, 'charge', 'c', 1, 1, 1)
                """,
            ].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN " + sql).filter { ($0["opcode"] as String) == "OpenEphemeral" }.count
            }
        }
        XCTAssertEqual(ephemeral, [0, 0], "a charge's two inserts build no temporary B-tree")
    }

    /// v14 drops `transfer_by_charge`: an approved charge's transfer goes into one index by its charge (the unique
    /// one), every lookup by charge the code makes is answered by that index, and a second credit of a charge is
    /// still refused.
    func testV14WritesAChargeTransferIntoOneIndexByChargeAndEveryLookupByChargeStillUsesAnIndex() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v13-constraints-without-lists")
        let transferInsert = """
            INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id, created_at_unix_ms,
                tokyo_day, tokyo_month)
            VALUES (11, 12, ?, 'charge', ?, 0, 0, 0)
            """
        @Sendable func indexInserts(_ db: Database) throws -> Int {
            try Self.indexesOpenedForWriting(db, table: "transfer", by: transferInsert, arguments: [1, "c"])
        }
        let insertsBefore = try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 11, walletAccountID: 12, balanceCapYen: 100000)
            try db.execute(
                sql: """
                    INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision,
                        decline_reason, rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature,
                        receipt_key_id, body_sha256)
                    VALUES ('ch_a', '9900', 'r-a', 'ln_1', 'W0000001', 7000, 1, 0, 'approved', 0, ?, ?, x'01', 'k1',
                        zeroblob(32))
                    """, arguments: [noonTokyo, noonTokyo])
            try db.execute(sql: transferInsert, arguments: [7000, "ch_a"])
            return try indexInserts(db)
        }
        try queue.close()
        XCTAssertEqual(insertsBefore, 2, "v13: transfer_one_per_charge and transfer_by_charge")

        let lookupsByCharge: [(sql: String, arguments: StatementArguments)] = [
            (WalletStore.creditedYenSQL, ["ch_a"]),
            // LedgerVerification: one transfer per approved charge.
            (
                """
                SELECT c.id FROM charge c WHERE c.decision = 1
                  AND (SELECT count(*) FROM transfer t WHERE t.charge_id = c.id AND t.kind = 'charge') <> 1
                """, []
            ),
        ]
        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo + 60_000 })
        // On the writing connection: a read-only one compiles an INSERT without its index maintenance.
        let (indexes, insertsAfter, plans) = try await store.pool.write { db in
            (
                try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'transfer' ORDER BY 1"),
                try indexInserts(db),
                try lookupsByCharge.map { query in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: query.arguments)
                        .map { $0["detail"] as String }.joined(separator: "; ")
                }
            )
        }
        XCTAssertEqual(indexes, ["transfer_one_per_charge"])
        XCTAssertEqual(insertsAfter, 1, "an approved charge's transfer is written into one index")
        for plan in plans {
            XCTAssertTrue(plan.contains("INDEX transfer_one_per_charge"), plan)
        }
        let verified = try await store.verifyLedger()
        XCTAssertTrue(verified.passed, "\(verified.checks)")
        do {
            try await store.pool.write { db in try db.execute(sql: transferInsert, arguments: [1, "ch_a"]) }
            XCTFail("a second credit of ch_a was written")
        } catch let error as DatabaseError {
            XCTAssertEqual(error.resultCode, .SQLITE_CONSTRAINT, "\(error)")
        }
    }

    /// v15 folds `charge_by_link_time` into `charge_by_wallet_time`: a new charge is written into one index fewer,
    /// and every question asked of a link's charges (recent ones over the token's links to the wallet, any earlier
    /// one) gets the answer it got through the link index.
    func testV15WritesAChargeIntoOneIndexFewerAndALinksChargesAreStillFoundExactly() async throws {
        let directory = TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.databasePath)
        try Schema.migrator.migrate(queue, upTo: "v14-one-index-per-charge-transfer")
        let chargeInsert = """
            INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason, rule,
                hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature, receipt_key_id, body_sha256)
            VALUES (?, '9900', ?, ?, 'W0000001', ?, ?, ?, 'r', 0, ?, ?, x'01', 'k1', zeroblob(32))
            """
        @Sendable func indexInserts(_ db: Database) throws -> Int {
            try Self.indexesOpenedForWriting(
                db, table: "charge", by: chargeInsert, arguments: ["ch_x", "r-x", "ln_1", 1, 1, 0, 0, 0])
        }
        let minute: Int64 = 60_000
        // (id, link, yen, decision, minutes before noon): ln_0 is the token's earlier link to the same wallet, ln_2
        // another token's, ln_3 has only a decline.
        let charges: [(String, String, Int64, Int, Int64)] = [
            ("ch_1", "ln_0", 100, 1, 5), ("ch_2", "ln_1", 200, 1, 2), ("ch_3", "ln_1", 300, 3, 1),
            ("ch_4", "ln_2", 400, 1, 3), ("ch_5", "ln_1", 50, 1, 20), ("ch_6", "ln_3", 60, 3, 4),
        ]
        let links = [
            LinkFacts(
                id: "ln_1", bankCode: "9900", walletID: "W0000001", bankAccountToken: "tok", active: true,
                linkedAtUnixMs: 0),
            LinkFacts(
                id: "ln_2", bankCode: "9900", walletID: "W0000001", bankAccountToken: "other", active: true,
                linkedAtUnixMs: 0),
            LinkFacts(
                id: "ln_3", bankCode: "9900", walletID: "W0000001", bankAccountToken: "tok3", active: true,
                linkedAtUnixMs: 0),
        ]
        let v14Recent = """
            SELECT c.created_at_unix_ms FROM link l JOIN charge c ON c.link_id = l.id
            WHERE l.bank_code = ? AND l.bank_account_token = ? AND +l.wallet_id = ?
              AND c.created_at_unix_ms >= ? AND c.decision <> 3
            ORDER BY c.created_at_unix_ms DESC LIMIT ?
            """
        let since = noonTokyo - 10 * minute
        let (insertsBefore, recentBefore, earlierBefore) = try await queue.write { db in
            try LegacyFixture.insertBankWalletLink(
                db, settlementAccountID: 11, walletAccountID: 12, balanceCapYen: 100000)
            try db.execute(
                sql: """
                    INSERT INTO link(id, bank_code, wallet_id, bank_account_token, active, linked_at_unix_ms,
                        unlinked_at_unix_ms, unlink_reason)
                    VALUES ('ln_0', '9900', 'W0000001', 'tok', 0, 0, 1, 'moved'),
                        ('ln_2', '9900', 'W0000001', 'other', 1, 0, NULL, NULL),
                        ('ln_3', '9900', 'W0000001', 'tok3', 1, 0, NULL, NULL)
                    """)
            for (id, link, yen, decision, minutesBefore) in charges {
                let at = noonTokyo - minutesBefore * minute
                try db.execute(
                    sql: chargeInsert, arguments: [id, "r-" + id, link, yen, decision, decision == 3 ? 4 : 0, at, at])
                if decision == 1 {
                    try db.execute(
                        sql: """
                            INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                                created_at_unix_ms, tokyo_day, tokyo_month)
                            VALUES (11, 12, ?, 'charge', ?, ?, ?, ?)
                            """,
                        arguments: [
                            yen, id, at, TokyoTime.dayIndex(ofUnixMs: at), TokyoTime.monthIndex(ofUnixMs: at),
                        ])
                }
            }
            return (
                try indexInserts(db),
                try links.map { link in
                    try Int64.fetchAll(
                        db, sql: v14Recent, arguments: [link.bankCode, link.bankAccountToken, link.walletID, since, 64])
                },
                try (links.map(\.id) + ["ln_0", "ln_9"]).map { id in
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM charge WHERE link_id = ? AND decision <> 3 LIMIT 1", arguments: [id])
                        ?? false
                }
            )
        }
        try queue.close()
        XCTAssertEqual(
            recentBefore, [[noonTokyo - 2 * minute, noonTokyo - 5 * minute], [noonTokyo - 3 * minute], []],
            "v14: the token's charges to the wallet over both its links, in the window, declines left out")
        XCTAssertEqual(earlierBefore, [true, true, false, true, false])

        let store = try WalletStore(stateDirectory: directory.path, create: false, clock: { noonTokyo })
        let (indexes, insertsAfter, recentAfter, countsAfter, earlierAfter) = try await store.pool.write { db in
            (
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'charge' AND sql IS NOT NULL"
                        + " ORDER BY 1"),
                try indexInserts(db),
                try links.map { link in
                    // The wallet's window as the facts cache keeps it, narrowed to the link's token, newest first.
                    Array(
                        try Ledger.recentChargesToWallet(db, walletID: link.walletID, sinceUnixMs: since, limit: 64)
                            .filter { $0.bankCode == link.bankCode && $0.token == link.bankAccountToken }
                            .map(\.atUnixMs).reversed())
                },
                try links.map { try Ledger.recentChargeCount(db, link: $0, sinceUnixMs: since, limit: 64) },
                try (links.map(\.id) + ["ln_0", "ln_9"]).map { id in
                    try db.fetchFirstDirect(
                        Ledger.earlierChargeOnLinkSQL,
                        {
                            $0.bind("W0000001")
                            $0.bind(id)
                        }, read: { _ in true }) ?? false
                }
            )
        }
        XCTAssertEqual(indexes, ["charge_by_wallet_hold", "charge_by_wallet_time", "charge_open_hold"])
        XCTAssertEqual(insertsAfter, insertsBefore - 1, "a charge is written into one index fewer")
        XCTAssertEqual(recentAfter, recentBefore)
        XCTAssertEqual(countsAfter, recentBefore.map(\.count))
        let saturated = try await store.pool.read { db in
            try links.map { try Ledger.recentChargeCount(db, link: $0, sinceUnixMs: since, limit: 1) }
        }
        XCTAssertEqual(saturated, [1, 1, 0], "saturating at the limit")
        XCTAssertEqual(earlierAfter, earlierBefore)
        let verified = try await store.verifyLedger()
        XCTAssertTrue(verified.passed, "\(verified.checks)")
    }

    func testTheDatabaseAndItsWALFilesAreOwnerOnly() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path)
        try await store.seedDemo()
        for file in [
            directory.databasePath, directory.databasePath + "-wal", directory.databasePath + "-shm",
            (directory.path as NSString).appendingPathComponent(LinkCodeKey.fileName),
        ] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600, file)
        }
    }

    func testVerifyNamesAReservationThatDoesNotMatchItsPendingTransfers() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)
        let healthy = try await store.verifyLedger()
        XCTAssertTrue(healthy.passed, "\(healthy.checks)")
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE ledger_account SET pending_credits_yen = 0 WHERE kind = 'wallet'")
        }
        let broken = try await store.verifyLedger()
        XCTAssertEqual(broken.firstFailure?.name, "reservations-match-pending-transfers")
    }

    /// The indexes of `table` that `insert` opens for writing (by root page: its trigger subprograms write other
    /// tables' indexes).
    private static func indexesOpenedForWriting(
        _ db: Database, table: String, by insert: String, arguments: StatementArguments
    ) throws -> Int {
        let roots = Set(
            try Int.fetchAll(
                db, sql: "SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?", arguments: [table])
        )
        return try Row.fetchAll(db, sql: "EXPLAIN " + insert, arguments: arguments)
            .filter { ($0["opcode"] as String) == "OpenWrite" && roots.contains($0["p2"]) }.count
    }
}
