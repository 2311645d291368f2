import GatewayTLS
import Logging
import NIOCore
import NIOHTTP2

/// What the streams of one connection share: who the peer is. Written once by the connection handler when the TLS
/// stage reports the handshake (before any stream exists), read by every call. Event-loop confined.
final class RPCConnectionState: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// Set from `TLSHandshakeCompleted`; nil on the h2c listener.
    var peer: PeerIdentity? {
        get { eventLoop.preconditionInEventLoop(); return _peer }
        set { eventLoop.preconditionInEventLoop(); _peer = newValue }
    }
    private var _peer: PeerIdentity?
    /// The verified peer's DER SubjectPublicKeyInfo (from `TLSHandshakeCompleted`); empty on the h2c listener.
    var peerPublicKeyDER: [UInt8] {
        get { eventLoop.preconditionInEventLoop(); return _peerPublicKeyDER }
        set { eventLoop.preconditionInEventLoop(); _peerPublicKeyDER = newValue }
    }
    private var _peerPublicKeyDER: [UInt8] = []

    /// Server-streaming calls in flight (Health.Watch): they never end by themselves, so a drain ends them with
    /// UNAVAILABLE rather than holding the connection open for the whole grace period.
    private var streamingCalls: [ObjectIdentifier: () -> Void] = [:]

    func addStreamingCall(_ id: ObjectIdentifier, end: @escaping () -> Void) {
        eventLoop.preconditionInEventLoop()
        streamingCalls[id] = end
    }

    func removeStreamingCall(_ id: ObjectIdentifier) {
        eventLoop.preconditionInEventLoop()
        streamingCalls[id] = nil
    }

    func endStreamingCalls() {
        eventLoop.preconditionInEventLoop()
        let calls = streamingCalls
        streamingCalls = [:]
        for end in calls.values { end() }
    }

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }
}

/// Asks a connection to drain: GOAWAY now, close once its calls finish or after `grace`.
struct RPCConnectionDrain: Sendable {
    var grace: TimeAmount
}

/// Sits after NIOHTTP2Handler on a server connection: captures the peer identity, counts streams (told by
/// `ServerStreamDemultiplexer`, after it), enforces idle time, maximum age and keepalive, and drains gracefully on
/// request. Frames pass through to the demultiplexer.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var lifecycle = ServerConnectionStateMachine()
    private let connection: RPCConnectionState
    private let limits: RPCServerLimits
    private let logger: Logger
    private var idleTimer: Scheduled<Void>?
    private var ageTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    private var keepaliveTimer: RepeatedTask?
    private var pingAckTimer: Scheduled<Void>?
    private var readSinceLastPing = false
    private static let keepalivePingData = HTTP2PingData(withInteger: 0x6B65_6570_616C_6976)  // "keepaliv"
    private static let quiescePingData = HTTP2PingData(withInteger: 0x7175_6965_7363_6521)  // "quiesce!"
    /// How long to wait for the quiesce PING's ack before naming the last stream anyway (a peer that never acks).
    static let maxQuiesceWait: TimeAmount = .seconds(1)
    private var quiesceTimer: Scheduled<Void>?

    init(connection: RPCConnectionState, limits: RPCServerLimits, logger: Logger) {
        self.connection = connection
        self.limits = limits
        self.logger = logger
    }

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.start(context) }
    }

    /// A stream opened (its HEADERS reached `ServerStreamDemultiplexer`, which calls this): disarms the idle timer and
    /// counts it for the drain.
    func streamOpened(_ id: HTTP2StreamID) {
        guard let context else { return }
        self.perform(lifecycle.streamOpened(id), context)
    }

    /// A stream opened with `streamOpened` closed (NIOHTTP2's `StreamClosedEvent`, or a stream error).
    func streamClosed() {
        guard let context else { return }
        self.perform(lifecycle.streamClosed(), context)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context)
        context.fireChannelActive()
    }

    private var started = false
    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        self.armIdleTimer(context)
        ageTimer = loop.scheduleTask(in: limits.maxConnectionAge) {
            let (handler, context) = bound.value
            handler.drain(context, grace: handler.limits.connectionAgeGrace)
        }
        keepaliveTimer = loop.scheduleRepeatedTask(
            initialDelay: limits.keepaliveInterval, delay: limits.keepaliveInterval
        ) { _ in
            let (handler, context) = bound.value
            handler.keepaliveTick(context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimers()
        context.fireChannelInactive()
    }

    private func cancelTimers() {
        idleTimer?.cancel()
        ageTimer?.cancel()
        graceTimer?.cancel()
        keepaliveTimer?.cancel()
        pingAckTimer?.cancel()
        quiesceTimer?.cancel()
        idleTimer = nil; ageTimer = nil; graceTimer = nil; keepaliveTimer = nil; pingAckTimer = nil; quiesceTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readSinceLastPing = true
        let frame = self.unwrapInboundIn(data)
        if case .ping(let pingData, ack: true) = frame.payload {
            if pingData == Self.keepalivePingData {
                pingAckTimer?.cancel()
                pingAckTimer = nil
            } else if pingData == Self.quiescePingData {
                quiesceTimer?.cancel()
                quiesceTimer = nil
                self.perform(lifecycle.quiesced(), context)
            }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Several NIOHTTP2 events pass per call (stream created and closed, windows): compare the type before
        // trying a cast.
        if type(of: event) == TLSHandshakeCompleted.self, let handshake = event as? TLSHandshakeCompleted {
            connection.peer = handshake.identity
            connection.peerPublicKeyDER = handshake.peerPublicKeyDER
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// NIOHTTP2 reports both stream and connection errors here. A stream error ends that stream only (NIOHTTP2 has
    /// reset it); anything else is a connection error (NIOHTTP2 has sent GOAWAY with the reason: a flood, a
    /// protocol violation) and the connection is closed. Same policy as grpc-swift-nio-transport.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case is NIOHTTP2Errors.StreamError:
            // For the stream's call (`ServerStreamDemultiplexer`).
            context.fireErrorCaught(error)
        case is NIOHTTP2Errors.NoSuchStream where lifecycle.isDraining:
            // A client's HEADERS crossing our GOAWAY: refused, not an attack.
            return
        case is NIOHTTP2Errors.RaisedGoawayLastStreamID where lifecycle.isDraining:
            // NIOHTTP2 answering a frame that crossed our GOAWAY with a GOAWAY of its own, naming a higher last
            // stream than ours; it refuses to send that (ids may only go down) and reports it. Our GOAWAY stands.
            // Closing here would cut the calls we promised to finish, and the caller would see UNAVAILABLE for
            // calls that ran.
            return
        default:
            logger.debug("connection error; closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let drain = event as? RPCConnectionDrain {
            self.drain(context, grace: drain.grace)
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    private func drain(_ context: ChannelHandlerContext, grace: TimeAmount) {
        let action = lifecycle.drain()
        if case .sendQuiesceGoAwayAndPing = action {
            connection.endStreamingCalls()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            graceTimer = context.eventLoop.scheduleTask(in: grace) {
                // Grace over: calls still running are cut; their callers see the connection close.
                bound.value.close(promise: nil)
            }
        }
        self.perform(action, context)
    }

    private func perform(_ action: ServerConnectionStateMachine.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .armIdleTimer:
            self.armIdleTimer(context)
        case .cancelIdleTimer:
            idleTimer?.cancel()
            idleTimer = nil
        case .sendQuiesceGoAwayAndPing:
            idleTimer?.cancel()
            idleTimer = nil
            // Below NIOHTTP2, which would otherwise refuse the streams already on their way (QuiesceGoAwayWriter).
            context.triggerUserOutboundEvent(QuiesceGoAwayWriter.Request(), promise: nil)
            let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(Self.quiescePingData, ack: false))
            context.writeAndFlush(self.wrapOutboundOut(ping), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            quiesceTimer = context.eventLoop.scheduleTask(in: Self.maxQuiesceWait) {
                let (handler, context) = bound.value
                handler.quiesceTimer = nil
                handler.perform(handler.lifecycle.quiesced(), context)
            }
        case .sendGoAway(let lastStreamID, let closeNow):
            idleTimer?.cancel()
            idleTimer = nil
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))
            if closeNow {
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(self.wrapOutboundOut(goAway)).whenComplete { _ in bound.value.close(promise: nil)
                }
            } else {
                context.writeAndFlush(self.wrapOutboundOut(goAway), promise: nil)
            }
        case .close:
            // NIOHTTP2 reports the stream closed while it is still encoding that stream's last frame: closing
            // here would drop the final trailers. Close on the next tick, after they are written and flushed.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let context = bound.value
                context.flush()
                context.close(promise: nil)
            }
        }
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: limits.maxIdleTime) {
            let (handler, context) = bound.value
            handler.idleTimer = nil
            handler.logger.debug("closing idle connection")
            handler.drain(context, grace: handler.limits.connectionAgeGrace)
        }
    }

    private func keepaliveTick(_ context: ChannelHandlerContext) {
        guard !readSinceLastPing else {
            readSinceLastPing = false
            return
        }
        guard pingAckTimer == nil else { return }
        context.writeAndFlush(
            self.wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(Self.keepalivePingData, ack: false))),
            promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        pingAckTimer = context.eventLoop.scheduleTask(in: limits.keepaliveTimeout) {
            // No PING ack: the peer or the path is dead; free its resources.
            bound.value.close(promise: nil)
        }
    }
}
