import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import XCTest

@testable import GatewayRPC

/// What the multiplexer's child channels used to do, now done at frame level by `ServerStreamDemultiplexer`:
/// inbound flow control, stream bookkeeping, and the deferred (callback) unary path with one flush per tick.
final class FrameLevelServingTests: XCTestCase {
    private static let messageBytes = 60_000

    private var services: RPCServices {
        var services = RPCServices()
        services.register(
            service: "test.Frames", method: "Echo",
            .unary { request, response, _ in
                var request = request
                response.writeBuffer(&request)
            })
        // Reads every request message, answers their total size once the client half-closes.
        services.register(
            service: "test.Frames", method: "Count",
            .bidirectionalStreaming { requests, responses, _ in
                var total = 0
                for try await message in requests { total += message.readableBytes }
                try await responses.send(ByteBuffer(string: "\(total)"))
            })
        services.register(
            service: "test.Frames", method: "DeferredOffLoop",
            .unaryDeferred { request, _, responder in
                DispatchQueue.global().async { responder.succeed(request) }
            })
        services.register(
            service: "test.Frames", method: "DeferredInline",
            .unaryDeferred { request, _, responder in responder.succeed(request) })
        services.register(
            service: "test.Frames", method: "DeferredFail",
            .unaryDeferred { _, _, responder in
                DispatchQueue.global().async { responder.fail(RPCError(.notFound, "no such thing")) }
            })
        services.register(
            service: "test.Frames", method: "DeferredNever",
            .unaryDeferred { [parked] _, _, responder in
                responder.onCancel { [parked] in parked.withLockedValue { $0.cancelled += 1 } }
                parked.withLockedValue { $0.responders.append(responder) }
            })
        return services
    }

    private struct Parked {
        var responders: [RPCUnaryResponder] = []
        var cancelled = 0
    }
    private let parked = NIOLockedValueBox(Parked())

    private func serve(limits: RPCServerLimits = RPCServerLimits()) async throws -> (RPCServer, RPCClientConnection) {
        let server = try await RPCServer.start(host: "127.0.0.1", port: 0, services: services, limits: limits)
        let client = try await RPCClientConnection.connect(host: "127.0.0.1", port: server.port)
        return (server, client)
    }

    private func framed(count: Int, bytes: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<count {
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(bytes))
            buffer.writeRepeatingByte(0x61, count: bytes)
        }
        return buffer
    }

    func testAStreamThatSendsMoreThanItsWindowIsToppedUpWithWindowUpdates() async throws {
        let (server, client) = try await serve()
        // 5 × 60 000 bytes on one stream: its 64 KiB window must be reopened four times.
        let result = await client.unary(path: "/test.Frames/Count", request: .raw(framed(count: 5, bytes: 60_000)))
        XCTAssertEqual(result.status.code, .ok, "\(result.status)")
        XCTAssertEqual(result.messages.map { String(buffer: $0) }, ["300000"])
        await client.close()
        await server.close()
    }

    func testAConnectionThatSendsMoreThanItsWindowIsToppedUpWithWindowUpdates() async throws {
        let (server, client) = try await serve()
        // 40 × 60 000 bytes = 2.4 MB through a 1 MiB connection window, 8 calls at a time.
        let message = ByteBuffer(repeating: 0x62, count: Self.messageBytes)
        for _ in 0..<5 {
            try await withThrowingTaskGroup(of: RPCCallResult.self) { group in
                for _ in 0..<8 {
                    group.addTask { await client.unary(path: "/test.Frames/Echo", message: message) }
                }
                for try await result in group {
                    XCTAssertEqual(result.status.code, .ok, "\(result.status)")
                    XCTAssertEqual(result.messages.first?.readableBytes, Self.messageBytes)
                }
            }
        }
        await client.close()
        await server.close()
    }

    func testDeferredHandlersAnswerFromAnotherThreadManyAtOnce() async throws {
        let (server, client) = try await serve()
        try await withThrowingTaskGroup(of: (Int, RPCCallResult).self) { group in
            for i in 0..<64 {
                group.addTask {
                    (i, await client.unary(path: "/test.Frames/DeferredOffLoop", message: ByteBuffer(string: "\(i)")))
                }
            }
            for try await (i, result) in group {
                XCTAssertEqual(result.status.code, .ok, "\(result.status)")
                XCTAssertEqual(result.messages.map { String(buffer: $0) }, ["\(i)"])
            }
        }
        await client.close()
        await server.close()
    }

    func testDeferredHandlerMayAnswerBeforeItReturns() async throws {
        let (server, client) = try await serve()
        let result = await client.unary(path: "/test.Frames/DeferredInline", message: ByteBuffer(string: "now"))
        XCTAssertEqual(result.status.code, .ok)
        XCTAssertEqual(result.messages.map { String(buffer: $0) }, ["now"])
        await client.close()
        await server.close()
    }

    func testDeferredFailureReachesTheCallerAsItsStatus() async throws {
        let (server, client) = try await serve()
        let result = await client.unary(path: "/test.Frames/DeferredFail", message: ByteBuffer())
        XCTAssertEqual(result.status.code, .notFound)
        XCTAssertEqual(result.status.message, "no such thing")
        await client.close()
        await server.close()
    }

    func testDeferredAnswerAfterTheDeadlineIsDroppedAndOnCancelRuns() async throws {
        let (server, client) = try await serve()
        let head = client.makeRequestHead(path: "/test.Frames/DeferredNever", metadata: [("grpc-timeout", "100m")])
        let result = try await client.call(head, body: .message(ByteBuffer())).get()
        XCTAssertEqual(result.status.code, .deadlineExceeded)
        let (responders, cancelled) = parked.withLockedValue { ($0.responders, $0.cancelled) }
        XCTAssertEqual(responders.count, 1)
        XCTAssertEqual(cancelled, 1)
        XCTAssertTrue(responders[0].isCancelled)
        // Too late: dropped, and the connection serves on.
        responders[0].succeed(ByteBuffer(string: "late"))
        let after = await client.unary(path: "/test.Frames/DeferredInline", message: ByteBuffer(string: "next"))
        XCTAssertEqual(after.messages.map { String(buffer: $0) }, ["next"])
        // Registered after the call ended: runs at once.
        let ranAtOnce = NIOLockedValueBox(false)
        responders[0].onCancel { ranAtOnce.withLockedValue { $0 = true } }
        XCTAssertTrue(ranAtOnce.withLockedValue { $0 })
        await client.close()
        await server.close()
    }

    func testStreamsLeaveTheTableWhenTheyCloseSoAnIdleConnectionIsClosed() async throws {
        var limits = RPCServerLimits()
        limits.maxIdleTime = .milliseconds(300)
        limits.maxConcurrentStreams = 4
        let (server, client) = try await serve(limits: limits)
        // More calls than the stream limit, some refused by the handler, some reset by the deadline: every one must
        // be counted closed, or the idle timer would never be armed again.
        for i in 0..<12 {
            let path = i % 3 == 0 ? "/test.Frames/DeferredNever" : "/test.Frames/Echo"
            let head = client.makeRequestHead(path: path, metadata: [("grpc-timeout", "50m")])
            let result = try await client.call(head, body: .message(ByteBuffer(string: "x"))).get()
            XCTAssertEqual(result.status.code, i % 3 == 0 ? .deadlineExceeded : .ok)
        }
        try await client.closeFuture.get()
        XCTAssertFalse(client.isConnected)
        await server.close()
    }

    // MARK: InboundWindow, without sockets

    func testAWindowAboveHalfItsTargetIsLeftAlone() {
        var window = InboundWindow(targetSize: 1000)
        XCTAssertNil(window.windowChanged(to: 1000))
        XCTAssertNil(window.windowChanged(to: 501))
    }

    func testAWindowAtHalfOrBelowIsToppedUpToItsTarget() {
        var window = InboundWindow(targetSize: 1000)
        XCTAssertEqual(window.windowChanged(to: 500), 500)
        XCTAssertEqual(window.windowChanged(to: 0), 1000)
    }

    func testTheFirstConnectionWindowReportIsRaisedToTheTarget() {
        // The connection window starts at 65 535 (RFC 9113) and is raised to 1 MiB on the first DATA.
        var window = InboundWindow(targetSize: 1024 * 1024)
        XCTAssertEqual(window.windowChanged(to: 65_535 - 5), 1024 * 1024 - 65_530)
    }

    func testANegativeWindowIsToppedUpBeyondZero() {
        var window = InboundWindow(targetSize: 1000)
        XCTAssertEqual(window.windowChanged(to: -200), 1200)
    }

    func testAnInitialWindowChangeMovesTheCurrentWindow() {
        var window = InboundWindow(targetSize: 1000)
        XCTAssertNil(window.initialWindowChanged(by: 10), "no report yet: nothing to top up")
        XCTAssertNil(window.windowChanged(to: 600), "target 1010: 600 is above half")
        XCTAssertEqual(window.initialWindowChanged(by: -200), 410, "target 810, window 400: topped up")
    }
}
