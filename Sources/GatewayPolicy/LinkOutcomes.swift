import GatewayWire

// What the wallet core does after a verdict beyond applying it: SPEC §4's streak lock and FRAUD unlink.

/// Consecutive declined link attempts on one wallet (SPEC §4: five in a row lock the wallet for linking and raise
/// an alert).
public enum LinkDeclineStreak {
    /// Declines in a row that lock the wallet. Default 5.
    public static let maxDeclinedLinksInARow = 5

    public struct Step: Sendable, Hashable {
        /// The streak to store for the wallet.
        public var streak: Int
        /// Lock the wallet for linking and raise an alert.
        public var lockWallet: Bool

        public init(streak: Int, lockWallet: Bool) {
            self.streak = streak
            self.lockWallet = lockWallet
        }
    }

    /// The wallet's new streak after a judged link attempt.
    ///
    /// Every decline counts, whatever its reason (SPEC: "declined link attempts"), including attempts on a wallet
    /// already locked; an approval resets the streak. A rejection (gRPC error: wrong bank, stale request, bank not
    /// enabled) was never judged and leaves the streak as it was, as does a hold (links are never held).
    /// `lockWallet` is true whenever the streak is at or past the limit, so a wallet an operator unlocked without
    /// resetting the streak locks again on the next decline — an operator's unlock should store streak 0.
    public static func next(current: Int, after verdict: Verdict) -> Step {
        precondition(current >= 0, "a streak is never negative")
        switch verdict {
        case .approve:
            return Step(streak: 0, lockWallet: false)
        case .decline:
            let streak = current == Int.max ? current : current + 1
            return Step(streak: streak, lockWallet: streak >= maxDeclinedLinksInARow)
        case .hold, .reject:
            return Step(streak: current, lockWallet: current >= maxDeclinedLinksInARow)
        }
    }
}

/// The free-text reason of `Unlink` (SPEC §4: a reason starting `FRAUD` freezes charges to the wallet until an
/// operator reviews it).
public enum UnlinkReason {
    /// Whether the bank is telling us the account was used for fraud.
    ///
    /// Decision: the prefix is matched case-insensitively (`FRAUD`, `Fraud`, `fraud: customer reported`) after
    /// leading whitespace. A bank flagging fraud in the wrong case still means fraud, and the two mistakes are not
    /// equal: a needless freeze costs an operator a review; a missed one lets a fraudster keep charging.
    public static func freezesCharges(_ reason: String) -> Bool {
        var expected = "FRAUD".utf8.makeIterator()
        for byte in reason.utf8.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            guard let want = expected.next() else { return true }
            let upper = (0x61...0x7A).contains(byte) ? byte - 0x20 : byte
            if upper != want { return false }
        }
        return expected.next() == nil
    }
}
