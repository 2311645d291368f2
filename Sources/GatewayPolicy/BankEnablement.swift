import GatewayWire

// Per-bank enablement (SPEC §4): each bank has a state for `link` and one for `charge`.
// PENDING → PILOT → ENABLED, and SUSPENDED as the kill switch. Two halves live here: what a state lets a request
// do (used by the first rule of each chain), and which state changes an operator may make (Admin service).

extension BankState {
    /// The name the SPEC and the CLI use, for messages.
    public var specName: String {
        switch self {
        case .unspecified: return "UNSPECIFIED"
        case .pending: return "PENDING"
        case .pilot: return "PILOT"
        case .enabled: return "ENABLED"
        case .suspended: return "SUSPENDED"
        }
    }
}

extension Operation {
    public var specName: String {
        switch self {
        case .unspecified: return "unspecified"
        case .link: return "link"
        case .charge: return "charge"
        }
    }
}

/// What a bank's state for one operation lets a request do.
public enum BankEnablement {
    /// The wallet a request would act on, as far as the facts know it.
    public struct Target: Sendable, Hashable {
        /// nil: the request names no wallet that exists (or, for a charge, no link).
        public var walletID: String?
        public var walletIsTest: Bool

        public init(walletID: String?, walletIsTest: Bool) {
            self.walletID = walletID
            self.walletIsTest = walletIsTest
        }
    }

    /// The enablement check shared by the link and the charge chains.
    ///
    /// - SUSPENDED (and an unset state: fail closed) → PERMISSION_DENIED naming the state.
    /// - PENDING → test wallets only. Anything else, including a wallet or link that does not exist, is
    ///   PERMISSION_DENIED naming PENDING: a bank still in conformance learns nothing about real wallets, not
    ///   even whether an id exists.
    /// - PILOT → wallets on the bank's pilot list only, else a decline NOT_IN_PILOT. A request whose wallet is
    ///   unknown is not on the list.
    /// - ENABLED → pass.
    public static func judge(bank: BankFacts, operation: Operation, target: Target) -> RuleOutcome {
        let state: BankState
        switch operation {
        case .link: state = bank.linkState
        case .charge: state = bank.chargeState
        case .unspecified:
            assertionFailure("enablement asked for an unspecified operation")
            return .reject(Rejection(.permissionDenied, "bank \(bank.code): operation is unspecified"))
        }
        switch state {
        case .enabled:
            return .pass
        case .pilot:
            guard let walletID = target.walletID, bank.pilotWalletIDs.contains(walletID) else {
                return .decline(.notInPilot)
            }
            return .pass
        case .pending:
            guard target.walletID != nil, target.walletIsTest else {
                return .reject(
                    Rejection(
                        .permissionDenied,
                        "bank \(bank.code) is PENDING for \(operation.specName): only test wallets may be used"))
            }
            return .pass
        case .suspended, .unspecified:
            return .reject(
                Rejection(.permissionDenied, "bank \(bank.code) is \(state.specName) for \(operation.specName)"))
        }
    }

    // MARK: - State changes (Admin service)

    /// How recent a passing conformance run must be to move a bank to PILOT or ENABLED. Default 90 days.
    public static let maxConformanceAgeMs: Int64 = 90 * TokyoTime.msPerDay
    /// Longest audit reason accepted, in characters; the reason is stored and shown to operators. Default 500.
    public static let maxReasonCharacters = 500

    /// Whether an operator may set `bank`'s `operation` to `newState` now; nil means allowed.
    ///
    /// SUSPENDED and PENDING are always allowed (stopping a bank must never wait for paperwork). PILOT and
    /// ENABLED need a passing conformance run recorded within `maxConformanceAgeMs` — also when lifting a
    /// suspension, because a bank coming back must prove it still behaves. Every change needs a reason for the
    /// audit log.
    ///
    /// - Parameter lastPassingConformanceAtUnixMs: when the bank's most recent passing conformance run was
    ///   recorded; nil if it never passed.
    public static func checkChange(
        bankCode: String, operation: Operation, to newState: BankState, reason: String,
        lastPassingConformanceAtUnixMs: Int64?, nowUnixMs: Int64
    ) -> Rejection? {
        guard operation != .unspecified else {
            return Rejection(.invalidArgument, "operation: must be link or charge")
        }
        guard newState != .unspecified else {
            return Rejection(.invalidArgument, "state: must be PENDING, PILOT, ENABLED or SUSPENDED")
        }
        guard reason.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            return Rejection(.invalidArgument, "reason: a reason is required for the audit log")
        }
        guard reason.count <= maxReasonCharacters else {
            return Rejection(.invalidArgument, "reason: longer than \(maxReasonCharacters) characters")
        }
        switch newState {
        case .suspended, .pending, .unspecified:
            return nil
        case .pilot, .enabled:
            let what = "bank \(bankCode) \(operation.specName) → \(newState.specName)"
            guard let passedAt = lastPassingConformanceAtUnixMs else {
                return Rejection(
                    .failedPrecondition,
                    "\(what) needs a passing conformance run within the last 90 days; none is recorded")
            }
            let ageMs = nowUnixMs - passedAt
            if ageMs > maxConformanceAgeMs {
                return Rejection(
                    .failedPrecondition,
                    "\(what) needs a passing conformance run within the last 90 days; the last was recorded "
                        + "\(TokyoTime.format(unixMs: passedAt)) (\(ageMs / TokyoTime.msPerDay) days ago)")
            }
            return nil
        }
    }
}
