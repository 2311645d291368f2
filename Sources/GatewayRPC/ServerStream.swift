import GatewayTLS
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves one gRPC call on one HTTP/2 stream of a connection: takes the stream's frames from
/// `ServerStreamDemultiplexer`, asks `ServerCallStateMachine`, performs the action by writing frames for its stream id
/// through the demultiplexer. There is no child channel: the stream is this object and an entry in the
/// demultiplexer's table, from the request HEADERS to NIOHTTP2's `StreamClosedEvent`.
///
/// Synchronous handlers run inline on the event loop; deferred ones answer through an `RPCUnaryResponder` from any
/// thread; async ones run in a Task whose outcome hops back here. What the call knows (path, deadline, traceparent,
/// when it began, receive limit, whether the client still sends) lives in the machine; this object holds only the
/// effects' handles: the one timer, the handler's task or responder and, for a bidirectional call, the end of its
/// request stream. Event-loop confined.
final class ServerStream {
    let id: HTTP2StreamID
    private var call: ServerCallStateMachine
    private let output: ServerStreamDemultiplexer
    private let connection: RPCConnectionState
    private let limits: RPCServerLimits
    private let logger: Logger
    private let eventLoop: any EventLoop
    /// The timer the machine asked for (`armTimer`): the request-receipt limit, then the caller's deadline.
    private var timer: Scheduled<Void>?
    private var handlerTask: Task<Void, Never>?
    /// A deferred unary handler's answer slot (`unaryDeferred`), until it answers or the call ends.
    private var responder: RPCUnaryResponder?
    /// Where a bidirectional call's request messages go (`deliverRequests`).
    private var requests: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
    private let services: RPCServices
    private let events: RPCServerEvents
    /// The stream's inbound flow-control window: WINDOW_UPDATEs for DATA we consumed, while the client may still
    /// send (the multiplexer's child channel did this before).
    var inboundWindow: InboundWindow
    /// The client half-closed (END_STREAM received): no WINDOW_UPDATE is owed any more.
    private(set) var requestEnded = false
    /// In the demultiplexer's list of streams that got frames during the current read (`readComplete`).
    var readPending = false
    /// We already reset this stream after a stream error (so a failing reset cannot loop).
    var resetSent = false
    /// A streaming call registered with the connection (ended by a drain): unregistered when the stream closes.
    private var isStreamingCall = false

    init(
        id: HTTP2StreamID, output: ServerStreamDemultiplexer, services: RPCServices, connection: RPCConnectionState,
        limits: RPCServerLimits, logger: Logger, events: RPCServerEvents
    ) {
        self.id = id
        self.call = ServerCallStateMachine(
            services: services, maxRequestMessageBytes: limits.maxMessageBytes,
            maxRequestReceiveTime: limits.maxRequestReceiveTime)
        self.output = output
        self.services = services
        self.connection = connection
        self.limits = limits
        self.logger = logger
        self.eventLoop = connection.eventLoop
        self.events = events
        self.inboundWindow = InboundWindow(targetSize: limits.streamWindowBytes)
        events.streamChanged(true)
    }

    /// A frame NIOHTTP2 accepted for this stream.
    func receive(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers):
            if headers.endStream { requestEnded = true }
            // The request's own headers (not client trailers): the observer sees them before the call runs
            // (the conformance witness, SPEC §4).
            if call.call == nil, !call.isClosed, let observe = services.requestObserver {
                var metadata: [String: String] = [:]
                for (name, value, _) in headers.headers where !name.hasPrefix(":") && metadata[name] == nil {
                    metadata[name] = value
                }
                observe(
                    RPCObservedRequest(
                        peer: connection.peer, peerPublicKeyDER: connection.peerPublicKeyDER,
                        path: headers.headers.first(name: ":path") ?? "", metadata: metadata))
            }
            self.perform(call.receiveHeaders(headers.headers, endStream: headers.endStream))
        case .data(let data):
            if data.endStream { requestEnded = true }
            guard case .byteBuffer(let bytes) = data.data else {
                // Inbound DATA from NIOHTTP2 is always a ByteBuffer; a file region would be our bug.
                assertionFailure("inbound DATA as a file region")
                return
            }
            self.perform(call.receiveData(bytes, endStream: data.endStream))
        case .rstStream:
            // The client cancelled; NIOHTTP2 reports the closure next (`closed()`).
            requestEnded = true
            self.perform(call.streamClosed())
        default:
            break  // PRIORITY, WINDOW_UPDATE: NIOHTTP2 handles them; nothing for the call.
        }
    }

    /// The end of a read that delivered frames to this stream.
    func readComplete() {
        self.perform(call.readComplete())
    }

    /// The stream is gone (NIOHTTP2 closed it, a stream error, or the connection went away): a running handler is
    /// cancelled. Called once, when the stream leaves the demultiplexer's table.
    func closed() {
        events.streamChanged(false)
        if isStreamingCall { connection.removeStreamingCall(ObjectIdentifier(self)) }
        self.cancelTimer()
        requestEnded = true
        self.perform(call.streamClosed())
    }

    // MARK: Actions

    /// Does what the machine asked. `written`: a streaming handler's send, completed when its message is written
    /// (failed when the machine says the call is over). The action is consumed so that a response message reaches
    /// `write` as its buffer's only reference (see `write`).
    private func perform(_ action: consuming ServerCallStateMachine.Action, written: EventLoopPromise<Void>? = nil) {
        if let written, !action.isSendMessage { written.fail(GRPCStatus(.cancelled, "the call is over")) }
        switch consume action {
        case .none, .awaitRequest:
            break
        case .armTimer(let when):
            self.armTimer(at: when)
        case .invoke(let handler, let request):
            self.cancelTimer()
            self.invoke(handler, request: request)
        case .invokeBidirectional(let handler, let requestsEnded):
            self.invokeBidirectional(handler)
            if requestsEnded { requests?.finish() }  // HEADERS carried END_STREAM: no request messages
        case .deliverRequests(let messages, let end):
            for message in messages {
                if case .dropped = requests?.yield(message) {
                    self.perform(
                        call.terminate(
                            GRPCStatus(
                                .resourceExhausted,
                                "more than \(RPCRequestStream.maxBufferedMessages) request messages waiting unread")))
                    return
                }
            }
            if end { requests?.finish() }
        case .sendMessage(let message, let withHeaders):
            self.write(message, withHeaders: withHeaders, promise: written)
            output.flushSoon()
        case .sendResponse(let message):
            self.cancelTimer()
            self.write(consume message, withHeaders: true, promise: nil)
            output.write(HTTP2Frame(streamID: id, payload: Self.okTrailers))
            self.reportFinished(.ok)
            self.endOfResponse()
        case .finish(let status, let trailersOnly, let httpStatus, let cancelHandler):
            self.cancelTimer()
            requests?.finish()
            requests = nil
            if cancelHandler { self.cancelRunningHandler() }
            let payload =
                trailersOnly
                ? Self.trailersOnly(status, httpStatus: httpStatus) : Self.trailers(status)
            output.write(HTTP2Frame(streamID: id, payload: payload))
            self.reportFinished(status.code)
            self.endOfResponse()
        case .cancelHandler:
            self.cancelTimer()
            requests?.finish(throwing: CancellationError())
            requests = nil
            self.cancelRunningHandler()
        }
    }

    private func cancelRunningHandler() {
        handlerTask?.cancel()
        responder?.callEnded()
        responder = nil
    }

    /// Reports the call's status and duration (the status leaves with our END_STREAM; the machine answers
    /// `sendResponse` or `finish` once per call).
    private func reportFinished(_ code: GRPCStatus.Code) {
        guard let ended = call.endedCall, let receivedAt = ended.receivedAt else { return }
        let elapsed = NIODeadline.now() - receivedAt
        events.callFinished(
            services.metricLabel(forPath: ended.path), code, .nanoseconds(elapsed.nanoseconds))
    }

    /// The one write path of a response message, for unary and streaming handlers alike: the response headers
    /// first when `withHeaders`, then the message framed as DATA (`promise`: when it is written). Not flushed.
    /// `message` is consumed: when it is its buffer's only reference (a unary handler's response, moved here from
    /// `invoke` through the machine), the framer fills the reserved prefix in place instead of copying the buffer.
    private func write(_ message: consuming ByteBuffer, withHeaders: Bool, promise: EventLoopPromise<Void>?) {
        if withHeaders { output.write(HTTP2Frame(streamID: id, payload: Self.responseHeaders)) }
        let framed = GRPCMessageFramer.frame(consume message, allocator: output.allocator)
        output.write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed)))), promise: promise)
    }

    /// After our END_STREAM: a client still sending (oversized message, early status) is told to stop with
    /// RST_STREAM(NO_ERROR), as the gRPC spec recommends, so it neither buffers nor waits. Flushed at the end of
    /// the read, or once this tick when the answer came from elsewhere (a task, a timer, a responder).
    private func endOfResponse() {
        if call.peerStillSending {
            output.write(HTTP2Frame(streamID: id, payload: .rstStream(.noError)))
        }
        output.flushSoon()
    }

    /// The handler's view of the accepted call.
    private func callContext(_ accepted: ServerCallStateMachine.Call) -> RPCCallContext {
        var callContext = RPCCallContext(
            peer: connection.peer, path: accepted.path, deadline: accepted.deadline, eventLoop: eventLoop,
            logger: logger, remoteAddress: output.remoteAddress)
        callContext.traceparent = accepted.traceparent
        return callContext
    }

    private func invoke(_ handler: RPCMethodHandler, request: ByteBuffer) {
        let accepted = call.call ?? .init(path: "", deadline: .distantFuture)
        let callContext = self.callContext(accepted)
        if case .unary = handler {
            let starting = call.handlerStarting(synchronous: true)
            guard case .none = starting else { return self.perform(starting) }
        } else {
            self.perform(call.handlerStarting(synchronous: false))
        }
        switch handler {
        case .unary(let body):
            var response = GRPCMessageFramer.makeResponseBuffer(
                allocator: output.allocator, capacity: limits.responseBufferHintBytes)
            do {
                try body(request, &response, callContext)
                self.perform(call.handlerReturned(consume response))
            } catch {
                self.perform(call.handlerFinished(self.status(for: error, path: accepted.path)))
            }
        case .unaryDeferred(let body):
            let responder = RPCUnaryResponder(stream: NIOLoopBound(self, eventLoop: eventLoop), path: accepted.path)
            self.responder = responder
            // May answer before it returns (then `deferredAnswered` has already run) or from any thread later.
            body(request, callContext, responder)
        case .unaryAsync(let body):
            let this = NIOLoopBound(self, eventLoop: eventLoop)
            let eventLoop = self.eventLoop
            handlerTask = Task {
                let result: Result<ByteBuffer, any Error>
                do { result = .success(try await body(request, callContext)) } catch { result = .failure(error) }
                eventLoop.execute {
                    let stream = this.value
                    stream.handlerTask = nil
                    switch result {
                    case .success(let response): stream.perform(stream.call.handlerReturned(response))
                    case .failure(let error):
                        stream.perform(stream.call.handlerFinished(stream.status(for: error, path: accepted.path)))
                    }
                }
            }
        case .bidirectionalStreaming:
            assertionFailure("bidirectional calls start at their headers (invokeBidirectional)")
            self.perform(call.terminate(GRPCStatus(.internal, "internal error")))
        case .serverStreaming(let body):
            self.startStreamingHandler(path: accepted.path) { responses in
                try await body(request, responses, callContext)
            }
        }
    }

    /// A deferred handler's answer, on the event loop (`RPCUnaryResponder` hops here): through the machine, which
    /// drops it when the call already ended (deadline, reset, connection gone).
    func deferredAnswered(_ result: Result<ByteBuffer, any Error>, path: String) {
        responder = nil
        switch result {
        case .success(let response): self.perform(call.handlerReturned(response))
        case .failure(let error): self.perform(call.handlerFinished(self.status(for: error, path: path)))
        }
    }

    /// Starts a bidirectional handler at the call's headers: its deadline timer (from the machine), the request
    /// stream `deliverRequests` feeds, then the streaming start-up every streaming handler shares.
    private func invokeBidirectional(_ handler: RPCMethodHandler) {
        guard case .bidirectionalStreaming(let body) = handler, let accepted = call.call else { return }
        let callContext = self.callContext(accepted)
        self.perform(call.handlerStarting(synchronous: false))
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(RPCRequestStream.maxBufferedMessages))
        requests = continuation
        let requestStream = RPCRequestStream(stream: stream)
        self.startStreamingHandler(path: accepted.path) { responses in
            try await body(requestStream, responses, callContext)
        }
    }

    /// Runs a streaming handler (server-streaming or bidirectional; `body` is it with its requests and context
    /// bound): registered with the connection so a shutdown ends the call UNAVAILABLE, its responses through the
    /// one send path (`streamSend`, hopping to the event loop), and in a Task whose outcome hops back to the
    /// machine as the call's status (an error as `status(for:path:)` makes it).
    private func startStreamingHandler(
        path: String, _ body: @escaping @Sendable (_ responses: RPCResponseStream) async throws -> Void
    ) {
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        isStreamingCall = true
        connection.addStreamingCall(ObjectIdentifier(self)) {
            let stream = this.value
            stream.perform(stream.call.terminate(GRPCStatus(.unavailable, "server is shutting down")))
        }
        let eventLoop = self.eventLoop
        let responses = RPCResponseStream { message in
            eventLoop.submit { this.value.streamSend(message) }.flatMap { $0 }
        }
        handlerTask = Task {
            let result: Result<Void, any Error>
            do { result = .success(try await body(responses)) } catch { result = .failure(error) }
            eventLoop.execute {
                let stream = this.value
                stream.handlerTask = nil
                switch result {
                case .success: stream.perform(stream.call.handlerFinished(.ok))
                case .failure(let error):
                    stream.perform(stream.call.handlerFinished(stream.status(for: error, path: path)))
                }
            }
        }
    }

    /// A streaming handler's message: through the machine (which knows whether the call is still open and whether
    /// the response headers went out) to the one write path. The returned future completes when NIOHTTP2 has
    /// written the DATA (it holds it while the client's flow-control window is shut): that is the backpressure.
    private func streamSend(_ message: ByteBuffer) -> EventLoopFuture<Void> {
        let written = eventLoop.makePromise(of: Void.self)
        self.perform(call.handlerSends(message), written: written)
        return written.futureResult
    }

    /// A handler's error as the caller sees it: its own status, or INTERNAL with the detail kept in our log only.
    private func status(for error: any Error, path: String) -> GRPCStatus {
        if let status = error as? GRPCStatus { return status }
        if error is CancellationError { return GRPCStatus(.cancelled, "cancelled") }
        logger.error("handler failed", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
        return GRPCStatus(.internal, "internal error")
    }

    // MARK: Timer

    private func armTimer(at when: NIODeadline) {
        guard when != .distantFuture else { return }
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(deadline: when) {
            let stream = this.value
            stream.timer = nil
            stream.perform(stream.call.timerFired())
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    // MARK: HPACK headers, built once

    static let responseHeaders = HTTP2Frame.FramePayload.headers(
        .init(headers: [":status": "200", "content-type": "application/grpc"]))
    static let okTrailers = HTTP2Frame.FramePayload.headers(.init(headers: ["grpc-status": "0"], endStream: true))

    static func trailers(_ status: GRPCStatus) -> HTTP2Frame.FramePayload {
        var headers: HPACKHeaders = ["grpc-status": status.code.wireString]
        if !status.message.isEmpty {
            headers.add(name: "grpc-message", value: GRPCMessageEncoding.encode(status.message))
        }
        return .headers(.init(headers: headers, endStream: true))
    }

    static func trailersOnly(_ status: GRPCStatus, httpStatus: Int) -> HTTP2Frame.FramePayload {
        var headers: HPACKHeaders = [
            ":status": httpStatus == 200 ? "200" : String(httpStatus), "content-type": "application/grpc",
            "grpc-status": status.code.wireString,
        ]
        if !status.message.isEmpty {
            headers.add(name: "grpc-message", value: GRPCMessageEncoding.encode(status.message))
        }
        return .headers(.init(headers: headers, endStream: true))
    }
}

extension ServerCallStateMachine.Action {
    fileprivate var isSendMessage: Bool {
        if case .sendMessage = self { return true } else { return false }
    }
}
