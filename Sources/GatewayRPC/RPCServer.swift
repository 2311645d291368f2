import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix

/// One gRPC listener: a socket, an optional security stage, HTTP/2 with one child channel per stream, and the
/// methods it serves. A process runs one per port (the TLS port with every service, the h2c probe port with
/// health only).
public final class RPCServer: Sendable {
    /// Adds the security stage (the TLS handler) to a new connection's pipeline, before HTTP/2. Called on the
    /// connection's event loop; use `channel.pipeline.syncOperations`. nil: plaintext h2c.
    public typealias ConfigureSecurity = @Sendable (any Channel) throws -> Void

    private let serverChannel: any Channel
    private let connections: NIOLockedValueBox<Connections>
    private let logger: Logger

    private struct Connections {
        var open: [ObjectIdentifier: any Channel] = [:]
        var accepting = true
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
                // The connection cap, checked before any TLS or HTTP/2 work is spent on the newcomer.
                let admitted = connections.withLockedValue { state -> Bool in
                    guard state.accepting, state.open.count < limits.maxConnections else { return false }
                    state.open[ObjectIdentifier(channel)] = channel
                    return true
                }
                guard admitted else {
                    events.connectionRefused()
                    logger.warning("connection refused: limit or shutting down", metadata: ["limit": "\(limits.maxConnections)"])
                    return channel.close()
                }
                events.connectionChanged(true)
                channel.closeFuture.whenComplete { _ in
                    events.connectionChanged(false)
                    _ = connections.withLockedValue { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try configureSecurity?(channel)
                    try Self.configureHTTP2(
                        channel: channel, services: services, limits: limits, logger: logger, events: events)
                }
            }
            .bind(host: host, port: port).get()
        logger.info("gRPC listener up", metadata: ["address": "\(serverChannel.localAddress!)"])
        return RPCServer(serverChannel: serverChannel, connections: connections, logger: logger)
    }

    /// HTTP/2 (server mode, every limit set) + the connection handler + a `ServerStreamHandler` per stream.
    static func configureHTTP2(
        channel: any Channel, services: RPCServices, limits: RPCServerLimits, logger: Logger,
        events: RPCServerEvents = RPCServerEvents()
    ) throws {
        let connection = RPCConnectionState(eventLoop: channel.eventLoop)
        let connectionHandler = ServerConnectionHandler(connection: connection, limits: limits, logger: logger)
        let http2 = NIOHTTP2Handler(
            mode: .server,
            eventLoop: channel.eventLoop,
            connectionConfiguration: limits.connectionConfiguration,
            streamConfiguration: limits.streamConfiguration,
            streamDelegate: ServerConnectionHandler.StreamEvents(
                handler: NIOLoopBound(connectionHandler, eventLoop: channel.eventLoop))
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(
                    ServerStreamHandler(
                        services: services, connection: connection, limits: limits, logger: logger, events: events))
            }
        }
        try channel.pipeline.syncOperations.addHandler(http2)
        try channel.pipeline.syncOperations.addHandler(connectionHandler)
        try channel.pipeline.syncOperations.addHandler(RootStreamSink())
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

/// Last handler of a connection: root-stream frames (SETTINGS, PING, GOAWAY) end here; NIOHTTP2 has acted on them.
final class RootStreamSink: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
