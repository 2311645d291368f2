import GatewayPolicy
import NIOConcurrencyHelpers
import WalletCore

/// The SPKI SHA-256 pins of the bank profiles, in memory for the TLS handshake (which runs on an event loop and
/// cannot wait on storage). Loaded at start-up and replaced whenever an operator changes a bank's profile, so a new
/// pin applies to the bank's next handshake.
public final class BankPins: Sendable {
    private let pins = NIOLockedValueBox<[String: [UInt8]]>([:])

    public init() {}

    /// The pin for `bankCode`, or nil when that bank is not pinned. Called during handshakes.
    public func pin(for bankCode: String) -> [UInt8]? {
        pins.withLockedValue { $0[bankCode] }
    }

    /// Re-reads every bank's pin from the wallet database.
    public func reload(from store: WalletStore) async throws {
        let banks = try await store.banks()
        let fresh = banks.reduce(into: [String: [UInt8]]()) { pins, bank in
            if let pin = bank.facts.profile.pinnedSPKISHA256 { pins[bank.facts.code] = pin }
        }
        pins.withLockedValue { $0 = fresh }
    }
}
