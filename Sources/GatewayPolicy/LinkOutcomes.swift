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
    /// Every decline counts (SPEC: "declined link attempts"), including attempts on a wallet already locked, except
    /// a decline caused by the bank's own state (`link.bank_enabled`: NOT_IN_PILOT): a PILOT bank declining a wallet
    /// that is not on its list says nothing about that wallet, and counting it would let one bank lock a wallet for
    /// every bank (SPEC §4). An approval resets the streak. A rejection (gRPC error: wrong bank, stale request, bank
    /// not enabled) was never judged and leaves the streak as it was, as does a hold (links are never held).
    /// `lockWallet` is true whenever the streak is at or past the limit, so a wallet an operator unlocked without
    /// resetting the streak locks again on the next decline — an operator's unlock should store streak 0.
    public static func next(current: Int, after verdict: Verdict) -> Step {
        precondition(current >= 0, "a streak is never negative")
        switch verdict {
        case .approve:
            return Step(streak: 0, lockWallet: false)
        case .decline(_, let rule) where rule == LinkRules.bankEnabled.name:
            return Step(streak: current, lockWallet: current >= maxDeclinedLinksInARow)
        case .decline:
            let streak = current == Int.max ? current : current + 1
            return Step(streak: streak, lockWallet: streak >= maxDeclinedLinksInARow)
        case .hold, .reject:
            return Step(streak: current, lockWallet: current >= maxDeclinedLinksInARow)
        }
    }
}

/// The free-text reason of `Unlink` (SPEC §4: a reason whose first word, after leading white space and in any
/// case, is `FRAUD` freezes charges to the wallet until an operator reviews it). The one definition: the wallet core
/// freezes and the service raises the alert by asking this.
public enum UnlinkReason {
    /// Whether the bank is telling us the account was used for fraud.
    ///
    /// The first word is the run of letters and digits after any leading white space (Unicode white space, so an
    /// ideographic space U+3000 from a Japanese input method counts); it must be `FRAUD` in any ASCII letter case.
    /// So `"  FRAUD: stolen PIN"`, `"fraud stolen card"`, `"FRAUD_SUSPECTED"` and `"Fraud（盗難）"` freeze;
    /// `"FRAUDULENT-looking"`, `"not FRAUD"` and full-width `"ＦＲＡＵＤ"` (another word to a bank's system) do not.
    /// The two mistakes are not equal — a needless freeze costs an operator a review, a missed one lets a fraudster
    /// keep charging — hence the generous reading of white space and case.
    public static func freezesCharges(_ reason: String) -> Bool {
        let expected = Array("FRAUD".unicodeScalars)
        var matched = 0
        for scalar in reason.unicodeScalars.drop(while: { $0.properties.isWhitespace }) {
            let folded = asciiUppercase(scalar)
            if matched == expected.count {
                // The word must end here: FRAUD followed by a letter or digit is another word.
                return !(folded.properties.isAlphabetic || folded.properties.numericType != nil)
            }
            guard folded == expected[matched] else { return false }
            matched += 1
        }
        return matched == expected.count
    }

    /// `a`…`z` as `A`…`Z`; anything else unchanged.
    private static func asciiUppercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        (0x61...0x7A).contains(scalar.value) ? Unicode.Scalar(UInt8(scalar.value - 0x20)) : scalar
    }
}
