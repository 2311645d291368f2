import GatewayWire

extension BankProfile {
    /// The bounds a bank profile's fields must keep, defined once: the Admin service refuses a profile outside them
    /// (INVALID_ARGUMENT naming the field) and `bankgw admin bank set-profile` checks them before sending.
    public enum Bounds {
        public static let yen: ClosedRange<Int64> = 1...1_000_000_000
        /// New-link caution window: 0 (none) up to 30 days.
        public static let newLinkCautionMs: ClosedRange<Int64> = 0...(30 * 86_400_000)
        public static let maxRequestsPerSecond: ClosedRange<Int64> = 1...BankRateLimiter.maxRequestsPerSecondLimit
        /// A pin is the SHA-256 of a SubjectPublicKeyInfo.
        public static let pinBytes = 32
    }

    /// What is wrong with this profile, each naming the field (the wire field names); empty when it is usable.
    /// Limits are not required to nest (a day limit below the per-charge limit is a bank's choice: the lower one
    /// applies), so only ranges, eKYC method names and the pin's length are checked.
    public var validationProblems: [String] {
        var problems: [String] = []
        func inRange(_ name: String, _ value: Int64, _ range: ClosedRange<Int64>) {
            if !range.contains(value) {
                problems.append("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
            }
        }
        inRange("max_charge_yen", maxChargeYen, Bounds.yen)
        inRange("max_daily_yen_per_wallet", maxDailyYenPerWallet, Bounds.yen)
        inRange("max_monthly_yen_per_wallet", maxMonthlyYenPerWallet, Bounds.yen)
        inRange("new_link_max_charge_yen", newLinkMaxChargeYen, Bounds.yen)
        inRange("new_link_caution_ms", newLinkCautionMs, Bounds.newLinkCautionMs)
        inRange("max_requests_per_second", maxRequestsPerSecond, Bounds.maxRequestsPerSecond)
        if requiredEkycMethods.contains(.unspecified) {
            problems.append("required_ekyc_methods must name methods (HO, HE, TO, WA), not UNSPECIFIED")
        }
        if let pin = pinnedSPKISHA256, pin.count != Bounds.pinBytes {
            problems.append("pinned_spki_sha256 must be \(Bounds.pinBytes) bytes (a SHA-256), got \(pin.count)")
        }
        return problems
    }
}
