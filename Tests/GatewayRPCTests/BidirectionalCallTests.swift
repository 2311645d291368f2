import NIOCore
import NIOHPACK
import XCTest

@testable import GatewayRPC

/// Bidirectional-streaming calls (reflection): the handler starts at the headers, request messages reach it as
/// they arrive, responses stream, and the usual limits still end the call.
final class BidirectionalCallTests: XCTestCase {
    private func machine() -> ServerCallStateMachine {
        var services = RPCServices()
        services.register(
            service: "test.Chat", method: "Talk",
            .bidirectionalStreaming { requests, responses, _ in
                for try await message in requests { try await responses.send(message) }
            })
        return ServerCallStateMachine(services: services, maxRequestMessageBytes: 16)
    }

    private let headers: HPACKHeaders = [
        ":method": "POST", ":scheme": "http", ":path": "/test.Chat/Talk", ":authority": "x",
        "content-type": "application/grpc", "te": "trailers", "grpc-timeout": "5S",
    ]

    private func framed(_ bodies: String...) -> ByteBuffer {
        var buffer = ByteBuffer()
        for body in bodies {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(body.utf8.count))
            buffer.writeString(body)
        }
        return buffer
    }

    func testHandlerStartsAtTheHeadersAndGetsEachMessageAsItArrives() {
        var m = machine()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        guard
            case .invokeBidirectional(_, requestsEnded: false) = m.receiveHeaders(
                headers, endStream: false, now: start)
        else {
            return XCTFail("a bidirectional call starts at its headers")
        }
        XCTAssertEqual(m.call?.deadline, start + .seconds(5))
        guard case .deliverRequests(let two, end: false) = m.receiveData(framed("a", "b"), endStream: false) else {
            return XCTFail("two messages delivered")
        }
        XCTAssertEqual(two.map { String(buffer: $0) }, ["a", "b"])
        var partial = framed("cd")
        let half = partial.readSlice(length: 3)!
        XCTAssertEqual(m.receiveData(half, endStream: false).isNone, true, "half a message waits")
        guard case .deliverRequests(let last, end: true) = m.receiveData(partial, endStream: true) else {
            return XCTFail("the rest and the half-close")
        }
        XCTAssertEqual(last.map { String(buffer: $0) }, ["cd"])
        guard case .sendMessage(_, withHeaders: true) = m.handlerSends(ByteBuffer(string: "x")) else {
            return XCTFail("first response carries the headers")
        }
        guard case .sendMessage(_, withHeaders: false) = m.handlerSends(ByteBuffer(string: "y")) else {
            return XCTFail("later responses do not")
        }
        guard case .finish(let status, trailersOnly: false, _, _) = m.handlerFinished(.ok) else {
            return XCTFail("OK trailers after the responses")
        }
        XCTAssertEqual(status.code, .ok)
        XCTAssertTrue(m.isClosed)
    }

    func testAnOversizedRequestMessageEndsTheCallAndCancelsTheHandler() {
        var m = machine()
        _ = m.receiveHeaders(headers, endStream: false)
        guard
            case .finish(let status, _, _, cancelHandler: true) = m.receiveData(
                framed("this message is longer than sixteen bytes"), endStream: false)
        else { return XCTFail("refused") }
        XCTAssertEqual(status.code, .resourceExhausted)
    }

    func testTheDeadlineAndAResetEndARunningCall() {
        var m = machine()
        _ = m.receiveHeaders(headers, endStream: false)
        guard
            case .finish(let status, trailersOnly: true, _, cancelHandler: true) = m.terminate(
                GRPCStatus(.deadlineExceeded, "deadline exceeded"))
        else { return XCTFail("deadline ends it") }
        XCTAssertEqual(status.code, .deadlineExceeded)

        var reset = machine()
        _ = reset.receiveHeaders(headers, endStream: false)
        guard case .cancelHandler = reset.streamClosed() else { return XCTFail("a reset cancels the handler") }
    }

    func testMessagesAfterTheHalfCloseAreIgnored() {
        var m = machine()
        _ = m.receiveHeaders(headers, endStream: false)
        _ = m.receiveData(framed("a"), endStream: true)
        XCTAssertTrue(m.receiveData(framed("late"), endStream: false).isNone)
    }
}

extension ServerCallStateMachine.Action {
    var isNone: Bool { if case .none = self { return true } else { return false } }
}
