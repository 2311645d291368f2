import Foundation
import GRDB
import GatewayPolicy
import GatewayWire

// The bank-facing requests (SPEC §2): Charge, LinkAccount, Unlink through the writer; GetCharge from a reader.
extension WalletStore {
    /// Judges and records a charge in one writer transaction (SPEC §3, §4), in three steps: read the facts, decide
    /// (the caller's chain, `ChargeChecks.standard` in the gateway), record the verdict.
    ///
    /// Inside the batch: replay the stored answer if `(bank, request_id)` was answered before (a different body
    /// throws `.duplicateRequestDifferentBody`), whatever the request's `sent_at`; else, for a new request, throw
    /// `freshness` if the caller found `sent_at` outside the replay window (SPEC §3: the window guards new acts, not
    /// answers already given); else read the facts, ask `decide`, and record its verdict — `.approve`: charge row
    /// APPROVED + one transfer settlement → wallet (`credit`); `.hold`: row HELD + a pending transfer reserving the
    /// amount against the limits and cap; `.decline`: row DECLINED; all three with their idempotency record;
    /// `.reject`: nothing written, thrown.
    ///
    /// The verdict is trusted, and checked: an approve that would credit through a link that is not active or not
    /// this bank's, a frozen wallet or past the cap (balance plus reservations) breaks the chain's own guarantee and
    /// is refused as `.invariantViolated` with nothing written (INTERNAL for the bank, no request id consumed).
    ///
    /// `legacyBodyDigest` (the whole request's SHA-256) is evaluated only if the stored record predates migration v4.
    ///
    /// `decided` is told the recorded verdict (the chain's, after the SPEC §8 rules) once the batch has committed, and
    /// only for a new decision: not for a replay, and once however often the writer applied the request (`decide`
    /// itself runs again when a batch is replayed isolated, so it must not count anything).
    ///
    /// `sign` returns the response (fields 6-9 naming the request, SPEC §5) sealed (fields 10 and 5); the sealed
    /// response is stored whole, so a retry gets it back byte-for-byte. It is called once here, before the writer,
    /// on the caller's thread, for the answer most charges get — APPROVED, with the charge id and time the writer
    /// will then use — so the receipt's ECDSA runs in parallel across callers instead of on the one writer thread
    /// (issue 14); the writer calls it again only for another decision (HELD, DECLINED). The charge's time (its
    /// `processed_at`, and the moment its facts and Tokyo day are judged at) is therefore when it was submitted.
    public func submitCharge(
        _ request: ChargeRequest, bankCode: String, bodyDigest: [UInt8],
        legacyBodyDigest: @autoclosure @escaping @Sendable () -> [UInt8]? = nil,
        freshness: Rejection? = nil,
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict,
        sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse, clientAddress: String? = nil,
        decided: @escaping @Sendable (Verdict) -> Void = { _ in }
    ) async throws(WalletError) -> ChargeResponse {
        let write = try chargeWrite(
            request, bankCode: bankCode, digest: BodyDigest(sha256: bodyDigest, lazyLegacySHA256: legacyBodyDigest),
            freshness: freshness, decide: decide, sign: sign, clientAddress: clientAddress)
        let recorded = try await writer.submit(write).get()
        if let verdict = recorded.newVerdict { decided(verdict) }
        return recorded.response
    }

    /// `submitCharge` for a caller that is not a task (the gateway's unary path, issue 14): `completion` is called
    /// exactly once — on the writer's thread after the batch's commit (or failure), or at once on this thread for
    /// a request refused before the writer (amount, a twin in flight, a full queue). Keep it short: the writer
    /// answers the rest of the batch after it. Same semantics and arguments as the async form.
    public func submitCharge(
        _ request: ChargeRequest, bankCode: String, bodyDigest: [UInt8],
        legacyBodyDigest: @autoclosure @escaping @Sendable () -> [UInt8]? = nil,
        freshness: Rejection? = nil,
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict,
        sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse, clientAddress: String? = nil,
        decided: @escaping @Sendable (Verdict) -> Void = { _ in },
        completion: @escaping @Sendable (Result<ChargeResponse, WalletError>) -> Void
    ) {
        let write: LedgerWrite<RecordedCharge>
        do {
            write = try chargeWrite(
                request, bankCode: bankCode,
                digest: BodyDigest(sha256: bodyDigest, lazyLegacySHA256: legacyBodyDigest), freshness: freshness,
                decide: decide, sign: sign, clientAddress: clientAddress)
        } catch {
            completion(.failure(error))
            return
        }
        write.setReply(
            .completion { result in
                if case .success(let recorded) = result, let verdict = recorded.newVerdict { decided(verdict) }
                completion(result.map(\.response))
            })
        writer.enqueue(write)
    }

    /// A committed Charge's answer, and the verdict it recorded when it was a new decision (nil for a replay).
    struct RecordedCharge: Sendable {
        var response: ChargeResponse
        var newVerdict: Verdict?
    }

    /// The Charge as a writer request (see `submitCharge`).
    private func chargeWrite(
        _ request: ChargeRequest, bankCode: String, digest: BodyDigest, freshness: Rejection?,
        decide: @escaping @Sendable (ChargeAttemptFacts) -> Verdict,
        sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse, clientAddress: String?
    ) throws(WalletError) -> LedgerWrite<RecordedCharge> {
        guard request.amountYen > 0 else { throw .invalidArgument("amount_yen must be positive") }
        let key = IdempotencyKey(bankCode: bankCode, requestID: request.header.requestID)
        // A request outside the replay window is a retry or a rejection, never a new APPROVED: no receipt for it.
        let presigned = freshness == nil ? Self.presignedAnswer(request, key: key, nowUnixMs: clock(), sign: sign) : nil
        return LedgerWrite(idempotencyKey: key, factsCache: .maintains) { db, state in
            if let stored = try Ledger.replay(db, key: key, operation: .charge, digest: digest) {
                return RecordedCharge(
                    response: stored.chargeResponse(key: key, linkID: request.linkID, amountYen: request.amountYen))
            }
            if let freshness { throw WalletError.rejected(freshness) }
            guard let answer = presigned else {
                throw WalletError.invariantViolated("a fresh charge reached the writer without its presigned answer")
            }
            let now = answer.processedAtUnixMs
            let attempt = try ChargeAttempt.read(db, state, request, bankCode: key.bankCode, nowUnixMs: now)
            // SPEC §8 beside the §4 chain: a block-list hit declines, the holding rules hold, every firing is an
            // alert written below in this transaction.
            let (judged, alerts) = try Self.monitorCharge(db, state, attempt, decide(attempt.facts), clientAddress)
            let verdict = try ChargeVerdict(judged)
            let response = try Self.recordCharge(
                db, state, attempt, verdict, key: key, digest: digest.sha256, presigned: answer, sign: sign)
            try Self.recordChargeAlerts(db, state, alerts, response, bankCode: key.bankCode)
            return RecordedCharge(response: response, newVerdict: judged)
        }
    }

    /// The sealed APPROVED answer for a new charge: a fresh charge id (`Ledger.newChargeID`: nothing of it depends on
    /// the ledger, so it is drawn here, off the writer) and `now`.
    private static func presignedAnswer(
        _ request: ChargeRequest, key: IdempotencyKey, nowUnixMs now: Int64,
        sign: (ChargeResponse) -> ChargeResponse
    ) -> ChargeResponse {
        let answer = sign(
            ChargeResponse(
                decision: .approved, chargeID: Ledger.newChargeID(atUnixMs: now), declineReason: .unspecified,
                processedAtUnixMs: now, requestID: key.requestID, bankCode: key.bankCode, linkID: request.linkID,
                amountYen: request.amountYen))
        assert(answer.decision == .approved && answer.processedAtUnixMs == now, "sealing changes only fields 5, 10")
        return answer
    }

    /// Writes a judged charge: its row (an APPROVED or DECLINED one is its own idempotency record), the money
    /// (transfer or reservation), the audit entry, a HELD one's idempotency record. Nothing is written for a
    /// rejection (thrown before).
    private static func recordCharge(
        _ db: Database, _ state: WriterState, _ attempt: ChargeAttempt, _ verdict: ChargeVerdict,
        key: IdempotencyKey, digest: [UInt8], presigned: ChargeResponse, sign: (ChargeResponse) -> ChargeResponse
    ) throws -> ChargeResponse {
        let now = attempt.facts.nowUnixMs
        let request = attempt.facts.request
        let chargeID = presigned.chargeID
        assert(presigned.processedAtUnixMs == now, "the charge is judged at its presigned answer's time")
        // The presigned APPROVED answer when approved; another decision is sealed here, on the writer (rare).
        let response =
            verdict.decision == .approved
            ? presigned
            : sign(
                ChargeResponse(
                    decision: verdict.decision, chargeID: chargeID, declineReason: verdict.reason,
                    processedAtUnixMs: now, requestID: key.requestID, bankCode: key.bankCode, linkID: request.linkID,
                    amountYen: request.amountYen))
        try db.executeDirect(
            """
            INSERT INTO charge(id, bank_code, request_id, link_id, wallet_id, amount_yen, decision, decline_reason,
                rule, hold_state, created_at_unix_ms, processed_at_unix_ms, receipt_signature, receipt_key_id, body_sha256)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ) {
            $0.bind(chargeID)
            $0.bind(key.bankCode)
            $0.bind(key.requestID)
            $0.bind(request.linkID)
            $0.bind(attempt.wallet?.record.facts.id)
            $0.bind(request.amountYen)
            $0.bind(verdict.decision.rawValue)
            $0.bind(verdict.reason.rawValue)
            $0.bind(verdict.rule)
            $0.bind(verdict.decision == .held ? HoldState.open.rawValue : HoldState.unspecified.rawValue)
            $0.bind(now)
            $0.bind(now)
            $0.bind(response.receiptSignature)
            $0.bind(response.receiptKeyID)
            // A final answer is its own idempotency record; a hold's first answer goes to `idempotency` below.
            if verdict.decision == .held { $0.bindNull() } else { $0.bind(digest) }
        }
        switch verdict.decision {
        case .approved:
            try credit(db, attempt, chargeID: chargeID)
        case .held:
            try reserve(db, attempt, chargeID: chargeID)
            try Ledger.appendEvent(
                db, state, bankCode: key.bankCode, type: .chargeHeld, atUnixMs: now, linkID: request.linkID,
                chargeID: chargeID, requestID: key.requestID, amountYen: request.amountYen, reason: verdict.rule)
        case .declined, .unspecified:
            break
        }
        state.chargeRecorded(attempt, decision: verdict.decision)
        // Every decision is explained in the audit chain: `audit show --charge ID` reads these entries.
        try Ledger.audit(
            db, state, atUnixMs: now, actor: "bank/\(key.bankCode)", action: "charge.\(response.decision)",
            subject: chargeID,
            reason: verdict.rule,
            detail: "request_id=\(key.requestID) link=\(request.linkID) "
                + "wallet=\(attempt.wallet?.record.facts.id ?? "-") amount_yen=\(request.amountYen) "
                + "decline_reason=\(response.declineReason)")
        // Resolving the hold rewrites the row's answer; retries get the first one, kept here.
        if verdict.decision == .held {
            try Ledger.storeResponse(
                db, key: key, operation: .charge, bodySHA256: digest,
                response: .init(
                    operation: .charge, bodySHA256: digest, decision: response.decision.rawValue,
                    resultID: response.chargeID, declineReason: response.declineReason.rawValue,
                    processedAtUnixMs: response.processedAtUnixMs, receiptSignature: response.receiptSignature,
                    unlinked: false, receiptKeyID: response.receiptKeyID),
                nowUnixMs: now)
        }
        return response
    }

    /// The one place a charge credits a wallet: a new charge its chain approved, or a hold `ChargeChecks.release`
    /// approved at release time. The chain has judged `attempt.facts`; what it guarantees is re-checked here as
    /// invariants (not as a second copy of the rules: a failure is our bug, or a chain composed without them), and
    /// refused with nothing written.
    static func credit(_ db: Database, _ attempt: ChargeAttempt, chargeID: String) throws {
        let amount = attempt.facts.request.amountYen
        try attempt.checkMoneyMayMove(amountYen: amount, what: "credit of charge \(chargeID)")
        guard let wallet = attempt.wallet else { throw WalletError.invariantViolated("credit without a wallet") }
        try postChargeTransfer(
            db, chargeID: chargeID, from: attempt.bank.settlementAccountID, to: wallet.ledgerAccountID,
            amountYen: amount, atUnixMs: attempt.facts.nowUnixMs)
    }

    /// A held charge's pending transfer: reserves its amount against the wallet's limits (its Tokyo day and month)
    /// and cap until the hold is released (posted) or rejected (voided).
    static func reserve(_ db: Database, _ attempt: ChargeAttempt, chargeID: String) throws {
        let amount = attempt.facts.request.amountYen
        try attempt.checkMoneyMayMove(amountYen: amount, what: "hold of charge \(chargeID)")
        guard let wallet = attempt.wallet else { throw WalletError.invariantViolated("hold without a wallet") }
        let now = attempt.facts.nowUnixMs
        try db.cachedStatement(
            sql: """
                INSERT INTO pending_transfer(charge_id, debit_account_id, credit_account_id, amount_yen, tokyo_day,
                    tokyo_month, state, created_at_unix_ms)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                """
        ).execute(arguments: [
            chargeID, attempt.bank.settlementAccountID, wallet.ledgerAccountID, amount,
            TokyoTime.dayIndex(ofUnixMs: now), TokyoTime.monthIndex(ofUnixMs: now), now,
        ])
    }

    static func postChargeTransfer(
        _ db: Database, chargeID: String, from debitAccountID: Int64, to creditAccountID: Int64, amountYen: Int64,
        atUnixMs: Int64
    ) throws {
        assert(amountYen > 0, "a transfer moves a positive amount")
        try db.executeDirect(
            """
            INSERT INTO transfer(debit_account_id, credit_account_id, amount_yen, kind, charge_id, created_at_unix_ms,
                tokyo_day, tokyo_month)
            VALUES (?, ?, ?, 'charge', ?, ?, ?, ?)
            """
        ) {
            $0.bind(debitAccountID)
            $0.bind(creditAccountID)
            $0.bind(amountYen)
            $0.bind(chargeID)
            $0.bind(atUnixMs)
            $0.bind(TokyoTime.dayIndex(ofUnixMs: atUnixMs))
            $0.bind(TokyoTime.monthIndex(ofUnixMs: atUnixMs))
        }
    }

    // MARK: - LinkAccount

    /// Judges and records a link attempt in one writer transaction (SPEC §4): read the facts, decide, record.
    ///
    /// `.approve`: link row ACTIVE, the link code marked used, the wallet's decline streak reset. `.decline`: the
    /// streak moves as `LinkDeclineStreak.next` says (declines of the bank's own state do not count); reaching five
    /// in a row sets `link_locked` and reports `walletLinkingJustLocked` (raise an alert). Idempotency and
    /// `freshness` as for charges. Last line of defence: an approve whose code is not valid, unused, unexpired and
    /// issued for this wallet becomes DECLINED LINK_CODE_INVALID (consuming the code is the write's own
    /// precondition); one for a locked wallet or a token actively linked to any wallet DECLINED FRAUD_SUSPECTED /
    /// ACCOUNT_LINK_LIMIT.
    ///
    /// `linkCodeMAC` is `linkCodeMAC(of:)` of the code the bank presented. `decided` as for `submitCharge`.
    public func submitLink(
        _ request: LinkAccountRequest, bankCode: String, bodyDigest: [UInt8],
        legacyBodyDigest: @autoclosure @escaping @Sendable () -> [UInt8]? = nil,
        freshness: Rejection? = nil, linkCodeMAC: [UInt8],
        decide: @escaping @Sendable (LinkAttemptFacts) -> Verdict, clientAddress: String? = nil,
        decided: @escaping @Sendable (Verdict) -> Void = { _ in }
    ) async throws(WalletError) -> LinkOutcome {
        let key = IdempotencyKey(bankCode: bankCode, requestID: request.header.requestID)
        let digest = BodyDigest(sha256: bodyDigest, lazyLegacySHA256: legacyBodyDigest)
        let outcome = try await write(
            key: key, factsCache: .linkAttempt(bankCode: key.bankCode, walletID: request.walletAccountID)
        ) { db, state in
            if let stored = try Ledger.replay(db, key: key, operation: .link, digest: digest) {
                return LinkOutcome(response: stored.linkResponse, walletLinkingJustLocked: false)
            }
            if let freshness { throw WalletError.rejected(freshness) }
            let attempt = try LinkAttempt.read(db, state, request, bankCode: key.bankCode, codeMAC: linkCodeMAC)
            let (verdict, alerts) = try Self.monitorLink(db, state, attempt.facts, decide(attempt.facts), clientAddress)
            var outcome = try Self.recordLink(
                db, state, attempt, verdict, key: key, digest: digest.sha256, codeMAC: linkCodeMAC)
            try Self.recordLinkAlerts(db, state, alerts, outcome, attempt.facts)
            outcome.newVerdict = verdict
            return outcome
        }
        if let verdict = outcome.newVerdict { decided(verdict) }
        return outcome
    }

    private struct LinkAttempt {
        var facts: LinkAttemptFacts
        var wallet: Ledger.WalletRow?

        static func read(
            _ db: Database, _ state: WriterState, _ request: LinkAccountRequest, bankCode: String, codeMAC: [UInt8]
        ) throws -> LinkAttempt {
            guard let bank = try state.bank(db, code: bankCode) else {
                throw WalletError.rejected(Rejection(.permissionDenied, "bank \(bankCode) is not registered"))
            }
            let wallet = try Ledger.wallet(db, id: request.walletAccountID)
            let facts = LinkAttemptFacts(
                request: request, bank: bank.record.facts, wallet: wallet?.record.facts,
                linkCode: try Ledger.linkCode(db, mac: codeMAC),
                tokenActivelyLinked: try Ledger.tokenActivelyLinked(
                    db, bankCode: bankCode, token: request.bankAccountToken),
                nowUnixMs: state.clock())
            return LinkAttempt(facts: facts, wallet: wallet)
        }
    }

    private static func recordLink(
        _ db: Database, _ state: WriterState, _ attempt: LinkAttempt, _ verdict: Verdict, key: IdempotencyKey,
        digest: [UInt8],
        codeMAC: [UInt8]
    ) throws -> LinkOutcome {
        let now = attempt.facts.nowUnixMs
        let request = attempt.facts.request
        let wallet = attempt.wallet
        var response: LinkAccountResponse
        var rule = "approved"
        // The verdict the streak sees: the chain's, or the decline this step turned an approve into.
        var judged = verdict
        switch verdict {
        case .reject(let rejection):
            throw WalletError.rejected(rejection)
        case .hold(let rule):
            throw WalletError.invariantViolated("a link cannot be held (rule \(rule))")
        case .decline(let reason, let declineRule):
            rule = declineRule
            response = LinkAccountResponse(
                decision: .declined, declineReason: reason == .unspecified ? .fraudSuspected : reason)
        case .approve:
            if let wallet, !wallet.record.facts.linkLocked, !attempt.facts.tokenActivelyLinked,
                !request.bankAccountToken.isEmpty
            {
                let linkID = Ledger.newID(prefix: "ln_")
                try db.cachedStatement(
                    sql: """
                        UPDATE link_code SET used_at_unix_ms = ?, used_by_link_id = ?
                        WHERE code_mac = ? AND wallet_id = ? AND used_at_unix_ms IS NULL AND expires_at_unix_ms > ?
                        """
                ).execute(arguments: [now, linkID, Data(codeMAC), wallet.record.facts.id, now])
                if db.changesCount == 1 {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO link(id, bank_code, wallet_id, bank_account_token, active, linked_at_unix_ms)
                            VALUES (?, ?, ?, ?, 1, ?)
                            """
                    ).execute(arguments: [
                        linkID, key.bankCode, wallet.record.facts.id, request.bankAccountToken, now,
                    ])
                    try Ledger.appendEvent(
                        db, state, bankCode: key.bankCode, type: .linkCreated, atUnixMs: now, linkID: linkID,
                        requestID: key.requestID, reason: "linked")
                    response = LinkAccountResponse(decision: .approved, linkID: linkID)
                } else {
                    rule = "wallet-core: link code not valid, unused and unexpired for this wallet"
                    response = LinkAccountResponse(decision: .declined, declineReason: .linkCodeInvalid)
                }
            } else if wallet == nil {
                rule = "wallet-core: wallet not found"
                response = LinkAccountResponse(decision: .declined, declineReason: .walletNotFound)
            } else if attempt.facts.tokenActivelyLinked {
                rule = "wallet-core: token actively linked"
                response = LinkAccountResponse(decision: .declined, declineReason: .accountLinkLimit)
            } else {
                rule = "wallet-core: wallet locked for linking"
                response = LinkAccountResponse(decision: .declined, declineReason: .fraudSuspected)
            }
            if response.decision == .declined { judged = .decline(response.declineReason, rule: rule) }
        }
        try Ledger.audit(
            db, state, atUnixMs: now, actor: "bank/\(key.bankCode)", action: "link.\(response.decision)",
            subject: response.decision == .approved ? response.linkID : request.walletAccountID, reason: rule,
            detail: "request_id=\(key.requestID) wallet=\(request.walletAccountID) link=\(response.linkID) "
                + "decline_reason=\(response.declineReason)")

        var justLocked = false
        if let wallet {
            let current = wallet.record.consecutiveLinkDeclines
            let step = LinkDeclineStreak.next(current: current, after: judged)
            justLocked = step.lockWallet && !wallet.record.facts.linkLocked
            if step.streak != current || justLocked {
                try db.cachedStatement(
                    sql: """
                        UPDATE wallet SET consecutive_link_declines = ?, link_locked = link_locked OR ? WHERE id = ?
                        """
                ).execute(arguments: [step.streak, step.lockWallet, wallet.record.facts.id])
            }
            if justLocked {
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: "gateway", action: "wallet.link_locked",
                    subject: wallet.record.facts.id,
                    reason: "\(step.streak) declined link attempts in a row", detail: "last by bank \(key.bankCode)")
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

    /// Ends an active link of this bank (SPEC §2 Unlink). A link that is not active, or not this bank's, is
    /// `.notFound` (SPEC §3): a bank must not learn another bank's link exists, and an old link must not let a bank
    /// (a SUSPENDED one, say) freeze a wallet it no longer serves. A reason whose first word is `FRAUD`
    /// (`UnlinkReason`) sets the wallet's `charge_frozen` until an operator reviews it and reports
    /// `walletChargesJustFrozen` (raise the alert). Idempotency and `freshness` as for charges: a retry gets the
    /// stored answer (`unlinked` true) however often it is sent.
    public func unlink(
        linkID: String, bankCode: String, requestID: String, bodyDigest: [UInt8],
        legacyBodyDigest: @autoclosure @escaping @Sendable () -> [UInt8]? = nil,
        freshness: Rejection? = nil, reason: String
    ) async throws(WalletError) -> UnlinkOutcome {
        let key = IdempotencyKey(bankCode: bankCode, requestID: requestID)
        let digest = BodyDigest(sha256: bodyDigest, lazyLegacySHA256: legacyBodyDigest)
        return try await write(key: key) { db, state in
            if let stored = try Ledger.replay(db, key: key, operation: .unlink, digest: digest) {
                return UnlinkOutcome(
                    response: UnlinkResponse(unlinked: stored.unlinked), walletChargesJustFrozen: false)
            }
            if let freshness { throw WalletError.rejected(freshness) }
            let now = state.clock()
            guard let link = try Ledger.link(db, id: linkID), link.bankCode == bankCode, link.active else {
                throw WalletError.notFound("link \(linkID)")
            }
            try db.cachedStatement(
                sql: """
                    UPDATE link SET active = 0, unlinked_at_unix_ms = ?, unlink_reason = ? WHERE id = ? AND active = 1
                    """
            ).execute(arguments: [now, reason, linkID])
            guard db.changesCount == 1 else { throw WalletError.invariantViolated("link \(linkID) changed under us") }
            try Ledger.appendEvent(
                db, state, bankCode: bankCode, type: .linkRemoved, atUnixMs: now, linkID: linkID,
                requestID: requestID, reason: reason)
            try Ledger.audit(
                db, state, atUnixMs: now, actor: "bank/\(bankCode)", action: "link.unlinked", subject: linkID,
                reason: reason, detail: "request_id=\(requestID) wallet=\(link.walletID)")
            let freezes = UnlinkReason.freezesCharges(reason)
            if freezes {
                try Ledger.freezeCharges(
                    db, state, walletID: link.walletID, atUnixMs: now, reason: "unlink.fraud",
                    alsoLink: (bankCode, linkID))
                try Ledger.audit(
                    db, state, atUnixMs: now, actor: "bank/\(bankCode)", action: "wallet.charge_frozen",
                    subject: link.walletID, reason: reason, detail: "unlink of \(linkID)")
                try Ledger.raiseAlert(
                    db, state,
                    MonitoringRules.unlinkFraud(
                        linkID: linkID, walletID: link.walletID, bankCode: bankCode, reason: reason),
                    atUnixMs: now)
            }
            try Ledger.storeResponse(
                db, key: key, operation: .unlink, bodySHA256: digest.sha256,
                response: .init(
                    operation: .unlink, bodySHA256: digest.sha256, decision: 0, resultID: linkID, declineReason: 0,
                    processedAtUnixMs: now, receiptSignature: [], unlinked: true),
                nowUnixMs: now)
            return UnlinkOutcome(response: UnlinkResponse(unlinked: true), walletChargesJustFrozen: freezes)
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
            guard let wallet = try Ledger.wallet(db, id: walletID) else {
                throw WalletError.notFound("wallet \(walletID)")
            }
            return try Ledger.chargedTotals(db, walletAccountID: wallet.ledgerAccountID, atUnixMs: atUnixMs)
        }
    }

    /// Holds in `state` (all held charges when nil), oldest first, at most `limit`.
    public func holds(state: HoldState? = .open, limit: Int = 1_000) async throws(WalletError) -> [Hold] {
        precondition(limit > 0, "a listing is bounded")
        return try await read { db in try Ledger.holds(db, state: state, limit: limit) }
    }
}
