import NIOCore

/// The life of one TLS connection, as a value: events in, actions out. The handler performs the actions; this type
/// never touches OpenSSL or the channel, so every transition is tested without sockets.
///
///     idle ──start──▶ handshaking ──completed──▶ active ──close / close_notify──▶ closing ──▶ closed
///                       │                          │                                 ▲
///                       └──────── failure, timeout, EOF ───────────────────────────────┘
///
/// The state the connection's phase decides lives in the phase's case: the application's writes not yet encrypted
/// (`PendingWrites`, only while open) and the close promise (only while our close_notify waits for the peer's). An
/// action hands that state back to the handler when it is the handler's to complete, so no promise is dropped or
/// completed twice.
struct TLSConnectionStateMachine {
    /// Application writes not yet encrypted, oldest first; the first `flushedCount` of them were flushed.
    struct PendingWrites: Equatable {
        struct Write: Equatable {
            var data: ByteBuffer
            var promise: EventLoopPromise<Void>?
        }

        /// Empty until the first write: an idle connection that never writes keeps no queue storage.
        private(set) var writes = CircularBuffer<Write>(initialCapacity: 0)
        /// How many of `writes` (from the front) a flush has covered.
        private(set) var flushedCount = 0
        /// Plaintext bytes in `writes`: bounded before the handshake (`maxBytesBufferedBeforeHandshake`).
        private(set) var bytes = 0

        static let none = PendingWrites()

        var isEmpty: Bool { writes.isEmpty }
        var count: Int { writes.count }

        /// Fails every write's promise: the handler calls this with the error the action's reason names.
        func fail(_ error: any Error) {
            for write in writes {
                write.promise?.fail(error)
            }
        }

        fileprivate mutating func append(_ write: Write) {
            bytes += write.data.readableBytes
            writes.append(write)
        }

        fileprivate mutating func markFlushed() {
            flushedCount = writes.count
        }

        fileprivate mutating func popFlushed() -> Write? {
            guard flushedCount > 0 else { return nil }
            let write = writes.removeFirst()
            flushedCount -= 1
            bytes -= write.data.readableBytes
            assert(bytes >= 0 && flushedCount <= writes.count, "pending write accounting broke")
            return write
        }
    }

    private enum State: Equatable {
        /// Handler added, channel not yet active: nothing sent; writes wait.
        case idle(PendingWrites)
        /// Handshake under way; application writes wait (a flush is remembered and honoured at completion).
        case handshaking(PendingWrites)
        /// Handshake and identity check done; data flows. Writes wait only until their flush.
        case active(PendingWrites)
        /// We sent close_notify and wait for the peer's or the shutdown timer; `closePromise` completes then.
        case awaitingPeerCloseNotify(closePromise: EventLoopPromise<Void>?)
        /// The peer's close_notify came first; our reply is written and the socket is closing.
        case answeredPeerCloseNotify
        /// Nothing more happens; the SSL object may be freed.
        case closed
        /// Only inside a mutation of the pending writes (so the queue is not copied); never observed.
        case modifying
    }

    /// Application bytes accepted before the handshake completes; beyond this writes fail.
    let maxBytesBufferedBeforeHandshake: Int
    private var state: State = .idle(.none)

    init(maxBytesBufferedBeforeHandshake: Int = TLSHandler.maxBytesBufferedBeforeHandshake) {
        precondition(maxBytesBufferedBeforeHandshake > 0, "maxBytesBufferedBeforeHandshake must be positive")
        self.maxBytesBufferedBeforeHandshake = maxBytesBufferedBeforeHandshake
    }

    // MARK: Queries

    var isActive: Bool {
        if case .active = state { return true }
        return false
    }
    var isHandshaking: Bool {
        if case .handshaking = state { return true }
        return false
    }
    var isClosed: Bool { state == .closed }
    var mayDeliverData: Bool {
        switch state {
        case .active, .awaitingPeerCloseNotify, .answeredPeerCloseNotify: return true
        case .idle, .handshaking, .closed: return false
        case .modifying: preconditionFailure("state observed mid-mutation")
        }
    }
    /// The writes waiting for encryption, in order (empty once closing).
    var pendingWrites: PendingWrites {
        switch state {
        case .idle(let writes), .handshaking(let writes), .active(let writes): return writes
        case .awaitingPeerCloseNotify, .answeredPeerCloseNotify, .closed: return .none
        case .modifying: preconditionFailure("state observed mid-mutation")
        }
    }
    /// Active, with flushed writes not yet encrypted (a flush that came during the handshake).
    var hasFlushedWritesToEncrypt: Bool { isActive && pendingWrites.flushedCount > 0 }

    // MARK: Events

    enum StartAction: Equatable {
        /// Create nothing new: begin the handshake and arm the handshake timer.
        case startHandshake
        case none
    }

    /// The channel became active (or the handler was added to an active channel).
    mutating func channelActive() -> StartAction {
        guard case .idle(let writes) = state else { return .none }
        state = .handshaking(writes)
        return .startHandshake
    }

    enum HandshakeCompletedAction: Equatable {
        /// Fire the completed event, deliver inbound data OpenSSL already holds, then encrypt the flushed writes
        /// (`hasFlushedWritesToEncrypt`, `nextFlushedWrite`).
        case announceThenDeliverThenFlush
        /// The connection was closed while OpenSSL finished: drop it.
        case none
    }

    mutating func handshakeCompleted() -> HandshakeCompletedAction {
        guard case .handshaking(let writes) = state else { return .none }
        state = .active(writes)
        return .announceThenDeliverThenFlush
    }

    enum WriteAction: Equatable {
        /// Kept in `pendingWrites` until the handshake is done and a flush covers it.
        case queued
        /// Over `maxBytesBufferedBeforeHandshake` before the handshake: fail the write's promise.
        case failTooMuchBeforeHandshake(EventLoopPromise<Void>?)
        /// The connection is closing or closed: fail the write's promise.
        case failClosed(EventLoopPromise<Void>?)
    }

    /// The application wrote `data`.
    mutating func write(_ data: ByteBuffer, promise: EventLoopPromise<Void>?) -> WriteAction {
        switch state {
        case .idle(let writes), .handshaking(let writes):
            guard writes.bytes + data.readableBytes <= maxBytesBufferedBeforeHandshake else {
                return .failTooMuchBeforeHandshake(promise)
            }
        case .active:
            break
        case .awaitingPeerCloseNotify, .answeredPeerCloseNotify, .closed:
            return .failClosed(promise)
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
        modifyPendingWrites { $0.append(PendingWrites.Write(data: data, promise: promise)) }
        return .queued
    }

    enum FlushAction: Equatable {
        /// Encrypt the flushed writes now (`nextFlushedWrite` until nil).
        case encrypt
        /// Before the handshake the flush is remembered and honoured at completion; after close there is nothing.
        case none
    }

    /// The application flushed: every write queued so far is flushed.
    mutating func flush() -> FlushAction {
        modifyPendingWrites { $0.markFlushed() }
        return isActive ? .encrypt : .none
    }

    /// The oldest flushed write, taken out of the queue for encryption; nil when none is left (or the connection
    /// stopped being active meanwhile).
    mutating func nextFlushedWrite() -> PendingWrites.Write? {
        guard isActive else { return nil }
        return modifyPendingWrites { $0.popFlushed() } ?? nil
    }

    enum CloseAction: Equatable {
        /// Fail the unflushed writes (they will never be encrypted), send close_notify, arm the shutdown timer.
        /// The close promise is kept here until the peer answers.
        case sendCloseNotifyAndWait(failing: PendingWrites)
        /// No TLS session to close: fail the writes and close the socket now with the caller's promise.
        case closeNow(failing: PendingWrites)
        /// A close is already under way and holds a promise: complete the caller's promise with it.
        case cascadeFrom(EventLoopPromise<Void>)
        /// A close is already under way without a promise of its own: pass the close on with the caller's.
        case forwardClose
    }

    /// The application asked to close (output or all).
    mutating func closeRequested(promise: EventLoopPromise<Void>?) -> CloseAction {
        switch state {
        case .active(let writes):
            state = .awaitingPeerCloseNotify(closePromise: promise)
            return .sendCloseNotifyAndWait(failing: writes)
        case .idle(let writes), .handshaking(let writes):
            state = .closed
            return .closeNow(failing: writes)
        case .awaitingPeerCloseNotify(let closePromise?):
            return .cascadeFrom(closePromise)
        case .awaitingPeerCloseNotify(closePromise: nil), .answeredPeerCloseNotify, .closed:
            // The peer's close_notify came first and our reply is being written, or we are done: same close.
            return .forwardClose
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    enum CloseNotifyAction: Equatable {
        /// Answer with our close_notify, fail the writes still queued, then close the socket.
        case replyAndClose(failing: PendingWrites)
        /// Both halves are done: close the socket, completing the close promise with it.
        case closeNow(closePromise: EventLoopPromise<Void>?)
        case none
    }

    /// `SSL_read` reported the peer's close_notify.
    mutating func closeNotifyReceived() -> CloseNotifyAction {
        switch state {
        case .active(let writes):
            state = .answeredPeerCloseNotify
            return .replyAndClose(failing: writes)
        case .awaitingPeerCloseNotify(let closePromise):
            state = .closed
            return .closeNow(closePromise: closePromise)
        case .idle, .handshaking, .answeredPeerCloseNotify, .closed:
            return .none
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    enum FailureAction: Equatable {
        /// Report the error, send whatever alert OpenSSL queued, fail the writes, close with the close promise.
        case reportAndClose(failing: PendingWrites, closePromise: EventLoopPromise<Void>?)
        /// Already closed: nothing to report twice.
        case none
    }

    /// A fatal error: handshake refused, bad record, timeout.
    mutating func failed() -> FailureAction {
        let previous = state
        switch previous {
        case .closed:
            return .none
        case .idle(let writes), .handshaking(let writes), .active(let writes):
            state = .closed
            return .reportAndClose(failing: writes, closePromise: nil)
        case .awaitingPeerCloseNotify(let closePromise):
            state = .closed
            return .reportAndClose(failing: .none, closePromise: closePromise)
        case .answeredPeerCloseNotify:
            state = .closed
            return .reportAndClose(failing: .none, closePromise: nil)
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    /// The handshake timer fired. Only meaningful while handshaking.
    mutating func handshakeTimedOut() -> FailureAction {
        guard isHandshaking else { return .none }
        return failed()
    }

    /// The shutdown timer fired: the peer never answered our close_notify.
    mutating func shutdownTimedOut() -> CloseNotifyAction {
        switch state {
        case .awaitingPeerCloseNotify(let closePromise):
            state = .closed
            return .closeNow(closePromise: closePromise)
        case .answeredPeerCloseNotify:
            state = .closed
            return .closeNow(closePromise: nil)
        case .idle, .handshaking, .active, .closed:
            return .none
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    /// What TCP going away means for this connection.
    struct InactiveAction: Equatable {
        enum Report: Equatable {
            /// EOF mid-handshake: the handshake failed.
            case reportHandshakeEOF
            /// EOF on an open session without close_notify: report an unclean shutdown.
            case reportUncleanShutdown
            /// Clean or already handled.
            case none
        }

        var report: Report
        /// Writes that can no longer be sent: fail them (connection closed).
        var failing: PendingWrites
        /// Our close was waiting for the peer; the socket closing completes it.
        var closePromiseToSucceed: EventLoopPromise<Void>?
    }

    /// TCP is gone (channelInactive or input closed).
    mutating func channelInactive() -> InactiveAction {
        let previous = state
        state = .closed
        switch previous {
        case .idle(let writes):
            return InactiveAction(report: .none, failing: writes, closePromiseToSucceed: nil)
        case .handshaking(let writes):
            return InactiveAction(report: .reportHandshakeEOF, failing: writes, closePromiseToSucceed: nil)
        case .active(let writes):
            return InactiveAction(report: .reportUncleanShutdown, failing: writes, closePromiseToSucceed: nil)
        case .awaitingPeerCloseNotify(let closePromise):
            return InactiveAction(report: .none, failing: .none, closePromiseToSucceed: closePromise)
        case .answeredPeerCloseNotify, .closed:
            return InactiveAction(report: .none, failing: .none, closePromiseToSucceed: nil)
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    /// What the handler still holds when it leaves the pipeline: fail all of it (connection closed).
    struct RemovalAction: Equatable {
        var failing: PendingWrites
        var closePromiseToFail: EventLoopPromise<Void>?
    }

    /// The handler was removed: nothing more happens on this connection.
    mutating func handlerRemoved() -> RemovalAction {
        let previous = state
        state = .closed
        switch previous {
        case .idle(let writes), .handshaking(let writes), .active(let writes):
            return RemovalAction(failing: writes, closePromiseToFail: nil)
        case .awaitingPeerCloseNotify(let closePromise):
            return RemovalAction(failing: .none, closePromiseToFail: closePromise)
        case .answeredPeerCloseNotify, .closed:
            return RemovalAction(failing: .none, closePromiseToFail: nil)
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }

    // MARK: Plumbing

    /// Runs `body` on the queue of an open connection without copying it; nil when the connection is closing.
    private mutating func modifyPendingWrites<Result>(_ body: (inout PendingWrites) -> Result) -> Result? {
        switch state {
        case .idle(var writes):
            state = .modifying
            defer { state = .idle(writes) }
            return body(&writes)
        case .handshaking(var writes):
            state = .modifying
            defer { state = .handshaking(writes) }
            return body(&writes)
        case .active(var writes):
            state = .modifying
            defer { state = .active(writes) }
            return body(&writes)
        case .awaitingPeerCloseNotify, .answeredPeerCloseNotify, .closed:
            return nil
        case .modifying:
            preconditionFailure("state observed mid-mutation")
        }
    }
}
