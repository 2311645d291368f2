import GatewayWire

// SPEC §3 checks that run on every request before any facts are read (no database, no wallet): who is calling,
// whether the header speaks for that caller, and whether the request is fresh. Each returns nil when the request
// may go on, or the Rejection the gRPC layer sends.

/// Who the client certificate says the caller is (GatewayTLS's `PeerIdentity`, restated here so the policy
/// module stays free of TLS and NIO).
public enum Caller: Sendable, Hashable {
    /// `spiffe://bankgw.partners/bank/NNNN`.
    case bank(code: String)
    /// `spiffe://bankgw.partners/operator/NAME`.
    case operatorName(String)
}

public enum RequestChecks {
    /// How far `header.sent_at_unix_ms` may be from the gateway's clock, either way, inclusive. Default 300 s.
    ///
    /// Why both ways: a request from the past may be a replay; one from the future may be pre-signed for a later
    /// replay. 300 s is the SPEC's window and covers honest clock drift and retries.
    public static let maxClockSkewMs: Int64 = 300_000
    /// How long a `(bank, request_id)` must keep returning its first answer (SPEC §3: at least 30 days).
    public static let minIdempotencyRetentionMs: Int64 = 30 * TokyoTime.msPerDay

    /// `bankgw.v1.BankGateway` is for banks only, and a bank speaks only for itself.
    ///
    /// An operator certificate on the bank service is refused (operators act through Admin, which is audited).
    public static func bankService(caller: Caller, headerBankCode: String) -> Rejection? {
        switch caller {
        case .operatorName(let name):
            return Rejection(
                .permissionDenied, "operator \(name) may not call the bank service; use bankgw.admin.v1.Admin")
        case .bank(let code):
            guard code == headerBankCode else {
                return Rejection(
                    .permissionDenied,
                    "header.bank_code \(headerBankCode) is not the bank of the client certificate (\(code))")
            }
            return nil
        }
    }

    /// `bankgw.admin.v1.Admin` is for operators only.
    public static func adminService(caller: Caller) -> Rejection? {
        switch caller {
        case .operatorName: return nil
        case .bank(let code):
            return Rejection(.permissionDenied, "bank \(code) may not call bankgw.admin.v1.Admin")
        }
    }

    /// The replay window: `sent_at_unix_ms` within ±`maxClockSkewMs` of now, edges included.
    public static func replayWindow(sentAtUnixMs: Int64, nowUnixMs: Int64) -> Rejection? {
        let (skewMs, overflow) = sentAtUnixMs.subtractingReportingOverflow(nowUnixMs)
        if !overflow, -maxClockSkewMs...maxClockSkewMs ~= skewMs { return nil }
        let said: String
        if overflow {
            said = "header.sent_at_unix_ms \(sentAtUnixMs) is not a plausible time"
        } else if skewMs > 0 {
            said = "header.sent_at_unix_ms is \(skewMs) ms ahead of the gateway's clock"
        } else {
            said = "header.sent_at_unix_ms is \(-skewMs) ms behind the gateway's clock"
        }
        return Rejection(.failedPrecondition, "\(said); the window is ±\(maxClockSkewMs / 1_000) s")
    }

    /// Every request-level check of the bank service in SPEC §3 order, minus the rate limit (which needs the
    /// bank's profile): caller, then freshness. For reads (GetCharge); acts check freshness only after the stored
    /// answer (`bankService` here, `replayWindow` in the wallet core once it knows the request is new).
    public static func bankRequest(caller: Caller, header: RequestHeader, nowUnixMs: Int64) -> Rejection? {
        if let rejection = bankService(caller: caller, headerBankCode: header.bankCode) { return rejection }
        return replayWindow(sentAtUnixMs: header.sentAtUnixMs, nowUnixMs: nowUnixMs)
    }
}
