import NIOCore
import NIOHPACK
import XCTest

@testable import GatewayRPC

final class ServerCallStateMachineTests: XCTestCase {
    private var services: RPCServices {
        var s = RPCServices()
        s.register(
            service: "test.Echo", method: "Echo",
            .unary { req, resp, _ in
                var r = req; resp.writeBuffer(&r)
            })
        return s
    }

    private func machine() -> ServerCallStateMachine {
        ServerCallStateMachine(services: services, maxRequestMessageBytes: 64 * 1024)
    }

    private func request(
        path: String = "/test.Echo/Echo", method: String = "POST", contentType: String = "application/grpc",
        te: String? = "trailers", extra: [(String, String)] = []
    ) -> HPACKHeaders {
        var h: HPACKHeaders = [
            ":method": method, ":scheme": "http", ":path": path, ":authority": "x",
            "content-type": contentType,
        ]
        if let te { h.add(name: "te", value: te) }
        for (n, v) in extra { h.add(name: n, value: v) }
        return h
    }

    private func framed(_ body: String, flag: UInt8 = 0) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(flag)
        b.writeInteger(UInt32(body.utf8.count))
        b.writeString(body)
        return b
    }

    private func assertFinish(
        _ action: ServerCallStateMachine.Action, _ code: GRPCStatus.Code, httpStatus: Int = 200,
        trailersOnly: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard case .finish(let status, let only, let http, _) = action else {
            return XCTFail("expected finish(\(code)), got \(action)", file: file, line: line)
        }
        XCTAssertEqual(status.code, code, status.message, file: file, line: line)
        XCTAssertEqual(only, trailersOnly, file: file, line: line)
        XCTAssertEqual(http, httpStatus, file: file, line: line)
    }

    func testValidRequestIsInvokedWithExactlyOneMessageAtEndOfStream() {
        var m = machine()
        guard case .awaitRequest(nil) = m.receiveHeaders(request(), endStream: false) else { return XCTFail() }
        guard case .none = m.receiveData(framed("hi"), endStream: false) else { return XCTFail() }
        guard case .invoke(_, let req) = m.receiveData(ByteBuffer(), endStream: true) else { return XCTFail() }
        XCTAssertEqual(String(buffer: req), "hi")
        guard case .sendResponse = m.handlerReturned(ByteBuffer(string: "ok")) else { return XCTFail() }
        XCTAssertTrue(m.isClosed)
    }

    func testMethodOtherThanPostIsHTTP405() {
        var m = machine()
        assertFinish(m.receiveHeaders(request(method: "GET"), endStream: true), .internal, httpStatus: 405)
    }

    func testNonGRPCContentTypeIsHTTP415() {
        var m = machine()
        assertFinish(
            m.receiveHeaders(request(contentType: "application/json"), endStream: false), .internal,
            httpStatus: 415)
    }

    func testGRPCProtoContentTypeAndParametersAreAccepted() {
        for ct in ["application/grpc+proto", "application/grpc; charset=utf-8", "application/grpc+proto;x=y"] {
            var m = machine()
            guard case .awaitRequest = m.receiveHeaders(request(contentType: ct), endStream: false) else {
                return XCTFail(ct)
            }
        }
    }

    func testUnknownMethodIsUnimplemented() {
        var m = machine()
        assertFinish(m.receiveHeaders(request(path: "/test.Echo/Nope"), endStream: false), .unimplemented)
        var m2 = machine()
        assertFinish(m2.receiveHeaders(request(path: "garbage"), endStream: false), .unimplemented)
    }

    func testMissingTETrailersIsRefused() {
        var m = machine()
        assertFinish(m.receiveHeaders(request(te: nil), endStream: false), .internal)
    }

    func testGRPCEncodingOtherThanIdentityIsUnimplemented() {
        var m = machine()
        assertFinish(m.receiveHeaders(request(extra: [("grpc-encoding", "gzip")]), endStream: false), .unimplemented)
        var m2 = machine()
        guard case .awaitRequest = m2.receiveHeaders(request(extra: [("grpc-encoding", "identity")]), endStream: false)
        else { return XCTFail() }
    }

    func testGRPCTimeoutIsParsedAndMalformedOnesAreRefused() {
        var m = machine()
        guard case .awaitRequest(let t) = m.receiveHeaders(request(extra: [("grpc-timeout", "250m")]), endStream: false)
        else { return XCTFail() }
        XCTAssertEqual(t, .milliseconds(250))
        var m2 = machine()
        assertFinish(m2.receiveHeaders(request(extra: [("grpc-timeout", "12x")]), endStream: false), .internal)
    }

    func testCompressedFlagWithoutEncodingIsInternal() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        assertFinish(m.receiveData(framed("x", flag: 1), endStream: true), .internal)
    }

    func testMessageOverLimitIsResourceExhaustedFromItsPrefixAlone() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(64 * 1024 + 1))
        assertFinish(m.receiveData(prefix, endStream: false), .resourceExhausted)
    }

    func testMessageOfExactlyTheLimitIsAccepted() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        guard
            case .invoke(_, let req) = m.receiveData(framed(String(repeating: "a", count: 64 * 1024)), endStream: true)
        else { return XCTFail() }
        XCTAssertEqual(req.readableBytes, 64 * 1024)
    }

    func testSecondMessageOnUnaryCallIsInternal() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        var two = framed("a")
        var b = framed("b")
        two.writeBuffer(&b)
        assertFinish(m.receiveData(two, endStream: true), .internal)
    }

    func testNoMessageBeforeEndOfStreamIsInternal() {
        var m = machine()
        assertFinish(m.receiveHeaders(request(), endStream: true), .internal)
        var m2 = machine()
        _ = m2.receiveHeaders(request(), endStream: false)
        assertFinish(m2.receiveData(ByteBuffer(), endStream: true), .internal)
    }

    func testTruncatedMessageAtEndOfStreamIsInternal() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        var f = framed("abcdef")
        f.moveWriterIndex(to: f.writerIndex - 2)
        assertFinish(m.receiveData(f, endStream: true), .internal)
    }

    func testDeadlineWhileHandlerRunsCancelsItAndAnswersDeadlineExceeded() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        _ = m.receiveData(framed("x"), endStream: true)
        guard case .finish(let s, true, 200, true) = m.terminate(GRPCStatus(.deadlineExceeded)) else {
            return XCTFail()
        }
        XCTAssertEqual(s.code, .deadlineExceeded)
        // The handler's late answer is dropped.
        guard case .none = m.handlerReturned(ByteBuffer()) else { return XCTFail() }
    }

    func testStreamingSendsHeadersOnceThenTrailersNotTrailersOnly() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        _ = m.receiveData(framed("x"), endStream: true)
        guard case .sendMessage(_, true) = m.handlerSends(ByteBuffer()) else { return XCTFail() }
        guard case .sendMessage(_, false) = m.handlerSends(ByteBuffer()) else { return XCTFail() }
        assertFinish(m.handlerFinished(.ok), .ok, trailersOnly: false)
    }

    func testHandlerErrorBeforeAnyResponseIsTrailersOnly() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        _ = m.receiveData(framed("x"), endStream: true)
        assertFinish(m.handlerFinished(GRPCStatus(.notFound, "no")), .notFound, trailersOnly: true)
    }

    func testClientResetWhileHandlerRunsCancelsIt() {
        var m = machine()
        _ = m.receiveHeaders(request(), endStream: false)
        _ = m.receiveData(framed("x"), endStream: true)
        guard case .cancelHandler = m.streamClosed() else { return XCTFail() }
        XCTAssertTrue(m.isClosed)
    }
}
