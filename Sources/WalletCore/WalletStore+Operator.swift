import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// Operator writes (the Admin service's back end). Each goes through the writer and appends to the audit log in the
// same transaction, naming the actor and reason.
extension WalletStore {

    /// Registers a bank with its own settlement account. Operators move it out of PENDING with `setBankState`.
    public func registerBank(
        code: String, name: String, linkState: BankState = .pending, chargeState: BankState = .pending,
        profile: BankProfile = .init(), audit: AuditContext
    ) async throws(WalletError) {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard try !Bool.fetchOne(db, sql: "SELECT 1 FROM bank WHERE code = ?", arguments: [code]).isTrue else {
                throw WalletError.alreadyExists("bank \(code)")
            }
            try Self.insertBank(
                db, code: code, name: name, linkState: linkState, chargeState: chargeState,
                profile: profile, now: now)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "bank.register", subject: code,
                reason: audit.reason, detail: "link \(linkState) charge \(chargeState)")
        }
    }

    private static func insertBank(
        _ db: Database, code: String, name: String, linkState: BankState, chargeState: BankState,
        profile: BankProfile, now: Int64
    ) throws {
        guard code.count == 4, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw WalletError.invalidArgument("bank code must be 4 digits: \(code)")
        }
        try db.execute(sql: "INSERT INTO ledger_account(kind) VALUES ('bank_settlement')")
        let accountID = db.lastInsertedRowID
        try db.execute(
            sql: """
                INSERT INTO bank(code, name, settlement_account_id, link_state, charge_state, max_charge_yen,
                    max_daily_yen_per_wallet, max_monthly_yen_per_wallet, new_link_max_charge_yen, new_link_caution_ms,
                    charge_requires_customer_auth, required_ekyc_methods, pinned_spki_sha256, max_requests_per_second,
                    created_at_unix_ms)
                VALUES (?, ?, ?, ?, ?, 1, 1, 1, 1, 0, 0, '', NULL, 1, ?)
                """, arguments: [code, name, accountID, linkState.rawValue, chargeState.rawValue, now])
        try updateProfile(db, code: code, profile: profile)
    }

    private static func updateProfile(_ db: Database, code: String, profile: BankProfile) throws {
        guard profile.maxChargeYen > 0, profile.maxDailyYenPerWallet > 0, profile.maxMonthlyYenPerWallet > 0,
            profile.newLinkMaxChargeYen > 0, profile.newLinkCautionMs >= 0, profile.maxRequestsPerSecond > 0,
            profile.pinnedSPKISHA256.map({ $0.count == 32 }) ?? true
        else { throw WalletError.invalidArgument("bank profile has a non-positive limit or a pin not 32 bytes") }
        let methods = profile.requiredEkycMethods.map(\.rawValue).sorted().map(String.init).joined(separator: ",")
        try db.execute(
            sql: """
                UPDATE bank SET max_charge_yen = ?, max_daily_yen_per_wallet = ?, max_monthly_yen_per_wallet = ?,
                    new_link_max_charge_yen = ?, new_link_caution_ms = ?, charge_requires_customer_auth = ?,
                    required_ekyc_methods = ?, pinned_spki_sha256 = ?, max_requests_per_second = ?
                WHERE code = ?
                """,
            arguments: [
                profile.maxChargeYen, profile.maxDailyYenPerWallet, profile.maxMonthlyYenPerWallet,
                profile.newLinkMaxChargeYen, profile.newLinkCautionMs, profile.chargeRequiresCustomerAuth, methods,
                profile.pinnedSPKISHA256.map { Data($0) }, profile.maxRequestsPerSecond, code,
            ])
    }

    /// Sets a bank's state for one operation, effective for the next request. PILOT and ENABLED need a passing
    /// conformance run within `BankEnablement.maxConformanceAgeMs`; SUSPENDED (the kill switch) and PENDING never
    /// wait for one.
    public func setBankState(
        code: String, operation: GatewayWire.Operation, state newState: BankState, audit: AuditContext
    ) async throws(WalletError) {
        guard operation != .unspecified, newState != .unspecified else {
            throw .invalidArgument("operation and state must be specified")
        }
        try await write(touchesBanks: true) { db, state in
            try Self.applyBankState(db, state, code: code, operation: operation, state: newState, audit: audit)
        }
    }

    /// Refuses now what `setBankState` would refuse (no recent passing conformance run for PILOT or ENABLED), so a
    /// four-eyes request for an impossible change is refused at once, naming why.
    public func checkBankStateChange(code: String, to newState: BankState, reason: String) async throws(WalletError) {
        let now = clock()
        guard let bank = try await bankRecord(code: code) else { throw .notFound("bank \(code)") }
        do {
            try Self.checkChange(code, .link, newState, reason, bank.lastPassingConformanceAtUnixMs, now)
        } catch let error as WalletError {
            throw error
        } catch {
            throw .invariantViolated("\(error)")
        }
    }

    /// The rule has one definition (GatewayPolicy): a recent passing run for PILOT/ENABLED, a reason always.
    private static func checkChange(
        _ code: String, _ operation: GatewayWire.Operation, _ newState: BankState, _ reason: String,
        _ lastPassingConformanceAtUnixMs: Int64?, _ now: Int64
    ) throws {
        if let refused = BankEnablement.checkChange(
            bankCode: code, operation: operation, to: newState, reason: reason,
            lastPassingConformanceAtUnixMs: lastPassingConformanceAtUnixMs, nowUnixMs: now)
        {
            switch refused.code {
            case .invalidArgument: throw WalletError.invalidArgument(refused.message)
            case .failedPrecondition, .permissionDenied, .resourceExhausted:
                throw WalletError.failedPrecondition(refused.message)
            }
        }
    }

    /// `setBankState` inside a writer transaction (also run by an approved four-eyes request).
    static func applyBankState(
        _ db: Database, _ state: WriterState, code: String, operation: GatewayWire.Operation, state newState: BankState,
        audit: AuditContext
    ) throws {
        let now = state.clock()
        guard let bank = try Ledger.bankRecord(db, code: code)?.record else {
            throw WalletError.notFound("bank \(code)")
        }
        try Self.checkChange(code, operation, newState, audit.reason, bank.lastPassingConformanceAtUnixMs, now)
        let column = operation == .link ? "link_state" : "charge_state"
        try db.execute(sql: "UPDATE bank SET \(column) = ? WHERE code = ?", arguments: [newState.rawValue, code])
        let old = operation == .link ? bank.facts.linkState : bank.facts.chargeState
        if old != newState {
            try Ledger.appendEvent(
                db, state, bankCode: code, type: .bankStateChanged, atUnixMs: now,
                reason: "\(operation): \(old) -> \(newState): \(audit.reason)")
        }
        try Ledger.audit(
            db, state, atUnixMs: now, actor: audit.actor, action: "bank.set_state", subject: code,
            reason: audit.reason, detail: "\(operation): \(old) -> \(newState)")
        state.invalidateBanks()
    }

    public func setBankProfile(code: String, profile: BankProfile, audit: AuditContext) async throws(WalletError) {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard try Ledger.bankRecord(db, code: code) != nil else { throw WalletError.notFound("bank \(code)") }
            try Self.updateProfile(db, code: code, profile: profile)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "bank.set_profile", subject: code,
                reason: audit.reason, detail: "\(profile)")
        }
    }

    /// Replaces the bank's pilot list (at most `maxPilotWallets`).
    public func setPilotList(code: String, walletIDs: Set<String>, audit: AuditContext) async throws(WalletError) {
        guard walletIDs.count <= Self.maxPilotWallets else {
            throw .invalidArgument("a pilot list holds at most \(Self.maxPilotWallets) wallets")
        }
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard try Ledger.bankRecord(db, code: code) != nil else { throw WalletError.notFound("bank \(code)") }
            try db.execute(sql: "DELETE FROM bank_pilot_wallet WHERE bank_code = ?", arguments: [code])
            for id in walletIDs.sorted() {
                try db.execute(
                    sql: "INSERT INTO bank_pilot_wallet(bank_code, wallet_id) VALUES (?, ?)",
                    arguments: [code, id])
            }
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "bank.set_pilot_list", subject: code,
                reason: audit.reason, detail: walletIDs.sorted().joined(separator: ","))
        }
    }

    /// Pilot lists are for pilots: 10,000 wallets at most, so the facts stay small.
    public static let maxPilotWallets = 10_000

    public func recordConformance(
        code: String, passed: Bool, ranAtUnixMs: Int64, detail: String, audit: AuditContext
    ) async throws(WalletError) {
        try await write(touchesBanks: true) { db, state in
            let now = state.clock()
            guard try Ledger.bankRecord(db, code: code) != nil else { throw WalletError.notFound("bank \(code)") }
            try db.execute(
                sql: """
                    INSERT INTO conformance_run(bank_code, passed, ran_at_unix_ms, detail, recorded_by)
                    VALUES (?, ?, ?, ?, ?)
                    """, arguments: [code, passed, ranAtUnixMs, detail, audit.actor])
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "bank.conformance", subject: code,
                reason: audit.reason, detail: passed ? "passed" : "failed")
        }
    }

    // MARK: Wallets

    public func registerWallet(
        id: String, isTest: Bool, balanceCapYen: Int64 = WalletFacts.balanceCapYenDefault, audit: AuditContext
    ) async throws(WalletError) {
        guard (1...32).contains(id.utf8.count) else { throw .invalidArgument("wallet id must be 1...32 bytes") }
        try await write { db, state in
            let now = state.clock()
            guard try Ledger.wallet(db, id: id) == nil else { throw WalletError.alreadyExists("wallet \(id)") }
            try Self.insertWallet(db, id: id, isTest: isTest, capYen: balanceCapYen, now: now)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: "wallet.register", subject: id,
                reason: audit.reason, detail: isTest ? "test" : "")
        }
    }

    private static func insertWallet(_ db: Database, id: String, isTest: Bool, capYen: Int64, now: Int64) throws {
        try db.execute(
            sql: "INSERT INTO ledger_account(kind, balance_cap_yen) VALUES ('wallet', ?)", arguments: [capYen])
        try db.execute(
            sql: """
                INSERT INTO wallet(id, ledger_account_id, is_test, ekyc_status, ekyc_method, ekyc_name_kana,
                    ekyc_verified_at_unix_ms, phone_verified, link_locked, consecutive_link_declines, charge_frozen,
                    created_at_unix_ms)
                VALUES (?, ?, ?, 1, 0, '', 0, 0, 0, 0, 0, ?)
                """, arguments: [id, db.lastInsertedRowID, isTest, now])
    }

    /// Records an eKYC result: the 犯収法 method and the verified kana name (VERIFIED needs a method).
    public func recordEkyc(
        walletID: String, status: EkycStatus, method: EkycMethod, nameKana: String, audit: AuditContext
    ) async throws(WalletError) {
        guard status != .verified || method != .unspecified else {
            throw .invalidArgument("a VERIFIED eKYC result names its 犯収法 method")
        }
        try await updateWallet(walletID, action: "wallet.ekyc", detail: "\(status) \(method)", audit: audit) {
            db, now in
            try db.execute(
                sql: """
                    UPDATE wallet SET ekyc_status = ?, ekyc_method = ?, ekyc_name_kana = ?, ekyc_verified_at_unix_ms = ?
                    WHERE id = ?
                    """,
                arguments: [status.rawValue, method.rawValue, nameKana, status == .verified ? now : 0, walletID])
        }
    }

    public func markPhoneVerified(walletID: String, audit: AuditContext) async throws(WalletError) {
        try await updateWallet(walletID, action: "wallet.phone_verified", audit: audit) { db, _ in
            try db.execute(sql: "UPDATE wallet SET phone_verified = 1 WHERE id = ?", arguments: [walletID])
        }
    }

    /// Clears the link lock and the decline streak after review.
    public func unlockLinking(walletID: String, audit: AuditContext) async throws(WalletError) {
        try await updateWallet(walletID, action: "wallet.unlock_linking", audit: audit) { db, _ in
            try db.execute(
                sql: "UPDATE wallet SET link_locked = 0, consecutive_link_declines = 0 WHERE id = ?",
                arguments: [walletID])
        }
    }

    /// Freezes charges to the wallet (the desk's own freeze; charges are DECLINED FRAUD_SUSPECTED until lifted).
    public func freezeCharges(walletID: String, audit: AuditContext) async throws(WalletError) {
        try await updateWallet(walletID, action: "wallet.freeze", audit: audit) { db, _ in
            try db.execute(sql: "UPDATE wallet SET charge_frozen = 1 WHERE id = ?", arguments: [walletID])
        }
    }

    /// Lifts a FRAUD freeze after review.
    public func unfreezeCharges(walletID: String, audit: AuditContext) async throws(WalletError) {
        try await updateWallet(walletID, action: "wallet.unfreeze", audit: audit) { db, _ in
            try db.execute(sql: "UPDATE wallet SET charge_frozen = 0 WHERE id = ?", arguments: [walletID])
        }
    }

    /// Stores a one-time link code by its keyed MAC (`linkCodeMAC(of:)`; the code itself is never stored), valid
    /// until `expiresAtUnixMs` (at most `LinkRules.linkCodeLifetimeMs` ahead).
    public func issueLinkCode(
        walletID: String, codeMAC: [UInt8], expiresAtUnixMs: Int64, audit: AuditContext
    ) async throws(WalletError) {
        guard codeMAC.count == 32 else { throw .invalidArgument("a link code MAC is 32 bytes (HMAC-SHA256)") }
        // A link code is no charge fact: the writer's facts cache stands.
        try await updateWallet(walletID, action: "wallet.issue_link_code", audit: audit, factsCache: .changesNoFact) {
            db, now in
            guard expiresAtUnixMs > now, expiresAtUnixMs - now <= LinkRules.linkCodeLifetimeMs else {
                throw WalletError.invalidArgument("a link code expires within 10 minutes of issue")
            }
            try db.execute(
                sql: """
                    INSERT INTO link_code(code_mac, wallet_id, issued_at_unix_ms, expires_at_unix_ms) VALUES (?, ?, ?, ?)
                    """, arguments: [Data(codeMAC), walletID, now, expiresAtUnixMs])
        }
    }

    private func updateWallet(
        _ walletID: String, action: String, detail: String = "", audit: AuditContext,
        factsCache: FactsCacheUse = .dropsAll, _ body: @escaping (Database, Int64) throws -> Void
    ) async throws(WalletError) {
        try await write(factsCache: factsCache) { db, state in
            let now = state.clock()
            guard try Ledger.wallet(db, id: walletID) != nil else { throw WalletError.notFound("wallet \(walletID)") }
            try body(db, now)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: audit.actor, action: action, subject: walletID,
                reason: audit.reason, detail: detail)
        }
    }

    // MARK: Holds

    /// Releases a held charge (SPEC §4): runs the credit chain (`ChargeChecks.release`: bank enabled for charge,
    /// link active, wallet not frozen, limits, cap) again on the facts as they are now, with the hold's own
    /// reservation freed, and credits the wallet through `credit` — the same path as a new charge — only if every
    /// rule passes. Otherwise `.failedPrecondition` names the rule and the hold stays open, still reserved.
    ///
    /// The charge then reads APPROVED for GetCharge, with a receipt re-signed by `sign`; retries of the original
    /// Charge still get the first (HELD) answer. Releasing a released hold returns it unchanged; releasing a
    /// rejected one fails.
    public func releaseHold(
        chargeID: String, audit: AuditContext, sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse
    ) async throws(WalletError) -> Hold {
        try await resolveHold(chargeID: chargeID, to: .released, audit: audit, sign: sign)
    }

    /// Rejects a held charge: nothing is credited and its reservation is freed; GetCharge reads DECLINED
    /// FRAUD_SUSPECTED, re-signed.
    public func rejectHold(
        chargeID: String, audit: AuditContext, sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse
    ) async throws(WalletError) -> Hold {
        try await resolveHold(chargeID: chargeID, to: .rejected, audit: audit, sign: sign)
    }

    private func resolveHold(
        chargeID: String, to target: HoldState, audit: AuditContext,
        sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse
    ) async throws(WalletError) -> Hold {
        try await write { db, state in
            try Self.applyResolveHold(db, state, chargeID: chargeID, to: target, audit: audit, sign: sign)
        }
    }

    /// `releaseHold` / `rejectHold` inside a writer transaction (also run by an approved four-eyes request).
    static func applyResolveHold(
        _ db: Database, _ state: WriterState, chargeID: String, to target: HoldState, audit: AuditContext,
        sign: (ChargeResponse) -> ChargeResponse
    ) throws -> Hold {
        let now = state.clock()
        guard let hold = try Ledger.hold(db, chargeID: chargeID) else {
            throw WalletError.notFound("hold \(chargeID)")
        }
        if hold.state == target { return hold }
        guard hold.state == .open else {
            throw WalletError.failedPrecondition("hold \(chargeID) is already \(hold.state)")
        }
        // Free the hold's reservation first: the chain judges the wallet as it is without it, and the credit
        // (or nothing) replaces it. A refusal below rolls this back with the rest of the request.
        try db.cachedStatement(
            sql: """
                UPDATE pending_transfer SET state = ?, resolved_at_unix_ms = ? WHERE charge_id = ? AND state = 'pending'
                """
        ).execute(arguments: [target == .released ? "posted" : "voided", now, chargeID])
        guard db.changesCount == 1 else {
            throw WalletError.invariantViolated("open hold \(chargeID) has no pending transfer")
        }
        if target == .released {
            try Self.creditReleasedHold(db, state, hold, nowUnixMs: now)
        }
        let decision: Decision = target == .released ? .approved : .declined
        let reason: DeclineReason = target == .released ? .unspecified : .fraudSuspected
        let response = sign(
            ChargeResponse(
                decision: decision, chargeID: chargeID, declineReason: reason, processedAtUnixMs: now,
                requestID: hold.requestID, bankCode: hold.bankCode, linkID: hold.linkID, amountYen: hold.amountYen))
        try db.execute(
            sql: """
                UPDATE charge SET decision = ?, decline_reason = ?, hold_state = ?, processed_at_unix_ms = ?,
                    receipt_signature = ?, receipt_key_id = ?, resolved_by = ?, resolved_at_unix_ms = ?
                WHERE id = ? AND hold_state = 1
                """,
            arguments: [
                decision.rawValue, reason.rawValue, target.rawValue, now, Data(response.receiptSignature),
                response.receiptKeyID, audit.actor, now, chargeID,
            ])
        guard db.changesCount == 1 else { throw WalletError.invariantViolated("hold \(chargeID) changed under us") }
        try Ledger.appendEvent(
            db, state, bankCode: hold.bankCode, type: target == .released ? .chargeReleased : .chargeRejected,
            atUnixMs: now, linkID: hold.linkID, chargeID: chargeID, requestID: hold.requestID,
            amountYen: hold.amountYen, reason: audit.reason)
        try Ledger.audit(
            db, state, atUnixMs: now, actor: audit.actor,
            action: target == .released ? "hold.release" : "hold.reject", subject: chargeID,
            reason: audit.reason, detail: "\(hold.amountYen) yen to \(hold.walletID)")
        guard let resolved = try Ledger.hold(db, chargeID: chargeID) else {
            throw WalletError.invariantViolated("hold \(chargeID) vanished")
        }
        return resolved
    }

    /// The release half of the one charge chain: the held charge, rebuilt from its row, judged by
    /// `ChargeChecks.release` at `now` and credited through `credit`, or refused naming the rule.
    private static func creditReleasedHold(
        _ db: Database, _ state: WriterState, _ hold: Hold, nowUnixMs now: Int64
    ) throws {
        let request = ChargeRequest(
            header: RequestHeader(bankCode: hold.bankCode, requestID: hold.requestID), linkID: hold.linkID,
            amountYen: hold.amountYen)
        let attempt: ChargeAttempt
        do {
            attempt = try ChargeAttempt.read(db, state, request, bankCode: hold.bankCode, nowUnixMs: now)
        } catch WalletError.rejected(let rejection) {
            throw WalletError.failedPrecondition("hold \(hold.chargeID) cannot be released: \(rejection.message)")
        }
        let refused = "hold \(hold.chargeID) cannot be released now and stays open:"
        switch ChargeChecks.release.evaluate(attempt.facts) {
        case .approve:
            break
        case .decline(let reason, let rule):
            throw WalletError.failedPrecondition("\(refused) \(rule) declines it (\(reason))")
        case .reject(let rejection):
            throw WalletError.failedPrecondition("\(refused) charge.bank_enabled: \(rejection.message)")
        case .hold(let rule):
            throw WalletError.invariantViolated("the release chain held hold \(hold.chargeID) (rule \(rule))")
        }
        guard attempt.wallet?.record.facts.id == hold.walletID else {
            throw WalletError.invariantViolated("hold \(hold.chargeID) is for another wallet than its link's")
        }
        try credit(db, attempt, chargeID: hold.chargeID)
    }

    // MARK: Housekeeping

    /// Deletes `idempotency` records older than `limits.idempotencyRetentionMs` (SPEC §3 keeps them ≥ 30 days), at
    /// most `maxRows` per call so one prune never holds the writer long. Returns how many it deleted. A charge that
    /// is its own record (APPROVED or DECLINED since v12) keeps it as long as the row exists.
    public func pruneIdempotency(maxRows: Int = 10_000) async throws(WalletError) -> Int {
        precondition(maxRows > 0, "a prune is bounded")
        let retention = limits.idempotencyRetentionMs
        return try await write { db, state in
            let cutoff = state.clock() - retention
            try db.execute(
                sql: """
                    DELETE FROM idempotency WHERE (bank_code, request_id) IN (
                        SELECT bank_code, request_id FROM idempotency WHERE created_at_unix_ms < ? LIMIT ?)
                    """, arguments: [cutoff, maxRows])
            return db.changesCount
        }
    }
}

extension Optional where Wrapped == Bool {
    fileprivate var isTrue: Bool { self ?? false }
}
