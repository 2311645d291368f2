import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// Plaintext HTTP/1.1 `GET /metrics` in the Prometheus text format (SPEC §1, port 9464). Anything else is 404;
/// a request body or an oversized head closes the connection. No certificate is needed here, so the port has its
/// own limits: at most `maxConnections` open connections (more are closed at once) and each closed after
/// `idleTimeout` without a byte read, so idle sockets cannot pile up file descriptors shared with the TLS port.
public final class MetricsEndpoint: Sendable {
    /// Open connections: 64 (a scraper uses one or two).
    public static let maxConnections = 64
    /// A connection that sends nothing for 10 s is closed (scrapers send their request at once).
    public static let idleTimeout: TimeAmount = .seconds(10)

    private let channel: any Channel

    public var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel) {
        self.channel = channel
    }

    public static func start(
        host: String, port: Int, registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxConnections: Int = MetricsEndpoint.maxConnections, idleTimeout: TimeAmount = MetricsEndpoint.idleTimeout
    ) async throws -> MetricsEndpoint {
        let open = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = open.withLockedValue { count -> Bool in
                    guard count < maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.withLockedValue { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsEndpoint(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

/// Closes the connection on the idle handler's read timeout.
private final class CloseWhenIdle: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
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
            let (status, body): (HTTPResponseStatus, [UInt8]) =
                head.method == .GET && head.uri.split(separator: "?").first == "/metrics"
                ? (.ok, registry.emitToBuffer())
                : (.notFound, Array("not found: only GET /metrics is served here\n".utf8))
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
            headers.add(name: "content-length", value: String(body.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
