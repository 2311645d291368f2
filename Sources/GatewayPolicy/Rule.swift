import GatewayWire

// SPEC §4 checks as a chain of small named rules (Envoy's filter chain): each rule judges one thing and either
// lets the attempt pass to the next rule or decides it. The first rule that decides wins; an attempt every rule
// passes is approved. The chain is data (`rules`), so a test — or the conformance suite's "broken gateway" — can
// build a chain that leaves one rule out and watch the SPEC case it guards go wrong.

/// What one rule concluded about an attempt.
public enum RuleOutcome: Sendable, Hashable {
    /// Not this rule's objection: ask the next rule.
    case pass
    /// Record the charge but credit nothing until an operator releases it (monitoring rules only).
    case hold
    /// A normal response with `decision = DECLINED` and this reason.
    case decline(DeclineReason)
    /// Not judged at all: a gRPC error.
    case reject(Rejection)
}

/// One named check over `Facts`.
///
/// The verdict's `rule` string is always the name of the rule that produced it (the chain fills it in), so the
/// audit log can never name a rule that did not decide.
public struct Rule<Facts: Sendable>: Sendable {
    /// Stable identifier for the audit log, e.g. `link.wallet_phone_verified`. Never rename a shipped one.
    public let name: String
    /// Pure: the same facts always give the same outcome; no clock, no I/O (time comes in the facts).
    public let judge: @Sendable (Facts) -> RuleOutcome

    public init(_ name: String, _ judge: @escaping @Sendable (Facts) -> RuleOutcome) {
        precondition(!name.isEmpty, "a rule needs a name for the audit log")
        self.name = name
        self.judge = judge
    }

    /// nil when the rule lets the attempt pass; otherwise the verdict, naming this rule.
    @inlinable
    public func evaluate(_ facts: Facts) -> Verdict? {
        switch judge(facts) {
        case .pass: return nil
        case .hold: return .hold(rule: name)
        case .decline(let reason): return .decline(reason, rule: name)
        case .reject(let rejection): return .reject(rejection)
        }
    }
}

/// Runs `rules` in order; the first one that decides is the verdict, and an attempt all rules pass is approved.
func runChain<Facts>(_ rules: [Rule<Facts>], _ facts: Facts) -> Verdict {
    for rule in rules {
        if let verdict = rule.evaluate(facts) { return verdict }
    }
    return .approve
}

/// The link checks of SPEC §4 (`LinkAccount`).
public struct LinkChecks: Sendable {
    public var rules: [Rule<LinkAttemptFacts>]

    public init(rules: [Rule<LinkAttemptFacts>]) {
        precondition(
            Set(rules.map(\.name)).count == rules.count, "rule names must be unique: the audit log relies on it")
        self.rules = rules
    }

    /// Every SPEC §4 link rule, in SPEC order.
    public static let standard = LinkChecks(rules: LinkRules.all)

    public func evaluate(_ facts: LinkAttemptFacts) -> Verdict {
        runChain(rules, facts)
    }
}

/// The charge checks of SPEC §4 (`Charge`).
public struct ChargeChecks: Sendable {
    public var rules: [Rule<ChargeAttemptFacts>]

    public init(rules: [Rule<ChargeAttemptFacts>]) {
        precondition(
            Set(rules.map(\.name)).count == rules.count, "rule names must be unique: the audit log relies on it")
        self.rules = rules
    }

    /// Every SPEC §4 charge rule, in SPEC order: enablement, link, limits, caution, then the monitoring holds.
    public static let standard = ChargeChecks(rules: ChargeRules.all)

    /// The chain a hold's release runs at release time (`ChargeRules.credit`): it credits only if every rule still
    /// passes; it never holds.
    public static let release = ChargeChecks(rules: ChargeRules.credit)

    public func evaluate(_ facts: ChargeAttemptFacts) -> Verdict {
        runChain(rules, facts)
    }
}
