import GRDB
import GatewayPolicy
import GatewayWire

/// The first step of judging a charge: every fact the SPEC §4 chain needs, read in the writer's transaction (so two
/// charges racing for one daily limit cannot both pass on stale totals), with the rows the record step writes to.
///
/// Used for a new charge and, with the charge rebuilt from its row, for a hold's release: both are judged on the
/// facts as they are at that moment.
struct ChargeAttempt {
    var facts: ChargeAttemptFacts
    var bank: (record: BankRecord, settlementAccountID: Int64)
    var link: LinkFacts?
    var wallet: Ledger.WalletRow?

    static func read(
        _ db: Database, _ state: WriterState, _ request: ChargeRequest, bankCode: String, nowUnixMs now: Int64
    ) throws -> ChargeAttempt {
        guard let bank = try state.bank(db, code: bankCode) else {
            throw WalletError.rejected(Rejection(.permissionDenied, "bank \(bankCode) is not registered"))
        }
        // Through the writer's facts cache while a Charge applies (exact: see `ChargeFactsCache`).
        let link = try state.link(db, id: request.linkID)
        let wallet = try link.flatMap { try state.wallet(db, id: $0.walletID) }
        let zero = ChargedTotals(dayYen: 0, monthYen: 0)
        let totals = try wallet.map { try state.totals(db, walletAccountID: $0.ledgerAccountID, atUnixMs: now) }
        let charged = totals?.charged ?? zero
        let reserved = totals?.reserved ?? zero
        let recent =
            try link.map {
                try state.recentChargeCount(
                    db, link: $0, sinceUnixMs: now - ChargeRules.rapidChargeWindowMs,
                    limit: state.limits.maxCountedRecentChargesOnLink)
            } ?? 0
        let moved = try link.map { try state.firstChargeAfterTokenMovedWallets(db, link: $0) } ?? false
        let facts = ChargeAttemptFacts(
            request: request, bank: bank.record.facts, link: link, wallet: wallet?.record.facts,
            chargedTodayYen: charged.dayYen, chargedThisMonthYen: charged.monthYen,
            chargesFromTokenToWalletInWindow: recent, firstChargeAfterTokenMovedWallets: moved, nowUnixMs: now,
            reservedTodayYen: reserved.dayYen, reservedThisMonthYen: reserved.monthYen)
        return ChargeAttempt(facts: facts, bank: bank, link: link, wallet: wallet)
    }

    /// What every approving chain guarantees before money moves into (or is reserved for) a wallet: the link is
    /// active and the bank's, the wallet is not frozen, and balance + reservations + amount stays within the cap.
    /// Checked as invariants: a failure means the chain that decided lacks a rule, and nothing is written.
    func checkMoneyMayMove(amountYen: Int64, what: String) throws {
        guard let link, link.active, link.bankCode == facts.bank.code, let wallet = wallet?.record.facts,
            wallet.id == link.walletID
        else {
            throw WalletError.invariantViolated("\(what): the link is not active or not bank \(facts.bank.code)'s")
        }
        guard !wallet.chargeFrozen else {
            throw WalletError.invariantViolated("\(what): wallet \(wallet.id) is frozen")
        }
        guard amountYen > 0, wallet.balanceYen >= 0, wallet.reservedYen >= 0,
            wallet.balanceYen <= wallet.balanceCapYen - amountYen - wallet.reservedYen
        else {
            throw WalletError.invariantViolated(
                "\(what): wallet \(wallet.id) balance \(wallet.balanceYen) + reserved \(wallet.reservedYen) + "
                    + "\(amountYen) yen is over its cap \(wallet.balanceCapYen)")
        }
    }
}

/// The second step: the chain's verdict as the charge row records it (a rejection is thrown, never recorded).
struct ChargeVerdict {
    var decision: Decision
    var reason: DeclineReason
    /// The rule that decided, for the row and the audit chain ("approved" when every rule passed).
    var rule: String

    init(_ verdict: Verdict) throws {
        switch verdict {
        case .reject(let rejection):
            throw WalletError.rejected(rejection)
        case .decline(let reason, let rule) where reason == .unspecified:
            // A decline must say why (the schema refuses one without a reason); name it as ours.
            (decision, self.reason, self.rule) = (.declined, .fraudSuspected, rule + " (no reason given)")
        case .decline(let reason, let rule):
            (decision, self.reason, self.rule) = (.declined, reason, rule)
        case .hold(let rule):
            (decision, self.reason, self.rule) = (.held, .unspecified, rule)
        case .approve:
            (decision, self.reason, self.rule) = (.approved, .unspecified, "approved")
        }
    }
}
