import GatewayRPC
import GatewayTLS
import GatewayWire
import NIOCore
import NIOPosix

/// One gRPC connection to the gateway with typed unary calls: encode → call → status or decoded response.
///
/// Failures are values (`GRPCStatus`), never thrown, because most conformance cases are about which status comes
/// back. `TLSClientHandshakeCompleted` is captured so the TLS case can check the ALPN the gateway agreed.
final class GatewayConnection: Sendable {
    let rpc: RPCClientConnection
    /// What the TLS client handler reported (verified server name, ALPN); nil on the plaintext probe port.
    let handshake: TLSClientHandshakeCompleted?
    private let timeout: TimeAmount

    private init(rpc: RPCClientConnection, handshake: TLSClientHandshakeCompleted?, timeout: TimeAmount) {
        self.rpc = rpc
        self.handshake = handshake
        self.timeout = timeout
    }

    /// Mutual TLS with `certificate`/`key`, verifying the gateway's certificate against `caPath` for `host`.
    static func tls(
        host: String, port: Int, caPath: String, certificatePath: String, keyPath: String, timeoutMs: Int64
    ) async throws(ConformanceError) -> GatewayConnection {
        let context: TLSClientContext
        do {
            context = try TLSClientContext(
                configuration: TLSClientConfiguration(
                    trustRootsPath: caPath, certificateChainPath: certificatePath, privateKeyPath: keyPath,
                    serverHostname: host))
        } catch {
            throw .setupFailed("TLS material (\(certificatePath), \(keyPath), CA \(caPath)): \(error)")
        }
        let handshake = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: TLSClientHandshakeCompleted.self)
        do {
            let rpc = try await RPCClientConnection.connect(
                host: host, port: port,
                configureSecurity: { channel in
                    try channel.pipeline.syncOperations.addHandler(context.makeHandler(serverHostname: host))
                    try channel.pipeline.syncOperations.addHandler(HandshakeObserver(promise: handshake))
                })
            // The HTTP/2 preface goes out only after the handshake; wait for it so a refused certificate shows
            // here, as unreachable, not as an odd status on the first call.
            let completed = try await handshake.futureResult.get()
            return GatewayConnection(rpc: rpc, handshake: completed, timeout: .milliseconds(timeoutMs))
        } catch {
            handshake.fail(error)
            throw .unreachable("TLS \(host):\(port): \(error)")
        }
    }

    /// Plaintext HTTP/2 with prior knowledge (the health probe port).
    static func plaintext(host: String, port: Int, timeoutMs: Int64) async throws(ConformanceError) -> GatewayConnection
    {
        do {
            let rpc = try await RPCClientConnection.connect(host: host, port: port)
            return GatewayConnection(rpc: rpc, handshake: nil, timeout: .milliseconds(timeoutMs))
        } catch {
            throw .unreachable("h2c \(host):\(port): \(error)")
        }
    }

    /// A unary call with a typed request and response.
    func call<Response: WireMessage>(
        _ path: String, _ request: some WireMessage, as: Response.Type = Response.self
    ) async -> Result<Response, GRPCStatus> {
        let bytes: [UInt8]
        do {
            bytes = try request.wireBytes()
        } catch {
            return .failure(GRPCStatus(.internal, "the suite could not encode its request: \(error)"))
        }
        return Self.decode(await callRaw(path, .message(ByteBuffer(bytes: bytes))), as: Response.self)
    }

    /// A unary call with exactly these request bytes (malformed and oversized messages on purpose).
    func callRaw(_ path: String, _ body: RPCRequestBody) async -> RPCCallResult {
        let tag = ConformanceSuite.witnessTag.map { [(ConformanceWitnessing.metadataName, $0)] } ?? []
        return await rpc.unary(path: path, request: body, timeout: timeout, metadata: tag)
    }

    static func decode<Response: WireMessage>(
        _ result: RPCCallResult, as: Response.Type
    ) -> Result<
        Response, GRPCStatus
    > {
        guard result.status.code == .ok else { return .failure(result.status) }
        guard let message = result.message else {
            return .failure(GRPCStatus(.internal, "OK with \(result.messages.count) messages instead of one"))
        }
        do {
            return .success(try Response(wireBytes: Array(message.readableBytesView)))
        } catch {
            return .failure(GRPCStatus(.internal, "response is not a \(Response.protoName): \(error)"))
        }
    }

    func close() async {
        await rpc.close()
    }
}

/// Passes everything on; completes `promise` with the TLS client handler's handshake event.
private final class HandshakeObserver: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<TLSClientHandshakeCompleted>

    init(promise: EventLoopPromise<TLSClientHandshakeCompleted>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSClientHandshakeCompleted { promise.succeed(completed) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)  // ignored when the handshake already completed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }
}
