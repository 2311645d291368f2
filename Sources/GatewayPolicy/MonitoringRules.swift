import GatewayWire

// The monitoring rules of SPEC §8 as small named units over facts the wallet core's writer reads inside its
// transaction. A rule that fires yields an `AlertSignal` (written as an alert record in the same transaction as the
// decision) and, for some rules, an effect on the decision: HOLD (credit nothing until an operator releases) or
// DECLINED FRAUD_SUSPECTED (a block-list hit).
//
// Order with the SPEC §4 chain: the chain judges first. A rejection (not judged, nothing stored) stays a rejection:
// there is no decision to attach an alert to. A block-list hit then turns any judged verdict into a decline; the
// holding rules only hold what would otherwise be approved (a hold must only ever be given to a charge that could
// credit, as in ChargeRules). `bank.decline_burst` looks at the bank's decisions including this one.
//
// Rule catalogue (the names are the alerts' `rule`, stable identifiers):
//   link.locked              five declined links in a row for a wallet          HIGH      (wallet locked)
//   unlink.fraud             an Unlink whose reason starts with FRAUD           HIGH      (charges frozen)
//   idempotency.conflict     a request_id reused with another body              MEDIUM
//   account.many_wallets     one token linked or tried to ≥ 3 wallets in 30 d   HIGH
//   wallet.many_accounts     one wallet linked to ≥ 3 tokens in 24 h            HIGH      (its charges held)
//   wallet.velocity          ≥ 300,000 yen to one wallet within 1 h             HIGH      (that charge held)
//   link.then_drain          within 1 h of linking, day total ≥ 80 % of daily   MEDIUM    (held)
//   bank.decline_burst       ≥ 50 declines in 5 min and ≥ 20 % of decisions     CRITICAL  (suspension proposed)
//   tls.refusals             ≥ 20 refused handshakes from one address in 1 min  MEDIUM
//   hold.overdue             a hold open > 30 min (HIGH from 2 h)               MEDIUM/HIGH
//   blocklist.hit            a block-listed token, wallet or client address     HIGH      (DECLINED FRAUD_SUSPECTED)

/// Every threshold of the §8 rules and of four eyes, with the SPEC defaults. Set from the configuration file's
/// `monitoring` object; per-bank limits (the daily limit `link.then_drain` is a share of) come from the profile.
public struct MonitoringThresholds: Sendable, Hashable {
    /// Off: only the SPEC §4 chain and the alerts that existed before §8 (for the benchmark's comparison).
    public var rulesEnabled = true
    public var accountManyWalletsMinWallets = 3
    public var accountManyWalletsWindowMs: Int64 = 30 * 86_400_000
    public var walletManyAccountsMinTokens = 3
    public var walletManyAccountsWindowMs: Int64 = 86_400_000
    public var walletVelocityMinYen: Int64 = 300_000
    public var walletVelocityWindowMs: Int64 = 3_600_000
    public var linkThenDrainWindowMs: Int64 = 3_600_000
    public var linkThenDrainPercentOfDailyLimit: Int64 = 80
    public var declineBurstMinDeclines = 50
    public var declineBurstMinPercentOfDecisions = 20
    public var declineBurstWindowMs: Int64 = 300_000
    public var tlsRefusalsMinRefusals = 20
    public var tlsRefusalsWindowMs: Int64 = 60_000
    public var holdOverdueAfterMs: Int64 = 30 * 60_000
    public var holdOverdueHighAfterMs: Int64 = 2 * 3_600_000
    /// How often the hold sweep runs. 60 s.
    public var holdSweepIntervalMs: Int64 = 60_000
    /// Hold releases of at least this amount need a second operator (four eyes). 100,000 yen.
    public var fourEyesMinHoldReleaseYen: Int64 = 100_000
    /// A four-eyes request nobody approved lapses after this long. 24 h.
    public var approvalLapseMs: Int64 = 86_400_000

    public init() {}
}

/// An alert a rule raises: deduplicated by the store per (rule, subject kind, subject) while not resolved.
public struct AlertSignal: Sendable, Hashable {
    public var rule: String
    public var severity: AlertSeverity
    public var subjectKind: AlertSubjectKind
    public var subject: String
    /// The bank and wallet the alert concerns (for filters), when there is one.
    public var bankCode: String?
    public var walletID: String?
    /// What the rule saw, for the analyst.
    public var detail: String
    /// "suspend bank NNNN" for `bank.decline_burst`: an operator confirms it with a reason.
    public var proposedAction: String?

    public init(
        rule: String, severity: AlertSeverity, subjectKind: AlertSubjectKind, subject: String,
        bankCode: String? = nil, walletID: String? = nil, detail: String, proposedAction: String? = nil
    ) {
        self.rule = rule
        self.severity = severity
        self.subjectKind = subjectKind
        self.subject = subject
        self.bankCode = bankCode
        self.walletID = walletID
        self.detail = detail
        self.proposedAction = proposedAction
    }
}

/// What a monitoring rule does to the decision besides raising its alert.
public enum MonitoringEffect: Sendable, Hashable {
    case none
    /// HOLD a charge that would otherwise be approved.
    case hold
    /// DECLINED FRAUD_SUSPECTED (block list).
    case declineFraudSuspected
}

/// A rule that fired: its alert and its effect.
public struct MonitoringFinding: Sendable, Hashable {
    public var alert: AlertSignal
    public var effect: MonitoringEffect
}

/// Block-list and client facts shared by links and charges.
public struct BlocklistFacts: Sendable, Hashable {
    public var walletBlocked = false
    public var tokenBlocked = false
    public var clientAddressBlocked = false
    public init(walletBlocked: Bool = false, tokenBlocked: Bool = false, clientAddressBlocked: Bool = false) {
        self.walletBlocked = walletBlocked
        self.tokenBlocked = tokenBlocked
        self.clientAddressBlocked = clientAddressBlocked
    }
}

/// What the §8 charge rules judge, read in the writer's transaction beside `ChargeAttemptFacts`.
public struct ChargeMonitoringFacts: Sendable, Hashable {
    public var attempt: ChargeAttemptFacts
    /// The client's IP address as the gateway saw it; nil in-process.
    public var clientAddress: String?
    public var blocked: BlocklistFacts
    /// The link's token as alerts show it (`BANK:hash prefix`); nil without a link.
    public var tokenSubject: String?
    /// Credited to the wallet (all banks) within `walletVelocityWindowMs` before now, yen.
    public var walletCreditedInVelocityWindowYen: Int64
    /// An unresolved `wallet.many_accounts` alert names this wallet: its charges are held until it is resolved.
    public var walletManyAccountsAlertOpen: Bool

    public init(
        attempt: ChargeAttemptFacts, clientAddress: String?, blocked: BlocklistFacts, tokenSubject: String?,
        walletCreditedInVelocityWindowYen: Int64, walletManyAccountsAlertOpen: Bool
    ) {
        self.attempt = attempt
        self.clientAddress = clientAddress
        self.blocked = blocked
        self.tokenSubject = tokenSubject
        self.walletCreditedInVelocityWindowYen = walletCreditedInVelocityWindowYen
        self.walletManyAccountsAlertOpen = walletManyAccountsAlertOpen
    }
}

/// What the §8 link rules judge.
public struct LinkMonitoringFacts: Sendable, Hashable {
    public var attempt: LinkAttemptFacts
    public var clientAddress: String?
    public var blocked: BlocklistFacts
    public var tokenSubject: String
    /// Distinct wallets this token was linked or tried to within `accountManyWalletsWindowMs`, this one included.
    public var walletsTriedForToken: Int

    public init(
        attempt: LinkAttemptFacts, clientAddress: String?, blocked: BlocklistFacts, tokenSubject: String,
        walletsTriedForToken: Int
    ) {
        self.attempt = attempt
        self.clientAddress = clientAddress
        self.blocked = blocked
        self.tokenSubject = tokenSubject
        self.walletsTriedForToken = walletsTriedForToken
    }
}

/// A bank's decisions (links and charges) within the burst window, this one included.
public struct BankDecisionWindow: Sendable, Hashable {
    public var declines: Int
    public var decisions: Int
    public init(declines: Int, decisions: Int) {
        self.declines = declines
        self.decisions = decisions
    }
}

/// One named §8 rule over `Facts`.
public struct MonitoringRule<Facts: Sendable>: Sendable {
    public let name: String
    public let judge: @Sendable (Facts, MonitoringThresholds) -> MonitoringFinding?

    public init(_ name: String, _ judge: @escaping @Sendable (Facts, MonitoringThresholds) -> MonitoringFinding?) {
        precondition(!name.isEmpty, "a rule needs a name for its alerts")
        self.name = name
        self.judge = judge
    }
}

/// The §8 rules, each testable on its own.
public enum MonitoringRules {
    public static let blocklistHitName = "blocklist.hit"

    // MARK: Charge

    public static let chargeRules: [MonitoringRule<ChargeMonitoringFacts>] = [
        chargeBlocklistHit, walletManyAccountsHold, walletVelocity, linkThenDrain,
    ]

    /// A charge naming a blocked wallet, token (of its link) or client address: DECLINED FRAUD_SUSPECTED.
    public static let chargeBlocklistHit = MonitoringRule<ChargeMonitoringFacts>(blocklistHitName) { facts, _ in
        let attempt = facts.attempt
        return blocklistFinding(
            facts.blocked, bankCode: attempt.bank.code, walletID: attempt.link?.walletID,
            tokenSubject: facts.tokenSubject, clientAddress: facts.clientAddress, what: "charge")
    }

    /// While a `wallet.many_accounts` alert on the wallet is unresolved, its charges are held (SPEC §8).
    public static let walletManyAccountsHold = MonitoringRule<ChargeMonitoringFacts>("wallet.many_accounts") {
        facts, _ in
        guard facts.walletManyAccountsAlertOpen, let walletID = facts.attempt.link?.walletID else { return nil }
        return MonitoringFinding(
            alert: AlertSignal(
                rule: "wallet.many_accounts", severity: .high, subjectKind: .wallet, subject: walletID,
                bankCode: facts.attempt.bank.code, walletID: walletID,
                detail: "charge of \(facts.attempt.request.amountYen) yen held while the alert is unresolved"),
            effect: .hold)
    }

    /// ≥ `walletVelocityMinYen` credited to one wallet across all banks within the window, counting this charge.
    public static let walletVelocity = MonitoringRule<ChargeMonitoringFacts>("wallet.velocity") { facts, limits in
        guard let walletID = facts.attempt.link?.walletID else { return nil }
        let (total, overflow) = facts.walletCreditedInVelocityWindowYen.addingReportingOverflow(
            facts.attempt.request.amountYen)
        guard overflow || total >= limits.walletVelocityMinYen else { return nil }
        return MonitoringFinding(
            alert: AlertSignal(
                rule: "wallet.velocity", severity: .high, subjectKind: .wallet, subject: walletID,
                bankCode: facts.attempt.bank.code, walletID: walletID,
                detail: "\(total) yen within \(limits.walletVelocityWindowMs / 60_000) min "
                    + "(threshold \(limits.walletVelocityMinYen))"),
            effect: .hold)
    }

    /// Within `linkThenDrainWindowMs` of linking, a charge taking the day's total to ≥ the share of the daily limit.
    public static let linkThenDrain = MonitoringRule<ChargeMonitoringFacts>("link.then_drain") { facts, limits in
        let attempt = facts.attempt
        guard let link = attempt.link else { return nil }
        let (ageMs, ageOverflow) = attempt.nowUnixMs.subtractingReportingOverflow(link.linkedAtUnixMs)
        guard !ageOverflow, ageMs < limits.linkThenDrainWindowMs else { return nil }
        let (day, overflow) = attempt.chargedTodayYen.addingReportingOverflow(attempt.request.amountYen)
        let daily = attempt.bank.profile.maxDailyYenPerWallet
        // day / daily ≥ percent / 100, without dividing (and without overflow for any sane limit).
        guard
            overflow
                || day.multipliedReportingOverflow(by: 100).partialValue
                    >= daily.multipliedReportingOverflow(by: limits.linkThenDrainPercentOfDailyLimit).partialValue
        else { return nil }
        return MonitoringFinding(
            alert: AlertSignal(
                rule: "link.then_drain", severity: .medium, subjectKind: .link, subject: link.id,
                bankCode: attempt.bank.code, walletID: link.walletID,
                detail: "\(day) yen today \(ageMs / 60_000) min after linking (daily limit \(daily))"),
            effect: .hold)
    }

    // MARK: Link

    public static let linkRules: [MonitoringRule<LinkMonitoringFacts>] = [linkBlocklistHit, accountManyWallets]

    public static let linkBlocklistHit = MonitoringRule<LinkMonitoringFacts>(blocklistHitName) { facts, _ in
        blocklistFinding(
            facts.blocked, bankCode: facts.attempt.bank.code, walletID: facts.attempt.request.walletAccountID,
            tokenSubject: facts.tokenSubject, clientAddress: facts.clientAddress, what: "link")
    }

    /// One bank account token linked, or tried, to ≥ 3 wallets within 30 days (a stolen account shopped around).
    public static let accountManyWallets = MonitoringRule<LinkMonitoringFacts>("account.many_wallets") {
        facts, limits in
        guard facts.walletsTriedForToken >= limits.accountManyWalletsMinWallets else { return nil }
        return MonitoringFinding(
            alert: AlertSignal(
                rule: "account.many_wallets", severity: .high, subjectKind: .accountToken,
                subject: facts.tokenSubject, bankCode: facts.attempt.bank.code,
                walletID: facts.attempt.request.walletAccountID,
                detail: "token linked or tried to \(facts.walletsTriedForToken) wallets within "
                    + "\(limits.accountManyWalletsWindowMs / 86_400_000) days"),
            effect: .none)
    }

    /// After an approved link: the wallet is linked to ≥ 3 tokens (any banks) within 24 h.
    public static func walletManyAccounts(
        walletID: String, bankCode: String, tokensLinkedInWindow: Int, _ limits: MonitoringThresholds
    ) -> AlertSignal? {
        guard tokensLinkedInWindow >= limits.walletManyAccountsMinTokens else { return nil }
        return AlertSignal(
            rule: "wallet.many_accounts", severity: .high, subjectKind: .wallet, subject: walletID,
            bankCode: bankCode, walletID: walletID,
            detail: "linked to \(tokensLinkedInWindow) bank accounts within "
                + "\(limits.walletManyAccountsWindowMs / 3_600_000) h; its charges are held until resolved")
    }

    // MARK: Bank, TLS, holds, and the alerts that existed before §8

    /// ≥ `declineBurstMinDeclines` declines and ≥ the share of the bank's decisions within the window: the 2020
    /// attack's signature. Proposes suspending the bank; an operator confirms.
    public static func declineBurst(
        bankCode: String, window: BankDecisionWindow, _ limits: MonitoringThresholds
    ) -> AlertSignal? {
        guard window.declines >= limits.declineBurstMinDeclines,
            window.declines * 100 >= window.decisions * limits.declineBurstMinPercentOfDecisions
        else { return nil }
        return AlertSignal(
            rule: "bank.decline_burst", severity: .critical, subjectKind: .bank, subject: bankCode, bankCode: bankCode,
            detail: "\(window.declines) of \(window.decisions) decisions declined within "
                + "\(limits.declineBurstWindowMs / 60_000) min",
            proposedAction: "suspend bank \(bankCode)")
    }

    /// ≥ `tlsRefusalsMinRefusals` refused handshakes from one address within the window. Raised at the threshold
    /// and at every further multiple of it, so a flood raises the count without a write per handshake.
    public static func tlsRefusals(
        address: String, refusalsInWindow: Int, _ limits: MonitoringThresholds
    ) -> AlertSignal? {
        guard limits.tlsRefusalsMinRefusals > 0, refusalsInWindow >= limits.tlsRefusalsMinRefusals,
            refusalsInWindow % limits.tlsRefusalsMinRefusals == 0
        else { return nil }
        return AlertSignal(
            rule: "tls.refusals", severity: .medium, subjectKind: .clientAddress, subject: address,
            detail: "\(refusalsInWindow) refused TLS handshakes within \(limits.tlsRefusalsWindowMs / 1_000) s")
    }

    /// A hold open longer than `holdOverdueAfterMs`: MEDIUM, HIGH from `holdOverdueHighAfterMs`. nil before.
    public static func holdOverdueSeverity(ageMs: Int64, _ limits: MonitoringThresholds) -> AlertSeverity? {
        if ageMs >= limits.holdOverdueHighAfterMs { return .high }
        if ageMs > limits.holdOverdueAfterMs { return .medium }
        return nil
    }

    public static func linkLocked(walletID: String, bankCode: String, declines: Int) -> AlertSignal {
        AlertSignal(
            rule: "link.locked", severity: .high, subjectKind: .wallet, subject: walletID, bankCode: bankCode,
            walletID: walletID, detail: "\(declines) declined link attempts in a row; wallet locked for linking")
    }

    public static func unlinkFraud(linkID: String, walletID: String, bankCode: String, reason: String) -> AlertSignal {
        AlertSignal(
            rule: "unlink.fraud", severity: .high, subjectKind: .wallet, subject: walletID, bankCode: bankCode,
            walletID: walletID, detail: "unlink of \(linkID) for fraud; charges to the wallet frozen")
    }

    public static func idempotencyConflict(bankCode: String, requestID: String) -> AlertSignal {
        AlertSignal(
            rule: "idempotency.conflict", severity: .medium, subjectKind: .bank, subject: bankCode, bankCode: bankCode,
            detail: "request_id \(requestID) reused with a different body")
    }

    static func blocklistFinding(
        _ blocked: BlocklistFacts, bankCode: String, walletID: String?, tokenSubject: String?, clientAddress: String?,
        what: String
    ) -> MonitoringFinding? {
        let kind: AlertSubjectKind
        let subject: String
        if blocked.tokenBlocked, let tokenSubject {
            (kind, subject) = (.accountToken, tokenSubject)
        } else if blocked.walletBlocked, let walletID {
            (kind, subject) = (.wallet, walletID)
        } else if blocked.clientAddressBlocked, let clientAddress {
            (kind, subject) = (.clientAddress, clientAddress)
        } else {
            return nil
        }
        let listed = kind == .accountToken ? "account token" : kind == .wallet ? "wallet" : "client address"
        return MonitoringFinding(
            alert: AlertSignal(
                rule: blocklistHitName, severity: .high, subjectKind: kind, subject: subject, bankCode: bankCode,
                walletID: walletID, detail: "\(what) names a block-listed \(listed)"),
            effect: .declineFraudSuspected)
    }
}

extension Verdict {
    /// Not judged (a gRPC error): nothing is stored, so no alert can go with it.
    public var isRejection: Bool {
        if case .reject = self { return true }
        return false
    }
}

/// Runs the §8 rules beside a SPEC §4 verdict.
public struct MonitoringChecks: Sendable {
    public var thresholds: MonitoringThresholds

    public init(thresholds: MonitoringThresholds = .init()) {
        self.thresholds = thresholds
    }

    public var enabled: Bool { thresholds.rulesEnabled }

    /// The §8 rules off: only the SPEC §4 chain and the alerts that existed before §8.
    public static let off: MonitoringChecks = {
        var thresholds = MonitoringThresholds()
        thresholds.rulesEnabled = false
        return MonitoringChecks(thresholds: thresholds)
    }()

    /// The verdict after the §8 charge rules, and the alerts to write with it.
    public func charge(_ facts: ChargeMonitoringFacts, verdict: Verdict) -> (Verdict, [AlertSignal]) {
        apply(MonitoringRules.chargeRules, facts, verdict)
    }

    /// The verdict after the §8 link rules (a link is never held), and the alerts to write with it.
    public func link(_ facts: LinkMonitoringFacts, verdict: Verdict) -> (Verdict, [AlertSignal]) {
        apply(MonitoringRules.linkRules, facts, verdict)
    }

    private func apply<Facts>(
        _ rules: [MonitoringRule<Facts>], _ facts: Facts, _ verdict: Verdict
    ) -> (Verdict, [AlertSignal]) {
        if verdict.isRejection { return (verdict, []) }
        var result = verdict
        var alerts: [AlertSignal] = []
        for rule in rules {
            guard let finding = rule.judge(facts, thresholds) else { continue }
            switch finding.effect {
            case .declineFraudSuspected:
                result = .decline(.fraudSuspected, rule: rule.name)
                alerts.append(finding.alert)
            case .hold:
                // Holds apply to what would credit; a decline stays a decline and raises nothing here.
                switch result {
                case .approve:
                    result = .hold(rule: rule.name)
                    alerts.append(finding.alert)
                case .hold:
                    alerts.append(finding.alert)
                case .decline, .reject:
                    break
                }
            case .none:
                alerts.append(finding.alert)
            }
        }
        return (result, alerts)
    }
}

/// Four eyes (SPEC §8): which operator acts take effect only when a different operator approves.
public enum FourEyes {
    /// A hold release of at least the threshold.
    public static func holdReleaseNeedsApproval(amountYen: Int64, _ limits: MonitoringThresholds) -> Bool {
        amountYen >= limits.fourEyesMinHoldReleaseYen
    }

    /// Moving a bank's link or charge state to ENABLED.
    public static func bankStateNeedsApproval(_ state: BankState) -> Bool { state == .enabled }

    /// The approving operator must not be the requesting one.
    public static func mayApprove(approver: String, requester: String) -> Bool { approver != requester }
}
