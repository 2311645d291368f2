// grpc-swift-2 reference server for `make bench`: /grpc.health.v1.Health/Check → 08 01 (status SERVING).
//
//   grpc-swift-reference [--port P] [--threads N] [--tls-dir DIR]   (DIR: the pki/ folder of a state directory)
//
// Prints `listening on 127.0.0.1:PORT` once bound. With --tls-dir (a `bankgw pki init` / demo state directory) it
// serves mutual TLS with DIR/server.pem + DIR/server.key and verifies client certificates against DIR/ca.pem
// (chain only, no hostname: the bank certificates carry SPIFFE URIs, not DNS names). Runs until killed.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOPosix

/// The request bytes are taken as they come (a HealthCheckRequest is not decoded: the reference answers SERVING).
struct RawBytesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Int {
        serializedMessageBytes.count
    }
}

/// The fixed response bytes, copied into the transport's buffer type.
struct RawBytesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct HealthReference: RegistrableRPCService {
    static let serving: [UInt8] = [0x08, 0x01]

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check"),
            deserializer: RawBytesDeserializer(), serializer: RawBytesSerializer()
        ) { request, _ in
            // What generated code does for a unary method: read the single request message, answer one message.
            _ = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: Self.serving))
        }
    }
}

var port = 0
var threads = ProcessInfo.processInfo.activeProcessorCount
var tlsDir: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? 0
    case "--threads": threads = Int(arguments.next() ?? "") ?? threads
    case "--tls-dir": tlsDir = arguments.next()
    default:
        let usage = "usage: grpc-swift-reference [--port P] [--threads N] [--tls-dir DIR]\n"
        FileHandle.standardError.write(Data(usage.utf8))
        exit(2)
    }
}

let security: HTTP2ServerTransport.Posix.TransportSecurity
if let tlsDir {
    security = .mTLS(
        certificateChain: [.file(path: tlsDir + "/server.pem", format: .pem)],
        privateKey: .file(path: tlsDir + "/server.key", format: .pem)
    ) { config in
        config.trustRoots = .certificates([.file(path: tlsDir + "/ca.pem", format: .pem)])
        config.clientCertificateVerification = .noHostnameVerification
        config.requireALPN = false
    }
} else {
    security = .plaintext
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let transport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: security, eventLoopGroup: group)
let server = GRPCServer(transport: transport, services: [HealthReference()])
try await withThrowingDiscardingTaskGroup { tasks in
    tasks.addTask { try await server.serve() }
    if let address = try await transport.listeningAddress.ipv4 {
        // Written unbuffered: the harness waits for this line on a pipe.
        let line = "listening on 127.0.0.1:\(address.port) (\(tlsDir == nil ? "h2c" : "mTLS"), \(threads) threads)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
