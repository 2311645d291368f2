import NIOHTTP2

/// The lifecycle of one server connection as a value: open streams, quiescing, draining, closed.
///
/// Draining takes two GOAWAYs, as grpc-go and Envoy do. NIOHTTP2 tells us a stream exists only after it has handed
/// the stream to its handler, and may hold that news until its next read; streams the client sent before it saw our
/// GOAWAY may still be on the wire. A single GOAWAY naming the highest stream *we* had heard of would refuse streams
/// that are already being served, and their callers would see UNAVAILABLE ("never started") for calls that ran. So:
/// first a GOAWAY naming the maximum id (no new streams, nothing refused) and a PING; its ack comes in a later read,
/// after every stream the client opened before our GOAWAY, so by then each is counted, and the second GOAWAY names
/// the true last stream.
struct ServerConnectionStateMachine {
    private enum State {
        /// Serving; `openStreams` in flight, `lastStreamID` the highest the peer opened.
        case active(openStreams: Int, lastStreamID: HTTP2StreamID)
        /// First GOAWAY (maximum id) and a PING sent; still counting streams until the PING's ack.
        case quiescing(openStreams: Int, lastStreamID: HTTP2StreamID)
        /// Final GOAWAY sent: the open streams finish, no new ones are admitted.
        case draining(openStreams: Int)
        /// Closing or closed.
        case closed
    }

    enum Action {
        case none
        /// The connection just became idle: arm the idle timer.
        case armIdleTimer
        /// A stream opened: disarm the idle timer.
        case cancelIdleTimer
        /// Send GOAWAY with the maximum stream id and a PING; call `quiesced()` on its ack (or a fallback timer).
        case sendQuiesceGoAwayAndPing
        /// Send GOAWAY naming `lastStreamID` (streams above it are refused: the caller sees UNAVAILABLE, "never
        /// started"), then close when the open streams are done or the grace runs out.
        case sendGoAway(lastStreamID: HTTP2StreamID, closeNow: Bool)
        /// The last stream of a draining connection closed.
        case close
    }

    private var state: State = .active(openStreams: 0, lastStreamID: .rootStream)

    /// A GOAWAY was sent (or closing): late streams from the peer are expected and not its fault.
    var isDraining: Bool {
        if case .active = state { return false } else { return true }
    }

    mutating func streamOpened(_ id: HTTP2StreamID) -> Action {
        switch state {
        case .active(let open, let last):
            state = .active(openStreams: open + 1, lastStreamID: max(last, id))
            return .cancelIdleTimer
        case .quiescing(let open, let last):
            state = .quiescing(openStreams: open + 1, lastStreamID: max(last, id))
            return .none
        case .draining(let open):
            // NIOHTTP2 refuses streams above our final GOAWAY's last stream id; one below it may still be reported.
            state = .draining(openStreams: open + 1)
            return .none
        case .closed:
            return .none
        }
    }

    mutating func streamClosed() -> Action {
        switch state {
        case .active(let open, let last):
            assert(open > 0, "a stream closed that never opened")
            state = .active(openStreams: open - 1, lastStreamID: last)
            return open == 1 ? .armIdleTimer : .none
        case .quiescing(let open, let last):
            assert(open > 0, "a stream closed that never opened")
            // Not closing yet: streams the client sent before it saw the first GOAWAY may still arrive.
            state = .quiescing(openStreams: open - 1, lastStreamID: last)
            return .none
        case .draining(let open):
            assert(open > 0, "a stream closed that never opened")
            if open == 1 {
                state = .closed
                return .close
            }
            state = .draining(openStreams: open - 1)
            return .none
        case .closed:
            return .none
        }
    }

    /// Shutdown, maximum age or idleness: start quiescing.
    mutating func drain() -> Action {
        switch state {
        case .active(let open, let last):
            state = .quiescing(openStreams: open, lastStreamID: last)
            return .sendQuiesceGoAwayAndPing
        case .quiescing, .draining, .closed:
            return .none
        }
    }

    /// The quiesce PING was acknowledged (or its fallback timer fired): name the true last stream.
    mutating func quiesced() -> Action {
        switch state {
        case .quiescing(let open, let last):
            if open == 0 {
                state = .closed
                return .sendGoAway(lastStreamID: last, closeNow: true)
            }
            state = .draining(openStreams: open)
            return .sendGoAway(lastStreamID: last, closeNow: false)
        case .active, .draining, .closed:
            return .none
        }
    }
}
