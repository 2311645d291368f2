import GatewayTLS
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves one gRPC call in its HTTP/2 child channel: unwraps frames, asks `ServerCallStateMachine`, performs the
/// action. Synchronous handlers run inline on the event loop; async ones in a Task whose outcome hops back here.
final class ServerStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var call: ServerCallStateMachine
    private let connection: RPCConnectionState
    private let limits: RPCServerLimits
    private let logger: Logger
    private var context: ChannelHandlerContext!
    /// The request-receipt limit, then the caller's deadline: one timer at a time.
    private var timer: Scheduled<Void>?
    private var deadline: NIODeadline = .distantFuture
    /// When the request message must be complete (`maxRequestReceiveTime` after HEADERS). The timer for it is armed
    /// lazily at the end of a read, only when the request is still incomplete: a unary request usually arrives in
    /// the same read as its HEADERS, and a timer armed and cancelled per call is measurable at 50k calls/s.
    private var receiveBy: NIODeadline?
    private var handlerTask: Task<Void, Never>?
    /// Where a bidirectional call's request messages go.
    private var requests: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
    private var path: String = ""
    /// The client half-closed (or reset): after our status there is nothing left to refuse.
    private var inboundClosed = false
    private let services: RPCServices
    private let events: RPCServerEvents
    /// The caller's `traceparent` metadata, handed to the handler unparsed.
    private var traceparent: String?
    /// When the request headers arrived (for the call-duration metric); nil until then and after it is reported.
    private var startedAt: ContinuousClock.Instant?

    init(
        services: RPCServices, connection: RPCConnectionState, limits: RPCServerLimits, logger: Logger,
        events: RPCServerEvents = RPCServerEvents()
    ) {
        self.call = ServerCallStateMachine(services: services, maxRequestMessageBytes: limits.maxMessageBytes)
        self.connection = connection
        self.limits = limits
        self.logger = logger
        self.services = services
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
            if headers.endStream { inboundClosed = true }
            if path.isEmpty {
                path = headers.headers.first(name: ":path") ?? ""
                traceparent = headers.headers.first(name: "traceparent")
                startedAt = ContinuousClock.now
            }
            self.perform(call.receiveHeaders(headers.headers, endStream: headers.endStream))
        case .data(let data):
            if data.endStream { inboundClosed = true }
            guard case .byteBuffer(let bytes) = data.data else {
                // Inbound DATA from NIOHTTP2 is always a ByteBuffer; a file region would be our bug.
                assertionFailure("inbound DATA as a file region")
                return
            }
            self.perform(call.receiveData(bytes, endStream: data.endStream))
        case .rstStream:
            inboundClosed = true
            self.perform(call.streamClosed())
        default:
            break  // PRIORITY, WINDOW_UPDATE: NIOHTTP2 handles them; nothing for the call.
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let receiveBy, timer == nil, !call.isClosed {
            self.armTimer(at: min(deadline, receiveBy))
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inboundClosed = true
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

    private func perform(_ action: ServerCallStateMachine.Action) {
        switch action {
        case .none:
            break
        case .awaitRequest(let timeout):
            let now = NIODeadline.now()
            if let timeout { deadline = now + timeout }
            receiveBy = now + limits.maxRequestReceiveTime
        case .invoke(let handler, let request):
            self.cancelTimer()
            receiveBy = nil
            self.invoke(handler, request: request)
        case .invokeBidirectional(let handler, let timeout):
            if let timeout { deadline = NIODeadline.now() + timeout }
            self.invokeBidirectional(handler)
            if inboundClosed { requests?.finish() }  // HEADERS carried END_STREAM: no request messages
        case .deliverRequests(let messages, let end):
            for message in messages {
                if case .dropped = requests?.yield(message) {
                    self.perform(call.terminate(GRPCStatus(
                        .resourceExhausted,
                        "more than \(RPCRequestStream.maxBufferedMessages) request messages waiting unread")))
                    return
                }
            }
            if end { requests?.finish() }
        case .sendMessage(let message, let withHeaders):
            guard let context else { return }
            if withHeaders { context.write(self.wrapOutboundOut(Self.responseHeaders), promise: nil) }
            let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
            context.writeAndFlush(
                self.wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
        case .sendResponse(let message):
            self.cancelTimer()
            guard let context else { return }
            let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
            context.write(self.wrapOutboundOut(Self.responseHeaders), promise: nil)
            context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
            context.write(self.wrapOutboundOut(Self.okTrailers), promise: nil)
            self.reportFinished(.ok)
            self.endOfResponse(context)
        case .finish(let status, let trailersOnly, let httpStatus, let cancelHandler):
            self.cancelTimer()
            requests?.finish()
            requests = nil
            if cancelHandler { handlerTask?.cancel() }
            guard let context else { return }
            let frame = trailersOnly
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

    /// Reports the call's status and duration once (the status leaves with our END_STREAM).
    private func reportFinished(_ code: GRPCStatus.Code) {
        guard let startedAt else { return }
        self.startedAt = nil
        events.callFinished(services.metricLabel(forPath: path), code, ContinuousClock.now - startedAt)
    }

    /// After our END_STREAM: a client still sending (oversized message, early status) is told to stop with
    /// RST_STREAM(NO_ERROR), as the gRPC spec recommends, so it neither buffers nor waits.
    private func endOfResponse(_ context: ChannelHandlerContext) {
        if !inboundClosed {
            context.write(self.wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
        context.flush()
    }

    private func invoke(_ handler: RPCMethodHandler, request: ByteBuffer) {
        var callContext = RPCCallContext(
            peer: connection.peer, path: path, deadline: deadline, eventLoop: context.eventLoop, logger: logger)
        callContext.traceparent = traceparent
        switch handler {
        case .unary(let body):
            // Synchronous: it finishes before any timer could fire, so only a deadline already past matters.
            if deadline != .distantFuture, NIODeadline.now() >= deadline {
                self.perform(call.terminate(GRPCStatus(.deadlineExceeded, "deadline exceeded")))
                return
            }
            var response = GRPCMessageFramer.makeResponseBuffer(
                allocator: context.channel.allocator, capacity: limits.responseBufferHintBytes)
            do {
                try body(request, &response, callContext)
                self.perform(call.handlerReturned(response))
            } catch {
                self.perform(call.handlerFinished(self.status(for: error)))
            }
        case .unaryAsync(let body):
            self.armTimer(at: deadline)
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
                    case .failure(let error): handler.perform(handler.call.handlerFinished(handler.status(for: error)))
                    }
                }
            }
        case .bidirectionalStreaming:
            assertionFailure("bidirectional calls start at their headers (invokeBidirectional)")
            self.perform(call.terminate(GRPCStatus(.internal, "internal error")))
        case .serverStreaming(let body):
            self.armTimer(at: deadline)
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
                do { result = .success(try await body(request, stream, callContext)) } catch { result = .failure(error) }
                eventLoop.execute {
                    let handler = this.value
                    handler.handlerTask = nil
                    switch result {
                    case .success: handler.perform(handler.call.handlerFinished(.ok))
                    case .failure(let error): handler.perform(handler.call.handlerFinished(handler.status(for: error)))
                    }
                }
            }
        }
    }

    private func invokeBidirectional(_ handler: RPCMethodHandler) {
        guard case .bidirectionalStreaming(let body) = handler, let context else { return }
        var callContext = RPCCallContext(
            peer: connection.peer, path: path, deadline: deadline, eventLoop: context.eventLoop, logger: logger)
        callContext.traceparent = traceparent
        self.armTimer(at: deadline)
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
                case .failure(let error): handler.perform(handler.call.handlerFinished(handler.status(for: error)))
                }
            }
        }
    }

    private func streamSend(_ message: ByteBuffer) -> EventLoopFuture<Void> {
        guard let context, !call.isClosed else {
            return (self.context?.eventLoop ?? connection.eventLoop).makeFailedFuture(
                GRPCStatus(.cancelled, "the call is over"))
        }
        let action = call.handlerSends(message)
        guard case .sendMessage(let message, let withHeaders) = action else {
            return context.eventLoop.makeFailedFuture(GRPCStatus(.cancelled, "the call is over"))
        }
        if withHeaders { context.write(self.wrapOutboundOut(Self.responseHeaders), promise: nil) }
        let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: promise)
        return promise.futureResult
    }

    /// A handler's error as the caller sees it: its own status, or INTERNAL with the detail kept in our log only.
    private func status(for error: any Error) -> GRPCStatus {
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
            let status = NIODeadline.now() >= handler.deadline
                ? GRPCStatus(.deadlineExceeded, "deadline exceeded")
                : GRPCStatus(.deadlineExceeded, "request message not received in time")
            handler.perform(handler.call.terminate(status))
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
        if !status.message.isEmpty { headers.add(name: "grpc-message", value: GRPCMessageEncoding.encode(status.message)) }
        return .headers(.init(headers: headers, endStream: true))
    }

    static func trailersOnly(_ status: GRPCStatus, httpStatus: Int) -> HTTP2Frame.FramePayload {
        var headers: HPACKHeaders = [
            ":status": httpStatus == 200 ? "200" : String(httpStatus), "content-type": "application/grpc",
            "grpc-status": status.code.wireString,
        ]
        if !status.message.isEmpty { headers.add(name: "grpc-message", value: GRPCMessageEncoding.encode(status.message)) }
        return .headers(.init(headers: headers, endStream: true))
    }
}
