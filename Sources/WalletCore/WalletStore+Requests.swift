import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// The bank-facing requests (SPEC §2): Charge, LinkAccount, Unlink through the writer; GetCharge from a reader.
extension WalletStore {
    /// Judges and records a charge in one writer transaction (SPEC §3, §4).
    ///
    /// Inside the batch: replay the stored answer if `(bank, request_id)` was answered before (a different
    /// `bodyDigest` throws `.duplicateRequestDifferentBody`); else read the facts, ask `decide`, and apply its
    /// verdict — `.approve`: charge row APPROVED + one transfer settlement → wallet; `.hold`: row HELD, no transfer;
    /// `.decline`: row DECLINED; all three with their idempotency record; `.reject`: nothing written, thrown.
    ///
    /// Last line of defence: an approve for a link that is not active or not this bank's becomes DECLINED
    /// LINK_NOT_ACTIVE; for a frozen wallet DECLINED FRAUD_SUSPECTED; one that would take the wallet over its cap
    /// (checked here and by the schema's CHECK) DECLINED BALANCE_CAP_EXCEEDED.
    ///
    /// `sign` is called on the writer's thread with the response whose `receiptSignature` is empty; the signed
    /// response is stored whole, so a retry gets it back byte-for-byte.
    public func submitCharge(
        _ request: ChargeRequest, bankCode: String, bodyDigest: [UInt8],
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict,
        sign: @escaping @Sendable (ChargeResponse) -> [UInt8]
    ) async throws(WalletError) -> ChargeResponse {
        guard request.amountYen > 0 else { throw .invalidArgument("amount_yen must be positive") }
        let key = IdempotencyKey(bankCode: bankCode, requestID: request.header.requestID)
        return try await write(key: key) { db, state in
            try Self.applyCharge(db, state, request, key, bodyDigest, decide, sign)
        }
    }

    private static func applyCharge(
        _ db: Database, _ state: WriterState, _ request: ChargeRequest, _ key: IdempotencyKey, _ digest: [UInt8],
        _ decide: (ChargeAttemptFacts) -> Verdict, _ sign: (ChargeResponse) -> [UInt8]
    ) throws -> ChargeResponse {
        if let stored = try Ledger.replay(db, key: key, operation: .charge, bodySHA256: digest) {
            return stored.chargeResponse
        }
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM charge WHERE bank_code = ? AND request_id = ?"),
            arguments: [key.bankCode, key.requestID]) != nil
        {
            throw WalletError.requestIDExpired(bankCode: key.bankCode, requestID: key.requestID)
        }
        let now = state.clock()
        guard let bank = try state.bank(db, code: key.bankCode) else {
            throw WalletError.rejected(Rejection(.permissionDenied, "bank \(key.bankCode) is not registered"))
        }
        let link = try Ledger.link(db, id: request.linkID)
        let wallet = try link.flatMap { try Ledger.wallet(db, id: $0.walletID) }
        let totals = try wallet.map {
            try Ledger.chargedTotals(db, walletAccountID: $0.ledgerAccountID, atUnixMs: now)
        } ?? ChargedTotals(dayYen: 0, monthYen: 0)
        let recent = try link.map {
            try Ledger.recentChargeCount(
                db, linkID: $0.id, sinceUnixMs: now - 10 * 60_000,
                limit: state.limits.maxCountedRecentChargesOnLink)
        } ?? 0
        let moved = try link.map { try Ledger.firstChargeAfterTokenMovedWallets(db, link: $0) } ?? false
        let facts = ChargeAttemptFacts(
            request: request, bank: bank.record.facts, link: link, wallet: wallet?.record.facts,
            chargedTodayYen: totals.dayYen, chargedThisMonthYen: totals.monthYen,
            chargesOnLinkInLast10Minutes: recent, firstChargeAfterTokenMovedWallets: moved, nowUnixMs: now)

        var decision: Decision
        var reason = DeclineReason.unspecified
        var rule: String
        switch decide(facts) {
        case .reject(let rejection):
            throw WalletError.rejected(rejection)
        case .decline(let declineReason, let declineRule):
            (decision, reason, rule) = (.declined, declineReason, declineRule)
            if declineReason == .unspecified {
                // A decline must say why (the schema refuses one without a reason); name it as ours.
                reason = .fraudSuspected
                rule = declineRule + " (no reason given)"
            }
        case .hold(let holdRule):
            (decision, rule) = (.held, holdRule)
        case .approve:
            (decision, rule) = (.approved, "approved")
        }
        if decision == .approved {
            if let link, let wallet, link.active, link.bankCode == key.bankCode {
                if wallet.record.facts.chargeFrozen {
                    (decision, reason, rule) = (.declined, .fraudSuspected, "wallet-core: wallet frozen")
                } else if wallet.record.facts.balanceYen > wallet.record.facts.balanceCapYen - request.amountYen {
                    (decision, reason, rule) = (.declined, .balanceCapExceeded, "wallet-core: balance cap")
                }
            } else {
                (decision, reason, rule) = (.declined, .linkNotActive, "wallet-core: link not active")
            }
        }

        let chargeID = Ledger.newID(prefix: "ch_")
        var decidingRule = rule
        func respond(_ decision: Decision, _ reason: DeclineReason, _ rule: String) throws -> ChargeResponse {
            decidingRule = rule
            var response = ChargeResponse(
                decision: decision, chargeID: chargeID, declineReason: reason, processedAtUnixMs: now)
            response.receiptSignature = sign(response)
            try db.cachedStatement(sql: """
                INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision,
                    decline_reason, rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    chargeID, key.bankCode, key.requestID, request.linkID, wallet?.record.facts.id,
                    request.amountYen, decision.rawValue, reason.rawValue, rule,
                    decision == .held ? HoldState.open.rawValue : HoldState.unspecified.rawValue, now, now,
                    Data(response.receiptSignature),
                ])
            if decision == .held {
                try Ledger.appendEvent(
                    db, state, bankCode: key.bankCode, type: .chargeHeld, atUnixMs: now, linkID: request.linkID,
                    chargeID: chargeID, requestID: key.requestID, amountYen: request.amountYen, reason: rule)
            }
            if decision == .approved, let wallet {
                try postChargeTransfer(
                    db, chargeID: chargeID, from: bank.settlementAccountID, to: wallet.ledgerAccountID,
                    amountYen: request.amountYen, atUnixMs: now)
            }
            return response
        }

        var response: ChargeResponse
        if decision == .approved {
            do {
                response = try inSavepoint(db, "credit") { try respond(.approved, .unspecified, rule) }
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_CHECK {
                // The schema refused the credit (balance over cap), although the check above passed: decline.
                response = try respond(.declined, .balanceCapExceeded, "wallet-core: balance cap (schema)")
            }
        } else {
            response = try respond(decision, reason, rule)
        }
        // Every decision is explained in the audit chain: `audit show --charge ID` reads these entries.
        try Ledger.audit(
            db, atUnixMs: now, actor: "bank/\(key.bankCode)", action: "charge.\(response.decision)", subject: chargeID,
            reason: decidingRule,
            detail: "request_id=\(key.requestID) link=\(request.linkID) wallet=\(wallet?.record.facts.id ?? "-") "
                + "amount_yen=\(request.amountYen) decline_reason=\(response.declineReason)")
        try Ledger.storeResponse(
            db, key: key, operation: .charge, bodySHA256: digest,
            response: .init(
                operation: .charge, bodySHA256: digest, decision: response.decision.rawValue,
                resultID: response.chargeID, declineReason: response.declineReason.rawValue,
                processedAtUnixMs: response.processedAtUnixMs, receiptSignature: response.receiptSignature,
                unlinked: false),
            nowUnixMs: now)
        return response
    }

    static func postChargeTransfer(
        _ db: Database, chargeID: String, from debitAccountID: Int64, to creditAccountID: Int64, amountYen: Int64,
        atUnixMs: Int64
    ) throws {
        assert(amountYen > 0, "a transfer moves a positive amount")
        try db.cachedStatement(sql: """
            INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id,
                created_at_unix_ms, tokyo_day, tokyo_month)
            VALUES (?, ?, ?, 'charge', ?, ?, ?, ?)
            """).execute(arguments: [
                debitAccountID, creditAccountID, amountYen, chargeID, atUnixMs,
                TokyoCalendar.dayIndex(ofUnixMs: atUnixMs), TokyoCalendar.monthIndex(ofUnixMs: atUnixMs),
            ])
    }

    /// Runs `body` in a named savepoint, rolled back (and the error rethrown) if it throws.
    static func inSavepoint<T>(_ db: Database, _ name: String, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT \(name)").execute()
        do {
            let value = try body()
            try db.cachedStatement(sql: "RELEASE \(name)").execute()
            return value
        } catch {
            try db.cachedStatement(sql: "ROLLBACK TO \(name)").execute()
            try db.cachedStatement(sql: "RELEASE \(name)").execute()
            throw error
        }
    }

    // MARK: - LinkAccount

    /// Judges and records a link attempt in one writer transaction (SPEC §4).
    ///
    /// `.approve`: link row ACTIVE, the link code marked used, the wallet's decline streak reset. `.decline`: the
    /// streak +1; the fifth in a row sets `link_locked` and reports `walletLinkingJustLocked` (raise an alert).
    /// Idempotency as for charges. Last line of defence: an approve whose code is not valid, unused, unexpired and
    /// issued for this wallet becomes DECLINED LINK_CODE_INVALID; one for a locked wallet or a token actively linked
    /// to another wallet DECLINED FRAUD_SUSPECTED / ACCOUNT_LINK_LIMIT.
    public func submitLink(
        _ request: LinkAccountRequest, bankCode: String, bodyDigest: [UInt8], linkCodeHash: [UInt8],
        decide: @escaping @Sendable (LinkAttemptFacts) -> Verdict
    ) async throws(WalletError) -> LinkOutcome {
        let key = IdempotencyKey(bankCode: bankCode, requestID: request.header.requestID)
        return try await write(key: key) { db, state in
            try Self.applyLink(db, state, request, key, bodyDigest, linkCodeHash, decide)
        }
    }

    private static let maxConsecutiveLinkDeclines = 5

    private static func applyLink(
        _ db: Database, _ state: WriterState, _ request: LinkAccountRequest, _ key: IdempotencyKey,
        _ digest: [UInt8], _ codeHash: [UInt8], _ decide: (LinkAttemptFacts) -> Verdict
    ) throws -> LinkOutcome {
        if let stored = try Ledger.replay(db, key: key, operation: .link, bodySHA256: digest) {
            return LinkOutcome(response: stored.linkResponse, walletLinkingJustLocked: false)
        }
        let now = state.clock()
        guard let bank = try state.bank(db, code: key.bankCode) else {
            throw WalletError.rejected(Rejection(.permissionDenied, "bank \(key.bankCode) is not registered"))
        }
        let wallet = try Ledger.wallet(db, id: request.walletAccountID)
        let code = try Ledger.linkCode(db, sha256: codeHash)
        let tokenTaken = try Ledger.tokenActivelyLinkedToAnotherWallet(
            db, bankCode: key.bankCode, token: request.bankAccountToken, walletID: request.walletAccountID)
        let facts = LinkAttemptFacts(
            request: request, bank: bank.record.facts, wallet: wallet?.record.facts, linkCode: code,
            tokenActivelyLinkedToAnotherWallet: tokenTaken, nowUnixMs: now)

        var response: LinkAccountResponse
        var rule = "approved"
        switch decide(facts) {
        case .reject(let rejection):
            throw WalletError.rejected(rejection)
        case .hold(let rule):
            throw WalletError.invariantViolated("a link cannot be held (rule \(rule))")
        case .decline(let reason, let declineRule):
            rule = declineRule
            response = LinkAccountResponse(decision: .declined, declineReason: reason == .unspecified ? .fraudSuspected : reason)
        case .approve:
            if let wallet, !wallet.record.facts.linkLocked, !tokenTaken, !request.bankAccountToken.isEmpty {
                let linkID = Ledger.newID(prefix: "ln_")
                try db.cachedStatement(sql: """
                    UPDATE link_code SET used_at_unix_ms = ?, used_by_link_id = ?
                    WHERE code_sha256 = ? AND wallet_id = ? AND used_at_unix_ms IS NULL AND expires_at_unix_ms > ?
                    """).execute(arguments: [now, linkID, Data(codeHash), wallet.record.facts.id, now])
                if db.changesCount == 1 {
                    try db.cachedStatement(sql: """
                        INSERT INTO link(id, bank_code, wallet_id, bank_account_token, active, linked_at_unix_ms)
                        VALUES (?, ?, ?, ?, 1, ?)
                        """).execute(arguments: [linkID, key.bankCode, wallet.record.facts.id, request.bankAccountToken, now])
                    try Ledger.appendEvent(
                        db, state, bankCode: key.bankCode, type: .linkCreated, atUnixMs: now, linkID: linkID,
                        requestID: key.requestID, reason: "linked")
                    try db.cachedStatement(sql: "UPDATE wallet SET consecutive_link_declines = 0 WHERE id = ?")
                        .execute(arguments: [wallet.record.facts.id])
                    response = LinkAccountResponse(decision: .approved, linkID: linkID)
                } else {
                    rule = "wallet-core: link code not valid, unused and unexpired for this wallet"
                    response = LinkAccountResponse(decision: .declined, declineReason: .linkCodeInvalid)
                }
            } else if wallet == nil {
                rule = "wallet-core: wallet not found"
                response = LinkAccountResponse(decision: .declined, declineReason: .walletNotFound)
            } else if tokenTaken {
                rule = "wallet-core: token actively linked to another wallet"
                response = LinkAccountResponse(decision: .declined, declineReason: .accountLinkLimit)
            } else {
                rule = "wallet-core: wallet locked for linking"
                response = LinkAccountResponse(decision: .declined, declineReason: .fraudSuspected)
            }
        }
        try Ledger.audit(
            db, atUnixMs: now, actor: "bank/\(key.bankCode)", action: "link.\(response.decision)",
            subject: response.decision == .approved ? response.linkID : request.walletAccountID, reason: rule,
            detail: "request_id=\(key.requestID) wallet=\(request.walletAccountID) link=\(response.linkID) "
                + "decline_reason=\(response.declineReason)")

        var justLocked = false
        if response.decision == .declined, let wallet {
            let streak = wallet.record.consecutiveLinkDeclines + 1
            justLocked = streak >= maxConsecutiveLinkDeclines && !wallet.record.facts.linkLocked
            try db.cachedStatement(sql: """
                UPDATE wallet SET consecutive_link_declines = ?, link_locked = link_locked OR ? WHERE id = ?
                """).execute(arguments: [streak, streak >= maxConsecutiveLinkDeclines, wallet.record.facts.id])
            if justLocked {
                try Ledger.audit(
                    db, atUnixMs: now, actor: "gateway", action: "wallet.link_locked", subject: wallet.record.facts.id,
                    reason: "\(streak) declined link attempts in a row", detail: "last by bank \(key.bankCode)")
            }
        }
        try Ledger.storeResponse(
            db, key: key, operation: .link, bodySHA256: digest,
            response: .init(
                operation: .link, bodySHA256: digest, decision: response.decision.rawValue, resultID: response.linkID,
                declineReason: response.declineReason.rawValue, processedAtUnixMs: now, receiptSignature: [],
                unlinked: false),
            nowUnixMs: now)
        return LinkOutcome(response: response, walletLinkingJustLocked: justLocked)
    }

    // MARK: - Unlink

    /// Ends a link of this bank (SPEC §2 Unlink). A `reason` starting with `FRAUD` (any letter case: freezing more
    /// is the safe side) sets the wallet's `charge_frozen` until an operator reviews it. `unlinked` is false when
    /// the link was already unlinked. A link of another bank is `.notFound` (a bank must not learn it exists).
    /// Idempotent as for charges.
    public func unlink(
        linkID: String, bankCode: String, requestID: String, bodyDigest: [UInt8], reason: String
    ) async throws(WalletError) -> UnlinkResponse {
        let key = IdempotencyKey(bankCode: bankCode, requestID: requestID)
        return try await write(key: key) { db, state in
            if let stored = try Ledger.replay(db, key: key, operation: .unlink, bodySHA256: bodyDigest) {
                return UnlinkResponse(unlinked: stored.unlinked)
            }
            let now = state.clock()
            guard let link = try Ledger.link(db, id: linkID), link.bankCode == bankCode else {
                throw WalletError.notFound("link \(linkID)")
            }
            if link.active {
                try db.cachedStatement(sql: """
                    UPDATE link SET active = 0, unlinked_at_unix_ms = ?, unlink_reason = ? WHERE id = ?
                    """).execute(arguments: [now, reason, linkID])
                try Ledger.appendEvent(
                    db, state, bankCode: bankCode, type: .linkRemoved, atUnixMs: now, linkID: linkID,
                    requestID: requestID, reason: reason)
            }
            try Ledger.audit(
                db, atUnixMs: now, actor: "bank/\(bankCode)",
                action: link.active ? "link.unlinked" : "link.unlink_repeated", subject: linkID, reason: reason, detail: "request_id=\(requestID) wallet=\(link.walletID)")
            if reason.uppercased().hasPrefix("FRAUD") {
                try Ledger.freezeCharges(
                    db, state, walletID: link.walletID, atUnixMs: now, reason: "unlink.fraud",
                    alsoLink: (bankCode, linkID))
                try Ledger.audit(
                    db, atUnixMs: now, actor: "bank/\(bankCode)", action: "wallet.charge_frozen", subject: link.walletID,
                    reason: reason, detail: "unlink of \(linkID)")
            }
            try Ledger.storeResponse(
                db, key: key, operation: .unlink, bodySHA256: bodyDigest,
                response: .init(
                    operation: .unlink, bodySHA256: bodyDigest, decision: 0, resultID: linkID, declineReason: 0,
                    processedAtUnixMs: now, receiptSignature: [], unlinked: link.active),
                nowUnixMs: now)
            return UnlinkResponse(unlinked: link.active)
        }
    }

    // MARK: - Reads (never wait for the writer)

    /// GetCharge: the charge's current outcome (a released hold reads APPROVED, re-signed), or nil.
    public func charge(bankCode: String, requestID: String) async throws(WalletError) -> ChargeResponse? {
        try await read { db in try Ledger.chargeResponse(db, bankCode: bankCode, requestID: requestID) }
    }

    public func bank(code: String) async throws(WalletError) -> BankFacts? {
        try await read { db in try Ledger.bankRecord(db, code: code)?.record.facts }
    }

    public func bankRecord(code: String) async throws(WalletError) -> BankRecord? {
        try await read { db in try Ledger.bankRecord(db, code: code)?.record }
    }

    public func banks() async throws(WalletError) -> [BankRecord] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT code FROM bank ORDER BY code").compactMap {
                try Ledger.bankRecord(db, code: $0)?.record
            }
        }
    }

    public func wallet(id: String) async throws(WalletError) -> WalletFacts? {
        try await read { db in try Ledger.wallet(db, id: id)?.record.facts }
    }

    public func walletRecord(id: String) async throws(WalletError) -> WalletRecord? {
        try await read { db in try Ledger.wallet(db, id: id)?.record }
    }

    public func link(id: String) async throws(WalletError) -> LinkFacts? {
        try await read { db in try Ledger.link(db, id: id) }
    }

    /// Charged totals of the wallet for the Tokyo day and month containing `atUnixMs`.
    public func chargedTotals(walletID: String, atUnixMs: Int64) async throws(WalletError) -> ChargedTotals {
        try await read { db in
            guard let wallet = try Ledger.wallet(db, id: walletID) else { throw WalletError.notFound("wallet \(walletID)") }
            return try Ledger.chargedTotals(db, walletAccountID: wallet.ledgerAccountID, atUnixMs: atUnixMs)
        }
    }

    /// Holds in `state` (all held charges when nil), oldest first, at most `limit`.
    public func holds(state: HoldState? = .open, limit: Int = 1_000) async throws(WalletError) -> [Hold] {
        precondition(limit > 0, "a listing is bounded")
        return try await read { db in try Ledger.holds(db, state: state, limit: limit) }
    }
}
