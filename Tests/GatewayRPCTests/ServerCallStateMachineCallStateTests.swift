import NIOCore
import NIOHPACK
import XCTest

@testable import GatewayRPC

/// What the call machine keeps of a call, without sockets: the path and deadline in its states, the timer it asks
/// for (once, at the end of a read, for the earlier of the receive limit and the deadline; the deadline for an
/// asynchronous handler), which status a firing timer means, and whether the client is still sending when the
/// status goes out (the stream handler then resets the stream).
final class ServerCallStateMachineCallStateTests: XCTestCase {
    private let receiveTime: TimeAmount = .seconds(10)
    private let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    private func machine() -> ServerCallStateMachine {
        var services = RPCServices()
        services.register(
            service: "test.Echo", method: "Echo",
            .unary { req, resp, _ in
                var r = req
                resp.writeBuffer(&r)
            })
        services.register(service: "test.Echo", method: "Later", .unaryAsync { req, _ in req })
        return ServerCallStateMachine(
            services: services, maxRequestMessageBytes: 64 * 1024, maxRequestReceiveTime: receiveTime)
    }

    private func request(path: String = "/test.Echo/Echo", timeout: String? = nil) -> HPACKHeaders {
        var h: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, ":authority": "x",
            "content-type": "application/grpc", "te": "trailers",
        ]
        if let timeout { h.add(name: "grpc-timeout", value: timeout) }
        return h
    }

    private func framed(_ body: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0))
        b.writeInteger(UInt32(body.utf8.count))
        b.writeString(body)
        return b
    }

    private func armedAt(
        _ action: ServerCallStateMachine.Action, file: StaticString = #filePath, line: UInt = #line
    )
        -> NIODeadline?
    {
        guard case .armTimer(let when) = action else {
            XCTFail("expected armTimer, got \(action)", file: file, line: line)
            return nil
        }
        return when
    }

    private func finishStatus(_ action: ServerCallStateMachine.Action) -> GRPCStatus? {
        if case .finish(let status, _, _, _) = action { return status } else { return nil }
    }

    func testTheAcceptedCallKeepsItsPathAndDeadline() {
        var m = machine()
        XCTAssertNil(m.call)
        _ = m.receiveHeaders(request(timeout: "250m"), endStream: false, now: start)
        XCTAssertEqual(
            m.call, .init(path: "/test.Echo/Echo", deadline: start + .milliseconds(250), receivedAt: start))
        XCTAssertEqual(m.receiveBy, start + receiveTime)
        _ = m.receiveData(framed("x"), endStream: true)
        XCTAssertEqual(m.call?.path, "/test.Echo/Echo", "the handler still sees the call")
        XCTAssertNil(m.receiveBy, "the request is complete: no receive limit any more")
        _ = m.handlerReturned(ByteBuffer())
        XCTAssertNil(m.call)
    }

    func testWithoutATimeoutTheDeadlineIsTheDistantFuture() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false, now: start)
        XCTAssertEqual(m.call?.deadline, .distantFuture)
        XCTAssertEqual(armedAt(m.readComplete()), start + receiveTime)
    }

    func testAnIncompleteRequestArmsOneTimerForTheEarlierOfReceiveLimitAndDeadline() {
        var m = machine()
        _ = m.receiveHeaders(request(timeout: "2S"), endStream: false, now: start)
        XCTAssertEqual(armedAt(m.readComplete()), start + .seconds(2), "the deadline comes first")
        guard case .none = m.readComplete() else { return XCTFail("armed once, not per read") }
        _ = m.receiveData(framed("x"), endStream: false)
        guard case .none = m.readComplete() else { return XCTFail("still armed") }

        var late = machine()
        _ = late.receiveHeaders(request(timeout: "1M"), endStream: false, now: start)
        XCTAssertEqual(armedAt(late.readComplete()), start + receiveTime, "the receive limit comes first")
    }

    func testACompleteRequestInTheFirstReadArmsNoTimer() {
        var m = machine()
        _ = m.receiveHeaders(request(timeout: "1S"), endStream: false, now: start)
        guard case .invoke = m.receiveData(framed("x"), endStream: true) else { return XCTFail() }
        guard case .none = m.readComplete() else { return XCTFail("no timer once the request is complete") }
        guard case .none = m.handlerStarting(synchronous: true, now: start) else { return XCTFail("in time") }
    }

    func testTheFiringTimerSaysWhichLimitPassed() {
        var slow = machine()
        _ = slow.receiveHeaders(request(timeout: "1M"), endStream: false, now: start)
        _ = slow.readComplete()
        let receive = finishStatus(slow.timerFired(now: start + receiveTime))
        XCTAssertEqual(receive?.code, .deadlineExceeded)
        XCTAssertEqual(receive?.message, "request message not received in time")
        XCTAssertTrue(slow.peerStillSending, "the client had not finished its request: reset the stream")

        var late = machine()
        _ = late.receiveHeaders(request(timeout: "2S"), endStream: false, now: start)
        _ = late.readComplete()
        XCTAssertEqual(finishStatus(late.timerFired(now: start + .seconds(2)))?.message, "deadline exceeded")
        guard case .none = late.timerFired(now: start + .seconds(3)) else { return XCTFail("over already") }
    }

    func testASynchronousHandlerPastItsDeadlineIsNotRun() {
        var m = machine()
        _ = m.receiveHeaders(request(timeout: "100m"), endStream: false, now: start)
        _ = m.receiveData(framed("x"), endStream: true)
        guard case .finish(let status, true, 200, _) = m.handlerStarting(synchronous: true, now: start + .seconds(1))
        else { return XCTFail("deadline already past") }
        XCTAssertEqual(status.code, .deadlineExceeded)
        XCTAssertFalse(m.peerStillSending, "the client had half-closed: no reset")
        guard case .none = m.handlerReturned(ByteBuffer()) else { return XCTFail("closed") }
    }

    func testAnAsynchronousHandlerGetsTheDeadlineTimer() {
        var m = machine()
        _ = m.receiveHeaders(request(path: "/test.Echo/Later", timeout: "3S"), endStream: false, now: start)
        _ = m.receiveData(framed("x"), endStream: true)
        XCTAssertEqual(armedAt(m.handlerStarting(synchronous: false)), start + .seconds(3))
        guard case .finish(_, true, 200, true) = m.timerFired(now: start + .seconds(3)) else {
            return XCTFail("the deadline cancels the handler")
        }

        var noDeadline = machine()
        _ = noDeadline.receiveHeaders(request(path: "/test.Echo/Later"), endStream: false, now: start)
        _ = noDeadline.receiveData(framed("x"), endStream: true)
        guard case .none = noDeadline.handlerStarting(synchronous: false) else { return XCTFail("no timer") }
    }

    func testARefusalBeforeTheClientHalfClosedResetsTheStream() {
        var early = machine()
        _ = early.receiveHeaders(request(path: "/test.Echo/Nope"), endStream: false, now: start)
        XCTAssertTrue(early.isClosed)
        XCTAssertTrue(early.peerStillSending)

        var ended = machine()
        _ = ended.receiveHeaders(request(path: "/test.Echo/Nope"), endStream: true, now: start)
        XCTAssertFalse(ended.peerStillSending, "the refused HEADERS ended the client's side")

        var oversized = machine()
        _ = oversized.receiveHeaders(request(), endStream: false, now: start)
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(64 * 1024 + 1))
        _ = oversized.receiveData(prefix, endStream: false)
        XCTAssertTrue(oversized.peerStillSending, "an oversized message still on its way is cut off")

        var answered = machine()
        _ = answered.receiveHeaders(request(), endStream: false, now: start)
        _ = answered.receiveData(framed("x"), endStream: true)
        guard case .sendResponse = answered.handlerReturned(ByteBuffer()) else { return XCTFail() }
        XCTAssertFalse(answered.peerStillSending)
    }

    func testStreamingSendsGoThroughTheMachine() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false, now: start)
        _ = m.receiveData(framed("x"), endStream: true)
        guard case .sendMessage(_, true) = m.handlerSends(ByteBuffer(string: "a")) else { return XCTFail() }
        _ = m.streamClosed()
        guard case .none = m.handlerSends(ByteBuffer(string: "b")) else {
            return XCTFail("a send after the stream closed is refused (the handler's send fails)")
        }
    }
}
