import DevelopmentSupport
import Foundation
import GatewayCrypto
import GatewayTLS
import NIOCore
import NIOPosix
import XCTest

/// The server handler against real clients on loopback: Python's `ssl`, `openssl s_client`, and our own client
/// handler. Every refusal is checked for how it happened (the alert the client saw, the reason the server logged).
final class TLSServerSocketTests: XCTestCase {
    private var pki: TestPKI!
    private var server: TestServer!

    override func setUpWithError() throws {
        pki = try TestPKI()
    }

    override func tearDownWithError() throws {
        server?.shutdown()
        server = nil
        pki = nil
    }

    private func start(_ configuration: TLSServerConfiguration? = nil) throws {
        server = try TestServer(context: TLSServerContext(configuration: configuration ?? pki.serverConfiguration()))
    }

    private func assertRefused(
        _ result: PythonClientResult, alert: String, serverReason: String, identitiesBefore: Int = 0,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertNil(result.echo_ok, "no application data may flow: \(result)", file: file, line: line)
        XCTAssertTrue(
            result.error?.lowercased().contains(alert) ?? false,
            "client error \(result.error ?? "none") lacks '\(alert)'",
            file: file, line: line)
        let logged = server.record.waitForError() ?? "nothing"
        XCTAssertTrue(
            logged.lowercased().contains(serverReason.lowercased()), "server error \(logged) lacks '\(serverReason)'",
            file: file, line: line)
        XCTAssertEqual(
            server.record.identities.count, identitiesBefore, "no identity announced", file: file, line: line)
    }

    // MARK: Accepted

    func testBankCertificateCompletesWithALPNh2AndTheBankIdentity() throws {
        try start()
        let bank = try pki.bank("0001")
        let result = try pki.python(port: server.port, client: bank, size: 100)
        XCTAssertEqual(result.alpn, "h2")
        XCTAssertEqual(result.echo_ok, true, "\(result)")
        XCTAssertEqual(result.clean_close, true, "\(result)")
        let key = server.record.identities.first?.peerPublicKeyDER ?? []
        XCTAssertEqual(Digest.sha256(key), bank.credential.spkiSHA256, "the announced key is the certificate's")
        XCTAssertEqual(
            server.record.identities,
            [TLSHandshakeCompleted(identity: .bank(code: "0001"), alpn: "h2", peerPublicKeyDER: key)])
        XCTAssertEqual(server.record.errors, [])
    }

    func testOperatorCertificateIsAnnouncedAsTheOperator() throws {
        try start()
        let op = try pki.client("operator", .partner(.operatorName("demo")))
        let result = try pki.python(port: server.port, client: op, size: 1)
        XCTAssertEqual(result.echo_ok, true, "\(result)")
        XCTAssertEqual(server.record.identities.map(\.identity), [.operatorName("demo")])
    }

    func testOpenSSLClientNegotiatesH2AndVerifiesTheServer() throws {
        try start()
        let result = try pki.sClient(
            port: server.port, client: pki.bank("9900"), extra: ["-alpn", "h2", "-verify_return_error"],
            input: "ping\n",
            holdStdin: 1)
        XCTAssertTrue(result.output.contains("ALPN protocol: h2"), result.output)
        XCTAssertTrue(result.output.contains("Verify return code: 0 (ok)"), result.output)
        XCTAssertEqual(server.record.identities.map(\.identity), [.bank(code: "9900")])
    }

    func testTLS12WithAnAEADSuiteIsAccepted() throws {
        try start()
        let result = try pki.python(port: server.port, client: pki.bank("9900"), maxVersion: "1.2", size: 10)
        XCTAssertEqual(result.version, "TLSv1.2")
        XCTAssertEqual(result.echo_ok, true, "\(result)")
    }

    func testResumedSessionAnnouncesTheIdentityOfItsOriginalCertificate() throws {
        try start()
        for maxVersion in ["", "1.2"] {
            let result = try pki.python(
                port: server.port, client: pki.bank("0001"), maxVersion: maxVersion, size: 10, connections: 2)
            XCTAssertEqual(result.reused, [false, true], "the second connection resumed (\(maxVersion)): \(result)")
            XCTAssertEqual(result.echo_ok, true, "\(result)")
        }
        XCTAssertEqual(server.record.identities.map(\.identity), Array(repeating: .bank(code: "0001"), count: 4))
        XCTAssertEqual(server.record.errors, [])
    }

    // MARK: Refused: certificates

    func testClientWithoutCertificateIsRefusedWithCertificateRequired() throws {
        try start()
        assertRefused(
            try pki.python(port: server.port, client: nil), alert: "certificate required",
            serverReason: "peer did not return a certificate")
    }

    func testCertificateFromAnotherCAIsRefusedAsUnknownCA() throws {
        try start()
        let other = try DevelopmentCA(commonName: "someone else's CA")
        let stranger = try pki.client("stranger", .partner(.bank(code: "9900")), issuer: other)
        assertRefused(
            try pki.python(port: server.port, client: stranger), alert: "unknown ca",
            serverReason: "unable to get local issuer certificate")
    }

    func testExpiredCertificateIsRefusedAsExpired() throws {
        try start()
        var spec = DevelopmentCertificateSpec.partner(.bank(code: "9900"))
        spec.notBeforeOffset = .seconds(-7200)
        spec.notAfterOffset = .seconds(-3600)
        assertRefused(
            try pki.python(port: server.port, client: pki.client("expired", spec)), alert: "certificate expired",
            serverReason: "certificate has expired")
    }

    func testNotYetValidCertificateIsRefused() throws {
        try start()
        var spec = DevelopmentCertificateSpec.partner(.bank(code: "9900"))
        spec.notBeforeOffset = .seconds(3600)
        spec.notAfterOffset = .seconds(7200)
        assertRefused(
            try pki.python(port: server.port, client: pki.client("future", spec)), alert: "bad certificate",
            serverReason: "certificate is not yet valid")
    }

    func testRevokedCertificateIsRefusedAsRevoked() throws {
        let revoked = try pki.bank("0005")
        let crl = try pki.writeCRL(revoking: [revoked.credential.serialHex])
        try start(pki.serverConfiguration(crlPath: crl))
        assertRefused(
            try pki.python(port: server.port, client: revoked), alert: "certificate revoked",
            serverReason: "certificate revoked")
    }

    func testCertificateWithoutPartnerURIIsRefused() throws {
        try start()
        let plain = try pki.client("plain", DevelopmentCertificateSpec(commonName: "9900"))
        assertRefused(
            try pki.python(port: server.port, client: plain), alert: "bad certificate",
            serverReason: "no spiffe://bankgw.partners/bank/NNNN")
    }

    func testPinnedBankPresentingAnotherKeyIsRefused() throws {
        let pinned = try pki.bank("0001")
        try start(pki.serverConfiguration(pins: ["0001": pinned.credential.spkiSHA256]))
        let sameKey = try pki.python(port: server.port, client: pinned, size: 1)
        XCTAssertEqual(sameKey.echo_ok, true, "the pinned key itself is accepted: \(sameKey)")
        let reissued = try pki.client("bank-0001-new-key", .partner(.bank(code: "0001")))
        assertRefused(
            try pki.python(port: server.port, client: reissued), alert: "bad certificate",
            serverReason: "pinned to another key", identitiesBefore: 1)
    }

    // MARK: Refused: protocol

    func testTLS11IsRefusedWithProtocolVersion() throws {
        try start()
        let result = try pki.sClient(
            port: server.port, client: pki.bank("9900"), extra: ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        XCTAssertTrue(result.output.contains("alert protocol version"), result.output)
        let logged = server.record.waitForError() ?? "nothing"
        XCTAssertTrue(logged.contains("unsupported protocol"), logged)
    }

    func testNonAEADSuiteIsRefusedWithHandshakeFailure() throws {
        try start()
        let result = try pki.python(
            port: server.port, client: pki.bank("9900"), maxVersion: "1.2", ciphers: "ECDHE-ECDSA-AES128-SHA256")
        assertRefused(result, alert: "handshake failure", serverReason: "no shared cipher")
    }

    func testALPNWithoutH2IsRefusedWithNoApplicationProtocol() throws {
        try start()
        assertRefused(
            try pki.python(port: server.port, client: pki.bank("9900"), alpn: "http/1.1"),
            alert: "no application protocol", serverReason: "did not offer ALPN h2")
    }

    func testHelloWithoutALPNIsRefusedWithNoApplicationProtocol() throws {
        try start()
        assertRefused(
            try pki.python(port: server.port, client: pki.bank("9900"), alpn: ""), alert: "no application protocol",
            serverReason: "offered no ALPN")
    }

    func testClientRenegotiationIsRefused() throws {
        try start()
        let result = try pki.sClient(
            port: server.port, client: pki.bank("9900"), extra: ["-tls1_2", "-alpn", "h2"], input: "R\n",
            holdStdin: 3)
        XCTAssertTrue(result.output.contains("RENEGOTIATING"), result.output)
        XCTAssertTrue(result.output.contains("no renegotiation"), result.output)
        XCTAssertEqual(server.record.identities.count, 1, "the first handshake completed")
    }

    // MARK: Data

    func testKeyUpdateRequestedByTheClientIsAnsweredAndDataKeepsFlowing() throws {
        try start()
        // `K` sends a KeyUpdate asking for ours in return; the reply comes out of SSL_read on the server.
        // s_client drops the rest of a stdin read after a command letter, so the data line comes separately.
        let bank = try pki.bank("9900")
        let command =
            "(printf 'K\\n'; sleep 0.5; printf 'after-key-update\\n'; sleep 1.5) | /usr/bin/openssl s_client "
            + "-connect 127.0.0.1:\(server.port) -CAfile \(pki.caPath) -servername localhost "
            + "-cert \(bank.certificatePath) -key \(bank.keyPath) -alpn h2 -tls1_3"
        let result = try Subprocess.run("/bin/sh", ["-c", command], timeout: 20)
        XCTAssertTrue(result.output.contains("KEYUPDATE"), result.output)
        XCTAssertTrue(result.stdout.contains("after-key-update"), "echoed under the new keys: \(result.output)")
        XCTAssertEqual(server.record.errors.filter { !$0.contains("close_notify") }, [])
    }

    func testEchoIsByteExactForEdgeAndLargeSizes() throws {
        try start()
        let bank = try pki.bank("9900")
        for size in [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 1 << 20, 64 << 20] {
            let result = try pki.python(port: server.port, client: bank, size: size)
            XCTAssertEqual(result.echo_ok, true, "size \(size): \(result)")
            XCTAssertEqual(result.echoed, max(size, 1), "size \(size): \(result)")
            XCTAssertEqual(result.clean_close, true, "size \(size): \(result)")
        }
        XCTAssertEqual(server.record.errors, [], "every close was a close_notify close")
    }

    func testSilentPeerIsDisconnectedAtTheHandshakeTimeout() throws {
        try start(pki.serverConfiguration(handshakeTimeout: .milliseconds(300)))
        let client = try ClientBootstrap(group: server.group).connect(host: "127.0.0.1", port: server.port).wait()
        let closed = client.closeFuture
        XCTAssertNoThrow(try closed.wait(), "the server closes the connection")
        XCTAssertEqual(server.record.waitForError(), "\(TLSError.handshakeTimeout)")
    }

    func testPeerClosingMidHandshakeIsAHandshakeFailure() throws {
        try start()
        let client = try ClientBootstrap(group: server.group).connect(host: "127.0.0.1", port: server.port).wait()
        // The first bytes of a TLS record header announcing a ClientHello, then EOF.
        try client.writeAndFlush(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x80, 0x01])).wait()
        try client.close().wait()
        let logged = server.record.waitForError() ?? "nothing"
        XCTAssertTrue(logged.contains("during the handshake"), logged)
    }
}
