import NIOCore
import NIOHPACK
import XCTest

@testable import GatewayRPC

/// What the call machine keeps of a bidirectional call, without sockets: the call (path, deadline, traceparent,
/// when it began) in its state from the headers on, the deadline timer asked for when the handler starts (no
/// request-receipt timer: requests stream), a half-close in the headers, and whether the client is still sending
/// when the status goes out (the stream handler then resets the stream).
final class BidirectionalCallStateTests: XCTestCase {
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    private func machine() -> ServerCallStateMachine {
        var services = RPCServices()
        services.register(
            service: "test.Chat", method: "Talk",
            .bidirectionalStreaming { requests, responses, _ in
                for try await message in requests { try await responses.send(message) }
            })
        return ServerCallStateMachine(
            services: services, maxRequestMessageBytes: 16, maxRequestReceiveTime: .seconds(10))
    }

    private func headers(timeout: String? = nil, traceparent: String? = nil) -> HPACKHeaders {
        var h: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": "/test.Chat/Talk", ":authority": "x",
            "content-type": "application/grpc", "te": "trailers",
        ]
        if let timeout { h.add(name: "grpc-timeout", value: timeout) }
        if let traceparent { h.add(name: "traceparent", value: traceparent) }
        return h
    }

    private func framed(_ body: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0))
        b.writeInteger(UInt32(body.utf8.count))
        b.writeString(body)
        return b
    }

    func testTheCallLivesInTheBidirectionalStateFromItsHeaders() {
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        var m = machine()
        guard
            case .invokeBidirectional(_, requestsEnded: false) = m.receiveHeaders(
                headers(timeout: "2S", traceparent: trace), endStream: false, now: start)
        else { return XCTFail("a bidirectional call starts at its headers") }
        XCTAssertEqual(
            m.call,
            .init(path: "/test.Chat/Talk", deadline: start + .seconds(2), traceparent: trace, receivedAt: start))
        XCTAssertNil(m.receiveBy, "requests stream: no request-receipt limit")
        _ = m.receiveData(framed("a"), endStream: false)
        XCTAssertEqual(m.call?.path, "/test.Chat/Talk", "still there while requests arrive")
        _ = m.handlerSends(ByteBuffer(string: "x"))
        XCTAssertEqual(m.call?.deadline, start + .seconds(2), "and while responses go out")
        _ = m.handlerFinished(.ok)
        XCTAssertNil(m.call)
        XCTAssertEqual(m.endedCall?.path, "/test.Chat/Talk", "the closed call is kept for the status metric")
        XCTAssertEqual(m.endedCall?.receivedAt, start)
    }

    func testTheHandlerStartingArmsTheDeadlineTimerAndReadsArmNone() {
        var m = machine()
        _ = m.receiveHeaders(headers(timeout: "3S"), endStream: false, now: start)
        guard case .none = m.readComplete() else { return XCTFail("no request-receipt timer for a stream") }
        guard case .armTimer(let when) = m.handlerStarting(synchronous: false) else {
            return XCTFail("the deadline timer is an action")
        }
        XCTAssertEqual(when, start + .seconds(3))
        guard case .finish(let status, true, 200, true) = m.timerFired(now: start + .seconds(3)) else {
            return XCTFail("the deadline ends the call and cancels the handler")
        }
        XCTAssertEqual(status.code, .deadlineExceeded)
        XCTAssertEqual(status.message, "deadline exceeded")
        XCTAssertTrue(m.peerStillSending, "the client had not half-closed: reset the stream")

        var noDeadline = machine()
        _ = noDeadline.receiveHeaders(headers(), endStream: false, now: start)
        guard case .none = noDeadline.handlerStarting(synchronous: false) else { return XCTFail("no timer") }
    }

    func testHeadersThatHalfCloseStartTheHandlerWithAnEndedRequestStream() {
        var m = machine()
        guard
            case .invokeBidirectional(_, requestsEnded: true) = m.receiveHeaders(
                headers(), endStream: true, now: start)
        else { return XCTFail("a bidirectional call may send no request at all") }
        XCTAssertTrue(m.receiveData(framed("late"), endStream: false).isNone, "nothing after the half-close")
        guard case .finish(let status, trailersOnly: true, _, cancelHandler: false) = m.handlerFinished(.ok) else {
            return XCTFail("Trailers-Only OK")
        }
        XCTAssertEqual(status.code, .ok)
        XCTAssertFalse(m.peerStillSending, "the client had half-closed: no reset")
    }

    func testAnEarlyStatusResetsAClientStillSendingButNotOneThatHalfClosed() {
        var early = machine()
        _ = early.receiveHeaders(headers(), endStream: false, now: start)
        _ = early.receiveData(framed("a"), endStream: false)
        guard case .finish(_, trailersOnly: true, _, cancelHandler: false) = early.handlerFinished(.ok) else {
            return XCTFail()
        }
        XCTAssertTrue(early.peerStillSending, "the handler answered while the client still sends")

        var ended = machine()
        _ = ended.receiveHeaders(headers(), endStream: false, now: start)
        guard case .deliverRequests(let one, end: true) = ended.receiveData(framed("a"), endStream: true) else {
            return XCTFail()
        }
        XCTAssertEqual(one.map { String(buffer: $0) }, ["a"])
        _ = ended.handlerSends(ByteBuffer(string: "x"))
        guard case .finish(_, trailersOnly: false, _, _) = ended.handlerFinished(.ok) else { return XCTFail() }
        XCTAssertFalse(ended.peerStillSending)

        var shutdown = machine()
        _ = shutdown.receiveHeaders(headers(), endStream: false, now: start)
        guard
            case .finish(let status, trailersOnly: true, _, cancelHandler: true) = shutdown.terminate(
                GRPCStatus(.unavailable, "server is shutting down"))
        else { return XCTFail() }
        XCTAssertEqual(status.code, .unavailable)
        XCTAssertTrue(shutdown.peerStillSending)
    }

    func testARequestEndingInsideAMessageIsRefusedAndKeepsTheCallForTheMetric() {
        var m = machine()
        _ = m.receiveHeaders(headers(), endStream: false, now: start)
        var partial = framed("abcd")
        let head = partial.readSlice(length: 6)!
        guard case .finish(let status, _, _, cancelHandler: true) = m.receiveData(head, endStream: true) else {
            return XCTFail("half a message then the half-close")
        }
        XCTAssertEqual(status.message, "request ended inside a message")
        XCTAssertFalse(m.peerStillSending, "the client had half-closed")
        XCTAssertEqual(m.endedCall?.path, "/test.Chat/Talk")
    }

    func testAResetCancelsTheHandlerAndLaterSendsAreRefused() {
        var m = machine()
        _ = m.receiveHeaders(headers(), endStream: false, now: start)
        guard case .cancelHandler = m.streamClosed() else { return XCTFail("a reset cancels the handler") }
        guard case .none = m.handlerSends(ByteBuffer(string: "x")) else { return XCTFail("the send fails") }
        guard case .none = m.handlerFinished(.ok) else { return XCTFail("nothing goes out after a reset") }
        XCTAssertFalse(m.peerStillSending)
    }

    func testARefusedCallIsKeptForTheMetricWithItsPathAsSent() {
        var m = machine()
        var bad = headers(traceparent: "t")
        bad.replaceOrAdd(name: ":path", value: "/test.Chat/Nope")
        guard case .finish(let status, trailersOnly: true, 200, _) = m.receiveHeaders(bad, endStream: true, now: start)
        else { return XCTFail() }
        XCTAssertEqual(status.code, .unimplemented)
        XCTAssertEqual(
            m.endedCall, .init(path: "/test.Chat/Nope", deadline: .distantFuture, traceparent: "t", receivedAt: start))
    }
}
