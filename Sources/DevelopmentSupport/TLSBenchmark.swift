import Foundation
import GatewayRPC
import GatewayTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Measures this handler on loopback, both ends in one process: full handshakes per second (each connection a new
/// TLS session, mutual authentication, ALPN h2) and echo throughput of 1 MiB messages. Prints, never asserts:
/// `scripts/bench-tls.sh` sets the figures beside `openssl s_server`/`s_time` on the same certificates.
public enum TLSBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public var handshakesPerSecond: Double
        public var handshakeConcurrency: Int
        public var echoMegabytesPerSecond: Double
        public var threads: Int

        public var description: String {
            String(
                format: "bankgw TLSHandler: %.0f full handshakes/s (concurrency %d, %d threads); "
                    + "1 MiB echo %.1f MB/s each way", handshakesPerSecond, handshakeConcurrency, threads,
                echoMegabytesPerSecond)
        }
    }

    /// Echoes everything back (the server side of the benchmark).
    private final class Echo: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.write(data, promise: nil) }
        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    /// Completes `handshake` at the client's handshake event, `echoed` once `expected` bytes came back.
    private final class ClientProbe: ChannelInboundHandler, @unchecked Sendable {
        // Touched only on the channel's event loop.
        typealias InboundIn = ByteBuffer
        let handshake: EventLoopPromise<Void>
        var expected = 0
        var received = 0
        var echoed: EventLoopPromise<Void>?

        init(eventLoop: any EventLoop) { handshake = eventLoop.makePromise() }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TLSClientHandshakeCompleted { handshake.succeed(()) }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytes
            if received >= expected, let echoed {
                self.echoed = nil
                echoed.succeed(())
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            handshake.fail(error)
            echoed?.fail(error)
        }
        func channelInactive(context: ChannelHandlerContext) {
            handshake.fail(TLSError.connectionClosed)
            echoed?.fail(TLSError.connectionClosed)
        }
    }

    /// Runs both measurements against the `pki/` of `stateDirectory` (as written by `DevelopmentPKI`).
    public static func run(
        stateDirectory: String, bankCode: String = "9900", duration: Duration = .seconds(5), concurrency: Int = 4,
        threads: Int = System.coreCount
    ) throws -> Report {
        precondition(concurrency > 0 && threads > 0)
        let layout = DevelopmentPKI.Layout(stateDirectory: stateDirectory)
        let server = try TLSServerContext(
            configuration: TLSServerConfiguration(
                certificateChainPath: layout.serverCertificate, privateKeyPath: layout.serverKey,
                trustRootsPath: layout.caCertificate))
        let client = try TLSClientContext(
            configuration: TLSClientConfiguration(
                trustRootsPath: layout.caCertificate, certificateChainPath: layout.bankCertificate(bankCode),
                privateKeyPath: layout.bankKey(bankCode)))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { try? group.syncShutdownGracefully() }
        let listener = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(server.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(Echo())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? listener.close().wait() }
        let port = listener.localAddress!.port!

        @Sendable func connect() -> EventLoopFuture<(any Channel, ClientProbe)> {
            let probe = NIOLockedValueBox<ClientProbe?>(nil)
            return ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let p = ClientProbe(eventLoop: channel.eventLoop)
                        probe.withLockedValue { $0 = p }
                        try channel.pipeline.syncOperations.addHandler(client.makeHandler())
                        try channel.pipeline.syncOperations.addHandler(p)
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .map { ($0, probe.withLockedValue { $0! }) }
        }

        // Handshakes: `concurrency` loops of connect → handshake → close until the deadline.
        let deadline = NIODeadline.now() + TimeAmount(duration)
        let completed = ManagedAtomicCounter()
        @Sendable func loop(_ done: EventLoopPromise<Void>) {
            connect().flatMap { channel, probe in
                probe.handshake.futureResult.flatMap { channel.close() }
            }.whenComplete { result in
                if case .failure(let error) = result {
                    done.fail(error)
                    return
                }
                completed.increment()
                if NIODeadline.now() < deadline { loop(done) } else { done.succeed(()) }
            }
        }
        let start = NIODeadline.now()
        let loops = (0..<concurrency).map { _ in
            let promise = group.next().makePromise(of: Void.self)
            loop(promise)
            return promise.futureResult
        }
        for future in loops { try future.wait() }
        let handshakeSeconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        let handshakesPerSecond = Double(completed.value) / handshakeSeconds

        // Echo: one connection, 1 MiB out and 1 MiB back, repeatedly.
        let (channel, probe) = try connect().wait()
        try probe.handshake.futureResult.wait()
        let message = ByteBuffer(repeating: 0x5A, count: 1 << 20)
        let echoStart = NIODeadline.now()
        let echoDeadline = echoStart + TimeAmount(duration)
        var rounds = 0
        while NIODeadline.now() < echoDeadline {
            try channel.eventLoop.flatSubmit {
                probe.received = 0
                probe.expected = message.readableBytes
                let promise = channel.eventLoop.makePromise(of: Void.self)
                probe.echoed = promise
                channel.writeAndFlush(message, promise: nil)
                return promise.futureResult
            }.wait()
            rounds += 1
        }
        let echoSeconds = Double((NIODeadline.now() - echoStart).nanoseconds) / 1e9
        try channel.close().wait()
        return Report(
            handshakesPerSecond: handshakesPerSecond, handshakeConcurrency: concurrency,
            echoMegabytesPerSecond: Double(rounds) * Double(1 << 20) / 1e6 / echoSeconds, threads: threads)
    }
}

/// A counter shared by the benchmark loops (they run on several event loops).
private final class ManagedAtomicCounter: Sendable {
    private let box = NIOLockedValueBox(0)
    func increment() { box.withLockedValue { $0 += 1 } }
    var value: Int { box.withLockedValue { $0 } }
}
