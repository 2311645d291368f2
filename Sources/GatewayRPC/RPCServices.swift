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
    /// The request's `traceparent` metadata as received (W3C Trace Context), unparsed; nil when absent. The service
    /// layer validates it (`TraceContext`).
    public var traceparent: String? = nil
    /// The client's IP address (no port) as this listener saw it; SPEC §8 block lists match it.
    public var remoteAddress: String? = nil

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

/// What a listener reports about its connections and calls, for metrics. Every hook runs on an event loop and must
/// be fast; labels passed are bounded (`method` is a registered path or `"unknown"`).
public struct RPCServerEvents: Sendable {
    /// A connection was admitted (`true`) or closed (`false`).
    public var connectionChanged: @Sendable (_ opened: Bool) -> Void = { _ in }
    /// A stream (call) opened (`true`) or closed (`false`).
    public var streamChanged: @Sendable (_ opened: Bool) -> Void = { _ in }
    /// A call ended with `code` after `duration` since its request headers arrived.
    public var callFinished: @Sendable (_ method: String, _ code: GRPCStatus.Code, _ duration: Duration) -> Void = {
        _, _, _ in
    }
    /// A connection was refused at the cap (or while shutting down).
    public var connectionRefused: @Sendable () -> Void = {}

    public init() {}
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
    case unary(
        @Sendable (_ request: ByteBuffer, _ response: inout ByteBuffer, _ context: RPCCallContext) throws -> Void)
    /// The callback path: runs on the connection's event loop like `.unary`, but answers later, from any thread,
    /// through `responder` (exactly once: `succeed` with the response message, or `fail` with an `RPCError`), with
    /// no Task and no actor hop. For work handed to a queue or a callback API (the wallet core's submit). The
    /// handler must return promptly; `responder.isCancelled` / `onCancel` tell it when the caller stopped waiting
    /// (deadline, client cancel, connection gone), after which an answer is dropped.
    case unaryDeferred(
        @Sendable (_ request: ByteBuffer, _ context: RPCCallContext, _ responder: RPCUnaryResponder) -> Void)
    /// A handler that suspends (storage, locks, other services). Runs in a Task, cancelled when the deadline
    /// passes or the caller goes away. Return `context.makeResponseBuffer`'s buffer to avoid a copy.
    case unaryAsync(@Sendable (_ request: ByteBuffer, _ context: RPCCallContext) async throws -> ByteBuffer)
    /// One request, a stream of responses until the handler returns (or the caller cancels).
    case serverStreaming(
        @Sendable (_ request: ByteBuffer, _ responses: RPCResponseStream, _ context: RPCCallContext) async throws ->
            Void
    )
    /// Requests and responses both streamed (e.g. `grpc.reflection.v1.ServerReflection/ServerReflectionInfo`): the
    /// handler starts with the headers and reads request messages as they arrive, answering each as it likes.
    case bidirectionalStreaming(
        @Sendable (_ requests: RPCRequestStream, _ responses: RPCResponseStream, _ context: RPCCallContext)
            async throws -> Void
    )
}

/// The request messages of a bidirectional call, in order, until the client half-closes. At most
/// `RPCRequestStream.maxBufferedMessages` wait unread; a client that sends more before the handler reads them
/// gets RESOURCE_EXHAUSTED.
public struct RPCRequestStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public static let maxBufferedMessages = 16
    let stream: AsyncThrowingStream<ByteBuffer, any Error>

    public func makeAsyncIterator() -> AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }
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
        precondition(
            !service.isEmpty && !method.isEmpty && !service.contains("/") && !method.contains("/"),
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

    /// `path` when this set serves it, else `"unknown"`: a metric label must not take the caller's arbitrary text.
    func metricLabel(forPath path: String) -> String { methods[path] == nil ? "unknown" : path }
}
