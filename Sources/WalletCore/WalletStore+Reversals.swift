import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// SPEC §9: reversals (the money's way back to the bank), compensation cases, and the wallet's spending. Every act
// runs through the writer in one transaction with its transfers, its bank events and its audit entry. These
// functions execute at once: four eyes (§8) is the approval layer's job (WalletStore+Approvals.swift), which calls
// the same `apply…` functions in the transaction that approves.

/// One reversal of (part of) a credited charge: `amountYen` = `fromWalletYen` + `fromCompensationYen`.
public struct ChargeReversalRecord: Sendable, Hashable {
    public var reversalID: String
    public var chargeID: String
    public var caseID: String?
    public var amountYen: Int64
    /// What the wallet still held, moved back to the bank's settlement account.
    public var fromWalletYen: Int64
    /// The shortfall, paid from the operator's compensation account.
    public var fromCompensationYen: Int64
    public var reason: String
    public var requestedBy: String
    public var approvedBy: String
    public var createdAtUnixMs: Int64
}

/// A compensation case with what it adds up to (SPEC §9 report).
public struct CompensationCaseRecord: Sendable, Hashable {
    public var caseID: String
    public var bankCode: String
    /// The bank's opaque account token as the bank sent it. Shown to operators and in the report; never logged.
    public var bankAccountToken: String
    public var state: CompensationCaseState
    public var chargeIDs: [String]
    /// What the case's charges credited.
    public var chargedYen: Int64
    public var reversedFromWalletsYen: Int64
    public var paidFromCompensationYen: Int64
    public var reason: String
    public var openedBy: String
    public var openedAtUnixMs: Int64
    public var paidAtUnixMs: Int64?
    public var closedAtUnixMs: Int64?
    public var reversals: [ChargeReversalRecord]
}

/// A wallet's payment to a merchant.
public struct WalletPaymentRecord: Sendable, Hashable {
    public var paymentID: String
    public var walletID: String
    public var merchantID: String
    public var amountYen: Int64
    public var walletBalanceYen: Int64
    public var paidAtUnixMs: Int64
}

/// The rules of §9, each named once; refusals quote the name so an operator can look it up.
public enum ReversalRule {
    /// Only a credited charge (APPROVED, or a released hold) can be reversed.
    public static let creditedOnly = "reversal.credited-only"
    /// A charge is never reversed for more than it credited, in total.
    public static let atMostCredited = "reversal.at-most-credited"
    /// Requester and approver are different operators (SPEC §8).
    public static let fourEyes = "four-eyes"
    /// A wallet pays only what it holds: its balance never goes negative.
    public static let paymentWithinBalance = "payment.within-balance"
}

extension WalletStore {
    /// Reverses `amountYen` of a credited charge (SPEC §9), at once: from the wallet what it still holds, the
    /// shortfall from the compensation account, both as `reversal` transfers to the bank's settlement account.
    /// Freezes the wallet's charges unless `keepChargesOpen`. `requestedBy` and `approvedBy` must differ.
    public func reverseCharge(
        chargeID: String, amountYen: Int64, reason: String, keepChargesOpen: Bool = false, requestedBy: String,
        approvedBy: String
    ) async throws(WalletError) -> ChargeReversalRecord {
        try await write { db, state in
            try Self.applyReversal(
                db, state, chargeID: chargeID, amountYen: amountYen, reason: reason, keepChargesOpen: keepChargesOpen,
                requestedBy: requestedBy, approvedBy: approvedBy)
        }
    }

    /// What a reversal of `chargeID` may still move.
    struct ReversibleCharge {
        var bankCode: String
        var requestID: String
        var linkID: String
        var walletID: String
        var creditedYen: Int64
        var reversedYen: Int64
        var unreversedYen: Int64 { creditedYen - reversedYen }
    }

    /// What a charge credited: its one `kind = 'charge'` transfer (`transfer_one_per_charge` answers it), nil for none.
    static let creditedYenSQL = "SELECT amount_yen FROM transfer WHERE charge_id = ? AND kind = 'charge'"

    /// The §9 checks of a reversal of `amountYen` (nil: any positive amount up to what is unreversed), each refusal
    /// naming its rule. Run when the reversal is requested and again when it executes.
    static func checkReversible(_ db: Database, chargeID: String, amountYen: Int64?) throws -> ReversibleCharge {
        if let amountYen, amountYen <= 0 {
            throw WalletError.invalidArgument("amount_yen must be positive, got \(amountYen)")
        }
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT bank_code, request_id, link_id, wallet_id, decision, hold_state FROM charge WHERE id = ?
                        """), arguments: [chargeID])
        else { throw WalletError.notFound("charge \(chargeID)") }
        let decision = Decision(rawValue: row[4]) ?? .unspecified
        switch decision {
        case .declined:
            throw WalletError.failedPrecondition(
                "charge \(chargeID) was declined: nothing was credited, so nothing can be reversed "
                    + "(rule \(ReversalRule.creditedOnly))")
        case .held:
            throw WalletError.failedPrecondition(
                "charge \(chargeID) is held: nothing was credited; release or reject the hold instead "
                    + "(rule \(ReversalRule.creditedOnly))")
        case .approved, .unspecified:
            break
        }
        guard
            let credited = try Int64.fetchOne(
                db.cachedStatement(sql: creditedYenSQL),
                arguments: [chargeID]), let walletID = row[3] as String?
        else {
            throw WalletError.failedPrecondition(
                "charge \(chargeID) credited nothing (rule \(ReversalRule.creditedOnly))")
        }
        let reversed =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT coalesce(sum(amount_yen), 0) FROM reversal WHERE charge_id = ?"),
                arguments: [chargeID]) ?? 0
        let charge = ReversibleCharge(
            bankCode: row[0], requestID: row[1], linkID: row[2], walletID: walletID, creditedYen: credited,
            reversedYen: reversed)
        if charge.unreversedYen <= 0 {
            throw WalletError.failedPrecondition(
                "charge \(chargeID) is already fully reversed (credited \(credited) yen, reversed \(reversed) yen) "
                    + "(rule \(ReversalRule.atMostCredited))")
        }
        if let amountYen, amountYen > charge.unreversedYen {
            throw WalletError.failedPrecondition(
                "reversing \(amountYen) yen would exceed charge \(chargeID)'s unreversed \(charge.unreversedYen) yen "
                    + "(credited \(credited) yen, reversed \(reversed) yen) (rule \(ReversalRule.atMostCredited))")
        }
        return charge
    }

    static func applyReversal(
        _ db: Database, _ state: WriterState, chargeID: String, amountYen: Int64, reason: String,
        keepChargesOpen: Bool, requestedBy: String, approvedBy: String
    ) throws -> ChargeReversalRecord {
        guard requestedBy != approvedBy else {
            throw WalletError.rejected(
                Rejection(
                    .permissionDenied,
                    "\(approvedBy) requested this reversal and cannot also approve it (rule \(ReversalRule.fourEyes))"))
        }
        let charge = try checkReversible(db, chargeID: chargeID, amountYen: amountYen)
        let now = state.clock()
        guard let wallet = try Ledger.wallet(db, id: charge.walletID),
            let bank = try state.bank(db, code: charge.bankCode)
        else { throw WalletError.invariantViolated("charge \(chargeID) lost its wallet or bank") }
        let compensationAccount = try compensationAccountID(db)
        let fromWallet = min(max(wallet.record.facts.balanceYen, 0), amountYen)
        let fromCompensation = amountYen - fromWallet
        let walletTransfer =
            fromWallet > 0
            ? try postTransfer(
                db, kind: "reversal", chargeID: chargeID, from: wallet.ledgerAccountID,
                to: bank.settlementAccountID, amountYen: fromWallet, atUnixMs: now)
            : nil
        let compensationTransfer =
            fromCompensation > 0
            ? try postTransfer(
                db, kind: "reversal", chargeID: chargeID, from: compensationAccount, to: bank.settlementAccountID,
                amountYen: fromCompensation, atUnixMs: now)
            : nil
        let caseID = try String.fetchOne(
            db.cachedStatement(sql: "SELECT case_id FROM compensation_case_charge WHERE charge_id = ?"),
            arguments: [chargeID])
        let reversalID = Ledger.newID(prefix: "rv_")
        try db.cachedStatement(
            sql: """
                INSERT INTO reversal(id, charge_id, case_id, amount_yen, from_wallet_yen, from_compensation_yen,
                    wallet_transfer_id, compensation_transfer_id, reason, requested_by, approved_by, created_at_unix_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            reversalID, chargeID, caseID, amountYen, fromWallet, fromCompensation, walletTransfer,
            compensationTransfer, reason, requestedBy, approvedBy, now,
        ])
        try Ledger.appendEvent(
            db, state, bankCode: charge.bankCode, type: .chargeReversed, atUnixMs: now, linkID: charge.linkID,
            chargeID: chargeID, requestID: charge.requestID, amountYen: amountYen, reason: reason,
            reversalID: reversalID)
        if fromCompensation > 0 {
            try Ledger.appendEvent(
                db, state, bankCode: charge.bankCode, type: .compensationPaid, atUnixMs: now, linkID: charge.linkID,
                chargeID: chargeID, requestID: charge.requestID, amountYen: fromCompensation,
                reason: "the wallet held \(fromWallet) yen; the operator's compensation account paid the rest: "
                    + reason,
                reversalID: reversalID)
        }
        try Ledger.audit(
            db, state, atUnixMs: now, actor: approvedBy, action: "charge.reverse", subject: chargeID, reason: reason,
            detail: "reversal=\(reversalID) amount_yen=\(amountYen) from_wallet_yen=\(fromWallet) "
                + "from_compensation_yen=\(fromCompensation) requested_by=\(requestedBy) case=\(caseID ?? "-")")
        if !keepChargesOpen {
            if try Ledger.freezeCharges(
                db, state, walletID: charge.walletID, atUnixMs: now, reason: "reversal of \(chargeID): \(reason)")
            {
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: approvedBy, action: "wallet.charge_frozen",
                    subject: charge.walletID,
                    reason: reason, detail: "reversal \(reversalID) of \(chargeID)")
            }
        }
        return ChargeReversalRecord(
            reversalID: reversalID, chargeID: chargeID, caseID: caseID, amountYen: amountYen, fromWalletYen: fromWallet,
            fromCompensationYen: fromCompensation, reason: reason, requestedBy: requestedBy, approvedBy: approvedBy,
            createdAtUnixMs: now)
    }

    /// One immutable transfer of `kind`; returns its id.
    static func postTransfer(
        _ db: Database, kind: String, chargeID: String?, from debitAccountID: Int64, to creditAccountID: Int64,
        amountYen: Int64, atUnixMs: Int64
    ) throws -> Int64 {
        assert(amountYen > 0, "a transfer moves a positive amount")
        try db.cachedStatement(
            sql: """
                INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                    created_at_unix_ms, tokyo_day, tokyo_month)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            debitAccountID, creditAccountID, amountYen, kind, chargeID, atUnixMs,
            TokyoTime.dayIndex(ofUnixMs: atUnixMs), TokyoTime.monthIndex(ofUnixMs: atUnixMs),
        ])
        return db.lastInsertedRowID
    }

    static func compensationAccountID(_ db: Database) throws -> Int64 {
        guard
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT ledger_account_id FROM operator_account WHERE name = 'compensation'"))
        else { throw WalletError.invariantViolated("the compensation account is missing (migration v3-reversals)") }
        return id
    }

    /// The compensation account's balance (minus what it has paid).
    public func compensationBalanceYen() async throws(WalletError) -> Int64 {
        try await read { db in
            let id = try Self.compensationAccountID(db)
            return try Int64.fetchOne(
                db, sql: "SELECT credits_posted_yen - debits_posted_yen FROM ledger_account WHERE id = ?",
                arguments: [id]) ?? 0
        }
    }

    /// A bank's settlement account balance (negative: what the bank has paid into wallets, net of reversals).
    public func settlementBalanceYen(bankCode: String) async throws(WalletError) -> Int64? {
        try await read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT a.credits_posted_yen - a.debits_posted_yen FROM bank b
                    JOIN ledger_account a ON a.id = b.settlement_account_id WHERE b.code = ?
                    """, arguments: [bankCode])
        }
    }

    public func reversals(chargeID: String) async throws(WalletError) -> [ChargeReversalRecord] {
        try await read { db in try Self.reversals(db, sql: "charge_id = ?", chargeID) }
    }

    static func reversals(_ db: Database, sql condition: String, _ argument: String) throws -> [ChargeReversalRecord] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM reversal WHERE \(condition) ORDER BY created_at_unix_ms, id",
            arguments: [argument]
        ).map { row in
            ChargeReversalRecord(
                reversalID: row["id"], chargeID: row["charge_id"], caseID: row["case_id"], amountYen: row["amount_yen"],
                fromWalletYen: row["from_wallet_yen"], fromCompensationYen: row["from_compensation_yen"],
                reason: row["reason"], requestedBy: row["requested_by"], approvedBy: row["approved_by"],
                createdAtUnixMs: row["created_at_unix_ms"])
        }
    }

    // MARK: Compensation cases

    /// Opens a case for one victim: the bank, its account token, and the bank's credited charges on links with
    /// that token (each charge in at most one case). OPEN.
    public func openCompensationCase(
        bankCode: String, bankAccountToken: String, chargeIDs: [String], audit: AuditContext
    ) async throws(WalletError) -> CompensationCaseRecord {
        guard !chargeIDs.isEmpty else { throw .invalidArgument("a compensation case names at least one charge") }
        guard Set(chargeIDs).count == chargeIDs.count else { throw .invalidArgument("charge_ids has duplicates") }
        return try await write { db, state in
            let now = state.clock()
            guard try Ledger.bankRecord(db, code: bankCode) != nil else {
                throw WalletError.notFound("bank \(bankCode)")
            }
            for chargeID in chargeIDs {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT c.bank_code, l.bank_account_token, c.decision FROM charge c
                            LEFT JOIN link l ON l.id = c.link_id WHERE c.id = ?
                            """, arguments: [chargeID])
                else { throw WalletError.notFound("charge \(chargeID)") }
                guard row[0] as String == bankCode, row[1] as String? == bankAccountToken else {
                    throw WalletError.failedPrecondition(
                        "charge \(chargeID) is not a charge of bank \(bankCode) on a link with this account token")
                }
                guard Decision(rawValue: row[2]) == .approved else {
                    throw WalletError.failedPrecondition(
                        "charge \(chargeID) credited nothing (rule \(ReversalRule.creditedOnly))")
                }
                if let other = try String.fetchOne(
                    db, sql: "SELECT case_id FROM compensation_case_charge WHERE charge_id = ?", arguments: [chargeID])
                {
                    throw WalletError.failedPrecondition("charge \(chargeID) is already in compensation case \(other)")
                }
            }
            let caseID = Ledger.newID(prefix: "cc_")
            try db.execute(
                sql: """
                    INSERT INTO compensation_case(id, bank_code, bank_account_token, state, reason, opened_by,
                        opened_at_unix_ms)
                    VALUES (?, ?, ?, 1, ?, ?, ?)
                    """, arguments: [caseID, bankCode, bankAccountToken, audit.reason, audit.actor, now])
            for chargeID in chargeIDs {
                try db.execute(
                    sql: "INSERT INTO compensation_case_charge(case_id, charge_id) VALUES (?, ?)",
                    arguments: [caseID, chargeID])
            }
            // The token stays out of the audit log (SPEC §10: never logged); the case id leads to it.
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "compensation.open", subject: caseID,
                reason: audit.reason, detail: "bank=\(bankCode) charges=\(chargeIDs.joined(separator: ","))")
            return try Self.compensationCase(db, id: caseID)!
        }
    }

    /// Pays a case (SPEC §9), at once: every charge of the case is reversed for what is still unreversed (the
    /// wallet first, the shortfall from the compensation account), then the case is PAID.
    public func payCompensation(
        caseID: String, reason: String, requestedBy: String, approvedBy: String
    ) async throws(WalletError) -> CompensationCaseRecord {
        try await write { db, state in
            try Self.applyCompensationPayment(
                db, state, caseID: caseID, reason: reason, requestedBy: requestedBy, approvedBy: approvedBy)
        }
    }

    static func checkPayable(_ db: Database, caseID: String) throws -> CompensationCaseRecord {
        guard let record = try compensationCase(db, id: caseID) else {
            throw WalletError.notFound("compensation case \(caseID)")
        }
        guard record.state == .open else {
            throw WalletError.failedPrecondition("compensation case \(caseID) is \(record.state), not OPEN")
        }
        return record
    }

    static func applyCompensationPayment(
        _ db: Database, _ state: WriterState, caseID: String, reason: String, requestedBy: String, approvedBy: String
    ) throws -> CompensationCaseRecord {
        guard requestedBy != approvedBy else {
            throw WalletError.rejected(
                Rejection(
                    .permissionDenied,
                    "\(approvedBy) requested this payment and cannot also approve it (rule \(ReversalRule.fourEyes))"))
        }
        let record = try checkPayable(db, caseID: caseID)
        let now = state.clock()
        for chargeID in record.chargeIDs {
            let credited =
                try Int64.fetchOne(
                    db.cachedStatement(sql: creditedYenSQL), arguments: [chargeID]) ?? 0
            let reversed =
                try Int64.fetchOne(
                    db, sql: "SELECT coalesce(sum(amount_yen), 0) FROM reversal WHERE charge_id = ?",
                    arguments: [chargeID]) ?? 0
            guard credited > reversed else { continue }
            _ = try applyReversal(
                db, state, chargeID: chargeID, amountYen: credited - reversed,
                reason: "compensation case \(caseID): \(reason)", keepChargesOpen: false, requestedBy: requestedBy,
                approvedBy: approvedBy)
        }
        try db.execute(
            sql: "UPDATE compensation_case SET state = 2, paid_at_unix_ms = ? WHERE id = ? AND state = 1",
            arguments: [now, caseID])
        guard db.changesCount == 1 else { throw WalletError.invariantViolated("case \(caseID) changed under us") }
        let paid = try compensationCase(db, id: caseID)!
        try Ledger.audit(
            db, state, atUnixMs: now, actor: approvedBy, action: "compensation.pay", subject: caseID, reason: reason,
            detail: "charged_yen=\(paid.chargedYen) reversed_from_wallets_yen=\(paid.reversedFromWalletsYen) "
                + "paid_from_compensation_yen=\(paid.paidFromCompensationYen) requested_by=\(requestedBy)")
        return paid
    }

    /// PAID → CLOSED: the bank has confirmed its customer was re-credited.
    public func closeCompensationCase(
        caseID: String, audit: AuditContext
    ) async throws(WalletError)
        -> CompensationCaseRecord
    {
        try await write { db, state in
            let now = state.clock()
            guard let record = try Self.compensationCase(db, id: caseID) else {
                throw WalletError.notFound("compensation case \(caseID)")
            }
            guard record.state == .paid else {
                throw WalletError.failedPrecondition(
                    "compensation case \(caseID) is \(record.state); only a PAID case can be closed")
            }
            try db.execute(
                sql: "UPDATE compensation_case SET state = 3, closed_at_unix_ms = ? WHERE id = ?",
                arguments: [now, caseID])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "compensation.close", subject: caseID,
                reason: audit.reason)
            return try Self.compensationCase(db, id: caseID)!
        }
    }

    public func compensationCases() async throws(WalletError) -> [CompensationCaseRecord] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM compensation_case ORDER BY opened_at_unix_ms, id")
                .compactMap { try Self.compensationCase(db, id: $0) }
        }
    }

    public func compensationCase(id: String) async throws(WalletError) -> CompensationCaseRecord? {
        try await read { db in try Self.compensationCase(db, id: id) }
    }

    static func compensationCase(_ db: Database, id: String) throws -> CompensationCaseRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM compensation_case WHERE id = ?", arguments: [id])
        else { return nil }
        let charges = try String.fetchAll(
            db, sql: "SELECT charge_id FROM compensation_case_charge WHERE case_id = ? ORDER BY charge_id",
            arguments: [id])
        let charged =
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(t.amount_yen), 0) FROM compensation_case_charge k
                    JOIN transfer t ON t.charge_id = k.charge_id AND t.kind = 'charge' WHERE k.case_id = ?
                    """, arguments: [id]) ?? 0
        // The reversals of the case's charges, whichever path made them (a ReverseCharge or the case's payment).
        let reversals = try Self.reversals(
            db, sql: "charge_id IN (SELECT charge_id FROM compensation_case_charge WHERE case_id = ?)", id)
        return CompensationCaseRecord(
            caseID: id, bankCode: row["bank_code"], bankAccountToken: row["bank_account_token"],
            state: CompensationCaseState(rawValue: row["state"]) ?? .unspecified, chargeIDs: charges,
            chargedYen: charged, reversedFromWalletsYen: reversals.map(\.fromWalletYen).reduce(0, +),
            paidFromCompensationYen: reversals.map(\.fromCompensationYen).reduce(0, +), reason: row["reason"],
            openedBy: row["opened_by"], openedAtUnixMs: row["opened_at_unix_ms"], paidAtUnixMs: row["paid_at_unix_ms"],
            closedAtUnixMs: row["closed_at_unix_ms"], reversals: reversals)
    }

    // MARK: Spending

    public func registerMerchant(id: String, name: String, audit: AuditContext) async throws(WalletError) {
        guard (1...32).contains(id.utf8.count), !name.isEmpty else {
            throw .invalidArgument("a merchant has an id of 1...32 bytes and a name")
        }
        try await write { db, state in
            let now = state.clock()
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM merchant WHERE id = ?", arguments: [id]) == nil else {
                throw WalletError.alreadyExists("merchant \(id)")
            }
            try db.execute(sql: "INSERT INTO ledger_account(kind) VALUES ('merchant_settlement')")
            try db.execute(
                sql: "INSERT INTO merchant(id, name, settlement_account_id, created_at_unix_ms) VALUES (?, ?, ?, ?)",
                arguments: [id, name, db.lastInsertedRowID, now])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "merchant.register", subject: id,
                reason: audit.reason,
                detail: name)
        }
    }

    /// What the merchant has received, or nil for an unknown merchant.
    public func merchantBalanceYen(id: String) async throws(WalletError) -> (name: String, balanceYen: Int64)? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT m.name, a.credits_posted_yen - a.debits_posted_yen FROM merchant m
                    JOIN ledger_account a ON a.id = m.settlement_account_id WHERE m.id = ?
                    """, arguments: [id]
            ).map { ($0[0], $0[1]) }
        }
    }

    /// The wallet pays a merchant: one `payment` transfer wallet → merchant settlement. The balance never goes
    /// negative (checked here, and by the schema's CHECK on wallet accounts).
    public func payFromWallet(
        walletID: String, merchantID: String, amountYen: Int64, reference: String, audit: AuditContext
    ) async throws(WalletError) -> WalletPaymentRecord {
        guard amountYen > 0 else { throw .invalidArgument("amount_yen must be positive, got \(amountYen)") }
        return try await write { db, state in
            let now = state.clock()
            guard let wallet = try Ledger.wallet(db, id: walletID) else {
                throw WalletError.notFound("wallet \(walletID)")
            }
            guard
                let merchantAccount = try Int64.fetchOne(
                    db, sql: "SELECT settlement_account_id FROM merchant WHERE id = ?", arguments: [merchantID])
            else { throw WalletError.notFound("merchant \(merchantID)") }
            let balance = wallet.record.facts.balanceYen
            guard amountYen <= balance else {
                throw WalletError.failedPrecondition(
                    "wallet \(walletID) holds \(balance) yen; it cannot pay \(amountYen) yen "
                        + "(rule \(ReversalRule.paymentWithinBalance))")
            }
            let transferID = try Self.postTransfer(
                db, kind: "payment", chargeID: nil, from: wallet.ledgerAccountID, to: merchantAccount,
                amountYen: amountYen, atUnixMs: now)
            let paymentID = Ledger.newID(prefix: "py_")
            try db.execute(
                sql: """
                    INSERT INTO wallet_payment(id, wallet_id, merchant_id, amount_yen, transfer_id, reference, paid_by,
                        created_at_unix_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [paymentID, walletID, merchantID, amountYen, transferID, reference, audit.actor, now])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "wallet.pay", subject: walletID,
                reason: audit.reason,
                detail: "payment=\(paymentID) merchant=\(merchantID) amount_yen=\(amountYen)")
            return WalletPaymentRecord(
                paymentID: paymentID, walletID: walletID, merchantID: merchantID, amountYen: amountYen,
                walletBalanceYen: balance - amountYen, paidAtUnixMs: now)
        }
    }
}
