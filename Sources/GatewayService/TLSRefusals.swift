import GatewayPolicy
import GatewayTLS
import NIOConcurrencyHelpers
import NIOCore
import WalletCore

/// Counts refused TLS handshakes per client address over a sliding window and raises `tls.refusals` (SPEC §8).
///
/// The TLS stage only reports (a handler after it sees the handshake error); the count lives here, in memory: a
/// flood of refusals must never become a write per handshake (the rule raises at the threshold and at every
/// further multiple of it).
public final class TLSRefusalMonitor: Sendable {
    /// Addresses tracked at once; the oldest is forgotten beyond it. 10,000.
    public static let maxAddresses = 10_000
    private let thresholds: MonitoringThresholds
    private let clock: @Sendable () -> Int64
    private let raise: @Sendable (AlertSignal) -> Void
    private let refusals = NIOLockedValueBox<[String: [Int64]]>([:])

    public init(
        thresholds: MonitoringThresholds, clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock,
        raise: @escaping @Sendable (AlertSignal) -> Void
    ) {
        self.thresholds = thresholds
        self.clock = clock
        self.raise = raise
    }

    /// One refused handshake from `address`.
    public func refused(address: String) {
        guard thresholds.rulesEnabled else { return }
        let now = clock()
        let windowMs = thresholds.tlsRefusalsWindowMs
        let cap = max(thresholds.tlsRefusalsMinRefusals * 4, 64)
        let count = refusals.withLockedValue { table -> Int in
            if table[address] == nil, table.count >= Self.maxAddresses,
                let oldest = table.min(by: { ($0.value.last ?? 0) < ($1.value.last ?? 0) })?.key
            {
                table.removeValue(forKey: oldest)
            }
            var times = table[address, default: []].filter { $0 > now - windowMs }
            times.append(now)
            if times.count > cap { times.removeFirst(times.count - cap) }
            table[address] = times
            return times.count
        }
        if let signal = MonitoringRules.tlsRefusals(address: address, refusalsInWindow: count, thresholds) {
            raise(signal)
        }
    }
}

/// Sits right after the TLS handler (gRPC listener and console): a handshake that fails (or times out) before
/// completing is a refusal of the connection's client address.
public final class TLSRefusalReporter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny
    private let onRefusal: @Sendable (String) -> Void
    private var handshakeCompleted = false
    private var reported = false

    public init(onRefusal: @escaping @Sendable (String) -> Void) {
        self.onRefusal = onRefusal
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted { handshakeCompleted = true }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeCompleted, !reported, let tls = error as? TLSError {
            switch tls {
            case .handshakeFailed, .handshakeTimeout:
                reported = true
                if let address = context.channel.remoteAddress?.ipAddress { onRefusal(address) }
            default:
                break
            }
        }
        context.fireErrorCaught(error)
    }
}
