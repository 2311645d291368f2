import GatewayTLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix

/// One gRPC listener: a socket, an optional security stage, HTTP/2 served at frame level (every stream's call on
/// the connection's pipeline, no child channels), and the methods it serves. A process runs one per port (the TLS
/// port with every service, the h2c probe port with health only).
public final class RPCServer: Sendable {
    /// Adds the security stage (the TLS handler) to a new connection's pipeline, before HTTP/2. Called on the
    /// connection's event loop; use `channel.pipeline.syncOperations`. nil: plaintext h2c.
    public typealias ConfigureSecurity = @Sendable (any Channel) throws -> Void

    private let serverChannel: any Channel
    private let connections: NIOLockedValueBox<Connections>
    private let logger: Logger

    /// Two budgets: sockets still in their security handshake (no peer known yet, so capped per client
    /// address and in total) and established connections (`maxConnections`). A socket counts against the second
    /// only once its peer is verified, so connections that never finish a handshake cannot crowd out banks.
    struct Connections {
        var open: [ObjectIdentifier: any Channel] = [:]
        /// Handshaking connections and their client address.
        var handshaking: [ObjectIdentifier: String] = [:]
        var handshakingByAddress: [String: Int] = [:]
        var established: Set<ObjectIdentifier> = []
        var accepting = true

        enum Admission: Equatable { case handshaking, established, refused(String) }

        /// A new socket: plaintext listeners (no handshake) count as established at once.
        mutating func admit(
            _ id: ObjectIdentifier, channel: any Channel, address: String, handshake: Bool, limits: RPCServerLimits
        ) -> Admission {
            guard accepting else { return .refused("shutting down") }
            if !handshake {
                guard established.count < limits.maxConnections else { return .refused("connection limit") }
                established.insert(id)
                open[id] = channel
                return .established
            }
            guard handshaking.count < limits.maxHandshakingConnections else {
                return .refused("handshake limit")
            }
            guard handshakingByAddress[address, default: 0] < limits.maxHandshakingConnectionsPerAddress else {
                return .refused("handshake limit per client address")
            }
            handshaking[id] = address
            handshakingByAddress[address, default: 0] += 1
            open[id] = channel
            return .handshaking
        }

        /// The peer was verified: the connection moves to the established budget, or is refused when it is full.
        mutating func handshakeCompleted(_ id: ObjectIdentifier, limits: RPCServerLimits) -> Bool {
            guard let address = handshaking.removeValue(forKey: id) else { return established.contains(id) }
            release(address)
            guard established.count < limits.maxConnections else { return false }
            established.insert(id)
            return true
        }

        mutating func closed(_ id: ObjectIdentifier) {
            open.removeValue(forKey: id)
            established.remove(id)
            if let address = handshaking.removeValue(forKey: id) { release(address) }
        }

        private mutating func release(_ address: String) {
            let left = handshakingByAddress[address, default: 1] - 1
            handshakingByAddress[address] = left > 0 ? left : nil
        }
    }

    /// The bound address (useful with port 0).
    public var localAddress: SocketAddress { serverChannel.localAddress! }
    public var port: Int { localAddress.port! }

    private init(serverChannel: any Channel, connections: NIOLockedValueBox<Connections>, logger: Logger) {
        self.serverChannel = serverChannel
        self.connections = connections
        self.logger = logger
    }

    /// Binds `host:port` (port 0: ephemeral) and starts serving `services`.
    public static func start(
        host: String,
        port: Int,
        services: RPCServices,
        limits: RPCServerLimits = RPCServerLimits(),
        configureSecurity: ConfigureSecurity? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "bankgw.rpc"),
        events: RPCServerEvents = RPCServerEvents()
    ) async throws -> RPCServer {
        limits.validate()
        let connections = NIOLockedValueBox(Connections())
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                // The caps, checked before any TLS or HTTP/2 work is spent on the newcomer.
                let id = ObjectIdentifier(channel)
                let address = channel.remoteAddress?.ipAddress ?? "unknown"
                let handshake = configureSecurity != nil
                let admission = connections.withLockedValue {
                    $0.admit(id, channel: channel, address: address, handshake: handshake, limits: limits)
                }
                if case .refused(let why) = admission {
                    events.connectionRefused()
                    logger.warning("connection refused: \(why)", metadata: ["client": "\(address)"])
                    return channel.close()
                }
                events.connectionChanged(true)
                channel.closeFuture.whenComplete { _ in
                    events.connectionChanged(false)
                    connections.withLockedValue { $0.closed(id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try configureSecurity?(channel)
                    if admission == .handshaking {
                        let promoter = HandshakeAdmission {
                            connections.withLockedValue { $0.handshakeCompleted(id, limits: limits) }
                        }
                        try channel.pipeline.syncOperations.addHandler(promoter)
                    }
                    try Self.configureHTTP2(
                        channel: channel, services: services, limits: limits, logger: logger, events: events)
                }
            }
            .bind(host: host, port: port).get()
        logger.info("gRPC listener up", metadata: ["address": "\(serverChannel.localAddress!)"])
        return RPCServer(serverChannel: serverChannel, connections: connections, logger: logger)
    }

    /// HTTP/2 at frame level (server mode, every limit set, no stream multiplexer: no child channel per stream) +
    /// the connection handler + the demultiplexer that serves every stream's call.
    static func configureHTTP2(
        channel: any Channel, services: RPCServices, limits: RPCServerLimits, logger: Logger,
        events: RPCServerEvents = RPCServerEvents()
    ) throws {
        let connection = RPCConnectionState(eventLoop: channel.eventLoop)
        let connectionHandler = ServerConnectionHandler(connection: connection, limits: limits, logger: logger)
        let http2 = NIOHTTP2Handler(
            mode: .server,
            connectionConfiguration: limits.connectionConfiguration,
            streamConfiguration: limits.streamConfiguration)
        let demultiplexer = ServerStreamDemultiplexer(
            lifecycle: connectionHandler, services: services, connection: connection, limits: limits, logger: logger,
            events: events)
        try channel.pipeline.syncOperations.addHandler(QuiesceGoAwayWriter())
        try channel.pipeline.syncOperations.addHandler(http2)
        try channel.pipeline.syncOperations.addHandler(connectionHandler)
        try channel.pipeline.syncOperations.addHandler(demultiplexer)
    }

    /// Connections currently open.
    public var openConnections: Int { connections.withLockedValue { $0.open.count } }

    /// Graceful shutdown (SIGTERM): stop accepting, GOAWAY to every connection so new calls are refused (callers
    /// see UNAVAILABLE, "never started"), let in-flight calls finish within `grace`, then close what remains.
    /// Returns when every connection and the listener are closed.
    public func shutdownGracefully(grace: TimeAmount = .seconds(10)) async {
        let open = connections.withLockedValue { state -> [any Channel] in
            state.accepting = false
            return Array(state.open.values)
        }
        try? await serverChannel.close()
        for channel in open {
            channel.triggerUserOutboundEvent(RPCConnectionDrain(grace: grace), promise: nil)
        }
        for channel in open {
            try? await channel.closeFuture.get()
        }
        logger.info("gRPC listener drained", metadata: ["connections": "\(open.count)"])
    }

    /// Closes the listener and every connection at once (tests, fatal errors).
    public func close() async {
        let open = connections.withLockedValue { state -> [any Channel] in
            state.accepting = false
            return Array(state.open.values)
        }
        try? await serverChannel.close()
        for channel in open { try? await channel.close() }
    }
}

/// After the security stage: when the peer is verified (`TLSHandshakeCompleted`), moves the connection from the
/// handshake budget to the established one, or closes it when the established budget is full.
final class HandshakeAdmission: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let promote: () -> Bool

    init(promote: @escaping () -> Bool) { self.promote = promote }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted {
            guard promote() else {
                context.close(promise: nil)
                return
            }
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
