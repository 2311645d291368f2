import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// The outcome of one client call: the status and whatever messages arrived before it.
public struct RPCCallResult: Sendable {
    public var status: GRPCStatus
    /// Response messages, each the raw bytes of one gRPC message (prefix removed).
    public var messages: [ByteBuffer]
    /// The response headers (for Trailers-Only responses: the single header block, which also holds the status).
    public var headers: HPACKHeaders
    public var trailers: HPACKHeaders

    /// The single response of a unary call that ended OK.
    public var message: ByteBuffer? { status.code == .ok && messages.count == 1 ? messages[0] : nil }
}

/// The request body as sent on the wire.
public enum RPCRequestBody: Sendable {
    /// One message: the transport adds the 5-byte prefix.
    case message(ByteBuffer)
    /// Exactly these bytes as the DATA of the request, prefix included or not: the conformance suite sends
    /// malformed, compressed-flagged and oversized messages on purpose.
    case raw(ByteBuffer)
    /// No DATA at all: HEADERS with END_STREAM.
    case empty
}

/// The HEADERS of a request, encoded once and reused for every call to the same method (the load generator's hot
/// path builds no dictionaries).
public struct RPCRequestHead: Sendable {
    let headers: HPACKHeaders
    let timeout: TimeAmount?
}

/// A gRPC client connection over HTTP/2 on the same stack as the server: socket → injected security stage (TLS)
/// → NIOHTTP2 → one child channel per call. Used by the admin CLI, the conformance suite and `bankgw bench`.
public final class RPCClientConnection: Sendable {
    public typealias ConfigureSecurity = @Sendable (any Channel) throws -> Void

    private let channel: any Channel
    /// Set when the server sent GOAWAY: new calls are not started (UNAVAILABLE), calls in flight finish.
    private let goAway: NIOLockedValueBox<Bool>
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    private let authority: String
    private let scheme: String
    /// Largest response message accepted: 4 MiB by default (gRPC's usual client limit).
    public let maxResponseMessageBytes: Int

    public var eventLoop: any EventLoop { channel.eventLoop }
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
    /// False once the connection closed (peer GOAWAY and close, network failure, `close()`).
    public var isConnected: Bool { channel.isActive }
    /// True once the server sent GOAWAY (draining): open a new connection for further calls.
    public var isDraining: Bool { goAway.withLockedValue { $0 } }

    private init(
        channel: any Channel, goAway: NIOLockedValueBox<Bool>, multiplexer: NIOHTTP2Handler.StreamMultiplexer,
        authority: String, scheme: String, maxResponseMessageBytes: Int
    ) {
        self.channel = channel
        self.goAway = goAway
        self.multiplexer = multiplexer
        self.authority = authority
        self.scheme = scheme
        self.maxResponseMessageBytes = maxResponseMessageBytes
    }

    /// Connects to `host:port`. With `configureSecurity` (adds the TLS client handler) the scheme is https,
    /// otherwise plaintext h2c with prior knowledge.
    public static func connect(
        host: String,
        port: Int,
        configureSecurity: ConfigureSecurity? = nil,
        maxResponseMessageBytes: Int = 4 * 1024 * 1024,
        connectTimeout: TimeAmount = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCClientConnection {
        precondition(maxResponseMessageBytes > 0, "maxResponseMessageBytes > 0")
        let goAway = NIOLockedValueBox(false)
        let (channel, multiplexer) = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configureSecurity?(channel)
                    var connectionConfig = NIOHTTP2Handler.ConnectionConfiguration()
                    connectionConfig.initialSettings = [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),  // we accept no pushed streams
                        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
                        HTTP2Setting(parameter: .initialWindowSize, value: 1024 * 1024),
                        HTTP2Setting(parameter: .enablePush, value: 0),
                    ]
                    connectionConfig.targetWindowSize = 8 * 1024 * 1024
                    var streamConfig = NIOHTTP2Handler.StreamConfiguration()
                    streamConfig.targetWindowSize = 1024 * 1024
                    let http2 = NIOHTTP2Handler(
                        mode: .client, eventLoop: channel.eventLoop, connectionConfiguration: connectionConfig,
                        streamConfiguration: streamConfig
                    ) { pushed in pushed.close() }
                    try channel.pipeline.syncOperations.addHandler(http2)
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionErrorHandler(goAway: goAway))
                    return (channel, try http2.syncMultiplexer())
                }
            }
        let authority = port == 443 ? host : "\(host):\(port)"
        return RPCClientConnection(
            channel: channel, goAway: goAway, multiplexer: multiplexer, authority: authority,
            scheme: configureSecurity == nil ? "http" : "https", maxResponseMessageBytes: maxResponseMessageBytes)
    }

    /// The request HEADERS for `path` (`/pkg.Service/Method`), built once.
    /// `metadata`: extra headers (lower-case names), sent as given, so a test can send anything.
    public func makeRequestHead(
        path: String, timeout: TimeAmount? = nil, contentType: String = "application/grpc",
        metadata: [(String, String)] = []
    ) -> RPCRequestHead {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": scheme, ":path": path, ":authority": authority,
            "content-type": contentType, "te": "trailers",
        ]
        if let timeout { headers.add(name: "grpc-timeout", value: GRPCTimeout.encode(timeout)) }
        for (name, value) in metadata { headers.add(name: name, value: value) }
        return RPCRequestHead(headers: headers, timeout: timeout)
    }

    /// A unary call. Never fails: transport problems become statuses (UNAVAILABLE when the call never started,
    /// DEADLINE_EXCEEDED when `timeout` passed first).
    public func unary(
        path: String, request: RPCRequestBody, timeout: TimeAmount? = nil, metadata: [(String, String)] = []
    ) async -> RPCCallResult {
        let head = makeRequestHead(path: path, timeout: timeout, metadata: metadata)
        return try! await self.call(head, body: request).get()  // the future never fails
    }

    /// A unary call with raw message bytes.
    public func unary(path: String, message: ByteBuffer, timeout: TimeAmount? = nil) async -> RPCCallResult {
        await self.unary(path: path, request: .message(message), timeout: timeout)
    }

    /// A call on the event loop, no task hop: the load generator's path. `onMessage` (on the event loop) sees each
    /// response message as it arrives, for server-streaming calls; they are then not kept in the result.
    /// The future always succeeds.
    public func call(
        _ head: RPCRequestHead, body: RPCRequestBody,
        onMessage: (@Sendable (ByteBuffer) -> Void)? = nil
    ) -> EventLoopFuture<RPCCallResult> {
        let promise = channel.eventLoop.makePromise(of: RPCCallResult.self)
        if self.isDraining {
            promise.succeed(
                RPCCallResult(
                    status: GRPCStatus(.unavailable, "server is draining (GOAWAY); the call was not started"),
                    messages: [], headers: [:], trailers: [:]))
            return promise.futureResult
        }
        let maxBytes = maxResponseMessageBytes
        let created = channel.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(
                    ClientCallHandler(
                        head: head, body: body, maxResponseMessageBytes: maxBytes, onMessage: onMessage,
                        result: promise))
            }
        }
        created.futureResult.whenFailure { error in
            // The stream never opened (connection closed, GOAWAY received): the call never started.
            promise.succeed(
                RPCCallResult(
                    status: GRPCStatus(.unavailable, "stream not opened: \(error)"), messages: [], headers: [:],
                    trailers: [:]))
        }
        return promise.futureResult
    }

    public func close() async {
        try? await channel.close()
    }
}

/// End of the client connection's pipeline: notes the server's GOAWAY so new calls fail fast as UNAVAILABLE. Errors are not acted on here on purpose: a stream refused after the
/// server's GOAWAY surfaces as an error too, and closing the connection for it would cut the calls still in
/// flight. NIOHTTP2 closes the connection itself on a real protocol error; the socket closes on I/O errors.
final class ClientConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    let goAway: NIOLockedValueBox<Bool>
    init(goAway: NIOLockedValueBox<Bool>) { self.goAway = goAway }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = self.unwrapInboundIn(data).payload {
            goAway.withLockedValue { $0 = true }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

/// One client call in its child channel: sends the request, gathers headers, messages and the status.
final class ClientCallHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let head: RPCRequestHead
    private let body: RPCRequestBody
    private var deframer: GRPCMessageDeframer
    private let onMessage: (@Sendable (ByteBuffer) -> Void)?
    private var result: EventLoopPromise<RPCCallResult>?
    private var headers: HPACKHeaders = [:]
    private var messages: [ByteBuffer] = []
    private var sawHeaders = false
    private var timer: Scheduled<Void>?

    init(
        head: RPCRequestHead, body: RPCRequestBody, maxResponseMessageBytes: Int,
        onMessage: (@Sendable (ByteBuffer) -> Void)?, result: EventLoopPromise<RPCCallResult>
    ) {
        self.head = head
        self.body = body
        self.deframer = GRPCMessageDeframer(maxMessageBytes: maxResponseMessageBytes)
        self.onMessage = onMessage
        self.result = result
    }

    func channelActive(context: ChannelHandlerContext) {
        if let timeout = head.timeout {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = bound.value
                handler.finish(GRPCStatus(.deadlineExceeded, "deadline exceeded (client)"), trailers: [:])
                context.close(promise: nil)  // RST_STREAM(CANCEL): the server stops working on it
            }
        }
        switch body {
        case .empty:
            context.write(self.wrapOutboundOut(.headers(.init(headers: head.headers, endStream: true))), promise: nil)
        case .message(let message):
            var framed = context.channel.allocator.buffer(capacity: message.readableBytes + 5)
            framed.writeInteger(UInt8(0))
            framed.writeInteger(UInt32(message.readableBytes))
            framed.writeImmutableBuffer(message)
            context.write(self.wrapOutboundOut(.headers(.init(headers: head.headers))), promise: nil)
            context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(framed), endStream: true))), promise: nil)
        case .raw(let bytes):
            context.write(self.wrapOutboundOut(.headers(.init(headers: head.headers))), promise: nil)
            context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(bytes), endStream: true))), promise: nil)
        }
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .headers(let frame):
            if !sawHeaders {
                sawHeaders = true
                headers = frame.headers
                if frame.endStream {
                    // Trailers-Only.
                    self.finish(Self.status(from: frame.headers, httpHeaders: frame.headers), trailers: frame.headers)
                }
            } else {
                self.finish(Self.status(from: frame.headers, httpHeaders: headers), trailers: frame.headers)
            }
        case .data(let frame):
            guard case .byteBuffer(let bytes) = frame.data else { return }
            deframer.append(bytes)
            do {
                while let message = try deframer.nextMessage() {
                    if let onMessage { onMessage(message) } else { messages.append(message) }
                }
            } catch {
                self.finish(GRPCStatus(.resourceExhausted, "response message rejected: \(error)"), trailers: [:])
                context.close(promise: nil)
            }
            if frame.endStream {
                self.finish(GRPCStatus(.internal, "response ended without trailers"), trailers: [:])
            }
        case .rstStream(let code):
            let status: GRPCStatus
            switch code {
            case .refusedStream: status = GRPCStatus(.unavailable, "stream refused by the server (not processed)")
            case .cancel: status = GRPCStatus(.cancelled, "stream cancelled by the server")
            case .enhanceYourCalm: status = GRPCStatus(.resourceExhausted, "server says enhance your calm")
            default: status = GRPCStatus(.internal, "stream reset by the server: \(code)")
            }
            self.finish(status, trailers: [:])
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(
            GRPCStatus(sawHeaders ? .internal : .unavailable, "stream closed before the status"), trailers: [:])
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(GRPCStatus(sawHeaders ? .internal : .unavailable, "stream error: \(error)"), trailers: [:])
        context.close(promise: nil)
    }

    private func finish(_ status: GRPCStatus, trailers: HPACKHeaders) {
        timer?.cancel()
        timer = nil
        guard let result else { return }
        self.result = nil
        result.succeed(RPCCallResult(status: status, messages: messages, headers: headers, trailers: trailers))
    }

    /// The status of a response: `grpc-status`/`grpc-message`, or from the HTTP status when there is none.
    static func status(from block: HPACKHeaders, httpHeaders: HPACKHeaders) -> GRPCStatus {
        if let code = block.first(name: "grpc-status") {
            let message = block.first(name: "grpc-message").map(GRPCMessageEncoding.decode) ?? ""
            return GRPCStatus(GRPCStatus.Code(wireValue: Int(code) ?? 2), message)
        }
        let http = Int(httpHeaders.first(name: ":status") ?? "") ?? 0
        switch http {
        case 400: return GRPCStatus(.internal, "HTTP 400")
        case 401: return GRPCStatus(.unauthenticated, "HTTP 401")
        case 403: return GRPCStatus(.permissionDenied, "HTTP 403")
        case 404: return GRPCStatus(.unimplemented, "HTTP 404")
        case 429, 502, 503, 504: return GRPCStatus(.unavailable, "HTTP \(http)")
        default: return GRPCStatus(.unknown, "no grpc-status (HTTP \(http))")
        }
    }
}
