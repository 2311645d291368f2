import GatewayTLS
import Logging
import NIOCore

/// What a handler knows about the call it serves.
public struct RPCCallContext: Sendable {
    /// Who called: the verified client certificate's identity; nil on the plaintext (h2c) listener.
    public let peer: PeerIdentity?
    /// `/package.Service/Method`.
    public let path: String
    /// When the caller stops waiting (`grpc-timeout`); `.distantFuture` when it sent none. The server answers
    /// DEADLINE_EXCEEDED and cancels the handler at this instant; handlers may use it to bound their own work.
    public let deadline: NIODeadline
    /// The connection's event loop: synchronous handlers run on it and must not block.
    public let eventLoop: any EventLoop
    public let logger: Logger

    /// A buffer to encode a response message into, with room reserved in front for the gRPC prefix so the
    /// transport frames it without copying. `capacity` is the expected message size (a hint).
    public func makeResponseBuffer(capacity: Int) -> ByteBuffer {
        GRPCMessageFramer.makeResponseBuffer(allocator: ByteBufferAllocator(), capacity: capacity)
    }
}

/// A call's request headers as the observer sees them.
public struct RPCObservedRequest: Sendable {
    public let peer: PeerIdentity?
    public let peerPublicKeyDER: [UInt8]
    public let path: String
    /// Request metadata by lower-case name (first value of each; pseudo-headers left out).
    public let metadata: [String: String]

    public init(peer: PeerIdentity?, peerPublicKeyDER: [UInt8], path: String, metadata: [String: String]) {
        self.peer = peer
        self.peerPublicKeyDER = peerPublicKeyDER
        self.path = path
        self.metadata = metadata
    }
}

/// Sends the messages of a server-streaming call. Each `send` waits until the message is written to the
/// connection (backpressure) and throws once the call is over (client cancelled, deadline, server shutdown).
public struct RPCResponseStream: Sendable {
    let sink: @Sendable (ByteBuffer) -> EventLoopFuture<Void>

    /// Sends one message (its readable bytes). Buffers from `RPCCallContext.makeResponseBuffer` are framed in place.
    public func send(_ message: ByteBuffer) async throws {
        try await sink(message).get()
    }
}

/// How a method is served. The transport is message-agnostic: requests and responses are the raw bytes of one
/// gRPC message; decoding and encoding belong to the service layer above.
public enum RPCMethodHandler: Sendable {
    /// The fast path: runs synchronously on the connection's event loop with no task hop. It must not block or
    /// wait; it reads `request` (a slice of the received frame, no copy) and writes its answer into `response`
    /// (pre-sized, prefix reserved). Throw `RPCError` to answer with a status.
    case unary(@Sendable (_ request: ByteBuffer, _ response: inout ByteBuffer, _ context: RPCCallContext) throws -> Void)
    /// A handler that suspends (storage, locks, other services). Runs in a Task, cancelled when the deadline
    /// passes or the caller goes away. Return `context.makeResponseBuffer`'s buffer to avoid a copy.
    case unaryAsync(@Sendable (_ request: ByteBuffer, _ context: RPCCallContext) async throws -> ByteBuffer)
    /// One request, a stream of responses until the handler returns (or the caller cancels).
    case serverStreaming(
        @Sendable (_ request: ByteBuffer, _ responses: RPCResponseStream, _ context: RPCCallContext) async throws -> Void
    )
}

/// The methods one listener serves, by `:path`. Each listener has its own set: the TLS port serves everything, the
/// h2c probe port only `grpc.health.v1.Health` (SPEC §1).
public struct RPCServices: Sendable {
    private var methods: [String: RPCMethodHandler] = [:]
    /// Sees the request headers of every call on the listener, before any check (also calls that are refused
    /// later for their headers or bytes). The conformance witness uses it (SPEC §4). Must be fast: event loop.
    public var requestObserver: (@Sendable (RPCObservedRequest) -> Void)?

    public init() {}

    /// Serves `/service/method` with `handler`. `service` is the fully qualified name (`bankgw.v1.BankGateway`).
    public mutating func register(service: String, method: String, _ handler: RPCMethodHandler) {
        precondition(!service.isEmpty && !method.isEmpty && !service.contains("/") && !method.contains("/"),
                     "service and method names are non-empty and contain no '/'")
        let path = "/\(service)/\(method)"
        precondition(methods[path] == nil, "\(path) registered twice")
        methods[path] = handler
    }

    /// Every method of `other` added to this set (the TLS listener = business services + health).
    public mutating func merge(_ other: RPCServices) {
        if requestObserver == nil { requestObserver = other.requestObserver }
        for (path, handler) in other.methods {
            precondition(methods[path] == nil, "\(path) registered twice")
            methods[path] = handler
        }
    }

    public var paths: [String] { methods.keys.sorted() }

    func handler(forPath path: String) -> RPCMethodHandler? { methods[path] }
}
