import NIOCore

/// Writes the first GOAWAY of a drain (last stream id = the maximum) as raw bytes below NIOHTTP2Handler, so that
/// only the client learns of it.
///
/// NIOHTTP2 (1.46) treats any GOAWAY we send through it as quiescing its own state machine: from then on it refuses
/// every new stream with REFUSED_STREAM, even under a GOAWAY naming the maximum id. Streams the client sent before
/// it saw our GOAWAY would be refused although the drain promised to serve them, and the DATA that follows each
/// refused HEADERS is a connection error to NIOHTTP2, which then stops decoding the rest of that read: the quiesce
/// PING's ack behind it is left unread until the client sends again, so the drain waits out
/// `ServerConnectionHandler.maxQuiesceWait` and its final GOAWAY cuts calls that crossed the first one.
/// Written here, the first GOAWAY tells the client to open no more streams while NIOHTTP2 keeps admitting those
/// already on the wire; the final GOAWAY (naming the true last stream) goes through NIOHTTP2 as usual.
///
/// Sits between the security stage and NIOHTTP2Handler; `ServerConnectionHandler` asks for the frame with the
/// outbound event `QuiesceGoAwayWriter.Request`, which NIOHTTP2Handler passes on.
final class QuiesceGoAwayWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Write and flush the first GOAWAY now.
    struct Request: Sendable {}

    /// GOAWAY (type 7) on stream 0, no flags, last-stream-id 2^31 - 1, NO_ERROR (RFC 9113 §6.8).
    static let frameBytes: [UInt8] = [
        0x00, 0x00, 0x08, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
    ]

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Request else {
            return context.triggerUserOutboundEvent(event, promise: promise)
        }
        // NIOHTTP2Handler writes whole frames, so these bytes land between two of its frames.
        let frame = context.channel.allocator.buffer(bytes: Self.frameBytes)
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: promise)
    }
}
