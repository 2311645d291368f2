import DevelopmentSupport
import GatewayTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

@testable import GatewayRPC

/// Stands in for the TLS stage: announces a verified peer the way GatewayTLS does, once, before any data.
private final class FakeHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let identity: PeerIdentity
    init(identity: PeerIdentity) { self.identity = identity }
    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.fireUserInboundEventTriggered(TLSHandshakeCompleted(identity: identity, alpn: "h2"))
    }
}

/// Holds back what the server sends while `held`, so a test can make the client's frames cross the server's: the
/// client keeps opening streams as if no GOAWAY had been sent. `release()` (on the event loop) delivers the rest.
private final class InboundGate: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var held = false
    private var pending: [NIOAny] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if held { pending.append(data) } else { context.fireChannelRead(data) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !held { context.fireChannelReadComplete() }
    }

    func hold(on loop: any EventLoop) async throws {
        try await loop.submit { self.held = true }.get()
    }

    func release(on loop: any EventLoop) async throws {
        try await loop.submit {
            self.held = false
            guard let context = self.context else { return }
            for data in self.pending { context.fireChannelRead(data) }
            self.pending = []
            context.fireChannelReadComplete()
        }.get()
    }
}

final class RPCServerTests: XCTestCase {
    private func whoAmI() -> RPCServices {
        var s = RPCServices()
        s.register(
            service: "test.Peer", method: "WhoAmI",
            .unary { _, response, context in
                response.writeString(context.peer?.description ?? "anonymous")
            })
        return s
    }

    private func start(
        _ services: RPCServices, limits: RPCServerLimits = RPCServerLimits(),
        security: RPCServer.ConfigureSecurity? = nil
    ) async throws -> RPCServer {
        try await RPCServer.start(
            host: "127.0.0.1", port: 0, services: services, limits: limits,
            configureSecurity: security)
    }

    private func connect(_ server: RPCServer) async throws -> RPCClientConnection {
        try await RPCClientConnection.connect(host: "127.0.0.1", port: server.port)
    }

    func testUnaryCallRoundTripsRawBytes() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let result = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "hello"))
        XCTAssertEqual(result.status.code, .ok)
        XCTAssertEqual(result.message.map { String(buffer: $0) }, "hello")
        let asyncResult = await client.unary(path: "/test.Echo/EchoAsync", message: ByteBuffer(string: "async"))
        XCTAssertEqual(asyncResult.message.map { String(buffer: $0) }, "async")
        await client.close()
        await server.close()
    }

    func testHandlerSeesThePeerIdentityCapturedFromTheTLSStage() async throws {
        let server = try await start(whoAmI()) { channel in
            try channel.pipeline.syncOperations.addHandler(FakeHandshake(identity: .bank(code: "9900")))
        }
        let client = try await connect(server)
        let result = await client.unary(path: "/test.Peer/WhoAmI", message: ByteBuffer())
        XCTAssertEqual(result.message.map { String(buffer: $0) }, "bank/9900")
        await client.close()
        await server.close()
    }

    func testPlaintextListenerCallsHaveNoPeer() async throws {
        let server = try await start(whoAmI())
        let client = try await connect(server)
        let result = await client.unary(path: "/test.Peer/WhoAmI", message: ByteBuffer())
        XCTAssertEqual(result.message.map { String(buffer: $0) }, "anonymous")
        await client.close()
        await server.close()
    }

    func testEachListenerServesOnlyItsOwnMethodSet() async throws {
        var probe = RPCServices()
        probe.register(service: "grpc.health.v1.Health", method: "Check", .unary { _, _, _ in })
        var all = EchoService.services
        all.merge(probe)
        let probeServer = try await start(probe)
        let mainServer = try await start(all)
        let probeClient = try await connect(probeServer)
        let mainClient = try await connect(mainServer)
        let onProbe = await probeClient.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "x"))
        XCTAssertEqual(onProbe.status.code, .unimplemented)
        let healthOnProbe = await probeClient.unary(path: "/grpc.health.v1.Health/Check", message: ByteBuffer())
        XCTAssertEqual(healthOnProbe.status.code, .ok)
        let onMain = await mainClient.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "x"))
        XCTAssertEqual(onMain.status.code, .ok)
        await probeClient.close()
        await mainClient.close()
        await probeServer.close()
        await mainServer.close()
    }

    func testClientSendsRawBytesVerbatimSoMalformedMessagesReachTheServer() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let compressed = await client.unary(
            path: "/test.Echo/Echo", request: .raw(ByteBuffer(bytes: [1, 0, 0, 0, 1, 65])))
        XCTAssertEqual(compressed.status.code, .internal)
        var oversized = ByteBuffer(bytes: [0, 0, 1, 0, 1])  // 65537 bytes announced
        oversized.writeRepeatingByte(0x61, count: 65537)
        let tooBig = await client.unary(path: "/test.Echo/Echo", request: .raw(oversized))
        XCTAssertEqual(tooBig.status.code, .resourceExhausted)
        let none = await client.unary(path: "/test.Echo/Echo", request: .empty)
        XCTAssertEqual(none.status.code, .internal)
        let fine = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "still fine"))
        XCTAssertEqual(fine.status.code, .ok)
        await client.close()
        await server.close()
    }

    func testStatusCodeAndMessageReachTheClient() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        for code in GRPCStatus.Code.allCases where code != .ok {
            let r = await client.unary(
                path: "/test.Echo/Fail", message: ByteBuffer(string: "\(code.rawValue):why 100% ü"))
            XCTAssertEqual(r.status, GRPCStatus(code, "why 100% ü"))
        }
        let unknown = await client.unary(path: "/nope.Service/M", message: ByteBuffer())
        XCTAssertEqual(unknown.status.code, .unimplemented)
        await client.close()
        await server.close()
    }

    func testThrowingHandlerIsInternalAndTheConnectionLivesOn() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let crash = await client.unary(path: "/test.Echo/Crash", message: ByteBuffer())
        XCTAssertEqual(crash.status, GRPCStatus(.internal, "internal error"))
        let after = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "x"))
        XCTAssertEqual(after.status.code, .ok)
        XCTAssertTrue(client.isConnected)
        await client.close()
        await server.close()
    }

    func testAsyncHandlerIsCancelledWhenTheDeadlinePasses() async throws {
        let cancelled = NIOLockedValueBox(false)
        var services = RPCServices()
        services.register(
            service: "test.Slow", method: "Wait",
            .unaryAsync { request, _ in
                do {
                    try await Task.sleep(for: .seconds(5))
                } catch {
                    cancelled.withLockedValue { $0 = true }
                    throw error
                }
                return request
            })
        let server = try await start(services)
        let client = try await connect(server)
        // No client-side timer: the server alone must enforce grpc-timeout.
        let head = client.makeRequestHead(path: "/test.Slow/Wait", metadata: [("grpc-timeout", "100m")])
        let started = ContinuousClock.now
        let result = try await client.call(head, body: .message(ByteBuffer())).get()
        XCTAssertEqual(result.status.code, .deadlineExceeded)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertTrue(cancelled.withLockedValue { $0 })
        await client.close()
        await server.close()
    }

    func testClientDeadlineEndsTheCallWithDeadlineExceeded() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let result = await client.unary(
            path: "/test.Echo/Sleep", message: ByteBuffer(string: "3000"), timeout: .milliseconds(50))
        XCTAssertEqual(result.status.code, .deadlineExceeded)
        await client.close()
        await server.close()
    }

    func testServerStreamingDeliversEveryMessage() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let result = await client.unary(path: "/test.Echo/Stream", message: ByteBuffer(string: "4"))
        XCTAssertEqual(result.status.code, .ok)
        XCTAssertEqual(result.messages.map { String(buffer: $0) }, ["0", "1", "2", "3"])
        await client.close()
        await server.close()
    }

    func testGracefulShutdownFinishesInFlightCallsAndRefusesNewOnes() async throws {
        // Echo's Sleep, counting the calls that reached the handler: the drain starts once all 50 are in flight
        // (a fixed sleep is not enough on a loaded machine, and a stream the client opens after it saw the GOAWAY
        // is refused by the client's own NIOHTTP2, rightly).
        let arrived = NIOLockedValueBox(0)
        var services = EchoService.services
        services.register(
            service: "test.Counted", method: "Sleep",
            .unaryAsync { request, _ in
                arrived.withLockedValue { $0 += 1 }
                try await Task.sleep(for: .milliseconds(Int(String(buffer: request)) ?? 0))
                return request
            })
        let server = try await start(services)
        let client = try await connect(server)
        let head = client.makeRequestHead(path: "/test.Counted/Sleep")
        let inFlight = (0..<50).map { _ in client.call(head, body: .message(ByteBuffer(string: "300"))) }
        let waitingSince = ContinuousClock.now
        while arrived.withLockedValue({ $0 }) < 50 {
            guard ContinuousClock.now - waitingSince < .seconds(10) else {
                return XCTFail("only \(arrived.withLockedValue { $0 }) of 50 calls reached the server in 10 s")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let shutdown = Task { await server.shutdownGracefully(grace: .seconds(5)) }
        // Late: after the client saw the GOAWAY. (A call it sent before that crosses the GOAWAY and is served, as
        // testCallsCrossingTheFirstGoAwayAreServed shows; on a loaded machine 50 ms need not be enough to see it.)
        let drainingSince = ContinuousClock.now
        while !client.isDraining {
            guard ContinuousClock.now - drainingSince < .seconds(10) else { return XCTFail("no GOAWAY in 10 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let late = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "late"))
        XCTAssertEqual(late.status.code, .unavailable, "\(late.status)")
        for call in inFlight {
            let r = try await call.get()
            XCTAssertEqual(r.status.code, .ok, "\(r.status)")
        }
        await shutdown.value
        XCTAssertEqual(server.openConnections, 0)
        await client.close()
    }

    /// Calls the client sent before it saw the drain's first GOAWAY are served, not refused (NIOHTTP2 refuses every
    /// new stream after a GOAWAY sent through it: see QuiesceGoAwayWriter); later calls are UNAVAILABLE.
    func testCallsCrossingTheFirstGoAwayAreServed() async throws {
        let server = try await start(EchoService.services)
        let gate = InboundGate()
        let client = try await RPCClientConnection.connect(host: "127.0.0.1", port: server.port) { channel in
            try channel.pipeline.syncOperations.addHandler(gate)
        }
        let warmUp = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "up"))
        XCTAssertEqual(warmUp.status.code, .ok)
        try await gate.hold(on: client.eventLoop)
        let shutdown = Task { await server.shutdownGracefully(grace: .seconds(10)) }
        // The server's GOAWAY and PING are on the wire but unseen: these streams cross them.
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertFalse(client.isDraining)
        let head = client.makeRequestHead(path: "/test.Echo/Sleep")
        let crossing = (0..<5).map { _ in client.call(head, body: .message(ByteBuffer(string: "100"))) }
        try await Task.sleep(for: .milliseconds(200))
        try await gate.release(on: client.eventLoop)
        for call in crossing {
            let r = try await call.get()
            XCTAssertEqual(r.status.code, .ok, "a call sent before the client saw the GOAWAY: \(r.status)")
        }
        XCTAssertTrue(client.isDraining)
        let late = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer(string: "late"))
        XCTAssertEqual(late.status.code, .unavailable, "\(late.status)")
        await shutdown.value
        XCTAssertEqual(server.openConnections, 0)
        await client.close()
    }

    func testShutdownEndsEndlessStreamsWithUnavailableInsteadOfWaitingOutTheGrace() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let received = NIOLockedValueBox(0)
        let watch = client.call(
            client.makeRequestHead(path: "/test.Echo/Stream"), body: .message(ByteBuffer(string: "0")),
            onMessage: { _ in received.withLockedValue { $0 += 1 } })
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        await server.shutdownGracefully(grace: .seconds(10))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        let result = try await watch.get()
        XCTAssertEqual(result.status.code, .unavailable, "\(result.status)")
        XCTAssertGreaterThan(received.withLockedValue { $0 }, 0)
        await client.close()
    }

    func testGracefulShutdownCutsCallsThatOutliveTheGracePeriod() async throws {
        let server = try await start(EchoService.services)
        let client = try await connect(server)
        let call = client.call(
            client.makeRequestHead(path: "/test.Echo/Sleep"), body: .message(ByteBuffer(string: "5000")))
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        await server.shutdownGracefully(grace: .milliseconds(200))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(3))
        let r = try await call.get()
        XCTAssertNotEqual(r.status.code, .ok)
        await client.close()
    }

    func testConnectionsBeyondTheCapAreClosed() async throws {
        var limits = RPCServerLimits()
        limits.maxConnections = 2
        let server = try await start(EchoService.services, limits: limits)
        let a = try await connect(server)
        let b = try await connect(server)
        let first = await a.unary(path: "/test.Echo/Echo", message: ByteBuffer())
        let second = await b.unary(path: "/test.Echo/Echo", message: ByteBuffer())
        XCTAssertEqual(first.status.code, .ok)
        XCTAssertEqual(second.status.code, .ok)
        let c = try await connect(server)
        let refused = await c.unary(path: "/test.Echo/Echo", message: ByteBuffer())
        XCTAssertEqual(refused.status.code, .unavailable)
        await a.close()
        await b.close()
        await c.close()
        await server.close()
    }

    func testConnectionPastMaxAgeIsDrainedAndItsInFlightCallFinishes() async throws {
        var limits = RPCServerLimits()
        limits.maxConnectionAge = .milliseconds(200)
        limits.connectionAgeGrace = .seconds(5)
        let server = try await start(EchoService.services, limits: limits)
        let client = try await connect(server)
        let call = client.call(
            client.makeRequestHead(path: "/test.Echo/Sleep"), body: .message(ByteBuffer(string: "500")))
        let result = try await call.get()  // spans the age limit: GOAWAY arrives while it runs
        XCTAssertEqual(result.status.code, .ok, "\(result.status)")
        XCTAssertTrue(client.isDraining)
        try await client.closeFuture.get()  // closed once its last call finished, well before the grace ran out
        await server.close()
    }

    func testIdleConnectionIsClosedAfterMaxIdleTime() async throws {
        var limits = RPCServerLimits()
        limits.maxIdleTime = .milliseconds(200)
        let server = try await start(EchoService.services, limits: limits)
        let client = try await connect(server)
        let served = await client.unary(path: "/test.Echo/Echo", message: ByteBuffer())
        XCTAssertEqual(served.status.code, .ok)
        try await client.closeFuture.get()  // the server's GOAWAY and close end it; the test would hang otherwise
        XCTAssertFalse(client.isConnected)
        await server.close()
    }
}
