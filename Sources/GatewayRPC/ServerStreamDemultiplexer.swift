import Logging
import NIOCore
import NIOHTTP2

/// Serves every stream of one connection at frame level: the last handler, after `ServerConnectionHandler`, behind a
/// NIOHTTP2Handler that has no stream multiplexer. It demultiplexes the frames NIOHTTP2 accepted by stream id into
/// one `ServerStream` (one `ServerCallStateMachine`) each, and does for them what the multiplexer's child channels
/// did:
///
/// - **Streams.** A stream starts at its first HEADERS frame and ends at NIOHTTP2's `StreamClosedEvent` (our
///   END_STREAM after the client's, an RST_STREAM either way, a GOAWAY). Its table is bounded by NIOHTTP2's
///   SETTINGS_MAX_CONCURRENT_STREAMS. Streams opened and closed are reported to the connection's lifecycle
///   (`ServerConnectionHandler`: idle timer, graceful drain).
/// - **Inbound flow control.** NIOHTTP2 reports each window change (`NIOHTTP2WindowUpdatedEvent`); DATA is consumed
///   as it arrives (the deframer holds at most one message per stream), so the windows are topped up at once:
///   the stream's towards `RPCServerLimits.streamWindowBytes` while the client may still send, the connection's
///   towards `connectionWindowBytes`, each when it falls to half (`InboundWindow`).
/// - **Outbound flow control** is NIOHTTP2's: it holds DATA beyond the client's window and completes a write's
///   promise only when the frame is written, which is what a streaming handler's `send` waits on.
/// - **Flushes.** Writes made while a read is delivered are flushed by NIOHTTP2 at the end of the read. Writes from
///   elsewhere (a task's answer, a responder, a timer) ask for one flush, run once on the next tick of the event
///   loop for all of them (`flushSoon`), not one per response.
/// - **Stream errors.** NIOHTTP2 has reset the stream (inbound) or failed the write (outbound): the call ends and
///   its handler is cancelled; a stream NIOHTTP2 still holds open is reset by us.
final class ServerStreamDemultiplexer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var streams: [HTTP2StreamID: ServerStream] = [:]
    /// Streams that got a frame in the current read, for `ServerStream.readComplete` (request timers).
    private var readPending: [ServerStream] = []
    private var connectionWindow: InboundWindow
    private let lifecycle: ServerConnectionHandler
    private let services: RPCServices
    private let connection: RPCConnectionState
    private let limits: RPCServerLimits
    private let logger: Logger
    private let events: RPCServerEvents
    private var context: ChannelHandlerContext?
    /// Between our first `channelRead` and our `channelReadComplete` (NIOHTTP2 flushes at the end of a read).
    private var inRead = false
    /// A flush is scheduled for this tick (`flushSoon`).
    private var flushScheduled = false
    private(set) var allocator = ByteBufferAllocator()
    /// The client's IP address (no port), formatted once per connection.
    private(set) lazy var remoteAddress: String? = context?.channel.remoteAddress?.ipAddress

    init(
        lifecycle: ServerConnectionHandler, services: RPCServices, connection: RPCConnectionState,
        limits: RPCServerLimits, logger: Logger, events: RPCServerEvents
    ) {
        self.lifecycle = lifecycle
        self.services = services
        self.connection = connection
        self.limits = limits
        self.logger = logger
        self.events = events
        self.connectionWindow = InboundWindow(targetSize: limits.connectionWindowBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.allocator = context.channel.allocator
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.closeAllStreams()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        inRead = false
        self.closeAllStreams()
        context.fireChannelInactive()
    }

    /// The connection is gone: every call ends (their handlers are cancelled); no frame can be written any more.
    private func closeAllStreams() {
        let open = streams
        streams = [:]
        readPending = []
        for stream in open.values { stream.closed() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inRead = true
        let frame = self.unwrapInboundIn(data)
        // Root-stream frames (SETTINGS, PING, GOAWAY, WINDOW_UPDATE): NIOHTTP2 has acted on them.
        guard frame.streamID != .rootStream else { return }
        let stream: ServerStream
        if let known = streams[frame.streamID] {
            stream = known
        } else {
            // NIOHTTP2 passes on only frames its state machine accepted: for a stream not in our table that is the
            // HEADERS opening it. Anything else (PRIORITY or WINDOW_UPDATE for a stream already closed) is dropped.
            guard case .headers = frame.payload else { return }
            stream = ServerStream(
                id: frame.streamID, output: self, services: services, connection: connection, limits: limits,
                logger: logger, events: events)
            streams[frame.streamID] = stream
            lifecycle.streamOpened(frame.streamID)
        }
        if !stream.readPending {
            stream.readPending = true
            readPending.append(stream)
        }
        stream.receive(frame.payload)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        let pending = readPending
        readPending.removeAll(keepingCapacity: true)
        for stream in pending {
            stream.readPending = false
            stream.readComplete()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // About six events per call: compare the type first, then cast the one that matches.
        let eventType = ObjectIdentifier(type(of: event))
        if eventType == ObjectIdentifier(NIOHTTP2WindowUpdatedEvent.self) {
            self.windowUpdated(event as! NIOHTTP2WindowUpdatedEvent)
        } else if eventType == ObjectIdentifier(StreamClosedEvent.self) {
            self.streamClosed(event as! StreamClosedEvent)
        } else if eventType == ObjectIdentifier(NIOHTTP2BulkStreamWindowChangeEvent.self) {
            self.initialWindowChanged(event as! NIOHTTP2BulkStreamWindowChangeEvent)
        }
        // Else NIOHTTP2StreamCreatedEvent (the HEADERS came first), TLS events (ServerConnectionHandler's).
    }

    private func streamClosed(_ closed: StreamClosedEvent) {
        // Streams NIOHTTP2 closed before handing us their HEADERS (refused, reset on a bad header block) were
        // never ours.
        guard let stream = streams.removeValue(forKey: closed.streamID) else { return }
        stream.closed()
        lifecycle.streamClosed()
    }

    private func windowUpdated(_ window: NIOHTTP2WindowUpdatedEvent) {
        guard let inbound = window.inboundWindowSize else { return }
        if window.streamID == .rootStream {
            if let increment = connectionWindow.windowChanged(to: inbound) {
                self.write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment)))
            }
        } else if let stream = streams[window.streamID], !stream.requestEnded,
            let increment = stream.inboundWindow.windowChanged(to: inbound)
        {
            self.write(HTTP2Frame(streamID: stream.id, payload: .windowUpdate(windowSizeIncrement: increment)))
        }
    }

    private func initialWindowChanged(_ change: NIOHTTP2BulkStreamWindowChangeEvent) {
        // Our SETTINGS_INITIAL_WINDOW_SIZE took effect: it moves every open stream's window by `delta`.
        for stream in streams.values where !stream.requestEnded {
            if let increment = stream.inboundWindow.initialWindowChanged(by: change.delta) {
                self.write(
                    HTTP2Frame(streamID: stream.id, payload: .windowUpdate(windowSizeIncrement: increment)))
            }
        }
    }

    /// Only stream errors get here (`ServerConnectionHandler` closes the connection on the others).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let streamError = error as? NIOHTTP2Errors.StreamError,
            let stream = streams[streamError.streamID]
        else { return }
        // Inbound, NIOHTTP2 has reset the stream and reported it closed: it is no longer in the table. Outbound (a
        // write NIOHTTP2 refused), the stream may still be open there: reset it, once, so its slot is freed.
        streams[stream.id] = nil
        stream.closed()
        lifecycle.streamClosed()
        guard !stream.resetSent else { return }
        stream.resetSent = true
        self.write(HTTP2Frame(streamID: stream.id, payload: .rstStream(.internalError)))
        self.flushSoon()
    }

    // MARK: Output, for the streams

    /// Writes a frame of one of our streams (not flushed: `flushSoon`, or the end of the read).
    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(GRPCStatus(.unavailable, "the connection is closed"))
            return
        }
        context.write(self.wrapOutboundOut(frame), promise: promise)
    }

    /// Asks for a flush of what was written: at the end of the current read (NIOHTTP2 flushes then), else once on
    /// the next tick for every answer completed until then.
    func flushSoon() {
        guard !inRead, !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }
}

/// One inbound flow-control window (a stream's or the connection's) that we keep open: when NIOHTTP2 reports it fell
/// to half of `targetSize` or below, the WINDOW_UPDATE increment that tops it up. The same rule as swift-nio-http2's
/// `InboundWindowManager` (which only its multiplexer uses): a window at or above half its target is left alone, so
/// small calls cost no WINDOW_UPDATE at all.
struct InboundWindow {
    /// Where the window is topped up to (`RPCServerLimits.streamWindowBytes` or `connectionWindowBytes`).
    private(set) var targetSize: Int
    /// The window NIOHTTP2 reported last (nil before any report).
    private var lastSize: Int?

    init(targetSize: Int) {
        precondition(targetSize > 0 && targetSize <= Int(Int32.max), "a flow-control window is 1...2^31-1 bytes")
        self.targetSize = targetSize
    }

    /// NIOHTTP2 reports the window is now `size` (it may be negative after a SETTINGS change).
    mutating func windowChanged(to size: Int) -> Int? {
        lastSize = size
        if size >= targetSize { return nil }
        if size >= 0 {
            let increment = targetSize - size
            return increment >= size ? increment : nil
        }
        return min(-size + targetSize, Int(Int32.max))
    }

    /// SETTINGS_INITIAL_WINDOW_SIZE changed by `delta`: it applies to the current window too.
    mutating func initialWindowChanged(by delta: Int) -> Int? {
        targetSize = max(1, min(targetSize + delta, Int(Int32.max)))
        guard let lastSize else { return nil }
        return self.windowChanged(to: lastSize + delta)
    }
}
