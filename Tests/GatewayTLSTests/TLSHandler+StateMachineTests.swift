import NIOCore
import NIOEmbedded
import XCTest

@testable import GatewayTLS

final class TLSConnectionStateMachineTests: XCTestCase {
    private let loop = EmbeddedEventLoop()
    private typealias Machine = TLSConnectionStateMachine
    /// Every promise a test made: completed at teardown, so one a test hands to the machine never leaks.
    private var promises: [EventLoopPromise<Void>] = []

    override func tearDown() {
        for promise in promises { promise.succeed(()) }  // a second completion is ignored
        promises = []
        super.tearDown()
    }

    private func makePromise() -> EventLoopPromise<Void> {
        let promise = loop.makePromise(of: Void.self)
        promises.append(promise)
        return promise
    }

    private func bytes(_ count: Int) -> ByteBuffer {
        ByteBuffer(repeating: 0x61, count: count)
    }

    /// Queues `count` bytes and returns the write's promise.
    @discardableResult
    private func write(_ count: Int, to machine: inout Machine) -> EventLoopPromise<Void> {
        let promise = makePromise()
        XCTAssertEqual(machine.write(bytes(count), promise: promise), .queued)
        return promise
    }

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
        write(1, to: &machine)
        XCTAssertEqual(machine.flush(), .none)
        _ = machine.channelActive()
        write(2, to: &machine)
        XCTAssertEqual(machine.flush(), .none)
        XCTAssertNil(machine.nextFlushedWrite(), "nothing is encrypted before the handshake")
        XCTAssertEqual(machine.pendingWrites.count, 2)
        XCTAssertEqual(machine.handshakeCompleted(), .announceThenDeliverThenFlush)
        write(3, to: &machine)
        XCTAssertEqual(machine.flush(), .encrypt)
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
        XCTAssertEqual(machine.closeRequested(promise: nil), .sendCloseNotifyAndWait(failing: .none))
        XCTAssertEqual(machine.write(bytes(1), promise: nil), .failClosed(nil))
        XCTAssertEqual(machine.closeRequested(promise: nil), .forwardClose)
        XCTAssertEqual(machine.closeNotifyReceived(), .closeNow(closePromise: nil))
        XCTAssertTrue(machine.isClosed)
    }

    func testShutdownTimerClosesWhenThePeerNeverAnswersCloseNotify() {
        var machine = active()
        let closePromise = makePromise()
        _ = machine.closeRequested(promise: closePromise)
        XCTAssertEqual(machine.shutdownTimedOut(), .closeNow(closePromise: closePromise))
        XCTAssertEqual(machine.shutdownTimedOut(), .none)
        closePromise.succeed(())
    }

    func testPeerCloseNotifyIsAnsweredAndTheConnectionClosed() {
        var machine = active()
        XCTAssertEqual(machine.closeNotifyReceived(), .replyAndClose(failing: .none))
        XCTAssertEqual(machine.channelInactive().report, .none, "EOF after close_notify is clean")
    }

    func testEOFWithoutCloseNotifyIsAnUncleanShutdown() {
        var machine = active()
        XCTAssertEqual(machine.channelInactive().report, .reportUncleanShutdown)
        XCTAssertEqual(machine.channelInactive().report, .none, "reported once")
    }

    func testEOFDuringTheHandshakeFailsTheHandshake() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.channelInactive().report, .reportHandshakeEOF)
    }

    func testHandshakeTimeoutOnlyMattersWhileHandshaking() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.handshakeTimedOut(), .reportAndClose(failing: .none, closePromise: nil))
        XCTAssertTrue(machine.isClosed)
        var completed = active()
        XCTAssertEqual(completed.handshakeTimedOut(), .none)
        XCTAssertTrue(completed.isActive)
    }

    func testAFatalErrorIsReportedOnceAndFailsLaterWrites() {
        var machine = active()
        XCTAssertEqual(machine.failed(), .reportAndClose(failing: .none, closePromise: nil))
        XCTAssertEqual(machine.failed(), .none)
        XCTAssertEqual(machine.write(bytes(1), promise: nil), .failClosed(nil))
        XCTAssertEqual(machine.handshakeCompleted(), .none)
    }

    func testCloseBeforeTheHandshakeClosesAtOnce() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        XCTAssertEqual(machine.closeRequested(promise: nil), .closeNow(failing: .none))
        XCTAssertEqual(machine.channelInactive().report, .none, "our own close is not a handshake failure")
    }

    // MARK: The state the machine holds: pending writes and the close promise

    func testAFlushDuringTheHandshakeIsHonouredAtCompletionInOrder() {
        var machine = TLSConnectionStateMachine()
        _ = machine.channelActive()
        let first = write(1, to: &machine)
        let second = write(2, to: &machine)
        _ = machine.flush()
        write(3, to: &machine)  // not flushed
        XCTAssertFalse(machine.hasFlushedWritesToEncrypt)
        _ = machine.handshakeCompleted()
        XCTAssertTrue(machine.hasFlushedWritesToEncrypt)
        XCTAssertEqual(machine.nextFlushedWrite()?.promise, first)
        XCTAssertEqual(machine.nextFlushedWrite()?.promise, second)
        XCTAssertNil(machine.nextFlushedWrite(), "the unflushed write waits for its own flush")
        XCTAssertFalse(machine.hasFlushedWritesToEncrypt)
        XCTAssertEqual(machine.pendingWrites.count, 1)
        XCTAssertEqual(machine.pendingWrites.bytes, 3)
        XCTAssertEqual(machine.flush(), .encrypt)
        XCTAssertEqual(machine.nextFlushedWrite()?.data.readableBytes, 3)
        XCTAssertEqual(machine.pendingWrites.bytes, 0)
        for promise in [first, second] { promise.succeed(()) }
    }

    func testWritesBeforeTheHandshakeAreBoundedAndTheLimitLiftsOnceActive() {
        var machine = TLSConnectionStateMachine(maxBytesBufferedBeforeHandshake: 10)
        write(6, to: &machine)
        write(4, to: &machine)
        let refused = makePromise()
        XCTAssertEqual(machine.write(bytes(1), promise: refused), .failTooMuchBeforeHandshake(refused))
        refused.succeed(())
        XCTAssertEqual(machine.pendingWrites.bytes, 10, "a refused write is not queued")
        _ = machine.channelActive()
        _ = machine.handshakeCompleted()
        write(100, to: &machine)
        XCTAssertEqual(machine.pendingWrites.count, 3)
    }

    func testCloseHandsBackTheUnflushedWritesAndKeepsThePromiseUntilThePeerAnswers() {
        var machine = active()
        let unflushed = write(5, to: &machine)
        let closePromise = makePromise()
        guard case .sendCloseNotifyAndWait(let failing) = machine.closeRequested(promise: closePromise) else {
            return XCTFail("an active session sends close_notify")
        }
        XCTAssertEqual(failing.writes.map(\.promise), [unflushed])
        XCTAssertTrue(machine.pendingWrites.isEmpty)
        XCTAssertEqual(machine.closeRequested(promise: nil), .cascadeFrom(closePromise), "a second close chains")
        XCTAssertEqual(machine.closeNotifyReceived(), .closeNow(closePromise: closePromise))
        XCTAssertEqual(machine.handlerRemoved(), .init(failing: .none, closePromiseToFail: nil), "completed once")
        for promise in [unflushed, closePromise] { promise.succeed(()) }
    }

    func testEOFWhileOurCloseWaitsSucceedsTheClosePromise() {
        var machine = active()
        let closePromise = makePromise()
        _ = machine.closeRequested(promise: closePromise)
        let inactive = machine.channelInactive()
        XCTAssertEqual(inactive.report, .none)
        XCTAssertEqual(inactive.closePromiseToSucceed, closePromise)
        XCTAssertEqual(machine.channelInactive().closePromiseToSucceed, nil, "handed back once")
        closePromise.succeed(())
    }

    func testAFailureWhileOurCloseWaitsClosesWithTheClosePromise() {
        var machine = active()
        let closePromise = makePromise()
        _ = machine.closeRequested(promise: closePromise)
        XCTAssertEqual(machine.failed(), .reportAndClose(failing: .none, closePromise: closePromise))
        closePromise.succeed(())
    }

    func testEOFAndFailureHandBackEveryQueuedWrite() {
        var handshaking = TLSConnectionStateMachine()
        _ = handshaking.channelActive()
        let a = write(1, to: &handshaking)
        let inactive = handshaking.channelInactive()
        XCTAssertEqual(inactive.report, .reportHandshakeEOF)
        XCTAssertEqual(inactive.failing.writes.map(\.promise), [a])

        var idle = TLSConnectionStateMachine()
        let b = write(1, to: &idle)
        XCTAssertEqual(idle.channelInactive().failing.writes.map(\.promise), [b], "idle writes fail too, unreported")

        var activeMachine = active()
        let c = write(1, to: &activeMachine)
        guard case .reportAndClose(let failing, nil) = activeMachine.failed() else { return XCTFail("not failed") }
        XCTAssertEqual(failing.writes.map(\.promise), [c])
        for promise in [a, b, c] { promise.succeed(()) }
    }

    func testRemovingTheHandlerHandsBackTheWritesAndTheClosePromise() {
        var machine = TLSConnectionStateMachine()
        let queued = write(1, to: &machine)
        XCTAssertEqual(machine.handlerRemoved().failing.writes.map(\.promise), [queued])
        XCTAssertTrue(machine.isClosed)

        var closing = active()
        let closePromise = makePromise()
        _ = closing.closeRequested(promise: closePromise)
        XCTAssertEqual(closing.handlerRemoved(), .init(failing: .none, closePromiseToFail: closePromise))
        for promise in [queued, closePromise] { promise.succeed(()) }
    }

    func testPeerCloseNotifyHandsBackTheQueuedWritesAndALaterCloseIsForwarded() {
        var machine = active()
        let queued = write(1, to: &machine)
        guard case .replyAndClose(let failing) = machine.closeNotifyReceived() else { return XCTFail("no reply") }
        XCTAssertEqual(failing.writes.map(\.promise), [queued])
        XCTAssertEqual(machine.closeRequested(promise: nil), .forwardClose)
        XCTAssertEqual(machine.shutdownTimedOut(), .closeNow(closePromise: nil))
        queued.succeed(())
    }
}
