import Foundation
import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

/// The SQL that reads the checks' facts. Used by the writer inside its batch transaction and by the reads on a
/// pool reader; every query is a primary-key or index lookup (see the indexes in `Schema`).
enum Ledger {

    // MARK: Banks

    static func bankRecord(_ db: Database, code: String) throws -> (record: BankRecord, settlementAccountID: Int64)? {
        guard
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM bank WHERE code = ?"), arguments: [code])
        else { return nil }
        let pilot = try String.fetchSet(
            db.cachedStatement(sql: "SELECT wallet_id FROM bank_pilot_wallet WHERE bank_code = ?"), arguments: [code])
        let lastPass = try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT max(ran_at_unix_ms) FROM conformance_run WHERE bank_code = ? AND passed = 1
                    """), arguments: [code])
        let methods = (row["required_ekyc_methods"] as String).split(separator: ",").compactMap {
            Int32($0).flatMap(EkycMethod.init(rawValue:))
        }
        let profile = BankProfile(
            maxChargeYen: row["max_charge_yen"],
            maxDailyYenPerWallet: row["max_daily_yen_per_wallet"],
            maxMonthlyYenPerWallet: row["max_monthly_yen_per_wallet"],
            newLinkMaxChargeYen: row["new_link_max_charge_yen"],
            newLinkCautionMs: row["new_link_caution_ms"],
            chargeRequiresCustomerAuth: row["charge_requires_customer_auth"],
            requiredEkycMethods: Set(methods),
            pinnedSPKISHA256: (row["pinned_spki_sha256"] as Data?).map { [UInt8]($0) },
            maxRequestsPerSecond: row["max_requests_per_second"])
        let facts = BankFacts(
            code: code,
            linkState: BankState(rawValue: row["link_state"]) ?? .unspecified,
            chargeState: BankState(rawValue: row["charge_state"]) ?? .unspecified,
            profile: profile,
            pilotWalletIDs: pilot)
        return (
            BankRecord(facts: facts, name: row["name"], lastPassingConformanceAtUnixMs: lastPass),
            row["settlement_account_id"]
        )
    }

    // MARK: Wallets

    struct WalletRow: Equatable {
        var record: WalletRecord
        var ledgerAccountID: Int64
    }

    static func wallet(_ db: Database, id: String) throws -> WalletRow? {
        try db.fetchFirstDirect(
            """
            SELECT w.is_test, w.ekyc_status, w.ekyc_method, w.ekyc_name_kana, w.ekyc_verified_at_unix_ms,
                   w.phone_verified, w.link_locked, w.charge_frozen, a.credits_posted_yen - a.debits_posted_yen,
                   a.balance_cap_yen, w.consecutive_link_declines, w.ledger_account_id, a.pending_credits_yen
            FROM wallet w JOIN ledger_account a ON a.id = w.ledger_account_id WHERE w.id = ?
            """,
            { $0.bind(id) }
        ) { row in
            let facts = WalletFacts(
                id: id,
                isTest: row.bool(0),
                ekycStatus: EkycStatus(rawValue: Int32(row.int64(1))) ?? .unspecified,
                ekycMethod: EkycMethod(rawValue: Int32(row.int64(2))) ?? .unspecified,
                ekycNameKana: row.text(3),
                ekycVerifiedAtUnixMs: row.int64(4),
                phoneVerified: row.bool(5),
                linkLocked: row.bool(6),
                chargeFrozen: row.bool(7),
                balanceYen: row.int64(8),
                balanceCapYen: row.int64(9),
                reservedYen: row.int64(12))
            return WalletRow(
                record: WalletRecord(facts: facts, consecutiveLinkDeclines: row.int(10)), ledgerAccountID: row.int64(11)
            )
        }
    }

    static func chargedTotals(_ db: Database, walletAccountID: Int64, atUnixMs: Int64) throws -> ChargedTotals {
        func charged(_ period: String, _ index: Int64) throws -> Int64 {
            try db.fetchFirstDirect(
                """
                SELECT charged_yen FROM wallet_charged_total
                WHERE wallet_account_id = ? AND period = ? AND period_index = ?
                """,
                {
                    $0.bind(walletAccountID)
                    $0.bind(period)
                    $0.bind(index)
                }, read: { $0.int64(0) }) ?? 0
        }
        return ChargedTotals(
            dayYen: try charged("day", TokyoTime.dayIndex(ofUnixMs: atUnixMs)),
            monthYen: try charged("month", TokyoTime.monthIndex(ofUnixMs: atUnixMs)))
    }

    /// Open holds (pending transfers) to the wallet made on the Tokyo day and in the Tokyo month containing
    /// `atUnixMs`: what they reserve against the daily and monthly limits.
    static func reservedTotals(_ db: Database, walletAccountID: Int64, atUnixMs: Int64) throws -> ChargedTotals {
        try db.fetchFirstDirect(
            """
            SELECT coalesce(sum(CASE WHEN tokyo_day = ? THEN amount_yen END), 0),
                   coalesce(sum(CASE WHEN tokyo_month = ? THEN amount_yen END), 0)
            FROM pending_transfer WHERE credit_account_id = ? AND state = 'pending'
            """,
            {
                $0.bind(TokyoTime.dayIndex(ofUnixMs: atUnixMs))
                $0.bind(TokyoTime.monthIndex(ofUnixMs: atUnixMs))
                $0.bind(walletAccountID)
            }, read: { ChargedTotals(dayYen: $0.int64(0), monthYen: $0.int64(1)) })
            ?? ChargedTotals(dayYen: 0, monthYen: 0)
    }

    // MARK: Links

    static func link(_ db: Database, id: String) throws -> LinkFacts? {
        try db.fetchFirstDirect(
            "SELECT bank_code, wallet_id, bank_account_token, active, linked_at_unix_ms FROM link WHERE id = ?",
            { $0.bind(id) }
        ) { row in
            LinkFacts(
                id: id, bankCode: row.text(0), walletID: row.text(1), bankAccountToken: row.text(2),
                active: row.bool(3), linkedAtUnixMs: row.int64(4))
        }
    }

    static func linkCode(_ db: Database, mac: [UInt8]) throws -> LinkCodeFacts? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM link_code WHERE code_mac = ?"), arguments: [Data(mac)])
        else { return nil }
        return LinkCodeFacts(
            walletID: row["wallet_id"], expiresAtUnixMs: row["expires_at_unix_ms"],
            used: (row["used_at_unix_ms"] as Int64?) != nil)
    }

    /// The bank's token is actively linked to any wallet, the asking one included (SPEC §4).
    static func tokenActivelyLinked(_ db: Database, bankCode: String, token: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT 1 FROM link WHERE bank_code = ? AND bank_account_token = ? AND active = 1 LIMIT 1
                    """), arguments: [bankCode, token]) != nil
    }

    /// Charges (any decision but DECLINED) to the link's wallet from the link's bank account token, over every link
    /// that token ever had to that wallet, since `sinceUnixMs`; saturating at `limit`.
    ///
    /// The wallet's charges in the window, newest first, through `charge_by_wallet_time` alone (v15: it carries
    /// `link_id`; every charge on a link carries the link's wallet), kept when their link is one of the token's to
    /// this wallet (`link_by_token`: a token has a link or two; `+wallet_id` keeps the planner off `link_by_wallet`).
    static func recentChargeCount(_ db: Database, link: LinkFacts, sinceUnixMs: Int64, limit: Int) throws -> Int {
        try db.fetchFirstDirect(
            recentChargeCountSQL,
            {
                $0.bind(link.bankCode)
                $0.bind(link.bankAccountToken)
                $0.bind(link.walletID)
                $0.bind(sinceUnixMs)
                $0.bind(limit)
            }, read: { $0.int(0) }) ?? 0
    }

    static let recentChargeCountSQL = """
        SELECT count(*) FROM (SELECT 1 FROM charge c
            WHERE c.wallet_id = ?3 AND c.created_at_unix_ms >= ?4 AND c.decision <> 3
              AND c.link_id IN (SELECT id FROM link WHERE bank_code = ?1 AND bank_account_token = ?2 AND +wallet_id = ?3)
            LIMIT ?5)
        """

    /// The wallet's charges (any decision but DECLINED) since `sinceUnixMs`, oldest first, at most `limit`, each with
    /// its link's bank and token: what the writer's facts cache keeps to count every token's recent charges to the
    /// wallet (`recentChargeCount`) from one read, so a wallet's other links, new ones included, read nothing.
    static func recentChargesToWallet(
        _ db: Database, walletID: String, sinceUnixMs: Int64, limit: Int
    ) throws -> [ChargeFactsCache.RecentCharge] {
        try db.fetchAllDirect(
            recentChargesToWalletSQL,
            {
                $0.bind(walletID)
                $0.bind(sinceUnixMs)
                $0.bind(limit)
            },
            read: { ChargeFactsCache.RecentCharge(atUnixMs: $0.int64(0), bankCode: $0.text(1), token: $0.text(2)) })
    }

    /// The wallet's window from the covering `charge_by_wallet_time`, then each charge's link by its key (CROSS JOIN
    /// keeps that order: the wallet's few charges first, not every link).
    static let recentChargesToWalletSQL = """
        SELECT c.created_at_unix_ms, l.bank_code, l.bank_account_token FROM charge c CROSS JOIN link l ON l.id = c.link_id
        WHERE c.wallet_id = ? AND c.created_at_unix_ms >= ? AND c.decision <> 3
        ORDER BY c.created_at_unix_ms LIMIT ?
        """

    /// This would be the link's first (non-declined) charge, and its token was linked to another wallet of the same
    /// bank at some moment in the 30 days before this link was made.
    ///
    /// The token's other links first (`link_by_token`, a link or two): the link's earlier charges are found only
    /// through its wallet's (`earlierChargeOnLinkSQL`), which reads more, and only a moved token needs them.
    static func firstChargeAfterTokenMovedWallets(_ db: Database, link: LinkFacts) throws -> Bool {
        guard try tokenWasLinkedToAnotherWallet(db, link: link) else { return false }
        let hasEarlierCharge =
            try db.fetchFirstDirect(
                earlierChargeOnLinkSQL,
                {
                    $0.bind(link.walletID)
                    $0.bind(link.id)
                }, read: { _ in true }) != nil
        return !hasEarlierCharge
    }

    /// A non-declined charge on the link: its wallet's charges through `charge_by_wallet_time` (which carries
    /// `link_id`), oldest first, until one is the link's.
    static let earlierChargeOnLinkSQL = """
        SELECT 1 FROM charge WHERE wallet_id = ? AND link_id = ? AND decision <> 3 LIMIT 1
        """

    /// The link's token was linked to another wallet of the same bank in the 30 days before this link was made.
    private static func tokenWasLinkedToAnotherWallet(_ db: Database, link: LinkFacts) throws -> Bool {
        let windowMs = ChargeRules.tokenMovedWindowMs
        return try db.fetchFirstDirect(
            """
            SELECT 1 FROM link
            WHERE bank_code = ? AND bank_account_token = ? AND wallet_id <> ? AND id <> ?
              AND linked_at_unix_ms <= ?
              AND (unlinked_at_unix_ms IS NULL OR unlinked_at_unix_ms >= ?)
            LIMIT 1
            """,
            {
                $0.bind(link.bankCode)
                $0.bind(link.bankAccountToken)
                $0.bind(link.walletID)
                $0.bind(link.id)
                $0.bind(link.linkedAtUnixMs)
                $0.bind(link.linkedAtUnixMs - windowMs)
            }, read: { _ in true }) != nil
    }

    // MARK: Charges

    static func chargeResponse(_ db: Database, bankCode: String, requestID: String) throws -> ChargeResponse? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT id, decision, decline_reason, processed_at_unix_ms, receipt_signature, receipt_key_id,
                               link_id, amount_yen FROM charge
                        WHERE bank_code = ? AND request_id = ?
                        """), arguments: [bankCode, requestID])
        else { return nil }
        var response = ChargeResponse(
            decision: Decision(rawValue: row["decision"]) ?? .unspecified, chargeID: row["id"],
            declineReason: DeclineReason(rawValue: row["decline_reason"]) ?? .unspecified,
            processedAtUnixMs: row["processed_at_unix_ms"], receiptSignature: [UInt8](row["receipt_signature"] as Data))
        let keyID: String = row["receipt_key_id"]
        // A receipt from before fields 6-10 (no key id) signed them empty: it is returned as signed.
        if !keyID.isEmpty {
            (response.requestID, response.bankCode, response.linkID) = (requestID, bankCode, row["link_id"])
            (response.amountYen, response.receiptKeyID) = (row["amount_yen"], keyID)
        }
        return response
    }

    static func holds(_ db: Database, state: HoldState?, limit: Int) throws -> [Hold] {
        let rows: [Row]
        if let state {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM charge WHERE hold_state = ? ORDER BY created_at_unix_ms LIMIT ?
                        """), arguments: [state.rawValue, limit])
        } else {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM charge WHERE hold_state <> 0 ORDER BY created_at_unix_ms LIMIT ?
                        """), arguments: [limit])
        }
        return rows.map(hold(from:))
    }

    static func hold(_ db: Database, chargeID: String) throws -> Hold? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM charge WHERE id = ? AND hold_state <> 0"), arguments: [chargeID]
        ).map(hold(from:))
    }

    private static func hold(from row: Row) -> Hold {
        Hold(
            chargeID: row["id"], bankCode: row["bank_code"], requestID: row["request_id"], linkID: row["link_id"],
            walletID: row["wallet_id"] ?? "", amountYen: row["amount_yen"], rule: row["rule"],
            state: HoldState(rawValue: row["hold_state"]) ?? .unspecified, heldAtUnixMs: row["created_at_unix_ms"],
            resolvedBy: row["resolved_by"], resolvedAtUnixMs: row["resolved_at_unix_ms"])
    }

    // MARK: Idempotency

    enum Operation: String {
        case link, charge, unlink
    }

    struct StoredResponse {
        var operation: Operation?
        var bodySHA256: [UInt8]
        var decision: Int32
        var resultID: String
        var declineReason: Int32
        var processedAtUnixMs: Int64
        var receiptSignature: [UInt8]
        var unlinked: Bool
        /// 1: `bodySHA256` is over the whole request; 2: over the request with `header.sent_at_unix_ms` left out.
        var digestVersion: Int = Ledger.currentDigestVersion
        /// SPEC §5 field 10 of a stored charge answer; '' for answers stored before receipts named their key.
        var receiptKeyID = ""

        /// The stored charge answer to the request `key` for `linkID` and `amountYen` (a replay has the same body,
        /// so the same fields 6-9 the first answer was signed with).
        func chargeResponse(key: IdempotencyKey, linkID: String, amountYen: Int64) -> ChargeResponse {
            var response = ChargeResponse(
                decision: Decision(rawValue: decision) ?? .unspecified, chargeID: resultID,
                declineReason: DeclineReason(rawValue: declineReason) ?? .unspecified,
                processedAtUnixMs: processedAtUnixMs, receiptSignature: receiptSignature)
            if !receiptKeyID.isEmpty {
                (response.requestID, response.bankCode, response.linkID) = (key.requestID, key.bankCode, linkID)
                (response.amountYen, response.receiptKeyID) = (amountYen, receiptKeyID)
            }
            return response
        }

        var linkResponse: LinkAccountResponse {
            LinkAccountResponse(
                decision: Decision(rawValue: decision) ?? .unspecified, linkID: resultID,
                declineReason: DeclineReason(rawValue: declineReason) ?? .unspecified)
        }
    }

    static func storedResponse(_ db: Database, key: IdempotencyKey) throws -> StoredResponse? {
        try db.fetchFirstDirect(
            """
            SELECT operation, body_sha256, decision, result_id, decline_reason, processed_at_unix_ms,
                   receipt_signature, unlinked, body_digest_version, receipt_key_id
            FROM idempotency WHERE bank_code = ? AND request_id = ?
            """,
            {
                $0.bind(key.bankCode)
                $0.bind(key.requestID)
            }
        ) { row in
            StoredResponse(
                operation: Operation(rawValue: row.text(0)), bodySHA256: row.blob(1), decision: Int32(row.int64(2)),
                resultID: row.text(3), declineReason: Int32(row.int64(4)), processedAtUnixMs: row.int64(5),
                receiptSignature: row.blob(6), unlinked: row.bool(7), digestVersion: row.int(8),
                receiptKeyID: row.text(9))
        }
    }

    /// The digest version new idempotency records are written with (see `StoredResponse.digestVersion`).
    static let currentDigestVersion = 2

    /// The stored first answer for `key`, if the same body asked before; throws if a different body did, or if
    /// `key` names a charge whose record was pruned (`requestIDExpired`: the key stays used).
    ///
    /// Two homes (migration `v12-charge-is-its-own-record`): `idempotency` for links, unlinks, HELD charges and
    /// charges written before v12; the charge row itself for every other charge. `digest` is compared with
    /// records of the current version, `digest.legacySHA256` (the whole request's) with records written before the
    /// v4 migration; without a legacy digest those compare with `digest.sha256`.
    static func replay(
        _ db: Database, key: IdempotencyKey, operation: Operation, digest: BodyDigest
    ) throws -> StoredResponse? {
        if let stored = try storedResponse(db, key: key) {
            let expected =
                stored.digestVersion == currentDigestVersion ? digest.sha256 : digest.legacySHA256 ?? digest.sha256
            guard stored.operation == operation, stored.bodySHA256 == expected else {
                throw WalletError.duplicateRequestDifferentBody(bankCode: key.bankCode, requestID: key.requestID)
            }
            return stored
        }
        switch try chargeRecord(db, key: key) {
        case nil:
            return nil
        case .some(nil):
            throw WalletError.requestIDExpired(bankCode: key.bankCode, requestID: key.requestID)
        case .some(let record?):
            guard operation == .charge, record.bodySHA256 == digest.sha256 else {
                throw WalletError.duplicateRequestDifferentBody(bankCode: key.bankCode, requestID: key.requestID)
            }
            return record
        }
    }

    /// The charge `key` names: nil if none, `.some(nil)` if its row is not its own record (HELD, or written before
    /// v12: its record is in `idempotency`, or was pruned from there), else the row's answer as its record.
    private static func chargeRecord(_ db: Database, key: IdempotencyKey) throws -> StoredResponse?? {
        try db.fetchFirstDirect(
            """
            SELECT body_sha256, decision, id, decline_reason, processed_at_unix_ms, receipt_signature, receipt_key_id
            FROM charge WHERE bank_code = ? AND request_id = ?
            """,
            {
                $0.bind(key.bankCode)
                $0.bind(key.requestID)
            }
        ) { row -> StoredResponse? in
            guard !row.isNull(0) else { return nil }
            return StoredResponse(
                operation: .charge, bodySHA256: row.blob(0), decision: Int32(row.int64(1)), resultID: row.text(2),
                declineReason: Int32(row.int64(3)), processedAtUnixMs: row.int64(4), receiptSignature: row.blob(5),
                unlinked: false, digestVersion: currentDigestVersion, receiptKeyID: row.text(6))
        }
    }

    static func storeResponse(
        _ db: Database, key: IdempotencyKey, operation: Operation, bodySHA256: [UInt8], response: StoredResponse,
        nowUnixMs: Int64
    ) throws {
        try db.executeDirect(
            """
            INSERT INTO idempotency(bank_code, request_id, operation, body_sha256, decision, result_id,
                decline_reason, processed_at_unix_ms, receipt_signature, unlinked, created_at_unix_ms,
                body_digest_version, receipt_key_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ) {
            $0.bind(key.bankCode)
            $0.bind(key.requestID)
            $0.bind(operation.rawValue)
            $0.bind(bodySHA256)
            $0.bind(response.decision)
            $0.bind(response.resultID)
            $0.bind(response.declineReason)
            $0.bind(response.processedAtUnixMs)
            $0.bind(response.receiptSignature)
            $0.bind(response.unlinked)
            $0.bind(nowUnixMs)
            $0.bind(currentDigestVersion)
            $0.bind(response.receiptKeyID)
        }
    }

    // MARK: Audit

    /// Appends one entry to the audit chain, in the caller's transaction: the writer is the only one appending,
    /// so the chain's tail it keeps (`WriterState.auditTail`) is still the tail when the insert commits. The id is
    /// chosen here (last + 1) because it is part of the hashed content.
    static func audit(
        _ db: Database, _ state: WriterState, atUnixMs: Int64, actor: String, action: String, subject: String,
        reason: String, detail: String = ""
    ) throws {
        let last = try state.auditTail(db)
        var entry = AuditEntry(
            id: last.id + 1, atUnixMs: atUnixMs, actor: actor, action: action, subject: subject, reason: reason,
            detail: detail, prevHash: last.hash, hash: [])
        entry.traceID = AuditTrace.traceID
        entry.hash = AuditChain.hash(of: entry, after: last.hash)
        try db.executeDirect(
            """
            INSERT INTO audit(id, at_unix_ms, actor, action, subject, reason, detail, prev_hash, hash, trace_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ) {
            $0.bind(entry.id)
            $0.bind(atUnixMs)
            $0.bind(actor)
            $0.bind(action)
            $0.bind(subject)
            $0.bind(reason)
            $0.bind(detail)
            $0.bind(last.hash)
            $0.bind(entry.hash)
            $0.bind(entry.traceID)
        }
        state.auditAppended(AuditTail(id: entry.id, hash: entry.hash))
    }

    /// The audit chain's last entry: its id (0 when empty) and hash (`AuditChain.genesisHash` when empty).
    struct AuditTail: Equatable {
        var id: Int64
        var hash: [UInt8]
    }

    static func auditTail(_ db: Database) throws -> AuditTail {
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"))
        return AuditTail(
            id: last?["id"] ?? 0, hash: (last?["hash"] as Data?).map(Array.init) ?? AuditChain.genesisHash)
    }

    // MARK: Ids

    /// An unguessable id (80 random bits): ids reveal neither volume nor order to a bank. (Charges' own ids begin
    /// with their time: `newChargeID`.)
    static func newID(prefix: String) -> String {
        SecureRandom.hex(prefix: prefix.utf8, byteCount: idRandomBytes)
    }

    /// A charge's id: `ch_`, its processing time (ms since the epoch, 12 hex digits) and 80 random bits. Time first, so
    /// a new charge lands at the end of every index keyed by charge id (the charge's own, its transfer's two, its
    /// audit entry's subject) rather than on a random page: a batch writes a few pages instead of one per charge and
    /// index (issue 14). It reveals nothing a bank lacks: the time is the answer's `processed_at_unix_ms`, and the
    /// random part is as unguessable as any other id's.
    static func newChargeID(atUnixMs: Int64) -> String {
        precondition((0...0xFFFF_FFFF_FFFF).contains(atUnixMs), "a charge time fits 12 hex digits")
        // 6 time bytes (big-endian: the hex reads as the number) then the random ones, hexed in one pass.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6 + idRandomBytes) { bytes in
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: atUnixMs >> (8 * (5 - index))) }
            SecureRandom.fillID(UnsafeMutableBufferPointer(rebasing: bytes[6...]))
            return Digest.hex(prefix: "ch_".utf8, UnsafeBufferPointer(bytes))
        }
    }

    /// Random bytes in an id: 10 (80 bits, 20 hex digits).
    static let idRandomBytes = 10
}
