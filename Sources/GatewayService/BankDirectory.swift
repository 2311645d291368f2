import GatewayPolicy
import NIOConcurrencyHelpers
import WalletCore

/// What the request path needs of each bank before the wallet core sees the request: its rate limit and its SPKI
/// pin. Kept in memory because the TLS handshake (on an event loop) cannot wait on storage, and because reading the
/// bank row for every request would add a SQLite read to the hot path that the writer repeats anyway.
///
/// Filled at start-up and on a miss, and replaced whenever an operator changes a bank's profile, so a new pin or
/// rate applies to the bank's next handshake or request. Enablement state is deliberately not here: the writer
/// reads it inside its transaction, so a state change applies to the very next request.
///
/// A code that is not registered (a partner certificate for a bank not in the registry) is remembered as absent for
/// `unregisteredRecheckMs`, so such a caller costs no database read per request; the service rate-limits it at
/// `unregisteredMaxRequestsPerSecond`.
public final class BankDirectory: Sendable {
    public struct Entry: Sendable, Hashable {
        public var maxRequestsPerSecond: Int64
        public var pinnedSPKISHA256: [UInt8]?
    }

    /// Requests per second an unregistered bank code may make (each answered PERMISSION_DENIED). Default 5.
    public static let unregisteredMaxRequestsPerSecond: Int64 = 5
    /// How long a code found unregistered is believed absent before the store is asked again (a bank registered
    /// meanwhile by `serve --config` is found within this). Default 10 s.
    public static let unregisteredRecheckMs: Int64 = 10_000
    /// Absent codes remembered at most (4-digit codes: at most 10,000 anyway). Default 10,000.
    public static let maxUnregisteredRemembered = 10_000

    private struct State {
        var entries: [String: Entry] = [:]
        /// Code → when it was found unregistered (unix ms).
        var absentSince: [String: Int64] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let clock: @Sendable () -> Int64
    /// Store reads made by `entry(for:store:)` (tests check that an unregistered caller does not cost one each).
    let storeReads = NIOLockedValueBox(0)

    public init(clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock) {
        self.clock = clock
    }

    /// The SHA-256 pin for `bankCode`, or nil when that bank is not pinned (or not known). Called during handshakes.
    public func pin(for bankCode: String) -> [UInt8]? {
        state.withLockedValue { $0.entries[bankCode]?.pinnedSPKISHA256 }
    }

    /// The bank's entry: from memory, else read from `store` and kept; nil when the bank is not registered, which
    /// is remembered for `unregisteredRecheckMs` (so a bank registered later is still found).
    func entry(for bankCode: String, store: WalletStore) async throws(WalletError) -> Entry? {
        let now = clock()
        switch known(bankCode, nowUnixMs: now) {
        case .entry(let entry): return entry
        case .absent: return nil
        case .unknown: break
        }
        storeReads.withLockedValue { $0 += 1 }
        guard let bank = try await store.bank(code: bankCode) else {
            state.withLockedValue { state in
                if state.absentSince.count >= Self.maxUnregisteredRemembered { state.absentSince.removeAll() }
                state.absentSince[bankCode] = now
            }
            return nil
        }
        let entry = Entry(bank.profile)
        state.withLockedValue { state in
            state.entries[bankCode] = entry
            state.absentSince[bankCode] = nil
        }
        return entry
    }

    /// What memory alone says of a bank code (no store read).
    enum Known: Sendable {
        case entry(Entry)
        /// Found unregistered less than `unregisteredRecheckMs` ago.
        case absent
        /// Only the store knows: `entry(for:store:)` reads it.
        case unknown
    }

    /// `entry(for:store:)` without the store: the request path answers from here without a task when it can
    /// (issue 14), and falls back to the async read on `.unknown`.
    func known(_ bankCode: String, nowUnixMs now: Int64? = nil) -> Known {
        let now = now ?? clock()
        return state.withLockedValue { state in
            if let entry = state.entries[bankCode] { return .entry(entry) }
            if let since = state.absentSince[bankCode], now - since < Self.unregisteredRecheckMs, now >= since {
                return .absent
            }
            return .unknown
        }
    }

    /// Re-reads every bank from the wallet database (and forgets which codes were absent).
    public func reload(from store: WalletStore) async throws {
        let banks = try await store.banks()
        let fresh = Dictionary(uniqueKeysWithValues: banks.map { ($0.facts.code, Entry($0.facts.profile)) })
        state.withLockedValue { $0 = State(entries: fresh) }
    }
}

extension BankDirectory.Entry {
    init(_ profile: BankProfile) {
        self.init(maxRequestsPerSecond: profile.maxRequestsPerSecond, pinnedSPKISHA256: profile.pinnedSPKISHA256)
    }
}
