import NIOHTTP2
import XCTest

@testable import GatewayRPC

/// The connection lifecycle without sockets: draining is two GOAWAYs, and nothing closes before the quiesce PING
/// has shown that every stream the client sent before our first GOAWAY has been counted.
final class ServerConnectionStateMachineTests: XCTestCase {
    private func isQuiesce(_ action: ServerConnectionStateMachine.Action) -> Bool {
        if case .sendQuiesceGoAwayAndPing = action { return true } else { return false }
    }

    func testDrainFirstSendsAQuiesceGoAwayAndNeverClosesAtOnce() {
        var machine = ServerConnectionStateMachine()
        XCTAssertTrue(isQuiesce(machine.drain()), "even an idle connection quiesces first")
        XCTAssertTrue(machine.isDraining)
        guard case .none = machine.drain() else { return XCTFail("a second drain does nothing") }
    }

    func testAStreamReportedLateDuringQuiesceIsNamedInTheFinalGoAway() {
        var machine = ServerConnectionStateMachine()
        _ = machine.streamOpened(HTTP2StreamID(1))
        _ = machine.drain()
        // NIOHTTP2 reports stream 3 only now, after it was already handed to a handler.
        _ = machine.streamOpened(HTTP2StreamID(3))
        guard case .sendGoAway(let last, let closeNow) = machine.quiesced() else { return XCTFail("final GOAWAY") }
        XCTAssertEqual(last, HTTP2StreamID(3), "the late stream is not refused")
        XCTAssertFalse(closeNow, "two calls are still running")
    }

    func testStreamsClosingDuringQuiesceDoNotCloseTheConnection() {
        var machine = ServerConnectionStateMachine()
        _ = machine.streamOpened(HTTP2StreamID(1))
        _ = machine.drain()
        guard case .none = machine.streamClosed() else { return XCTFail("no close before the PING ack") }
        _ = machine.streamOpened(HTTP2StreamID(3))  // crossed our first GOAWAY
        guard case .sendGoAway(let last, false) = machine.quiesced() else { return XCTFail("stream 3 still open") }
        XCTAssertEqual(last, HTTP2StreamID(3))
        guard case .close = machine.streamClosed() else { return XCTFail("the last call closes the connection") }
    }

    func testAQuiescedIdleConnectionClosesWithTheFinalGoAway() {
        var machine = ServerConnectionStateMachine()
        _ = machine.streamOpened(HTTP2StreamID(1))
        _ = machine.streamClosed()
        _ = machine.drain()
        guard case .sendGoAway(let last, true) = machine.quiesced() else { return XCTFail("close now") }
        XCTAssertEqual(last, HTTP2StreamID(1))
        guard case .none = machine.quiesced() else { return XCTFail("a late PING ack does nothing") }
    }
}
