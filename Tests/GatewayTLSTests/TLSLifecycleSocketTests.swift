import Foundation
import GatewayTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// The client side in-process: collects the handshake event and echoed bytes. Touched only on its event loop.
final class ClientCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let handshake: EventLoopPromise<TLSClientHandshakeCompleted>
    private var received: [UInt8] = []
    private var wanted = 0
    private var echo: EventLoopPromise<[UInt8]>?

    init(eventLoop: EventLoop) { handshake = eventLoop.makePromise() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSClientHandshakeCompleted { handshake.succeed(event) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Array(buffer: unwrapInboundIn(data))
        if received.count >= wanted, let echo {
            self.echo = nil
            echo.succeed(received)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        handshake.fail(error)
        echo?.fail(error)
        echo = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(TLSError.connectionClosed)
        echo?.fail(TLSError.connectionClosed)
        echo = nil
    }

    /// Sends `bytes` and waits for as many to come back.
    func roundTrip(_ bytes: [UInt8], on channel: Channel) throws -> [UInt8] {
        try channel.eventLoop.flatSubmit {
            self.received = []
            self.wanted = bytes.count
            let promise = channel.eventLoop.makePromise(of: [UInt8].self)
            self.echo = promise
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
            return promise.futureResult
        }.wait()
    }
}

final class TLSLifecycleSocketTests: XCTestCase {
    private var pki: TestPKI!
    private var server: TestServer!

    override func setUpWithError() throws { pki = try TestPKI() }

    override func tearDownWithError() throws {
        server?.shutdown()
        server = nil
        pki = nil
    }

    private func clientContext(
        _ client: TestPKI.Client, serverHostname: String = "localhost"
    ) throws -> TLSClientContext {
        try TLSClientContext(
            configuration: TLSClientConfiguration(
                trustRootsPath: pki.caPath, certificateChainPath: client.certificatePath,
                privateKeyPath: client.keyPath,
                serverHostname: serverHostname))
    }

    private func connect(_ context: TLSClientContext) throws -> (Channel, ClientCollector) {
        // The collector is kept from the initializer rather than looked up in the pipeline afterwards: a handshake
        // refused at once closes the channel and empties its pipeline before a lookup could run.
        let made = NIOLockedValueBox<ClientCollector?>(nil)
        let channel = try ClientBootstrap(group: server.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let collector = ClientCollector(eventLoop: channel.eventLoop)
                    made.withLockedValue { $0 = collector }
                    try channel.pipeline.syncOperations.addHandler(context.makeHandler(), name: "tls")
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: server.port).wait()
        return (channel, made.withLockedValue { $0! })
    }

    func testReloadedCRLRefusesTheRevokedBankWhileAnOpenConnectionKeepsWorking() throws {
        let bank = try pki.bank("0005")
        let crl = try pki.writeCRL(revoking: [])
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration(crlPath: crl)))
        let (open, collector) = try connect(clientContext(bank))
        XCTAssertEqual(try collector.roundTrip(Array("before".utf8), on: open), Array("before".utf8))

        try pki.writeCRL(revoking: [bank.credential.serialHex])
        try server.context.reload()

        let refused = try pki.python(port: server.port, client: bank)
        XCTAssertTrue(refused.error?.contains("certificate revoked") ?? false, "\(refused)")
        XCTAssertEqual(
            try collector.roundTrip(Array("after".utf8), on: open), Array("after".utf8),
            "the open connection keeps the material it started with")
        try open.close().wait()
    }

    func testReloadWithABrokenFileKeepsThePreviousMaterial() throws {
        let revoked = try pki.bank("0009")
        let good = try pki.bank("9900")
        let crl = try pki.writeCRL(revoking: [revoked.credential.serialHex])
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration(crlPath: crl)))
        try "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n".write(
            toFile: crl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try server.context.reload())
        let stillRevoked = try pki.python(port: server.port, client: revoked)
        XCTAssertTrue(stillRevoked.error?.contains("certificate revoked") ?? false, "\(stillRevoked)")
        XCTAssertEqual(try pki.python(port: server.port, client: good, size: 1).echo_ok, true)
    }

    func testSIGHUPReloadsTheCRL() throws {
        let bank = try pki.bank("0001")
        let crl = try pki.writeCRL(revoking: [])
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration(crlPath: crl)))
        let source = server.context.reloadOnHangup()
        defer { source.cancel() }
        XCTAssertEqual(try pki.python(port: server.port, client: bank, size: 1).echo_ok, true)
        try pki.writeCRL(revoking: [bank.credential.serialHex])
        kill(getpid(), SIGHUP)
        var refused = false
        for _ in 0..<50 where !refused {
            usleep(50_000)
            refused = try pki.python(port: server.port, client: bank).error?.contains("certificate revoked") ?? false
        }
        XCTAssertTrue(refused, "after SIGHUP the new CRL refuses the bank")
    }

    func testClientHandlerVerifiesTheServerByNameAndByIPAddress() throws {
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration()))
        let bank = try pki.bank("9900")
        for name in ["localhost", "127.0.0.1"] {
            let (channel, collector) = try connect(clientContext(bank, serverHostname: name))
            let event = try collector.handshake.futureResult.wait()
            XCTAssertEqual(event, TLSClientHandshakeCompleted(verifiedServerName: name, alpn: "h2"))
            try channel.close().wait()
        }
    }

    func testClientHandlerRefusesAServerCertificateForAnotherName() throws {
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration()))
        let (_, collector) = try connect(clientContext(pki.bank("9900"), serverHostname: "bank.example"))
        XCTAssertThrowsError(try collector.handshake.futureResult.wait()) { error in
            XCTAssertTrue("\(error)".contains("certificate verify failed"), "\(error)")
        }
    }

    func testClientClosingWithoutCloseNotifyIsAnUncleanShutdown() throws {
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration()))
        let (channel, collector) = try connect(clientContext(pki.bank("9900")))
        XCTAssertEqual(try collector.roundTrip([1, 2, 3], on: channel), [1, 2, 3])
        // Without the TLS handler the close is a bare TCP FIN: no close_notify.
        try channel.pipeline.removeHandler(name: "tls").wait()
        try channel.close().wait()
        XCTAssertEqual(server.record.waitForError(), "\(TLSError.uncleanShutdown)")
    }

    func testTwoThousandHandshakesLeaveNoDescriptorsAndReturnMemory() throws {
        server = try TestServer(context: TLSServerContext(configuration: pki.serverConfiguration()))
        let context = try clientContext(pki.bank("9900"))
        func handshakeAndClose() throws {
            let (channel, collector) = try connect(context)
            _ = try collector.handshake.futureResult.wait()
            try channel.close().wait()
        }
        func settle(atMost descriptors: Int) -> Int {
            // Server-side channels close a moment after the client's close completes.
            var count = openDescriptors()
            for _ in 0..<200 where count > descriptors {
                usleep(10_000)
                count = openDescriptors()
            }
            return count
        }
        for _ in 0..<100 { try handshakeAndClose() }  // warm up pools, caches, lazily loaded OpenSSL providers
        let descriptorsBefore = settle(atMost: 0)
        let rssBefore = residentKiB()
        let start = Date()
        for _ in 0..<2_000 { try handshakeAndClose() }
        let elapsed = Date().timeIntervalSince(start)
        let descriptorsAfter = settle(atMost: descriptorsBefore)
        let rssAfter = residentKiB()
        print(
            "2000 handshakes: \(String(format: "%.1f", elapsed)) s, descriptors \(descriptorsBefore) → "
                + "\(descriptorsAfter), RSS \(rssBefore) KiB → \(rssAfter) KiB")
        XCTAssertLessThanOrEqual(descriptorsAfter, descriptorsBefore, "every socket was closed")
        // A leak of one SSL object per connection (~5–40 KiB) would add ≥ 10 MiB over 2,000 handshakes.
        XCTAssertLessThan(rssAfter - rssBefore, 4 * 1024, "RSS grew by \(rssAfter - rssBefore) KiB")
        XCTAssertEqual(server.record.errors, [])
    }
}

func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}
