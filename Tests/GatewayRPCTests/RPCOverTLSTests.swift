import DevelopmentSupport
import Foundation
import GatewayTLS
import NIOCore
import XCTest

@testable import GatewayRPC

/// The RPC stage behind the real TLS stage (GatewayTLS, OpenSSL) on loopback, with the development PKI: the
/// identity the handshake verified reaches the handler; a client without a certificate never reaches a handler.
final class RPCOverTLSTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "rpc-tls-\(UUID().uuidString)"
        _ = try DevelopmentPKI.initialize(directory: directory)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func startServer() async throws -> RPCServer {
        let pki = DevelopmentPKI.Layout(stateDirectory: directory)
        let context = try TLSServerContext(
            configuration: TLSServerConfiguration(
                certificateChainPath: pki.serverCertificate, privateKeyPath: pki.serverKey,
                trustRootsPath: pki.caCertificate))
        var services = RPCServices()
        services.register(
            service: "test.Peer", method: "WhoAmI",
            .unary { _, response, context in
                response.writeString(context.peer?.description ?? "anonymous")
            })
        return try await RPCServer.start(host: "127.0.0.1", port: 0, services: services) { channel in
            try channel.pipeline.syncOperations.addHandler(context.makeHandler())
        }
    }

    private func connect(_ server: RPCServer, bank: String?) async throws -> RPCClientConnection {
        let pki = DevelopmentPKI.Layout(stateDirectory: directory)
        let context = try TLSClientContext(
            configuration: TLSClientConfiguration(
                trustRootsPath: pki.caCertificate,
                certificateChainPath: bank.map { pki.bankCertificate($0) },
                privateKeyPath: bank.map { pki.bankKey($0) }))
        return try await RPCClientConnection.connect(host: "127.0.0.1", port: server.port) { channel in
            try channel.pipeline.syncOperations.addHandler(context.makeHandler())
        }
    }

    func testHandlerSeesTheBankFromTheVerifiedClientCertificate() async throws {
        let server = try await startServer()
        for bank in ["9900", "0001"] {
            let client = try await connect(server, bank: bank)
            let result = await client.unary(path: "/test.Peer/WhoAmI", message: ByteBuffer(), timeout: .seconds(10))
            XCTAssertEqual(result.status.code, .ok, "\(result.status)")
            XCTAssertEqual(result.message.map { String(buffer: $0) }, "bank/\(bank)")
            await client.close()
        }
        await server.close()
    }

    func testClientWithoutCertificateNeverReachesAHandler() async throws {
        let server = try await startServer()
        let client = try await connect(server, bank: nil)
        let result = await client.unary(path: "/test.Peer/WhoAmI", message: ByteBuffer(), timeout: .seconds(10))
        XCTAssertEqual(result.status.code, .unavailable, "\(result.status)")
        await client.close()
        await server.close()
    }
}
