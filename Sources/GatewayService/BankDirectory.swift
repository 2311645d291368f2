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
public final class BankDirectory: Sendable {
    public struct Entry: Sendable, Hashable {
        public var maxRequestsPerSecond: Int64
        public var pinnedSPKISHA256: [UInt8]?
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    public init() {}

    /// The SHA-256 pin for `bankCode`, or nil when that bank is not pinned (or not known). Called during handshakes.
    public func pin(for bankCode: String) -> [UInt8]? {
        entries.withLockedValue { $0[bankCode]?.pinnedSPKISHA256 }
    }

    /// The bank's entry: from memory, else read from `store` and kept; nil when the bank is not registered
    /// (not kept, so a bank registered later is found).
    func entry(for bankCode: String, store: WalletStore) async throws(WalletError) -> Entry? {
        if let entry = entries.withLockedValue({ $0[bankCode] }) { return entry }
        guard let bank = try await store.bank(code: bankCode) else { return nil }
        let entry = Entry(bank.profile)
        entries.withLockedValue { $0[bankCode] = entry }
        return entry
    }

    /// Re-reads every bank from the wallet database.
    public func reload(from store: WalletStore) async throws {
        let banks = try await store.banks()
        let fresh = Dictionary(uniqueKeysWithValues: banks.map { ($0.facts.code, Entry($0.facts.profile)) })
        entries.withLockedValue { $0 = fresh }
    }
}

extension BankDirectory.Entry {
    init(_ profile: BankProfile) {
        self.init(maxRequestsPerSecond: profile.maxRequestsPerSecond, pinnedSPKISHA256: profile.pinnedSPKISHA256)
    }
}
