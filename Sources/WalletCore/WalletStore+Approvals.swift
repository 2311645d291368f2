import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// Four eyes (SPEC §8) for the acts of §9, minimal until the desk's generic approvals land: one operator requests
// (a row of `approval_request`: a kind and its JSON payload), a *different* operator approves, and approving runs
// the act — `applyReversal` / `applyCompensationPayment` — in the same writer transaction that marks the request
// APPROVED, so an approval and its effect commit together or not at all. Folding into the desk's mechanism means
// mapping these two kinds onto its records and calling the same `apply…` functions from its Approve.

/// A four-eyes request and what became of it.
public struct ApprovalRecord: Sendable, Hashable {
    public var approvalID: String
    public var kind: ApprovalKind
    public var summary: String
    public var reason: String
    public var requestedBy: String
    public var requestedAtUnixMs: Int64
    public var expiresAtUnixMs: Int64
    /// PENDING past `expiresAtUnixMs` reads LAPSED.
    public var state: ApprovalState
    public var decidedBy: String?
    public var decidedAtUnixMs: Int64?
    public var decisionReason: String?
    /// What the approved act did, in words (ids and amounts).
    public var result: String?
}

/// The acts that need a second operator here.
public enum ApprovalKind: String, Sendable, Hashable, CaseIterable {
    case reverseCharge = "charge.reverse"
    case payCompensation = "compensation.pay"
}

struct ReverseChargePayload: Codable {
    var chargeID: String
    var amountYen: Int64
    var keepChargesOpen: Bool
}

struct PayCompensationPayload: Codable {
    var caseID: String
}

extension WalletStore {
    /// A request lapses when no second operator approved it within 24 h (SPEC §8).
    public static let approvalLifetimeMs: Int64 = 24 * 3_600_000

    /// Asks for a reversal (SPEC §9, four eyes). The §9 checks run now, so a request that could never execute is
    /// refused at once naming its rule, and again when it is approved.
    public func requestReversal(
        chargeID: String, amountYen: Int64, keepChargesOpen: Bool, audit: AuditContext
    ) async throws(WalletError) -> ApprovalRecord {
        try await write { db, state in
            let charge = try Self.checkReversible(db, chargeID: chargeID, amountYen: amountYen)
            let payload = ReverseChargePayload(
                chargeID: chargeID, amountYen: amountYen, keepChargesOpen: keepChargesOpen)
            let summary = "reverse \(amountYen) yen of charge \(chargeID) (bank \(charge.bankCode), wallet "
                + "\(charge.walletID), credited \(charge.creditedYen) yen, unreversed \(charge.unreversedYen) yen)"
                + (keepChargesOpen ? "; the wallet's charges stay open" : "; freezes the wallet's charges")
            return try Self.insertApproval(db, state, kind: .reverseCharge, payload: payload, summary: summary,
                                           audit: audit)
        }
    }

    /// Asks for a compensation case's payment (SPEC §9, four eyes).
    public func requestCompensationPayment(caseID: String, audit: AuditContext) async throws(WalletError)
        -> ApprovalRecord
    {
        try await write { db, state in
            let record = try Self.checkPayable(db, caseID: caseID)
            let reversed = record.reversedFromWalletsYen + record.paidFromCompensationYen
            let summary = "pay compensation case \(caseID) (bank \(record.bankCode), \(record.chargeIDs.count) "
                + "charges, charged \(record.chargedYen) yen, already reversed \(reversed) yen)"
            return try Self.insertApproval(
                db, state, kind: .payCompensation, payload: PayCompensationPayload(caseID: caseID), summary: summary,
                audit: audit)
        }
    }

    private static func insertApproval(
        _ db: Database, _ state: WriterState, kind: ApprovalKind, payload: some Encodable, summary: String,
        audit: AuditContext
    ) throws -> ApprovalRecord {
        let now = state.clock()
        let id = Ledger.newID(prefix: "ap_")
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO approval_request(id, kind, payload, summary, reason, requested_by, requested_at_unix_ms,
                expires_at_unix_ms, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
            """, arguments: [
                id, kind.rawValue, json, summary, audit.reason, audit.actor, now, now + approvalLifetimeMs,
            ])
        try Ledger.audit(
            db, atUnixMs: now, actor: audit.actor, action: "approval.request", subject: id, reason: audit.reason,
            detail: "\(kind.rawValue): \(summary)")
        return try approval(db, id: id, nowUnixMs: now)!
    }

    /// Approves a pending request and executes it in the same transaction. The requester approving their own
    /// request is `.rejected(permissionDenied)`; a decided or lapsed one `.failedPrecondition`; an act that no
    /// longer passes its checks fails naming its rule and the request stays PENDING.
    public func approve(approvalID: String, audit: AuditContext) async throws(WalletError) -> ApprovalRecord {
        try await write { db, state in
            let now = state.clock()
            let request = try Self.pendingApproval(db, id: approvalID, by: audit.actor, nowUnixMs: now)
            let payload = Data(try String.fetchOne(
                db, sql: "SELECT payload FROM approval_request WHERE id = ?", arguments: [approvalID])!.utf8)
            let result: String
            switch request.kind {
            case .reverseCharge:
                let p = try JSONDecoder().decode(ReverseChargePayload.self, from: payload)
                let reversal = try Self.applyReversal(
                    db, state, chargeID: p.chargeID, amountYen: p.amountYen, reason: request.reason,
                    keepChargesOpen: p.keepChargesOpen, requestedBy: request.requestedBy, approvedBy: audit.actor)
                result = "reversal \(reversal.reversalID): \(reversal.amountYen) yen back to bank (from wallet "
                    + "\(reversal.fromWalletYen), from compensation \(reversal.fromCompensationYen))"
            case .payCompensation:
                let p = try JSONDecoder().decode(PayCompensationPayload.self, from: payload)
                let paid = try Self.applyCompensationPayment(
                    db, state, caseID: p.caseID, reason: request.reason, requestedBy: request.requestedBy,
                    approvedBy: audit.actor)
                result = "case \(paid.caseID) PAID: charged \(paid.chargedYen) yen, reversed from wallets "
                    + "\(paid.reversedFromWalletsYen), paid from compensation \(paid.paidFromCompensationYen)"
            }
            try db.execute(sql: """
                UPDATE approval_request SET state = 2, decided_by = ?, decided_at_unix_ms = ?, decision_reason = ?,
                    result = ?
                WHERE id = ? AND state = 1
                """, arguments: [audit.actor, now, audit.reason, result, approvalID])
            guard db.changesCount == 1 else { throw WalletError.invariantViolated("approval \(approvalID) raced") }
            try Ledger.audit(
                db, atUnixMs: now, actor: audit.actor, action: "approval.approve", subject: approvalID,
                reason: audit.reason, detail: "\(request.kind.rawValue) requested by \(request.requestedBy): \(result)")
            return try Self.approval(db, id: approvalID, nowUnixMs: now)!
        }
    }

    /// Declines a pending request: nothing is executed. The requester may withdraw their own.
    public func decline(approvalID: String, audit: AuditContext) async throws(WalletError) -> ApprovalRecord {
        try await write { db, state in
            let now = state.clock()
            let request = try Self.pendingApproval(db, id: approvalID, by: nil, nowUnixMs: now)
            if request.requestedBy == audit.actor {
                // Withdrawing: the CHECK keeps decided_by ≠ requested_by, so it is recorded as the gateway's.
                try db.execute(sql: """
                    UPDATE approval_request SET state = 3, decided_by = 'gateway', decided_at_unix_ms = ?,
                        decision_reason = ? WHERE id = ?
                    """, arguments: [now, "withdrawn by \(audit.actor): \(audit.reason)", approvalID])
            } else {
                try db.execute(sql: """
                    UPDATE approval_request SET state = 3, decided_by = ?, decided_at_unix_ms = ?, decision_reason = ?
                    WHERE id = ?
                    """, arguments: [audit.actor, now, audit.reason, approvalID])
            }
            try Ledger.audit(
                db, atUnixMs: now, actor: audit.actor, action: "approval.decline", subject: approvalID,
                reason: audit.reason, detail: request.kind.rawValue)
            return try Self.approval(db, id: approvalID, nowUnixMs: now)!
        }
    }

    public func approvals(includeDecided: Bool) async throws(WalletError) -> [ApprovalRecord] {
        let now = clock()
        return try await read { db in
            let ids = try String.fetchAll(
                db, sql: includeDecided
                    ? "SELECT id FROM approval_request ORDER BY requested_at_unix_ms, id LIMIT 1000"
                    : "SELECT id FROM approval_request WHERE state = 1 ORDER BY requested_at_unix_ms, id LIMIT 1000")
            return try ids.compactMap { try Self.approval(db, id: $0, nowUnixMs: now) }
                .filter { includeDecided || $0.state == .pending }
        }
    }

    private static func pendingApproval(
        _ db: Database, id: String, by approver: String?, nowUnixMs: Int64
    ) throws -> ApprovalRecord {
        guard let request = try approval(db, id: id, nowUnixMs: nowUnixMs) else {
            throw WalletError.notFound("approval \(id)")
        }
        switch request.state {
        case .pending: break
        case .lapsed:
            throw WalletError.failedPrecondition("approval \(id) lapsed: nobody approved it within 24 h")
        default:
            throw WalletError.failedPrecondition("approval \(id) is already \(request.state)")
        }
        if let approver, approver == request.requestedBy {
            throw WalletError.rejected(Rejection(
                .permissionDenied,
                "\(approver) requested approval \(id) and cannot approve it: a different operator must "
                    + "(rule \(ReversalRule.fourEyes))"))
        }
        return request
    }

    static func approval(_ db: Database, id: String, nowUnixMs: Int64) throws -> ApprovalRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM approval_request WHERE id = ?", arguments: [id]),
              let kind = ApprovalKind(rawValue: row["kind"])
        else { return nil }
        var state = ApprovalState(rawValue: row["state"]) ?? .unspecified
        let expires: Int64 = row["expires_at_unix_ms"]
        if state == .pending && nowUnixMs >= expires { state = .lapsed }
        return ApprovalRecord(
            approvalID: id, kind: kind, summary: row["summary"], reason: row["reason"],
            requestedBy: row["requested_by"], requestedAtUnixMs: row["requested_at_unix_ms"],
            expiresAtUnixMs: expires, state: state, decidedBy: row["decided_by"],
            decidedAtUnixMs: row["decided_at_unix_ms"], decisionReason: row["decision_reason"], result: row["result"])
    }
}
