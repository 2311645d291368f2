import XCTest

@testable import GatewayTLS

final class TLSConnectionStateMachineTests: XCTestCase {
    private func active() -> TLSConnectionStateMachine {
        var machine = TLSConnectionStateMachine()
        XCTAssertEqual(machine.channelActive(), .startHandshake)
        XCTAssertEqual(machine.handshakeCompleted(), .announceThenDeliverThenFlush)
        return machine
    }

    func testHandshakeStartsOnceWhenTheChannelBecomesActive() {
        var machine = TLSConnectionStateMachine()
        XCTAssertEqual(machine.channelActive(), .startHandshake)
        XCTAssertEqual(machine.channelActive(), .none)
        XCTAssertTrue(machine.isHandshaking)
    }

    func testWritesAreBufferedUntilTheHandshakeCompletes() {
        var machine = TLSConnectionStateMachine()
        XCTAssertEqual(machine.write(), .buffer)
        _ = machine.channelActive()
        XCTAssertEqual(machine.write(), .buffer)
        XCTAssertEqual(machine.handshakeCompleted(), .announceThenDeliverThenFlush)
        XCTAssertEqual(machine.write(), .encrypt)
    }

    func testNoDataIsDeliveredBeforeTheHandshakeCompletes() {
        var machine = TLSConnectionStateMachine()
        XCTAssertFalse(machine.mayDeliverData)
        _ = machine.channelActive()
        XCTAssertFalse(machine.mayDeliverData)
        _ = machine.handshakeCompleted()
        XCTAssertTrue(machine.mayDeliverData)
    }

    func testCloseOnAnActiveSessionSendsCloseNotifyAndWaitsForThePeer() {
        var machine = active()
        XCTAssertEqual(machine.closeRequested(), .sendCloseNotifyAndWait)
        XCTAssertEqual(machine.write(), .fail)
        XCTAssertEqual(machine.closeRequested(), .alreadyClosing)
        XCTAssertEqual(machine.closeNotifyReceived(), .closeNow)
        XCTAssertTrue(machine.isClosed)
    }

    func testShutdownTimerClosesWhenThePeerNeverAnswersCloseNotify() {
        var machine = active()
        _ = machine.closeRequested()
        XCTAssertEqual(machine.shutdownTimedOut(), .closeNow)
        XCTAssertEqual(machine.shutdownTimedOut(), .none)
    }

    func testPeerCloseNotifyIsAnsweredAndTheConnectionClosed() {
        var machine = active()
        XCTAssertEqual(machine.closeNotifyReceived(), .replyAndClose)
        XCTAssertEqual(machine.channelInactive(), .none, "EOF after close_notify is clean")
    }

    func testEOFWithoutCloseNotifyIsAnUncleanShutdown() {
        var machine = active()
        XCTAssertEqual(machine.channelInactive(), .reportUncleanShutdown)
        XCTAssertEqual(machine.channelInactive(), .none, "reported once")
    }

    func testEOFDuringTheHandshakeFailsTheHandshake() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.channelInactive(), .reportHandshakeEOF)
    }

    func testHandshakeTimeoutOnlyMattersWhileHandshaking() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.handshakeTimedOut(), .reportAndClose)
        XCTAssertTrue(machine.isClosed)
        var completed = active()
        XCTAssertEqual(completed.handshakeTimedOut(), .none)
        XCTAssertTrue(completed.isActive)
    }

    func testAFatalErrorIsReportedOnceAndFailsLaterWrites() {
        var machine = active()
        XCTAssertEqual(machine.failed(), .reportAndClose)
        XCTAssertEqual(machine.failed(), .none)
        XCTAssertEqual(machine.write(), .fail)
        XCTAssertEqual(machine.handshakeCompleted(), .none)
    }

    func testCloseBeforeTheHandshakeClosesAtOnce() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.closeRequested(), .closeNow)
        XCTAssertEqual(machine.channelInactive(), .none, "our own close is not a handshake failure")
    }
}
