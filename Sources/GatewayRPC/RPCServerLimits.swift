import NIOCore
import NIOHPACK
import NIOHTTP2

/// Every limit the server puts on a peer, named, with its default and the reason for it (STYLE.md: a limit on
/// everything). The HTTP/2 ones are passed to swift-nio-http2 deliberately rather than inherited.
public struct RPCServerLimits: Sendable {
    /// Largest request message body: 64 KiB (SPEC §1). Larger ones get RESOURCE_EXHAUSTED as soon as their 5-byte
    /// prefix is read, before any of the body is buffered.
    public var maxMessageBytes = 64 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS = 100. Bounds per-connection memory: at most 100 × 64 KiB of request bytes
    /// buffered, and 100 handlers in flight per connection. Enough for load tests at 64 streams a connection.
    public var maxConcurrentStreams = 100
    /// SETTINGS_MAX_HEADER_LIST_SIZE = 16 KiB, also enforced by the HPACK decoder: gRPC metadata is small, and a
    /// bigger header block is an attack (oversized-header-block test).
    public var maxHeaderListBytes = 16 * 1024
    /// SETTINGS_MAX_FRAME_SIZE = 16 KiB, the HTTP/2 minimum: a 64 KiB message is 5 frames; no need for more.
    public var maxFrameBytes = 16 * 1024
    /// Per-stream flow-control window = 64 KiB + prefix: a whole maximal message fits without a WINDOW_UPDATE.
    public var streamWindowBytes = 64 * 1024 + 5
    /// Connection flow-control window = 1 MiB, so 100 concurrent small calls are never starved by one big one.
    public var connectionWindowBytes = 1024 * 1024
    /// CONTINUATION frames allowed after one HEADERS = 5 (CONTINUATION flood, CVE-2024-27316 family). With 16 KiB
    /// frames and a 16 KiB header list an honest client never needs more than one.
    public var maxSequentialContinuationFrames = 5
    /// RST_STREAMs received per window before the connection is closed: 200 per 30 s (Rapid Reset, CVE-2023-44487).
    /// A well-behaved gRPC client cancels rarely; thousands of resets is an attack.
    public var maxResetFramesPerWindow = 200
    public var resetFrameWindow: TimeAmount = .seconds(30)
    /// Stream errors caused by the peer per window before the connection is closed: 200 per 30 s.
    public var maxStreamErrorsPerWindow = 200
    public var streamErrorWindow: TimeAmount = .seconds(30)
    /// PING/SETTINGS/PRIORITY frames received per window before the connection is closed: 200 per 30 s (PING and
    /// SETTINGS floods make us write an ACK each).
    public var maxControlFramesPerWindow = 200
    public var controlFrameWindow: TimeAmount = .seconds(30)
    /// Outbound control frames (ACKs) buffered while the peer does not read: 1000, then the connection closes.
    public var maxBufferedControlFrames = 1000
    /// "Glitches" (suspicious but individually legal events) per connection before it closes: 200.
    public var maxConnectionGlitches = 200
    /// Streams reset by us remembered to tolerate late frames on them: 32 (swift-nio-http2's default).
    public var maxRecentlyResetStreams = 32
    /// Empty DATA frames in a row before the connection closes: 1 (they cost us work and carry nothing).
    public var maxSequentialEmptyDataFrames = 1

    /// Time a stream may take from HEADERS to its complete request message: 10 s. Slowloris: streams opened and
    /// never finished are answered DEADLINE_EXCEEDED and reset instead of holding a slot forever.
    public var maxRequestReceiveTime: TimeAmount = .seconds(10)
    /// A connection with no open stream for this long is closed with GOAWAY: 5 min.
    public var maxIdleTime: TimeAmount = .minutes(5)
    /// Every connection is drained (GOAWAY, then `connectionAgeGrace`) after this long: 30 min, so clients
    /// re-resolve and rebalance and no connection lives forever.
    public var maxConnectionAge: TimeAmount = .minutes(30)
    /// In-flight calls get this long to finish after an age-triggered GOAWAY: 10 s.
    public var connectionAgeGrace: TimeAmount = .seconds(10)
    /// A keepalive PING is sent after this long without reading anything: 60 s.
    public var keepaliveInterval: TimeAmount = .seconds(60)
    /// The connection is closed when a keepalive PING is not acknowledged within this: 20 s.
    public var keepaliveTimeout: TimeAmount = .seconds(20)
    /// Established connections per listener (peer verified, or any connection of a plaintext listener): 1000.
    /// Beyond it a connection is closed as soon as it would count (before any TLS work on a plaintext listener,
    /// at the end of the handshake on a TLS one).
    public var maxConnections = 1000
    /// Connections of a TLS listener still in their handshake (no peer known yet), in total: 1000. Counted apart
    /// from `maxConnections`, so sockets that never finish a handshake cannot take the places of banks.
    public var maxHandshakingConnections = 1000
    /// Of those, from one client address: 32. One host without a certificate cannot hold the handshake budget;
    /// each socket is also bounded in time by the TLS handshake timeout.
    public var maxHandshakingConnectionsPerAddress = 32
    /// Expected response size, in bytes, for the synchronous handler's pre-sized buffer (it grows if needed): 256.
    public var responseBufferHintBytes = 256

    public init() {}

    /// Checks the limits are coherent; called when a server starts.
    func validate() {
        precondition(maxMessageBytes > 0 && maxMessageBytes <= 4 * 1024 * 1024, "maxMessageBytes in 1...4 MiB")
        precondition(maxConcurrentStreams > 0, "maxConcurrentStreams > 0")
        precondition(maxHeaderListBytes >= 1024, "maxHeaderListBytes >= 1 KiB")
        precondition((16 * 1024...16 * 1024 * 1024 - 1).contains(maxFrameBytes), "maxFrameBytes per RFC 9113")
        precondition(streamWindowBytes > 0 && connectionWindowBytes >= streamWindowBytes, "windows")
        precondition(maxConnections > 0, "maxConnections > 0")
        precondition(
            maxHandshakingConnections > 0 && maxHandshakingConnectionsPerAddress > 0, "handshake limits > 0")
        precondition(maxRequestReceiveTime > .zero && maxIdleTime > .zero && maxConnectionAge > .zero, "timeouts")
    }

    var connectionConfiguration: NIOHTTP2Handler.ConnectionConfiguration {
        var config = NIOHTTP2Handler.ConnectionConfiguration()
        config.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListBytes),
            HTTP2Setting(parameter: .maxFrameSize, value: maxFrameBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindowBytes),
            // We never push; a client must not expect it.
            HTTP2Setting(parameter: .enablePush, value: 0),
        ]
        config.headerBlockValidation = .enabled
        config.contentLengthValidation = .enabled
        config.maximumSequentialEmptyDataFrames = maxSequentialEmptyDataFrames
        config.maximumBufferedControlFrames = maxBufferedControlFrames
        config.maximumSequentialContinuationFrames = maxSequentialContinuationFrames
        config.maximumRecentlyResetStreams = maxRecentlyResetStreams
        config.maximumConnectionGlitches = maxConnectionGlitches
        config.targetWindowSize = connectionWindowBytes
        config.controlFrameRateLimit.maximumCount = maxControlFramesPerWindow
        config.controlFrameRateLimit.windowLength = controlFrameWindow
        return config
    }

    var streamConfiguration: NIOHTTP2Handler.StreamConfiguration {
        var config = NIOHTTP2Handler.StreamConfiguration()
        config.targetWindowSize = streamWindowBytes
        config.streamResetFrameRateLimit.maximumCount = maxResetFramesPerWindow
        config.streamResetFrameRateLimit.windowLength = resetFrameWindow
        config.streamErrorRateLimit.maximumCount = maxStreamErrorsPerWindow
        config.streamErrorRateLimit.windowLength = streamErrorWindow
        return config
    }
}
