import NIOCore
import NIOHPACK

/// The life of one gRPC call on the server, from request HEADERS to trailers, as a value.
///
/// It knows nothing of channels or frames: it is fed what arrived (headers, bytes, end of stream, the end of a read,
/// the handler's outcome, a timer firing, with the time where it matters) and answers with the one thing the stream
/// handler must do next. Everything the call knows lives in its states: the `:path`, the caller's deadline and
/// `traceparent`, when the headers arrived, when the request must be complete, whether the timer is armed, whether
/// the client is still sending. So it runs the same at HTTP/2 frame level or anywhere else, and is tested
/// without sockets.
///
/// Unary and server-streaming calls gather their one request message before the handler runs; a bidirectional
/// call's handler starts at the headers and gets each request message as it arrives (`deliverRequests`).
///
/// Failures, said apart: a peer's violation (bad headers, oversized or extra messages) becomes a status the peer
/// sees; our own bug (an event in a state where it cannot happen) is an `assertionFailure` and closes the call.
struct ServerCallStateMachine {
    /// What a call is: its method, when its caller stops waiting, its trace context and when it began.
    struct Call: Equatable {
        /// `/package.Service/Method` (as sent, for a refused call: possibly unserved, or empty when absent).
        var path: String
        /// From `grpc-timeout`; `.distantFuture` when the caller sent none.
        var deadline: NIODeadline
        /// The caller's `traceparent` metadata, unparsed (nil when absent).
        var traceparent: String? = nil
        /// When the request headers arrived (the call's duration is measured from here); nil in calls built by
        /// hand.
        var receivedAt: NIODeadline? = nil
    }

    private enum State {
        /// Nothing received yet.
        case awaitingRequestHeaders
        /// Headers accepted; gathering the single request message until the client half-closes, by `receiveBy`
        /// (`maxRequestReceiveTime` after the headers). `timerArmed`: the stream handler holds a timer for the
        /// earlier of `receiveBy` and the deadline (armed at the end of a read, only when the request is still
        /// incomplete: a unary request usually arrives in the same read as its headers, and a timer armed and
        /// cancelled per call is measurable at 50k calls/s).
        case receivingRequest(
            handler: RPCMethodHandler, deframer: GRPCMessageDeframer, message: ByteBuffer?, call: Call,
            receiveBy: NIODeadline, timerArmed: Bool)
        /// The handler runs; `responseHeadersSent` is true once a streaming handler sent its first message.
        case handling(call: Call, responseHeadersSent: Bool)
        /// A bidirectional-streaming handler runs while request messages still arrive (deframed here);
        /// `requestsEnded` once the client half-closed.
        case bidirectional(deframer: GRPCMessageDeframer, call: Call, responseHeadersSent: Bool, requestsEnded: Bool)
        /// Status sent (or the stream went away): everything else is ignored. `peerStillSending`: the client had
        /// not half-closed when the status went out, so it is told to stop (RST_STREAM NO_ERROR). `ended`: the
        /// call that was (nil when no headers came), for the status metric.
        case closed(peerStillSending: Bool, ended: Call?)
    }

    /// What the stream handler does next.
    enum Action {
        /// Nothing to do yet (more bytes needed, or the call is already over).
        case none
        /// Headers accepted (`timeout`: the caller's `grpc-timeout`): wait for the request message. The machine keeps
        /// the deadline; `readComplete()` asks for the timer if the request is still incomplete.
        case awaitRequest(timeout: TimeAmount?)
        /// Arm the call's one timer (cancelling none: at most one is ever asked for at a time) to call
        /// `timerFired()` at `deadline`. Cancelled by the stream handler on `invoke`, `sendResponse`, `finish` and
        /// `cancelHandler`.
        case armTimer(at: NIODeadline)
        /// The request is complete: cancel the request timer, then run the handler with it (`handlerStarting` first).
        case invoke(RPCMethodHandler, request: ByteBuffer)
        /// A bidirectional call's headers are accepted: start the handler now (`handlerStarting` first, which asks
        /// for the deadline timer); request messages follow as `deliverRequests`. `requestsEnded`: the headers
        /// already half-closed the client's side, so the handler's request stream ends empty.
        case invokeBidirectional(RPCMethodHandler, requestsEnded: Bool)
        /// Request messages of a bidirectional call, in order; `end`: the client half-closed after them.
        case deliverRequests([ByteBuffer], end: Bool)
        /// Send a streaming response message, preceded by the response headers when `withHeaders`.
        case sendMessage(ByteBuffer, withHeaders: Bool)
        /// Send the one response message with headers and OK trailers; the call is over (then, when
        /// `peerStillSending`, RST_STREAM NO_ERROR).
        case sendResponse(ByteBuffer)
        /// End the call with `status`: as Trailers-Only (one HEADERS frame, with `httpStatus`) when no response
        /// headers went out yet, else as trailers. `cancelHandler`: a running handler must be cancelled. Then, when
        /// `peerStillSending`, RST_STREAM NO_ERROR.
        case finish(GRPCStatus, trailersOnly: Bool, httpStatus: Int, cancelHandler: Bool)
        /// The stream is gone: cancel a running handler, send nothing.
        case cancelHandler
    }

    private var state: State = .awaitingRequestHeaders
    private let services: RPCServices
    /// The largest request message accepted (SPEC §1: 64 KiB).
    private let maxRequestMessageBytes: Int
    /// How long after its headers the request message must be complete (`RPCServerLimits.maxRequestReceiveTime`).
    private let maxRequestReceiveTime: TimeAmount

    init(
        services: RPCServices, maxRequestMessageBytes: Int,
        maxRequestReceiveTime: TimeAmount = RPCServerLimits().maxRequestReceiveTime
    ) {
        self.services = services
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxRequestReceiveTime = maxRequestReceiveTime
    }

    var isClosed: Bool { if case .closed = state { return true } else { return false } }

    /// The accepted call (nil before its headers are accepted and once it is closed).
    var call: Call? {
        switch state {
        case .receivingRequest(_, _, _, let call, _, _), .handling(let call, _), .bidirectional(_, let call, _, _):
            return call
        case .awaitingRequestHeaders, .closed: return nil
        }
    }

    /// The call once it is closed (also a refused one: its path as sent), for the status metric; nil before and
    /// when the stream went away before any headers.
    var endedCall: Call? {
        if case .closed(_, let ended) = state { return ended } else { return nil }
    }

    /// The call is over but the client had not finished sending: the stream handler resets the stream (NO_ERROR)
    /// after the status, as the gRPC spec recommends, so the client neither buffers nor waits.
    var peerStillSending: Bool {
        if case .closed(let peerStillSending, _) = state { return peerStillSending } else { return false }
    }

    /// When the request must be complete (nil outside `receivingRequest`).
    var receiveBy: NIODeadline? {
        if case .receivingRequest(_, _, _, _, let receiveBy, _) = state { return receiveBy } else { return nil }
    }

    /// Request HEADERS (or trailers from the client, which only end the request), received at `now` (default:
    /// the clock, read only when the headers are the request's).
    mutating func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool, now: NIODeadline? = nil) -> Action {
        switch state {
        case .awaitingRequestHeaders:
            return self.acceptRequestHeaders(headers, endStream: endStream, now: now ?? .now())
        case .receivingRequest, .bidirectional:
            // Client trailers: gRPC clients send none, but a half-close by trailers is legal HTTP/2.
            return endStream ? self.receiveData(ByteBuffer(), endStream: true) : .none
        case .handling, .closed:
            return .none
        }
    }

    private mutating func acceptRequestHeaders(_ headers: HPACKHeaders, endStream: Bool, now: NIODeadline) -> Action {
        var method: Substring?
        var path: String?
        var contentType: Substring?
        var te: Substring?
        var encoding: Substring?
        var timeout: String?
        var traceparent: String?
        for (name, value, _) in headers {
            switch name {
            case ":method": method = Substring(value)
            case ":path": path = value
            case "content-type": contentType = Substring(value)
            case "te": te = Substring(value)
            case "grpc-encoding": encoding = Substring(value)
            case "grpc-timeout": timeout = value
            case "traceparent": traceparent = traceparent ?? value
            default: continue
            }
        }
        // What a refusal reports: the call as sent, without a deadline (none applies to a refused call).
        let refused = Call(path: path ?? "", deadline: .distantFuture, traceparent: traceparent, receivedAt: now)
        guard method == "POST" else {
            return self.reject(
                GRPCStatus(.internal, "gRPC requires :method POST"),
                httpStatus: 405, endStream: endStream, call: refused)
        }
        guard let contentType, Self.isGRPCContentType(contentType) else {
            return self.reject(
                GRPCStatus(.internal, "content-type must be application/grpc or application/grpc+proto"),
                httpStatus: 415, endStream: endStream, call: refused)
        }
        guard let path, let handler = services.handler(forPath: path) else {
            return self.reject(
                GRPCStatus(.unimplemented, "unknown method \(path ?? "(no :path)")"),
                httpStatus: 200, endStream: endStream, call: refused)
        }
        guard te == "trailers" else {
            return self.reject(
                GRPCStatus(.internal, "gRPC requires the header te: trailers"),
                httpStatus: 200, endStream: endStream, call: refused)
        }
        if let encoding, encoding != "identity" {
            return self.reject(
                GRPCStatus(.unimplemented, "grpc-encoding \(encoding) is not supported; use identity"),
                httpStatus: 200, endStream: endStream, call: refused)
        }
        var timeoutAmount: TimeAmount?
        if let timeout {
            guard let parsed = GRPCTimeout.parse(timeout) else {
                return self.reject(
                    GRPCStatus(.internal, "malformed grpc-timeout"),
                    httpStatus: 200, endStream: endStream, call: refused)
            }
            timeoutAmount = parsed
        }
        let call = Call(
            path: path, deadline: timeoutAmount.map { now + $0 } ?? .distantFuture, traceparent: traceparent,
            receivedAt: now)
        if case .bidirectionalStreaming = handler {
            state = .bidirectional(
                deframer: GRPCMessageDeframer(maxMessageBytes: maxRequestMessageBytes), call: call,
                responseHeadersSent: false, requestsEnded: endStream)
            return .invokeBidirectional(handler, requestsEnded: endStream)
        }
        if endStream {
            return self.reject(
                GRPCStatus(.internal, "unary call ended without a request message"),
                httpStatus: 200, endStream: endStream, call: call)
        }
        state = .receivingRequest(
            handler: handler, deframer: GRPCMessageDeframer(maxMessageBytes: maxRequestMessageBytes), message: nil,
            call: call, receiveBy: now + maxRequestReceiveTime, timerArmed: false)
        return .awaitRequest(timeout: timeoutAmount)
    }

    /// `application/grpc`, `application/grpc+proto`, `application/grpc;params`, `application/grpc+proto;params`.
    static func isGRPCContentType(_ value: Substring) -> Bool {
        // The common case without allocating (this runs once per call).
        if value == "application/grpc" || value == "application/grpc+proto" { return true }
        let base = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces() } ?? ""
        return base == "application/grpc" || base == "application/grpc+proto"
    }

    /// DATA bytes of the request.
    mutating func receiveData(_ bytes: ByteBuffer, endStream: Bool) -> Action {
        if case .bidirectional = state { return self.receiveStreamedRequests(bytes, endStream: endStream) }
        guard case .receivingRequest(let handler, var deframer, var message, let call, let receiveBy, let armed) = state
        else {
            // Bytes after the request ended or after the status: the stream handler has already answered.
            return .none
        }
        state = .closed(peerStillSending: false, ended: call)  // while we mutate the deframer (no CoW copy)
        deframer.append(bytes)
        while true {
            let next: ByteBuffer?
            do {
                next = try deframer.nextMessage()
            } catch {
                return self.reject(Self.status(for: error), httpStatus: 200, endStream: endStream, call: call)
            }
            guard let next else { break }
            if message != nil {
                return self.reject(
                    GRPCStatus(.internal, "unary call got more than one request message"), httpStatus: 200,
                    endStream: endStream, call: call)
            }
            message = next
        }
        guard endStream else {
            state = .receivingRequest(
                handler: handler, deframer: deframer, message: message, call: call, receiveBy: receiveBy,
                timerArmed: armed)
            return .none
        }
        guard deframer.bufferedBytes == 0 else {
            return self.reject(
                GRPCStatus(.internal, "request ended inside a message"),
                httpStatus: 200, endStream: true, call: call)
        }
        guard let message else {
            return self.reject(
                GRPCStatus(.internal, "unary call ended without a request message"), httpStatus: 200, endStream: true,
                call: call)
        }
        state = .handling(call: call, responseHeadersSent: false)
        return .invoke(handler, request: message)
    }

    /// DATA bytes of a bidirectional call: every complete message goes to the running handler.
    private mutating func receiveStreamedRequests(_ bytes: ByteBuffer, endStream: Bool) -> Action {
        guard case .bidirectional(var deframer, let call, let headersSent, let ended) = state else { return .none }
        // Bytes after the half-close cannot come (NIOHTTP2 refuses them); nothing to deliver.
        guard !ended else { return .none }
        state = .closed(peerStillSending: false, ended: call)  // while we mutate the deframer (no CoW copy)
        deframer.append(bytes)
        var messages: [ByteBuffer] = []
        while true {
            let next: ByteBuffer?
            do {
                next = try deframer.nextMessage()
            } catch {
                state = .bidirectional(
                    deframer: deframer, call: call, responseHeadersSent: headersSent, requestsEnded: endStream)
                return self.terminate(Self.status(for: error))
            }
            guard let next else { break }
            messages.append(next)
        }
        state = .bidirectional(
            deframer: deframer, call: call, responseHeadersSent: headersSent, requestsEnded: endStream)
        if endStream && deframer.bufferedBytes != 0 {
            return self.terminate(GRPCStatus(.internal, "request ended inside a message"))
        }
        return messages.isEmpty && !endStream ? .none : .deliverRequests(messages, end: endStream)
    }

    /// The end of a read (the stream handler's `channelReadComplete`): a request still incomplete gets its timer,
    /// once, for the earlier of the receive limit and the caller's deadline.
    mutating func readComplete() -> Action {
        guard case .receivingRequest(let handler, let deframer, let message, let call, let receiveBy, false) = state
        else { return .none }
        state = .receivingRequest(
            handler: handler, deframer: deframer, message: message, call: call, receiveBy: receiveBy, timerArmed: true)
        return .armTimer(at: min(call.deadline, receiveBy))
    }

    /// The handler of an `invoke` or `invokeBidirectional` is about to run (at `now`; default: the clock, read only
    /// when there is a deadline). A synchronous one finishes before any timer could fire, so only a deadline
    /// already past matters: the call ends DEADLINE_EXCEEDED without running it. An asynchronous one (every
    /// bidirectional one is) gets the deadline timer.
    mutating func handlerStarting(synchronous: Bool, now: NIODeadline? = nil) -> Action {
        let call: Call
        switch state {
        case .handling(let running, _), .bidirectional(_, let running, _, _): call = running
        case .awaitingRequestHeaders, .receivingRequest, .closed: return .none
        }
        guard call.deadline != .distantFuture else { return .none }
        if synchronous {
            guard (now ?? .now()) >= call.deadline else { return .none }
            return self.terminate(GRPCStatus(.deadlineExceeded, "deadline exceeded"))
        }
        return .armTimer(at: call.deadline)
    }

    /// The timer of an `armTimer` fired at `now`: past the caller's deadline it is DEADLINE_EXCEEDED, before it the
    /// request took longer than the receive limit.
    mutating func timerFired(now: NIODeadline = .now()) -> Action {
        let deadline = call?.deadline ?? .distantFuture
        let status =
            now >= deadline
            ? GRPCStatus(.deadlineExceeded, "deadline exceeded")
            : GRPCStatus(.deadlineExceeded, "request message not received in time")
        return self.terminate(status)
    }

    private static func status(for failure: GRPCMessageDeframer.Failure) -> GRPCStatus {
        switch failure {
        case .compressedWithoutEncoding:
            return GRPCStatus(.internal, "compressed message without grpc-encoding")
        case .messageTooLarge(let length):
            return GRPCStatus(.resourceExhausted, "message of \(length) bytes exceeds the 65536-byte limit")
        case .invalidFlag(let flag):
            return GRPCStatus(.internal, "invalid message flag \(flag)")
        }
    }

    /// Refuses the request; `endStream`: whether what was refused ended the client's side.
    private mutating func reject(_ status: GRPCStatus, httpStatus: Int, endStream: Bool, call: Call) -> Action {
        state = .closed(peerStillSending: !endStream, ended: call)
        return .finish(status, trailersOnly: true, httpStatus: httpStatus, cancelHandler: false)
    }

    /// A unary handler returned its response (consumed: passed on in `sendResponse` as its only reference).
    mutating func handlerReturned(_ response: consuming ByteBuffer) -> Action {
        switch state {
        case .handling(let call, responseHeadersSent: false):
            state = .closed(peerStillSending: false, ended: call)
            return .sendResponse(consume response)
        case .handling(let call, responseHeadersSent: true):
            assertionFailure("a unary handler cannot have streamed")
            state = .closed(peerStillSending: false, ended: call)
            return .finish(
                GRPCStatus(.internal, "internal error"), trailersOnly: false, httpStatus: 200, cancelHandler: false)
        case .bidirectional(_, let call, let headersSent, let ended):
            assertionFailure("a bidirectional handler returns no single response")
            state = .closed(peerStillSending: !ended, ended: call)
            return .finish(
                GRPCStatus(.internal, "internal error"), trailersOnly: !headersSent, httpStatus: 200,
                cancelHandler: false)
        case .closed:
            return .none  // deadline or reset got there first; the answer is dropped on purpose
        case .awaitingRequestHeaders, .receivingRequest:
            assertionFailure("handler finished before it was invoked")
            state = .closed(peerStillSending: true, ended: call)
            return .finish(
                GRPCStatus(.internal, "internal error"), trailersOnly: true, httpStatus: 200, cancelHandler: false)
        }
    }

    /// A streaming handler sends a message.
    mutating func handlerSends(_ message: ByteBuffer) -> Action {
        switch state {
        case .handling(let call, let headersSent):
            state = .handling(call: call, responseHeadersSent: true)
            return .sendMessage(message, withHeaders: !headersSent)
        case .bidirectional(let deframer, let call, let headersSent, let ended):
            state = .bidirectional(deframer: deframer, call: call, responseHeadersSent: true, requestsEnded: ended)
            return .sendMessage(message, withHeaders: !headersSent)
        case .closed:
            return .none
        case .awaitingRequestHeaders, .receivingRequest:
            assertionFailure("handler sent before it was invoked")
            return .none
        }
    }

    /// A handler finished with a status (a streaming handler returning is `.ok`; a throw is its status).
    mutating func handlerFinished(_ status: GRPCStatus) -> Action {
        switch state {
        case .handling(let call, let headersSent):
            state = .closed(peerStillSending: false, ended: call)
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: false)
        case .bidirectional(_, let call, let headersSent, let ended):
            // A handler may answer before the client half-closed: the client is then told to stop sending.
            state = .closed(peerStillSending: !ended, ended: call)
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: false)
        case .closed:
            return .none
        case .awaitingRequestHeaders, .receivingRequest:
            assertionFailure("handler finished before it was invoked")
            state = .closed(peerStillSending: false, ended: call)
            return .none
        }
    }

    /// The caller's deadline passed, or a server-side limit (request receive time, shutdown) ends the call.
    mutating func terminate(_ status: GRPCStatus) -> Action {
        switch state {
        case .awaitingRequestHeaders, .receivingRequest:
            state = .closed(peerStillSending: true, ended: call)
            return .finish(status, trailersOnly: true, httpStatus: 200, cancelHandler: false)
        case .handling(let call, let headersSent):
            state = .closed(peerStillSending: false, ended: call)
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: true)
        case .bidirectional(_, let call, let headersSent, let ended):
            state = .closed(peerStillSending: !ended, ended: call)
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: true)
        case .closed:
            return .none
        }
    }

    /// The stream closed under us (client RST_STREAM, connection gone).
    mutating func streamClosed() -> Action {
        switch state {
        case .handling, .bidirectional:
            state = .closed(peerStillSending: false, ended: call)
            return .cancelHandler
        case .awaitingRequestHeaders, .receivingRequest:
            state = .closed(peerStillSending: false, ended: call)
            return .none
        case .closed:
            return .none
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
