import NIOCore
import NIOHPACK

/// The life of one gRPC call on the server, from request HEADERS to trailers, as a value.
///
/// It knows nothing of channels or frames: it is fed what arrived (headers, bytes, end of stream, the handler's
/// outcome, the deadline) and answers with the one thing the stream handler must do next. So it runs the same in
/// an HTTP/2 child channel or anywhere else, and is tested without sockets.
///
/// Failures, said apart: a peer's violation (bad headers, oversized or extra messages) becomes a status the peer
/// sees; our own bug (an event in a state where it cannot happen) is an `assertionFailure` and closes the call.
struct ServerCallStateMachine {
    private enum State {
        /// Nothing received yet.
        case awaitingRequestHeaders
        /// Headers accepted; gathering the single request message until the client half-closes.
        case receivingRequest(handler: RPCMethodHandler, deframer: GRPCMessageDeframer, message: ByteBuffer?)
        /// The handler runs; `responseHeadersSent` is true once a streaming handler sent its first message.
        case handling(responseHeadersSent: Bool)
        /// A bidirectional-streaming handler runs while request messages still arrive; `requestsEnded` once the
        /// client half-closed.
        case bidirectional(deframer: GRPCMessageDeframer, responseHeadersSent: Bool, requestsEnded: Bool)
        /// Status sent (or the stream went away): everything else is ignored.
        case closed
    }

    /// What the stream handler does next.
    enum Action {
        /// Nothing to do yet (more bytes needed, or the call is already over).
        case none
        /// Headers accepted: arm the deadline timer (if any) and wait for the request message.
        case awaitRequest(timeout: TimeAmount?)
        /// The request is complete: run the handler with it.
        case invoke(RPCMethodHandler, request: ByteBuffer)
        /// A bidirectional call's headers are accepted: arm the deadline timer and start the handler now; request
        /// messages follow as `deliverRequests`.
        case invokeBidirectional(RPCMethodHandler, timeout: TimeAmount?)
        /// Request messages of a bidirectional call, in order; `end`: the client half-closed after them.
        case deliverRequests([ByteBuffer], end: Bool)
        /// Send a streaming response message, preceded by the response headers when `withHeaders`.
        case sendMessage(ByteBuffer, withHeaders: Bool)
        /// Send the one response message with headers and OK trailers; the call is over.
        case sendResponse(ByteBuffer)
        /// End the call with `status`: as Trailers-Only (one HEADERS frame, with `httpStatus`) when no response
        /// headers went out yet, else as trailers. `cancelHandler`: a running handler must be cancelled.
        case finish(GRPCStatus, trailersOnly: Bool, httpStatus: Int, cancelHandler: Bool)
        /// The stream is gone: cancel a running handler, send nothing.
        case cancelHandler
    }

    private var state: State = .awaitingRequestHeaders
    private let services: RPCServices
    /// The largest request message accepted (SPEC §1: 64 KiB).
    private let maxRequestMessageBytes: Int

    init(services: RPCServices, maxRequestMessageBytes: Int) {
        self.services = services
        self.maxRequestMessageBytes = maxRequestMessageBytes
    }

    var isClosed: Bool { if case .closed = state { return true } else { return false } }

    /// Request HEADERS (or trailers from the client, which only end the request).
    mutating func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool) -> Action {
        switch state {
        case .awaitingRequestHeaders:
            return self.acceptRequestHeaders(headers, endStream: endStream)
        case .receivingRequest, .bidirectional:
            // Client trailers: gRPC clients send none, but a half-close by trailers is legal HTTP/2.
            return endStream ? self.receiveData(ByteBuffer(), endStream: true) : .none
        case .handling, .closed:
            return .none
        }
    }

    private mutating func acceptRequestHeaders(_ headers: HPACKHeaders, endStream: Bool) -> Action {
        var method: Substring?
        var path: String?
        var contentType: Substring?
        var te: Substring?
        var encoding: Substring?
        var timeout: String?
        for (name, value, _) in headers {
            switch name {
            case ":method": method = Substring(value)
            case ":path": path = value
            case "content-type": contentType = Substring(value)
            case "te": te = Substring(value)
            case "grpc-encoding": encoding = Substring(value)
            case "grpc-timeout": timeout = value
            default: continue
            }
        }
        guard method == "POST" else {
            return self.reject(GRPCStatus(.internal, "gRPC requires :method POST"), httpStatus: 405)
        }
        guard let contentType, Self.isGRPCContentType(contentType) else {
            return self.reject(
                GRPCStatus(.internal, "content-type must be application/grpc or application/grpc+proto"),
                httpStatus: 415)
        }
        guard let path, let handler = services.handler(forPath: path) else {
            return self.reject(GRPCStatus(.unimplemented, "unknown method \(path ?? "(no :path)")"), httpStatus: 200)
        }
        guard te == "trailers" else {
            return self.reject(GRPCStatus(.internal, "gRPC requires the header te: trailers"), httpStatus: 200)
        }
        if let encoding, encoding != "identity" {
            return self.reject(
                GRPCStatus(.unimplemented, "grpc-encoding \(encoding) is not supported; use identity"),
                httpStatus: 200)
        }
        var timeoutAmount: TimeAmount?
        if let timeout {
            guard let parsed = GRPCTimeout.parse(timeout) else {
                return self.reject(GRPCStatus(.internal, "malformed grpc-timeout"), httpStatus: 200)
            }
            timeoutAmount = parsed
        }
        if case .bidirectionalStreaming = handler {
            state = .bidirectional(
                deframer: GRPCMessageDeframer(maxMessageBytes: maxRequestMessageBytes), responseHeadersSent: false,
                requestsEnded: endStream)
            return .invokeBidirectional(handler, timeout: timeoutAmount)
        }
        if endStream {
            return self.reject(GRPCStatus(.internal, "unary call ended without a request message"), httpStatus: 200)
        }
        state = .receivingRequest(
            handler: handler, deframer: GRPCMessageDeframer(maxMessageBytes: maxRequestMessageBytes), message: nil)
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
        if case .bidirectional(var deframer, let headersSent, let ended) = state {
            guard !ended else { return .none }
            state = .closed  // while we mutate the deframer (no CoW copy of its buffer)
            deframer.append(bytes)
            var messages: [ByteBuffer] = []
            while true {
                let next: ByteBuffer?
                do {
                    next = try deframer.nextMessage()
                } catch {
                    state = .bidirectional(deframer: deframer, responseHeadersSent: headersSent, requestsEnded: true)
                    return self.terminate(Self.status(for: error))
                }
                guard let next else { break }
                messages.append(next)
            }
            if endStream && deframer.bufferedBytes != 0 {
                state = .bidirectional(deframer: deframer, responseHeadersSent: headersSent, requestsEnded: true)
                return self.terminate(GRPCStatus(.internal, "request ended inside a message"))
            }
            state = .bidirectional(deframer: deframer, responseHeadersSent: headersSent, requestsEnded: endStream)
            return messages.isEmpty && !endStream ? .none : .deliverRequests(messages, end: endStream)
        }
        guard case .receivingRequest(let handler, var deframer, var message) = state else {
            // Bytes after the request ended or after the status: the stream handler has already answered.
            return .none
        }
        state = .closed  // while we mutate the deframer (no CoW copy of its buffer)
        deframer.append(bytes)
        while true {
            let next: ByteBuffer?
            do {
                next = try deframer.nextMessage()
            } catch {
                return self.reject(Self.status(for: error), httpStatus: 200)
            }
            guard let next else { break }
            if message != nil {
                return self.reject(GRPCStatus(.internal, "unary call got more than one request message"), httpStatus: 200)
            }
            message = next
        }
        guard endStream else {
            state = .receivingRequest(handler: handler, deframer: deframer, message: message)
            return .none
        }
        guard deframer.bufferedBytes == 0 else {
            return self.reject(GRPCStatus(.internal, "request ended inside a message"), httpStatus: 200)
        }
        guard let message else {
            return self.reject(GRPCStatus(.internal, "unary call ended without a request message"), httpStatus: 200)
        }
        state = .handling(responseHeadersSent: false)
        return .invoke(handler, request: message)
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

    private mutating func reject(_ status: GRPCStatus, httpStatus: Int) -> Action {
        state = .closed
        return .finish(status, trailersOnly: true, httpStatus: httpStatus, cancelHandler: false)
    }

    /// A unary handler returned its response.
    mutating func handlerReturned(_ response: ByteBuffer) -> Action {
        switch state {
        case .handling(responseHeadersSent: false):
            state = .closed
            return .sendResponse(response)
        case .handling(responseHeadersSent: true):
            assertionFailure("a unary handler cannot have streamed")
            state = .closed
            return .finish(GRPCStatus(.internal, "internal error"), trailersOnly: false, httpStatus: 200, cancelHandler: false)
        case .closed:
            return .none  // deadline or reset got there first; the answer is dropped on purpose
        case .awaitingRequestHeaders, .receivingRequest, .bidirectional:
            assertionFailure("handler finished before it was invoked")
            state = .closed
            return .finish(GRPCStatus(.internal, "internal error"), trailersOnly: true, httpStatus: 200, cancelHandler: false)
        }
    }

    /// A streaming handler sends a message.
    mutating func handlerSends(_ message: ByteBuffer) -> Action {
        switch state {
        case .handling(let headersSent):
            state = .handling(responseHeadersSent: true)
            return .sendMessage(message, withHeaders: !headersSent)
        case .bidirectional(let deframer, let headersSent, let ended):
            state = .bidirectional(deframer: deframer, responseHeadersSent: true, requestsEnded: ended)
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
        case .handling(let headersSent), .bidirectional(_, let headersSent, _):
            state = .closed
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: false)
        case .closed:
            return .none
        case .awaitingRequestHeaders, .receivingRequest:
            assertionFailure("handler finished before it was invoked")
            state = .closed
            return .none
        }
    }

    /// The caller's deadline passed, or a server-side limit (request receive time, shutdown) ends the call.
    mutating func terminate(_ status: GRPCStatus) -> Action {
        switch state {
        case .awaitingRequestHeaders, .receivingRequest:
            state = .closed
            return .finish(status, trailersOnly: true, httpStatus: 200, cancelHandler: false)
        case .handling(let headersSent), .bidirectional(_, let headersSent, _):
            state = .closed
            return .finish(status, trailersOnly: !headersSent, httpStatus: 200, cancelHandler: true)
        case .closed:
            return .none
        }
    }

    /// The stream closed under us (client RST_STREAM, connection gone).
    mutating func streamClosed() -> Action {
        switch state {
        case .handling, .bidirectional:
            state = .closed
            return .cancelHandler
        case .awaitingRequestHeaders, .receivingRequest, .closed:
            state = .closed
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
