import GatewayPolicy
import GatewayWire

/// The wallet core's bounds, each named with its default (STYLE: put a limit on everything).
public struct WalletLimits: Sendable, Hashable {
    /// Most requests one batch transaction applies. Default 256. 1 gives one commit per request (the benchmark's
    /// baseline).
    public var maxBatchWrites: Int
    /// How long one batch may keep applying requests before it commits with what it has. Default 10 ms, so a burst
    /// cannot stretch the first caller's latency without bound, while a saturated writer shares each commit's fixed
    /// cost (the fsync, the WAL header) over ~100 charges rather than ~20 (issue 14: +30-45% durable charges/s over
    /// 2 ms). Below saturation batches are as small as the arrivals during the previous one, so this bound is only
    /// reached when the writer is the bottleneck.
    public var maxBatchDuration: Duration
    /// Requests waiting for the writer; beyond it a request fails fast with `.overloaded`. Default 16,384.
    public var maxPendingWrites: Int
    /// How long an idempotency record is kept (SPEC §3: at least 30 days). Default 30 days.
    public var idempotencyRetentionMs: Int64
    /// Recent charges counted per (wallet, token) for the monitoring rule (it needs "4th or later"); the count
    /// saturates here so a busy token costs a bounded index range. Default 64.
    public var maxCountedRecentChargesOnLink: Int
    /// How long bank events are kept for `WatchEvents` (SPEC §9: at least 30 days). Default 30 days.
    public var eventRetentionMs: Int64

    public static let maxBatchWritesDefault = 256
    public static let maxBatchDurationDefault: Duration = .milliseconds(10)
    public static let maxPendingWritesDefault = 16_384
    public static let idempotencyRetentionMsDefault: Int64 = RequestChecks.minIdempotencyRetentionMs
    public static let maxCountedRecentChargesOnLinkDefault = 64
    public static let eventRetentionMsDefault: Int64 = 30 * 86_400_000

    public init(
        maxBatchWrites: Int = WalletLimits.maxBatchWritesDefault,
        maxBatchDuration: Duration = WalletLimits.maxBatchDurationDefault,
        maxPendingWrites: Int = WalletLimits.maxPendingWritesDefault,
        idempotencyRetentionMs: Int64 = WalletLimits.idempotencyRetentionMsDefault,
        maxCountedRecentChargesOnLink: Int = WalletLimits.maxCountedRecentChargesOnLinkDefault,
        eventRetentionMs: Int64 = WalletLimits.eventRetentionMsDefault
    ) {
        precondition(maxBatchWrites >= 1, "maxBatchWrites must be at least 1")
        precondition(maxBatchDuration > .zero, "maxBatchDuration must be positive")
        precondition(maxPendingWrites >= 1, "maxPendingWrites must be at least 1")
        precondition(
            idempotencyRetentionMs >= RequestChecks.minIdempotencyRetentionMs,
            "SPEC §3 keeps idempotency records ≥ 30 days")
        precondition(
            maxCountedRecentChargesOnLink > ChargeRules.maxChargesFromTokenInWindowBeforeHold,
            "the monitoring rule needs to see a 4th charge")
        precondition(eventRetentionMs >= 30 * 86_400_000, "SPEC §9 keeps bank events ≥ 30 days")
        self.eventRetentionMs = eventRetentionMs
        self.maxBatchWrites = maxBatchWrites
        self.maxBatchDuration = maxBatchDuration
        self.maxPendingWrites = maxPendingWrites
        self.idempotencyRetentionMs = idempotencyRetentionMs
        self.maxCountedRecentChargesOnLink = maxCountedRecentChargesOnLink
    }
}

/// The answer to a LinkAccount, and whether this decline just locked the wallet for linking (raise an alert).
public struct LinkOutcome: Sendable, Hashable {
    public var response: LinkAccountResponse
    /// True only for the fifth declined attempt in a row, the one that set `link_locked`; false on replays.
    public var walletLinkingJustLocked: Bool
    /// The rules' verdict (the SPEC §4 chain, then §8 monitoring) when this answer is a new decision; nil for a
    /// replay. Told to `submitLink`'s `decided` once committed.
    var newVerdict: Verdict?

    public init(response: LinkAccountResponse, walletLinkingJustLocked: Bool) {
        self.response = response
        self.walletLinkingJustLocked = walletLinkingJustLocked
    }
}

/// A partner bank as an operator sees it: the checks' facts plus its name and last passing conformance run.
public struct BankRecord: Sendable, Hashable {
    public var facts: BankFacts
    public var name: String
    /// nil: no passing conformance run recorded.
    public var lastPassingConformanceAtUnixMs: Int64?
}

/// A wallet's operator view: the checks' facts plus its link-decline streak.
public struct WalletRecord: Sendable, Hashable {
    public var facts: WalletFacts
    /// Declined link attempts in a row; the fifth locks linking.
    public var consecutiveLinkDeclines: Int
}

/// A held charge awaiting (or past) an operator's review.
public struct Hold: Sendable, Hashable {
    public var chargeID: String
    public var bankCode: String
    public var requestID: String
    public var linkID: String
    public var walletID: String
    public var amountYen: Int64
    /// The monitoring rule that held it.
    public var rule: String
    public var state: HoldState
    public var heldAtUnixMs: Int64
    /// The operator who released or rejected it.
    public var resolvedBy: String?
    public var resolvedAtUnixMs: Int64?
}

/// Charged totals of one wallet for the Tokyo day and month containing a moment.
public struct ChargedTotals: Sendable, Hashable {
    public var dayYen: Int64
    public var monthYen: Int64
}

/// Who asked for an operator write and why, for the audit log.
public struct AuditContext: Sendable, Hashable {
    /// e.g. `operator/demo` from the client certificate.
    public var actor: String
    public var reason: String

    public init(actor: String, reason: String) {
        precondition(!actor.isEmpty, "every audited change names its actor")
        self.actor = actor
        self.reason = reason
    }
}

/// The idempotency digest of a request's body (SPEC §3: "the same body" leaves `header.sent_at_unix_ms` out).
///
/// The legacy digest is computed only when asked for: it matters only against an idempotency record stored before
/// migration v4 (digest version 1), so the hot path (a new request, or a retry of a current record) never pays a
/// second SHA-256 over the request.
public struct BodyDigest: Sendable {
    /// SHA-256 of the request's canonical encoding with `header.sent_at_unix_ms` = 0.
    public var sha256: [UInt8]
    private let legacy: @Sendable () -> [UInt8]?

    /// SHA-256 of the whole request as received, to match records stored before the digest left `sent_at` out
    /// (migration `v4-idempotency-digest-version`); nil: compare those with `sha256`. Computed on each use.
    public var legacySHA256: [UInt8]? { legacy() }

    public init(sha256: [UInt8], legacySHA256: [UInt8]? = nil) {
        self.sha256 = sha256
        self.legacy = { legacySHA256 }
    }

    /// `legacySHA256` is called only when a digest-version-1 record is compared (at most once per request).
    public init(sha256: [UInt8], lazyLegacySHA256 legacySHA256: @escaping @Sendable () -> [UInt8]?) {
        self.sha256 = sha256
        self.legacy = legacySHA256
    }
}

/// The answer to an Unlink, and whether it just froze the wallet's charges (raise the fraud alert).
public struct UnlinkOutcome: Sendable, Hashable {
    public var response: UnlinkResponse
    /// True only for the request that froze the wallet (a FRAUD reason on an active link); false on replays.
    public var walletChargesJustFrozen: Bool

    public init(response: UnlinkResponse, walletChargesJustFrozen: Bool) {
        self.response = response
        self.walletChargesJustFrozen = walletChargesJustFrozen
    }
}

/// The idempotency key of SPEC §3.
struct IdempotencyKey: Hashable, Sendable {
    var bankCode: String
    var requestID: String
}
