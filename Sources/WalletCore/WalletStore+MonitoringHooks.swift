import GRDB
import GatewayPolicy
import GatewayWire

// Where the SPEC §8 rules meet the writer's request paths: the facts they need, read in the request's transaction,
// and the alert records written in it. The §4 chain (ChargeChecks / LinkChecks) is unchanged; these run beside it.
extension WalletStore {
    /// The charge verdict after the §8 rules, and the alerts to write with the decision.
    static func monitorCharge(
        _ db: Database, _ state: WriterState, _ attempt: ChargeAttempt, _ verdict: Verdict, _ clientAddress: String?
    ) throws -> (Verdict, [AlertSignal]) {
        let monitoring = state.monitoring
        guard monitoring.enabled, !verdict.isRejection else { return (verdict, []) }
        let link = attempt.link
        let now = attempt.facts.nowUnixMs
        let thresholds = monitoring.thresholds
        let tokenHash = link.map { state.tokenHash(link: $0) }
        let facts = ChargeMonitoringFacts(
            attempt: attempt.facts, clientAddress: clientAddress,
            blocked: try Ledger.blocklistFacts(
                walletID: link?.walletID, tokenHash: tokenHash, clientAddress: clientAddress
            ) {
                try state.isBlocked(db, kind: $0, lookup: $1)
            },
            tokenSubject: link.flatMap { link in
                tokenHash.map { Ledger.tokenSubject(bankCode: link.bankCode, hash: $0) }
            },
            walletCreditedInVelocityWindowYen: try link.map {
                try state.creditedToWallet(
                    db, walletID: $0.walletID, sinceUnixMs: now - thresholds.walletVelocityWindowMs)
            } ?? 0,
            walletManyAccountsAlertOpen: try link.map { try state.manyAccountsAlertOpen(db, walletID: $0.walletID) }
                ?? false)
        return monitoring.charge(facts, verdict: verdict)
    }

    static func recordChargeAlerts(
        _ db: Database, _ state: WriterState, _ alerts: [AlertSignal], _ response: ChargeResponse, bankCode: String
    ) throws {
        let now = response.processedAtUnixMs
        for alert in alerts {
            try Ledger.raiseAlert(
                db, state, alert, atUnixMs: now, chargeID: response.chargeID, held: response.decision == .held)
        }
        if state.monitoring.enabled {
            try recordBankDecision(db, state, bankCode: bankCode, decision: response.decision, now: now)
        }
    }

    /// The link verdict after the §8 rules (the attempt is recorded for `account.many_wallets` first).
    static func monitorLink(
        _ db: Database, _ state: WriterState, _ attempt: LinkAttemptFacts, _ verdict: Verdict, _ clientAddress: String?
    ) throws -> (Verdict, [AlertSignal]) {
        let monitoring = state.monitoring
        let request = attempt.request
        guard monitoring.enabled, !verdict.isRejection, !request.bankAccountToken.isEmpty else { return (verdict, []) }
        let bankCode = attempt.bank.code
        let tokenHash = Ledger.tokenHash(key: state.tokenKey, bankCode: bankCode, token: request.bankAccountToken)
        let tried = try Ledger.recordTokenAttempt(
            db, tokenHash: tokenHash, walletID: request.walletAccountID, nowUnixMs: attempt.nowUnixMs,
            windowMs: monitoring.thresholds.accountManyWalletsWindowMs)
        let facts = LinkMonitoringFacts(
            attempt: attempt, clientAddress: clientAddress,
            blocked: try Ledger.blocklistFacts(
                walletID: request.walletAccountID, tokenHash: tokenHash, clientAddress: clientAddress
            ) { try state.isBlocked(db, kind: $0, lookup: $1) },
            tokenSubject: Ledger.tokenSubject(bankCode: bankCode, hash: tokenHash), walletsTriedForToken: tried)
        return monitoring.link(facts, verdict: verdict)
    }

    /// The link's alerts: the rules' and `link.locked` (a pre-§8 alert: raised whether or not the §8 rules run).
    static func recordLinkAlerts(
        _ db: Database, _ state: WriterState, _ alerts: [AlertSignal], _ outcome: LinkOutcome,
        _ attempt: LinkAttemptFacts
    ) throws {
        let now = attempt.nowUnixMs
        let bankCode = attempt.bank.code
        let walletID = attempt.request.walletAccountID
        if outcome.walletLinkingJustLocked {
            try Ledger.raiseAlert(
                db, state, MonitoringRules.linkLocked(walletID: walletID, bankCode: bankCode, declines: 5),
                atUnixMs: now)
        }
        for alert in alerts { try Ledger.raiseAlert(db, state, alert, atUnixMs: now) }
        guard state.monitoring.enabled else { return }
        let thresholds = state.monitoring.thresholds
        if outcome.response.decision == .approved,
            let many = MonitoringRules.walletManyAccounts(
                walletID: walletID, bankCode: bankCode,
                tokensLinkedInWindow: try Ledger.tokensLinkedToWallet(
                    db, walletID: walletID, sinceUnixMs: now - thresholds.walletManyAccountsWindowMs),
                thresholds)
        {
            try Ledger.raiseAlert(db, state, many, atUnixMs: now)
        }
        try recordBankDecision(db, state, bankCode: bankCode, decision: outcome.response.decision, now: now)
    }

    /// Counts the decision for `bank.decline_burst` (and the console's chart) and raises the burst alert.
    static func recordBankDecision(
        _ db: Database, _ state: WriterState, bankCode: String, decision: Decision, now: Int64
    ) throws {
        let thresholds = state.monitoring.thresholds
        let window = try state.countDecision(
            db, bankCode: bankCode, decision: decision, nowUnixMs: now,
            afterUnixMs: now - thresholds.declineBurstWindowMs)
        if decision == .declined,
            let burst = MonitoringRules.declineBurst(bankCode: bankCode, window: window, thresholds)
        {
            try Ledger.raiseAlert(db, state, burst, atUnixMs: now)
        }
    }
}
