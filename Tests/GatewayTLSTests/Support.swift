import DevelopmentSupport
import Foundation
import GatewayTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// Runs a program with a time limit; its stdin gets `input`, kept open for `holdStdin` (s_client acts on stdin
/// lines and quits at EOF, so some tests must keep it open until the server has answered).
enum Subprocess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    static func run(
        _ executable: String, _ arguments: [String], input: Data = Data(), holdStdin: TimeInterval = 0,
        environment: [String: String]? = nil, timeout: TimeInterval
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let outBox = NIOLockedValueBox(Data()), errBox = NIOLockedValueBox(Data())
        let group = DispatchGroup()
        for (pipe, box) in [(stdout, outBox), (stderr, errBox)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                box.withLockedValue { $0 = data }
                group.leave()
            }
        }
        try process.run()
        if !input.isEmpty { try? stdin.fileHandleForWriting.write(contentsOf: input) }
        let holdUntil = Date().addingTimeInterval(holdStdin)
        while process.isRunning && Date() < holdUntil { usleep(20_000) }
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        _ = group.wait(timeout: .now() + 5)
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outBox.withLockedValue { $0 }, as: UTF8.self),
            stderr: String(decoding: errBox.withLockedValue { $0 }, as: UTF8.self))
    }
}

/// A temporary PKI for one test: the partner CA, a server certificate, and whatever client certificates the test
/// asks for, all issued through `DevelopmentCA` (the same C API code as `bankgw pki init`).
final class TestPKI {
    let directory: String
    let ca: DevelopmentCA
    let caPath: String
    let serverCertificatePath: String
    let serverKeyPath: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("bankgw-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        ca = try DevelopmentCA(commonName: "test partner CA")
        caPath = directory + "/ca.pem"
        try ca.certificatePEM().write(toFile: caPath, atomically: true, encoding: .utf8)
        let server = try ca.issue(.localhostServer)
        serverCertificatePath = directory + "/server.pem"
        serverKeyPath = directory + "/server.key"
        try server.write(certificatePath: serverCertificatePath, keyPath: serverKeyPath)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    struct Client {
        var certificatePath: String
        var keyPath: String
        var credential: DevelopmentCredential
    }

    func client(_ name: String, _ spec: DevelopmentCertificateSpec, issuer: DevelopmentCA? = nil) throws -> Client {
        let credential = try (issuer ?? ca).issue(spec)
        let cert = directory + "/\(name).pem", key = directory + "/\(name).key"
        try credential.write(certificatePath: cert, keyPath: key)
        return Client(certificatePath: cert, keyPath: key, credential: credential)
    }

    func bank(_ code: String) throws -> Client { try client("bank-\(code)", .partner(.bank(code: code))) }

    /// Writes (or replaces) the CRL file and returns its path.
    @discardableResult
    func writeCRL(revoking serials: [String]) throws -> String {
        let path = directory + "/crl.pem"
        try ca.revocationListPEM(revokedSerialsHex: serials).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func serverConfiguration(
        crlPath: String? = nil, handshakeTimeout: Duration = .seconds(10),
        pins: [String: [UInt8]] = [:]
    ) -> TLSServerConfiguration {
        TLSServerConfiguration(
            certificateChainPath: serverCertificatePath, privateKeyPath: serverKeyPath, trustRootsPath: caPath,
            crlPath: crlPath, handshakeTimeout: handshakeTimeout, spkiPin: { pins[$0] })
    }
}

/// What the server side saw, for assertions: identities announced and errors reported, in order.
final class ServerRecord: Sendable {
    private let state = NIOLockedValueBox<(identities: [TLSHandshakeCompleted], errors: [String], bytes: Int)>(
        ([], [], 0))

    func add(identity: TLSHandshakeCompleted) { state.withLockedValue { $0.identities.append(identity) } }
    func add(error: String) { state.withLockedValue { $0.errors.append(error) } }
    func add(bytes: Int) { state.withLockedValue { $0.bytes += bytes } }
    var identities: [TLSHandshakeCompleted] { state.withLockedValue { $0.identities } }
    var errors: [String] { state.withLockedValue { $0.errors } }

    /// Waits up to `timeout` for an error to be recorded (errors arrive on the event loop after the client sees the
    /// alert).
    func waitForError(timeout: TimeInterval = 5) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let error = errors.first { return error }
            usleep(10_000)
        }
        return nil
    }
}

/// Echoes decrypted bytes back and records the handshake event and errors.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let record: ServerRecord
    var sawIdentityBeforeData = true
    var identity: TLSHandshakeCompleted?

    init(record: ServerRecord) { self.record = record }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSHandshakeCompleted {
            identity = event
            record.add(identity: event)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if identity == nil { record.add(error: "data before TLSHandshakeCompleted") }
        record.add(bytes: unwrapInboundIn(data).readableBytes)
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        record.add(error: "\(error)")
        context.close(promise: nil)
    }
}

/// A loopback TLS echo server on an ephemeral port.
final class TestServer {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let record = ServerRecord()
    let context: TLSServerContext
    private(set) var channel: Channel!
    var port: Int { channel.localAddress!.port! }

    init(context: TLSServerContext) throws {
        self.context = context
        let record = self.record
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(context.makeHandler())
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Python's `ssl` module as a client: connects, optionally echoes `size` bytes, closes with close_notify, and prints
/// a JSON summary. SSL errors are reported by their OpenSSL reason so tests can check how a refusal happened.
let pythonClientScript = #"""
    import json, socket, ssl, sys
    port, ca, cert, key, alpn, maxver, ciphers, size, connections = sys.argv[1:10]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    if alpn:
        ctx.set_alpn_protocols(alpn.split(","))
    if maxver == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    size = int(size)
    out = {"handshake": False, "reused": []}
    session = None
    try:
      for _ in range(int(connections)):  # later connections resume the first one's session
        with socket.create_connection(("127.0.0.1", int(port)), timeout=20) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                out.update(handshake=True, alpn=s.selected_alpn_protocol(), version=s.version())
                data = (bytes(range(251)) * (size // 251 + 1))[:size]
                if size > 0:
                    s.sendall(data)
                else:
                    s.sendall(b"?")  # a TLS 1.3 refusal of our certificate arrives after the handshake: provoke it
                    data = b"?"
                got = bytearray()
                while len(got) < len(data):
                    chunk = s.recv(min(1 << 20, len(data) - len(got)))
                    if not chunk:
                        break
                    got += chunk
                out["echo_ok"] = bytes(got) == data
                out["echoed"] = len(got)
                out["reused"].append(s.session_reused)
                session = s.session
                s.unwrap()
                out["clean_close"] = True
    except ssl.SSLError as e:
        out["error"] = str(e)
        out["reason"] = e.reason
    except Exception as e:
        out["error"] = repr(e)
    print(json.dumps(out))
    """#

struct PythonClientResult: Decodable {
    var handshake: Bool
    var alpn: String?
    var version: String?
    var echo_ok: Bool?
    var echoed: Int?
    var clean_close: Bool?
    var error: String?
    var reason: String?
    var reused: [Bool]?
}

extension TestPKI {
    /// Runs the Python client against `port`.
    func python(
        port: Int, client: Client?, alpn: String = "h2", maxVersion: String = "", ciphers: String = "",
        size: Int = 0, connections: Int = 1
    ) throws -> PythonClientResult {
        let script = directory + "/client.py"
        if !FileManager.default.fileExists(atPath: script) {
            try pythonClientScript.write(toFile: script, atomically: true, encoding: .utf8)
        }
        let result = try Subprocess.run(
            "/usr/bin/python3",
            [
                script, "\(port)", caPath, client?.certificatePath ?? "", client?.keyPath ?? "", alpn, maxVersion,
                ciphers, "\(size)", "\(connections)",
            ], timeout: 50)
        guard let line = result.stdout.split(separator: "\n").last,
            let decoded = try? JSONDecoder().decode(PythonClientResult.self, from: Data(line.utf8))
        else {
            XCTFail("python client printed no result: \(result.output)")
            return PythonClientResult(handshake: false, error: result.output)
        }
        return decoded
    }

    /// Runs `openssl s_client` against `port` with `extra` arguments.
    func sClient(
        port: Int, client: Client?, extra: [String], input: String = "", holdStdin: TimeInterval = 0
    ) throws -> Subprocess.Result {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", caPath, "-servername", "localhost"]
        if let client { arguments += ["-cert", client.certificatePath, "-key", client.keyPath] }
        arguments += extra
        return try Subprocess.run(
            "/usr/bin/openssl", arguments, input: Data(input.utf8), holdStdin: holdStdin, timeout: 20)
    }
}
