import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The metrics port's limits (STYLE: a limit on everything), like the gRPC listeners' `RPCServerLimits`.
public struct MetricsEndpointLimits: Sendable {
    /// Open connections at once: 64 (a handful of scrapers). Beyond it a newcomer is closed before any read.
    public var maxConnections = 64
    /// A connection that sends nothing for this long is closed: 10 s (scrapers send their request at once and
    /// reconnect; idle sockets are held file descriptors).
    public var idleTimeout: TimeAmount = .seconds(10)

    public init() {}
}

/// Plaintext HTTP/1.1 `GET /metrics` in the Prometheus text format (SPEC §1, port 9464). Anything else is 404;
/// a request body or an oversized head closes the connection. Before each scrape `refresh` updates the gauges
/// that live in the database (open holds, open alerts).
public final class MetricsEndpoint: Sendable {
    private let channel: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    public var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) {
        self.channel = channel
        self.connections = connections
    }

    public static func start(
        host: String, port: Int, limits: MetricsEndpointLimits = MetricsEndpointLimits(),
        exposition: @escaping @Sendable () -> [UInt8],
        refresh: @escaping @Sendable () async -> Void = {},
        connectionChanged: @escaping @Sendable (Bool) -> Void = { _ in },
        connectionRefused: @escaping @Sendable () -> Void = {},
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MetricsEndpoint {
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                let admitted = connections.withLockedValue { open -> Bool in
                    guard open.count < limits.maxConnections else { return false }
                    open[ObjectIdentifier(channel)] = channel
                    return true
                }
                guard admitted else {
                    connectionRefused()
                    return channel.close()
                }
                connectionChanged(true)
                channel.closeFuture.whenComplete { _ in
                    connectionChanged(false)
                    _ = connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: limits.idleTimeout))
                    // The HTTP/1 parser (llhttp) refuses a head over 80 KiB and closes the connection.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        ScrapeHandler(exposition: exposition, refresh: refresh))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel, connections: connections)
    }

    /// Connections open now.
    public var openConnections: Int { connections.withLockedValue { $0.count } }

    public func close() async {
        try? await channel.close()
        let open = connections.withLockedValue { Array($0.values) }
        for connection in open { try? await connection.close() }
    }
}

private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exposition: @Sendable () -> [UInt8]
    private let refresh: @Sendable () async -> Void
    private var head: HTTPRequestHead?

    init(exposition: @escaping @Sendable () -> [UInt8], refresh: @escaping @Sendable () async -> Void) {
        self.exposition = exposition
        self.refresh = refresh
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)  // idle past the limit
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // a scrape has no body; ignore whatever is sent
        case .end:
            guard let head else { return }
            self.head = nil
            guard head.method == .GET && head.uri.split(separator: "?").first == "/metrics" else {
                respond(context, head, .notFound, Array("not found: only GET /metrics is served here\n".utf8))
                return
            }
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let (refresh, exposition, eventLoop) = (self.refresh, self.exposition, context.eventLoop)
            Task {
                await refresh()
                let body = exposition()
                eventLoop.execute {
                    this.value.respond(loopContext.value, head, .ok, body)
                }
            }
        }
    }

    private func respond(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: [UInt8]
    ) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(
            name: "content-type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
        headers.add(name: "content-length", value: String(body.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
