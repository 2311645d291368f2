import GatewayRPC
import GatewayWire
import NIOConcurrencyHelpers
import NIOCore

/// `grpc.health.v1.Health` (grpc/grpc doc/health-checking.md) for `""` (the whole server) and
/// `bankgw.v1.BankGateway`, served on the TLS port and on the plaintext probe port.
///
/// Check answers from memory on the event loop (probes are frequent and must never wait on storage); Watch sends
/// the current status at once and then every change, and for an unknown service sends SERVICE_UNKNOWN and keeps
/// the stream open, as the protocol says.
public final class HealthService: Sendable {
    public static let serviceName = HealthMethods.serviceName
    /// The service names this gateway reports on.
    public static let knownServices: [String] = ["", BankGatewayMethods.serviceName]
    /// Watchers per listener; a probe opens one and keeps it. Bounded so a client cannot pile them up, and
    /// counted per listener so watches on the plaintext probe port (no certificate needed) can never use up the
    /// budget of the TLS port, where banks watch.
    public static let maxWatchers = 1_024

    /// Which listener a Watch came in on: each has its own watcher budget.
    public enum Listener: Sendable, Hashable {
        case tls, probe
    }

    private struct State {
        var statuses: [String: ServingStatus]
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
        /// Set at shutdown: every Watch stream sends its last status and ends.
        var finished = false
    }

    private struct Watcher {
        var service: String
        var listener: Listener
        var continuation: AsyncStream<ServingStatus>.Continuation
    }

    private let state: NIOLockedValueBox<State>
    /// Check's answer per status, packed once by the generated encoder: a probe's Check is the most frequent call
    /// there is, and its answer is one of four fixed messages (issue 14).
    private let checkResponses: [ServingStatus: [UInt8]]

    /// Starts NOT_SERVING: the process flips to SERVING once its listeners and stores are up.
    public init() {
        state = NIOLockedValueBox(
            State(statuses: Dictionary(uniqueKeysWithValues: Self.knownServices.map { ($0, .notServing) })))
        var responses: [ServingStatus: [UInt8]] = [:]
        for status in ServingStatus.allCases {
            var buffer = ByteBuffer()
            // Our own fixed message: it always packs (a failure is a bug found at start-up, not on a probe).
            try! MessageCoding.encode(HealthCheckResponse(status: status), into: &buffer)
            responses[status] = Array(buffer.readableBytesView)
        }
        checkResponses = responses
    }

    /// The status of `service`, or nil when this server does not know it.
    public func status(of service: String) -> ServingStatus? {
        state.withLockedValue { $0.statuses[service] }
    }

    /// Sets every known service to `status` and tells the watchers.
    public func setAll(_ status: ServingStatus) {
        for service in Self.knownServices { set(service, status) }
    }

    public func set(_ service: String, _ status: ServingStatus) {
        precondition(status != .serviceUnknown, "SERVICE_UNKNOWN is for Watch on unknown names only")
        state.withLockedValue { state in
            guard state.statuses[service] != status else { return }
            state.statuses[service] = status
            for watcher in state.watchers.values where watcher.service == service {
                watcher.continuation.yield(status)
            }
        }
    }

    /// Shutdown: NOT_SERVING everywhere, then every Watch stream ends after sending it.
    public func finish() {
        setAll(.notServing)
        state.withLockedValue { state in
            state.finished = true
            for watcher in state.watchers.values { watcher.continuation.finish() }
        }
    }

    /// The Health methods of the TLS listener.
    public var services: RPCServices { services(for: .tls) }

    /// The Health methods, to register on `listener` (its own Watch budget).
    public func services(for listener: Listener) -> RPCServices {
        var services = RPCServices()
        services.register(
            HealthMethods.check,
            .unary { [self] request, response, _ in
                // An empty message is `service: ""` (every field at its default): nothing to decode.
                let service =
                    request.readableBytes == 0
                    ? "" : try MessageCoding.decode(HealthCheckRequest.self, from: request).service
                guard let status = status(of: service), let answer = checkResponses[status] else {
                    throw GRPCStatus(.notFound, "unknown service \"\(service)\"")
                }
                response.writeBytes(answer)
            })
        services.register(
            HealthMethods.watch,
            .serverStreaming { [self] request, responses, context in
                let watch = try MessageCoding.decode(HealthCheckRequest.self, from: request)
                let (stream, id) = try subscribe(watch.service, listener: listener)
                defer { unsubscribe(id) }
                for await status in stream {
                    try await responses.send(
                        try MessageCoding.encode(HealthCheckResponse(status: status), context: context, capacityHint: 8)
                    )
                }
            })
        return services
    }

    /// A stream that starts with the current status (SERVICE_UNKNOWN for an unknown name) and then yields every
    /// change until shutdown.
    private func subscribe(
        _ service: String, listener: Listener
    ) throws(GRPCStatus) -> (AsyncStream<ServingStatus>, Int) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ServingStatus.self, bufferingPolicy: .bufferingNewest(8))
        let id: Int? = state.withLockedValue { state in
            guard state.watchers.values.lazy.filter({ $0.listener == listener }).count < Self.maxWatchers else {
                return nil
            }
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            if state.finished {
                continuation.finish()
            } else {
                state.watchers[id] = Watcher(service: service, listener: listener, continuation: continuation)
            }
            return id
        }
        guard let id else {
            throw GRPCStatus(.resourceExhausted, "too many health watchers on this port (max \(Self.maxWatchers))")
        }
        return (stream, id)
    }

    private func unsubscribe(_ id: Int) {
        _ = state.withLockedValue { $0.watchers.removeValue(forKey: id) }
    }
}
