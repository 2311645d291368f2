import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

/// What a four-eyes request does when a second operator approves it (SPEC §8). The payload is a flat JSON object
/// of strings; `WalletStore.executeApproval` runs the act in the approving transaction.
///
/// Plug-in point: a new act (e.g. §9 reversals) adds a case here and its branch in `executeApproval`, and its
/// Admin call asks `requestApproval(kind:…)` instead of acting.
public enum ApprovalKind: String, Sendable, CaseIterable {
    /// Release of a hold of ≥ `fourEyesMinHoldReleaseYen`. Payload: `charge_id`.
    case holdRelease = "hold.release"
    /// A bank's link or charge state to ENABLED. Payload: `bank_code`, `operation` (link|charge).
    case bankEnable = "bank.enable"
    /// §9 ReverseCharge. Payload: `charge_id`, `amount_yen`, `keep_charges_open` (true|false); the requester's
    /// reason is the reversal's (the bank sees it in CHARGE_REVERSED).
    case chargeReverse = "charge.reverse"
    /// §9 compensation payment. Payload: `case_id`.
    case compensationPay = "compensation.pay"

    /// Whether a request while one of the same kind and subject is pending is that pending one. Not for
    /// reversals: each request reverses its own amount.
    var answersPendingRequest: Bool { self != .chargeReverse }
}

extension WalletStore {
    /// Records a four-eyes request; nothing happens until a different operator approves it within `lapseMs`. A
    /// pending request for the same kind and subject is returned instead of a second one (except for reversals:
    /// two partial reversals of one charge are two acts).
    public func requestApproval(
        kind: ApprovalKind, subject: String, summary: String, payload: [String: String], lapseMs: Int64,
        audit: AuditContext
    ) async throws(WalletError) -> Approval {
        try await write { db, state in
            try Self.insertApproval(
                db, state, kind: kind, subject: subject, summary: summary, payload: payload, lapseMs: lapseMs,
                audit: audit)
        }
    }

    /// Asks for a reversal (SPEC §9, four eyes). The §9 checks run now, so a request that could never execute is
    /// refused at once naming its rule, and again when it is approved.
    public func requestReversal(
        chargeID: String, amountYen: Int64, keepChargesOpen: Bool, lapseMs: Int64, audit: AuditContext
    ) async throws(WalletError) -> Approval {
        try await write { db, state in
            let charge = try Self.checkReversible(db, chargeID: chargeID, amountYen: amountYen)
            let summary =
                "reverse \(amountYen) yen of charge \(chargeID) (bank \(charge.bankCode), wallet "
                + "\(charge.walletID), credited \(charge.creditedYen) yen, unreversed \(charge.unreversedYen) yen)"
                + (keepChargesOpen ? "; the wallet's charges stay open" : "; freezes the wallet's charges")
            return try Self.insertApproval(
                db, state, kind: .chargeReverse, subject: chargeID, summary: summary,
                payload: [
                    "charge_id": chargeID, "amount_yen": String(amountYen),
                    "keep_charges_open": keepChargesOpen ? "true" : "false",
                ],
                lapseMs: lapseMs, audit: audit)
        }
    }

    /// Asks for a compensation case's payment (SPEC §9, four eyes), checked now and again when approved.
    public func requestCompensationPayment(
        caseID: String, lapseMs: Int64, audit: AuditContext
    ) async throws(WalletError) -> Approval {
        try await write { db, state in
            let record = try Self.checkPayable(db, caseID: caseID)
            let reversed = record.reversedFromWalletsYen + record.paidFromCompensationYen
            let summary =
                "pay compensation case \(caseID) (bank \(record.bankCode), \(record.chargeIDs.count) "
                + "charges, charged \(record.chargedYen) yen, already reversed \(reversed) yen)"
            return try Self.insertApproval(
                db, state, kind: .compensationPay, subject: caseID, summary: summary, payload: ["case_id": caseID],
                lapseMs: lapseMs, audit: audit)
        }
    }

    static func insertApproval(
        _ db: Database, _ state: WriterState, kind: ApprovalKind, subject: String, summary: String,
        payload: [String: String], lapseMs: Int64, audit: AuditContext
    ) throws -> Approval {
        guard lapseMs > 0 else { throw WalletError.invalidArgument("an approval lapses after a positive time") }
        let json: String
        do {
            json = String(
                decoding: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]), as: UTF8.self)
        } catch {
            throw WalletError.invalidArgument("approval payload is not JSON-encodable: \(error)")
        }
        let now = state.clock()
        if kind.answersPendingRequest,
            let pending = try Row.fetchOne(
                db,
                sql: """
                    SELECT id FROM approval WHERE kind = ? AND subject = ? AND state = 1 AND expires_at_unix_ms > ?
                    """, arguments: [kind.rawValue, subject, now])
        {
            return try Self.approval(db, id: pending["id"])!
        }
        let id = Ledger.newID(prefix: "ap_")
        try db.execute(
            sql: """
                INSERT INTO approval(id, kind, subject, summary, payload, requested_by, request_reason,
                    requested_at_unix_ms, expires_at_unix_ms, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                """,
            arguments: [id, kind.rawValue, subject, summary, json, audit.actor, audit.reason, now, now + lapseMs])
        try Ledger.audit(
            db, state, atUnixMs: now, actor: audit.actor, action: "approval.request", subject: id,
            reason: audit.reason, detail: "\(kind.rawValue) \(subject): \(summary)")
        return try Self.approval(db, id: id)!
    }

    /// Pending requests (with `includeDecided`, every request), newest first. A pending one past its lapse time
    /// reads LAPSED.
    public func approvals(includeDecided: Bool = false, limit: Int = 1_000) async throws(WalletError) -> [Approval] {
        let now = clock()
        return try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: includeDecided
                    ? "SELECT * FROM approval ORDER BY requested_at_unix_ms DESC LIMIT ?"
                    : "SELECT * FROM approval WHERE state = 1 AND expires_at_unix_ms > ? ORDER BY requested_at_unix_ms DESC LIMIT ?",
                arguments: includeDecided ? [limit] : [now, limit])
            return rows.map { Self.approval(from: $0, now: now) }
        }
    }

    public func approval(id: String) async throws(WalletError) -> Approval? {
        let now = clock()
        return try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE id = ?", arguments: [id]).map {
                Self.approval(from: $0, now: now)
            }
        }
    }

    /// Approves (executes the act) or declines a pending request, in one transaction.
    ///
    /// Approving needs a different operator than the requester (`.rejected(permissionDenied)`); a request past its
    /// lapse time is marked LAPSED and does nothing (the returned approval says so, the caller refuses); an act
    /// the current state forbids (a release over the cap, no conformance run) fails and the request stays pending.
    public func decideApproval(
        id: String, approve: Bool, audit: AuditContext, sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse
    ) async throws(WalletError) -> Approval {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE id = ?", arguments: [id]) else {
                throw WalletError.notFound("approval \(id)")
            }
            let current = Self.approval(from: row, now: now)
            switch current.state {
            case .pending: break
            case .lapsed:
                if (row["state"] as Int32) == ApprovalState.pending.rawValue {
                    try db.execute(
                        sql: "UPDATE approval SET state = 4, decided_at_unix_ms = ?, result = ? WHERE id = ?",
                        arguments: [now, "lapsed: nobody approved before \(current.expiresAtUnixMs)", id])
                    try Ledger.audit(
                        db, state, atUnixMs: now, actor: audit.actor, action: "approval.lapsed", subject: id,
                        reason: audit.reason, detail: current.kind)
                }
                return try Self.approval(db, id: id)!
            default:
                throw WalletError.failedPrecondition("approval \(id) is already \(current.state)")
            }
            if approve {
                guard FourEyes.mayApprove(approver: audit.actor, requester: current.requestedBy) else {
                    throw WalletError.rejected(
                        Rejection(
                            .permissionDenied,
                            "four eyes: \(audit.actor) requested approval \(id) and cannot approve it; another "
                                + "operator must (rule \(ReversalRule.fourEyes))"))
                }
                let payload =
                    (try? JSONSerialization.jsonObject(with: Data(current.payloadJSON.utf8))) as? [String: String]
                    ?? [:]
                guard let kind = ApprovalKind(rawValue: current.kind) else {
                    throw WalletError.invariantViolated("approval \(id) has unknown kind \(current.kind)")
                }
                let act = AuditContext(
                    actor: audit.actor,
                    reason:
                        "four eyes: requested by \(current.requestedBy) (\(current.requestReason)); approved: \(audit.reason)"
                )
                let result = try Self.executeApproval(
                    db, state, kind: kind, payload: payload, request: current, audit: act, sign: sign)
                try db.execute(
                    sql: """
                        UPDATE approval SET state = 2, decided_by = ?, decided_at_unix_ms = ?, decision_reason = ?,
                            result = ? WHERE id = ? AND state = 1
                        """, arguments: [audit.actor, now, audit.reason, result, id])
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: audit.actor, action: "approval.approve", subject: id,
                    reason: audit.reason, detail: "\(kind.rawValue) \(current.subject): \(result)")
            } else {
                try db.execute(
                    sql: """
                        UPDATE approval SET state = 3, decided_by = ?, decided_at_unix_ms = ?, decision_reason = ?,
                            result = 'declined: nothing done' WHERE id = ? AND state = 1
                        """, arguments: [audit.actor, now, audit.reason, id])
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: audit.actor, action: "approval.decline", subject: id,
                    reason: audit.reason, detail: "\(current.kind) \(current.subject)")
            }
            return try Self.approval(db, id: id)!
        }
    }

    /// Runs an approved act in the approving transaction; returns what it did (kept as the approval's result).
    static func executeApproval(
        _ db: Database, _ state: WriterState, kind: ApprovalKind, payload: [String: String], request: Approval,
        audit: AuditContext, sign: (ChargeResponse) -> ChargeResponse
    ) throws -> String {
        func field(_ name: String) throws -> String {
            guard let value = payload[name], !value.isEmpty else {
                throw WalletError.invariantViolated("\(kind.rawValue) approval without \(name)")
            }
            return value
        }
        switch kind {
        case .holdRelease:
            let hold = try applyResolveHold(
                db, state, chargeID: try field("charge_id"), to: .released, audit: audit, sign: sign)
            return "released \(hold.amountYen) yen to \(hold.walletID)"
        case .bankEnable:
            let code = try field("bank_code")
            let operation: GatewayWire.Operation = try field("operation") == "link" ? .link : .charge
            try applyBankState(db, state, code: code, operation: operation, state: .enabled, audit: audit)
            return "bank \(code) \(operation == .link ? "link" : "charge") ENABLED"
        case .chargeReverse:
            guard let amountYen = Int64(try field("amount_yen")) else {
                throw WalletError.invariantViolated("charge.reverse approval with a non-numeric amount_yen")
            }
            // applyReversal re-checks §9 (credited only, at most what it credited) in this transaction.
            let reversal = try applyReversal(
                db, state, chargeID: try field("charge_id"), amountYen: amountYen, reason: request.requestReason,
                keepChargesOpen: payload["keep_charges_open"] == "true", requestedBy: request.requestedBy,
                approvedBy: audit.actor)
            return "reversal \(reversal.reversalID): \(reversal.amountYen) yen back to bank (from wallet "
                + "\(reversal.fromWalletYen), from compensation \(reversal.fromCompensationYen))"
        case .compensationPay:
            let paid = try applyCompensationPayment(
                db, state, caseID: try field("case_id"), reason: request.requestReason,
                requestedBy: request.requestedBy, approvedBy: audit.actor)
            return "case \(paid.caseID) PAID: charged \(paid.chargedYen) yen, reversed from wallets "
                + "\(paid.reversedFromWalletsYen), paid from compensation \(paid.paidFromCompensationYen)"
        }
    }

    static func approval(_ db: Database, id: String) throws -> Approval? {
        try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE id = ?", arguments: [id]).map {
            approval(from: $0, now: nil)
        }
    }

    /// `now`: report a pending request past its lapse time as LAPSED (it is marked so when next decided).
    static func approval(from row: Row, now: Int64?) -> Approval {
        var approval = Approval()
        approval.approvalID = row["id"]
        approval.kind = row["kind"]
        approval.subject = row["subject"]
        approval.summary = row["summary"]
        approval.payloadJSON = row["payload"]
        approval.requestedBy = row["requested_by"]
        approval.requestReason = row["request_reason"]
        approval.requestedAtUnixMs = row["requested_at_unix_ms"]
        approval.expiresAtUnixMs = row["expires_at_unix_ms"]
        approval.state = ApprovalState(rawValue: row["state"]) ?? .unspecified
        if approval.state == .pending, let now, now >= approval.expiresAtUnixMs { approval.state = .lapsed }
        approval.decidedBy = row["decided_by"] ?? ""
        approval.decidedAtUnixMs = row["decided_at_unix_ms"] ?? 0
        approval.decisionReason = row["decision_reason"] ?? ""
        approval.result = row["result"] ?? ""
        return approval
    }
}
