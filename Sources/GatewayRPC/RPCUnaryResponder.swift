import NIOCore
import Synchronization

/// Where a deferred unary handler (`RPCMethodHandler.unaryDeferred`) sends its answer: exactly once, from any
/// thread, a response message (`succeed`) or a status (`fail`).
///
/// An answer given on the connection's event loop is written at once; from another thread it hops to the loop once
/// (one `execute`), is written without a flush, and the connection flushes once per tick for all answers that came
/// in meanwhile. An answer after the call ended (its deadline passed, the client reset the stream, the connection
/// closed) is dropped: the caller was already told. Answering twice is the handler's bug (`assertionFailure`;
/// the second answer is dropped in release builds).
public final class RPCUnaryResponder: Sendable {
    private enum Phase: UInt8 {
        /// Waiting for the handler's answer.
        case waiting = 0
        /// The handler answered (its answer is on its way to the event loop, or written).
        case answered = 1
        /// The call ended before the handler answered: answers are dropped, `onCancel` handlers have run.
        case callEnded = 2
    }

    private let stream: NIOLoopBound<ServerStream>
    private let path: String
    private let phase = Atomic<UInt8>(Phase.waiting.rawValue)
    /// What to run when the call ends unanswered (`onCancel`); at most `maxCancelHandlers`.
    private let cancelHandlers = Mutex<[@Sendable () -> Void]>([])
    /// A handler registers one or two; more is a leak in a loop.
    public static let maxCancelHandlers = 8

    init(stream: NIOLoopBound<ServerStream>, path: String) {
        self.stream = stream
        self.path = path
    }

    /// The call ended before an answer (deadline, client cancel, connection closed): work for it is wasted, and an
    /// answer would be dropped. False once answered.
    public var isCancelled: Bool { phase.load(ordering: .acquiring) == Phase.callEnded.rawValue }

    /// Answers with `response`, one gRPC message's bytes (a buffer from `RPCCallContext.makeResponseBuffer` is
    /// framed without a copy).
    public func succeed(_ response: ByteBuffer) {
        self.answer { .success(response) }
    }

    /// Answers with the message `makeResponse` returns, run on the connection's event loop (a thrown error answers
    /// as `fail` would). For an answer given on a serial thread of its own (the wallet writer's): encoding and
    /// logging the answer then run on the event loops, in parallel, not on the thread every call queues behind.
    public func succeed(onEventLoop makeResponse: @escaping @Sendable () throws -> ByteBuffer) {
        self.answer { Result { try makeResponse() } }
    }

    /// Answers with a status: an `RPCError` as it is, any other error as INTERNAL (its detail logged, not sent).
    public func fail(_ error: any Error) {
        self.answer { .failure(error) }
    }

    /// Runs `handler` once if the call ends before it is answered: on the event loop when the call ends, or at once
    /// (on the caller's thread) when it already has. Never runs after an answer.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let runNow = cancelHandlers.withLock { handlers -> Bool in
            if phase.load(ordering: .acquiring) == Phase.callEnded.rawValue { return true }
            precondition(
                handlers.count < Self.maxCancelHandlers,
                "more than \(Self.maxCancelHandlers) onCancel handlers on one call")
            handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// Moves the call to `answered` and delivers `result()` to the stream, evaluated on its event loop (at once when
    /// called there). Dropped when the call already ended (on purpose: the caller has its status) or, a bug, was
    /// answered before.
    private func answer(_ result: @escaping @Sendable () -> Result<ByteBuffer, any Error>) {
        let (won, was) = phase.compareExchange(
            expected: Phase.waiting.rawValue, desired: Phase.answered.rawValue, ordering: .acquiringAndReleasing)
        guard won else {
            assert(was != Phase.answered.rawValue, "RPCUnaryResponder answered twice (\(path))")
            return
        }
        cancelHandlers.withLock { $0 = [] }
        let eventLoop = stream.eventLoop
        if eventLoop.inEventLoop {
            stream.value.deferredAnswered(result(), path: path)
        } else {
            let stream = self.stream
            let path = self.path
            eventLoop.execute { stream.value.deferredAnswered(result(), path: path) }
        }
    }

    /// On the event loop: the call ended unanswered. Later answers are dropped; `onCancel` handlers run.
    func callEnded() {
        let (won, _) = phase.compareExchange(
            expected: Phase.waiting.rawValue, desired: Phase.callEnded.rawValue, ordering: .acquiringAndReleasing)
        guard won else { return }
        let handlers = cancelHandlers.withLock { handlers in
            let taken = handlers
            handlers = []
            return taken
        }
        for handler in handlers { handler() }
    }
}
