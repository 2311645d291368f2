import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// Plaintext HTTP/1.1 `GET /metrics` in the Prometheus text format (SPEC §1, port 9464). Anything else is 404;
/// a request body or an oversized head closes the connection.
public final class MetricsEndpoint: Sendable {
    private let channel: any Channel

    public var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel) {
        self.channel = channel
    }

    public static func start(
        host: String, port: Int, registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
