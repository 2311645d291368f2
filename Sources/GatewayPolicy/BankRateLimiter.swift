import Synchronization

/// Per-bank token buckets (SPEC §4: rate 1,000 requests/s per bank by default; RESOURCE_EXHAUSTED when over).
///
/// Why this shape: it sits on every request's hot path, so one admission is a lock, a little integer arithmetic and
/// an unlock — no Foundation, no allocation (the buckets for all 10,000 possible bank codes are allocated once, and
/// a bank code indexes them directly, no hashing). One bank's burst cannot spend another bank's tokens. Health
/// checks never come here (SPEC: they are not rate-limited).
///
/// Arithmetic is in integer "nano-tokens": a request costs 10⁹, a bank with rate r earns r per nanosecond, and a
/// bucket holds at most r × `burst` (so the default burst of one second lets a bank send a second's worth of
/// requests at once after being idle). A bank's first request finds its bucket full.
public final class BankRateLimiter: Sendable {
    /// Highest rate a profile may ask for; higher rates are clamped. Keeps r × burst far inside Int64. 10⁷/s.
    public static let maxRequestsPerSecondLimit: Int64 = 10_000_000
    /// Longest burst accepted at init (same reason). 60 s.
    public static let maxBurst: Duration = .seconds(60)
    /// Bank codes are 4 decimal digits.
    static let bankCodeCount = 10_000
    static let nanoTokensPerRequest: Int64 = 1_000_000_000

    struct Bucket {
        var nanoTokens: Int64 = 0
        var lastRefillNanos: Int64 = 0
        var started = false
    }

    private let buckets: Mutex<[Bucket]>
    private let burstNanos: Int64
    private let nowNanos: @Sendable () -> Int64

    /// - Parameters:
    ///   - burst: how many seconds' worth of requests a bank may send at once. Default 1 s; 1 ms ... 60 s.
    ///   - nowNanos: a monotonic clock in nanoseconds; tests inject their own.
    public init(
        burst: Duration = .seconds(1), nowNanos: @escaping @Sendable () -> Int64 = BankRateLimiter.monotonicNanos
    ) {
        precondition(burst >= .milliseconds(1) && burst <= Self.maxBurst, "burst must be 1 ms ... 60 s, got \(burst)")
        let (seconds, attoseconds) = burst.components
        self.burstNanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        self.nowNanos = nowNanos
        self.buckets = Mutex([Bucket](repeating: Bucket(), count: Self.bankCodeCount))
    }

    /// Takes one token from `bankCode`'s bucket; nil when admitted, RESOURCE_EXHAUSTED when the bank is over its
    /// rate. `maxRequestsPerSecond` is read from the bank's profile on every call, so a changed profile applies at
    /// once.
    public func admit(bankCode: String, maxRequestsPerSecond: Int64) -> Rejection? {
        guard let index = Self.index(ofBankCode: bankCode) else {
            return Rejection(.invalidArgument, "bank code \(bankCode) is not 4 digits")
        }
        guard maxRequestsPerSecond >= 1 else {
            return Rejection(.resourceExhausted, "bank \(bankCode) has a rate limit of 0 requests/s")
        }
        let rate = min(maxRequestsPerSecond, Self.maxRequestsPerSecondLimit)
        let capacity = rate * burstNanos
        let now = nowNanos()
        let admitted = buckets.withLock { buckets -> Bool in
            var bucket = buckets[index]
            if !bucket.started {
                bucket = Bucket(nanoTokens: capacity, lastRefillNanos: now, started: true)
            } else {
                // A clock that stepped back earns nothing; idling longer than the burst only fills the bucket.
                let elapsed = min(max(now - bucket.lastRefillNanos, 0), burstNanos)
                bucket.nanoTokens = min(bucket.nanoTokens + rate * elapsed, capacity)
                bucket.lastRefillNanos = max(now, bucket.lastRefillNanos)
            }
            // A lowered rate takes effect now, not after the old larger bucket drains.
            bucket.nanoTokens = min(bucket.nanoTokens, capacity)
            let admitted = bucket.nanoTokens >= Self.nanoTokensPerRequest
            if admitted { bucket.nanoTokens -= Self.nanoTokensPerRequest }
            assert(bucket.nanoTokens >= 0 && bucket.nanoTokens <= capacity, "bucket out of range")
            buckets[index] = bucket
            return admitted
        }
        if admitted { return nil }
        return Rejection(.resourceExhausted, "bank \(bankCode) is over its rate limit of \(rate) requests/s")
    }

    /// 0 ... 9999 for a 4-digit code, without allocating.
    static func index(ofBankCode code: String) -> Int? {
        var value = 0
        var digits = 0
        for byte in code.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 4 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits == 4 ? value : nil
    }

    private static let epoch = ContinuousClock.now

    /// Nanoseconds on the continuous (monotonic) clock since this process first asked.
    @Sendable public static func monotonicNanos() -> Int64 {
        let (seconds, attoseconds) = epoch.duration(to: .now).components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
