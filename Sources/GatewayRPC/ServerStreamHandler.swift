import GatewayTLS
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves one gRPC call in its HTTP/2 child channel: unwraps frames, asks `ServerCallStateMachine`, performs the
/// action. Synchronous handlers run inline on the event loop; async ones in a Task whose outcome hops back here.
/// What the call knows (path, deadline, traceparent, when it began, receive limit, whether the client still sends)
/// lives in the machine; this handler holds only the effects' handles: the channel context, the one timer, the
/// handler's task and, for a bidirectional call, the end of its request stream.
final class ServerStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var call: ServerCallStateMachine
    private let connection: RPCConnectionState
    private let limits: RPCServerLimits
    private let logger: Logger
    private var context: ChannelHandlerContext!
    /// The timer the machine asked for (`armTimer`): the request-receipt limit, then the caller's deadline.
    private var timer: Scheduled<Void>?
    private var handlerTask: Task<Void, Never>?
    /// Where a bidirectional call's request messages go (`deliverRequests`).
    private var requests: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
    private let services: RPCServices
    private let events: RPCServerEvents

    init(
        services: RPCServices, connection: RPCConnectionState, limits: RPCServerLimits, logger: Logger,
        events: RPCServerEvents = RPCServerEvents()
    ) {
        self.call = ServerCallStateMachine(
            services: services, maxRequestMessageBytes: limits.maxMessageBytes,
            maxRequestReceiveTime: limits.maxRequestReceiveTime)
        self.services = services
        self.connection = connection
        self.limits = limits
        self.logger = logger
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        events.streamChanged(true)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        events.streamChanged(false)
        connection.removeStreamingCall(ObjectIdentifier(self))
        self.cancelTimer()
        self.perform(call.streamClosed())
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .headers(let headers):
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
            guard case .byteBuffer(let bytes) = data.data else {
                // Inbound DATA from NIOHTTP2 is always a ByteBuffer; a file region would be our bug.
                assertionFailure("inbound DATA as a file region")
                return
            }
            self.perform(call.receiveData(bytes, endStream: data.endStream))
        case .rstStream:
            self.perform(call.streamClosed())
        default:
            break  // PRIORITY, WINDOW_UPDATE: NIOHTTP2 handles them; nothing for the call.
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.perform(call.readComplete())
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimer()
        self.perform(call.streamClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream error (e.g. the peer reset it) ends this call only; the connection is not ours to close.
        self.perform(call.streamClosed())
        context.close(promise: nil)
    }

    // MARK: Actions

    /// Does what the machine asked. `written`: a streaming handler's send, completed when its message is written
    /// (failed when the machine says the call is over).
    private func perform(_ action: ServerCallStateMachine.Action, written: EventLoopPromise<Void>? = nil) {
        if let written, !action.isSendMessage { written.fail(GRPCStatus(.cancelled, "the call is over")) }
        switch action {
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
            guard let context else {
                written?.fail(GRPCStatus(.cancelled, "the call is over"))
                return
            }
            self.write(message, withHeaders: withHeaders, context, promise: written)
            context.flush()
        case .sendResponse(let message):
            self.cancelTimer()
            guard let context else { return }
            self.write(message, withHeaders: true, context, promise: nil)
            context.write(self.wrapOutboundOut(Self.okTrailers), promise: nil)
            self.reportFinished(.ok)
            self.endOfResponse(context)
        case .finish(let status, let trailersOnly, let httpStatus, let cancelHandler):
            self.cancelTimer()
            requests?.finish()
            requests = nil
            if cancelHandler { handlerTask?.cancel() }
            guard let context else { return }
            let frame =
                trailersOnly
                ? Self.trailersOnly(status, httpStatus: httpStatus) : Self.trailers(status)
            context.write(self.wrapOutboundOut(frame), promise: nil)
            self.reportFinished(status.code)
            self.endOfResponse(context)
        case .cancelHandler:
            self.cancelTimer()
            requests?.finish(throwing: CancellationError())
            requests = nil
            handlerTask?.cancel()
        }
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
    private func write(
        _ message: ByteBuffer, withHeaders: Bool, _ context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        if withHeaders { context.write(self.wrapOutboundOut(Self.responseHeaders), promise: nil) }
        let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
        context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: promise)
    }

    /// After our END_STREAM: a client still sending (oversized message, early status) is told to stop with
    /// RST_STREAM(NO_ERROR), as the gRPC spec recommends, so it neither buffers nor waits.
    private func endOfResponse(_ context: ChannelHandlerContext) {
        if call.peerStillSending {
            context.write(self.wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
        context.flush()
    }

    /// The handler's view of the accepted call.
    private func callContext(_ accepted: ServerCallStateMachine.Call) -> RPCCallContext {
        var callContext = RPCCallContext(
            peer: connection.peer, path: accepted.path, deadline: accepted.deadline, eventLoop: context.eventLoop,
            logger: logger, remoteAddress: (context.channel.parent ?? context.channel).remoteAddress?.ipAddress)
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
                allocator: context.channel.allocator, capacity: limits.responseBufferHintBytes)
            do {
                try body(request, &response, callContext)
                self.perform(call.handlerReturned(response))
            } catch {
                self.perform(call.handlerFinished(self.status(for: error, path: accepted.path)))
            }
        case .unaryAsync(let body):
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            handlerTask = Task {
                let result: Result<ByteBuffer, any Error>
                do { result = .success(try await body(request, callContext)) } catch { result = .failure(error) }
                eventLoop.execute {
                    let handler = this.value
                    handler.handlerTask = nil
                    switch result {
                    case .success(let response): handler.perform(handler.call.handlerReturned(response))
                    case .failure(let error):
                        handler.perform(handler.call.handlerFinished(handler.status(for: error, path: accepted.path)))
                    }
                }
            }
        case .bidirectionalStreaming:
            assertionFailure("bidirectional calls start at their headers (invokeBidirectional)")
            self.perform(call.terminate(GRPCStatus(.internal, "internal error")))
        case .serverStreaming(let body):
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            connection.addStreamingCall(ObjectIdentifier(self)) {
                let handler = this.value
                handler.perform(handler.call.terminate(GRPCStatus(.unavailable, "server is shutting down")))
            }
            let eventLoop = context.eventLoop
            let stream = RPCResponseStream { message in
                eventLoop.submit { this.value.streamSend(message) }.flatMap { $0 }
            }
            handlerTask = Task {
                let result: Result<Void, any Error>
                do { result = .success(try await body(request, stream, callContext)) } catch {
                    result = .failure(error)
                }
                eventLoop.execute {
                    let handler = this.value
                    handler.handlerTask = nil
                    switch result {
                    case .success: handler.perform(handler.call.handlerFinished(.ok))
                    case .failure(let error):
                        handler.perform(handler.call.handlerFinished(handler.status(for: error, path: accepted.path)))
                    }
                }
            }
        }
    }

    /// Starts a bidirectional handler at the call's headers: its deadline timer (from the machine), the request
    /// stream `deliverRequests` feeds, responses through the one send path, and shutdown ends it UNAVAILABLE.
    private func invokeBidirectional(_ handler: RPCMethodHandler) {
        guard case .bidirectionalStreaming(let body) = handler, let context, let accepted = call.call else { return }
        let callContext = self.callContext(accepted)
        self.perform(call.handlerStarting(synchronous: false))
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(RPCRequestStream.maxBufferedMessages))
        requests = continuation
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        connection.addStreamingCall(ObjectIdentifier(self)) {
            let handler = this.value
            handler.perform(handler.call.terminate(GRPCStatus(.unavailable, "server is shutting down")))
        }
        let eventLoop = context.eventLoop
        let responses = RPCResponseStream { message in
            eventLoop.submit { this.value.streamSend(message) }.flatMap { $0 }
        }
        let requestStream = RPCRequestStream(stream: stream)
        handlerTask = Task {
            let result: Result<Void, any Error>
            do { result = .success(try await body(requestStream, responses, callContext)) } catch {
                result = .failure(error)
            }
            eventLoop.execute {
                let handler = this.value
                handler.handlerTask = nil
                switch result {
                case .success: handler.perform(handler.call.handlerFinished(.ok))
                case .failure(let error):
                    handler.perform(handler.call.handlerFinished(handler.status(for: error, path: accepted.path)))
                }
            }
        }
    }

    /// A streaming handler's message: through the machine (which knows whether the call is still open and whether
    /// the response headers went out) to the one write path.
    private func streamSend(_ message: ByteBuffer) -> EventLoopFuture<Void> {
        let written = (context?.eventLoop ?? connection.eventLoop).makePromise(of: Void.self)
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
        guard when != .distantFuture, let context else { return }
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: when) {
            let handler = this.value
            handler.timer = nil
            handler.perform(handler.call.timerFired())
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
