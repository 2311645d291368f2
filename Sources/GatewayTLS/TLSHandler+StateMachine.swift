/// The life of one TLS connection, as a value: events in, actions out. The handler performs the actions; this type
/// never touches OpenSSL or the channel, so every transition is tested without sockets.
///
///     idle ──start──▶ handshaking ──completed──▶ active ──close / close_notify──▶ closing ──▶ closed
///                       │                          │                                 ▲
///                       └──────── failure, timeout, EOF ───────────────────────────────┘
struct TLSConnectionStateMachine {
    private enum State: Equatable {
        /// Handler added, channel not yet active: nothing sent.
        case idle
        /// Handshake under way; application writes are buffered.
        case handshaking
        /// Handshake and identity check done; data flows.
        case active
        /// We sent close_notify (`sentCloseNotify`) or received the peer's; waiting for the other half or the timer.
        case closing(sentCloseNotify: Bool)
        /// Nothing more happens; the SSL object may be freed.
        case closed
    }

    private var state: State = .idle

    // MARK: Queries

    var isActive: Bool { state == .active }
    var isHandshaking: Bool { state == .handshaking }
    var isClosed: Bool { state == .closed }
    var mayDeliverData: Bool {
        switch state {
        case .active, .closing: return true
        case .idle, .handshaking, .closed: return false
        }
    }

    // MARK: Events

    enum StartAction: Equatable {
        /// Create nothing new: begin the handshake and arm the handshake timer.
        case startHandshake
        case none
    }

    /// The channel became active (or the handler was added to an active channel).
    mutating func channelActive() -> StartAction {
        guard state == .idle else { return .none }
        state = .handshaking
        return .startHandshake
    }

    enum HandshakeCompletedAction: Equatable {
        /// Fire the completed event, deliver inbound data OpenSSL already holds, then send the buffered writes.
        case announceThenDeliverThenFlush
        /// The connection was closed while OpenSSL finished: drop it.
        case none
    }

    mutating func handshakeCompleted() -> HandshakeCompletedAction {
        guard state == .handshaking else { return .none }
        state = .active
        return .announceThenDeliverThenFlush
    }

    enum WriteAction: Equatable {
        /// Keep the write until the handshake is done.
        case buffer
        /// Encrypt now (or at the next flush).
        case encrypt
        /// The connection is closing or closed: fail the write.
        case fail
    }

    func write() -> WriteAction {
        switch state {
        case .idle, .handshaking: return .buffer
        case .active: return .encrypt
        case .closing, .closed: return .fail
        }
    }

    enum CloseAction: Equatable {
        /// Send close_notify, arm the shutdown timer, keep the close promise until the peer answers.
        case sendCloseNotifyAndWait
        /// No TLS session to close: close the socket now.
        case closeNow
        /// A close is already under way: chain the promise to it.
        case alreadyClosing
    }

    /// The application asked to close.
    mutating func closeRequested() -> CloseAction {
        switch state {
        case .active:
            state = .closing(sentCloseNotify: true)
            return .sendCloseNotifyAndWait
        case .idle, .handshaking:
            state = .closed
            return .closeNow
        case .closing(sentCloseNotify: false):
            // The peer's close_notify came first and our reply is being written: same close.
            return .alreadyClosing
        case .closing(sentCloseNotify: true), .closed:
            return .alreadyClosing
        }
    }

    enum CloseNotifyAction: Equatable {
        /// Answer with our close_notify, then close the socket.
        case replyAndClose
        /// Both halves are done: close the socket (completing the pending close promise).
        case closeNow
        case none
    }

    /// `SSL_read` reported the peer's close_notify.
    mutating func closeNotifyReceived() -> CloseNotifyAction {
        switch state {
        case .active:
            state = .closing(sentCloseNotify: false)
            return .replyAndClose
        case .closing(sentCloseNotify: true):
            state = .closed
            return .closeNow
        case .idle, .handshaking, .closing(sentCloseNotify: false), .closed:
            return .none
        }
    }

    enum FailureAction: Equatable {
        /// Report the error, send whatever alert OpenSSL queued, close.
        case reportAndClose
        /// Already closed: nothing to report twice.
        case none
    }

    /// A fatal error: handshake refused, bad record, timeout.
    mutating func failed() -> FailureAction {
        switch state {
        case .closed: return .none
        case .idle, .handshaking, .active, .closing:
            state = .closed
            return .reportAndClose
        }
    }

    /// The handshake timer fired. Only meaningful while handshaking.
    mutating func handshakeTimedOut() -> FailureAction {
        guard state == .handshaking else { return .none }
        state = .closed
        return .reportAndClose
    }

    /// The shutdown timer fired: the peer never answered our close_notify.
    mutating func shutdownTimedOut() -> CloseNotifyAction {
        guard case .closing = state else { return .none }
        state = .closed
        return .closeNow
    }

    enum InactiveAction: Equatable {
        /// EOF mid-handshake: the handshake failed.
        case reportHandshakeEOF
        /// EOF on an open session without close_notify: report an unclean shutdown.
        case reportUncleanShutdown
        /// Clean or already handled.
        case none
    }

    /// TCP is gone (channelInactive or input closed).
    mutating func channelInactive() -> InactiveAction {
        let previous = state
        state = .closed
        switch previous {
        case .handshaking: return .reportHandshakeEOF
        case .active: return .reportUncleanShutdown
        case .idle, .closing, .closed: return .none
        }
    }
}
