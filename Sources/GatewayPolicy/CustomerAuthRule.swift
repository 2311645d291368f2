import GatewayWire

/// How the bank authenticated its customer for this act, judged the same way for links and for charges whose
/// profile requires it.
public enum CustomerAuthStrength {
    /// Oldest authentication that still counts, inclusive. Default 10 min (SPEC §4).
    public static let maxAgeMs: Int64 = 600_000
    /// How far in the future an authentication time may be, inclusive. Default 60 s.
    ///
    /// Why so small (the replay window is 300 s): an authentication cannot have happened after the request
    /// was judged, so a future time is only clock drift between two NTP-synced servers — and every second allowed
    /// here stretches the 10-minute freshness window by a second.
    public static let maxFutureSkewMs: Int64 = 60_000

    /// Multi-factor (anything but PASSWORD_ONLY / UNSPECIFIED) and authenticated within
    /// [now − `maxAgeMs`, now + `maxFutureSkewMs`]. A missing `customer_auth` is weak.
    public static func isStrong(_ auth: CustomerAuth?, nowUnixMs: Int64) -> Bool {
        guard let auth, auth.method.isMultiFactor else { return false }
        let (ageMs, overflow) = nowUnixMs.subtractingReportingOverflow(auth.authenticatedAtUnixMs)
        return !overflow && ageMs <= maxAgeMs && ageMs >= -maxFutureSkewMs
    }
}
