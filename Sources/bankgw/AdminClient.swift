import ArgumentParser
import Foundation
import GatewayRPC
import GatewayTLS
import GatewayWire
import NIOCore

/// The demo's two operators (SPEC §6): `pki/operator.*` and `pki/operator2.*` (the second pair of eyes, §8).
enum DemoOperator: String, ExpressibleByArgument, CaseIterable {
    case `operator` = "operator"
    case operator2 = "operator2"
}

/// Where the Admin service is and who we are: the demo state directory's operator certificate, or explicit files.
struct AdminConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: "A demo state directory: DIR/pki/operator.pem, operator.key, ca.pem; 127.0.0.1:8443 unless --target.")
    var stateDirectory: String?

    @Option(help: "The gateway's TLS address, HOST:PORT (with --cert, --key, --ca).")
    var target: String?

    @Option(help: "The operator certificate (PEM).")
    var cert: String?

    @Option(help: "The operator certificate's private key (PEM).")
    var key: String?

    @Option(help: "The partner CA the gateway's certificate chains to (PEM).")
    var ca: String?

    @Option(name: .customLong("timeout-seconds"), help: "Deadline of each call, in seconds.")
    var timeoutSeconds: Int64 = 10

    @Flag(help: "Print the response as proto3 JSON (one line) instead of a table.")
    var json = false

    @Option(name: .customLong("as"), help: "Which demo operator's certificate: operator (default) or operator2.")
    var operatorAs: DemoOperator = .operator

    /// The demo state directory when neither --state-dir nor --target is given (SPEC §6).
    static let defaultStateDirectory = ".bankgw-demo"
    /// The demo gateway's TLS address (SPEC §1).
    static let demoTarget = "127.0.0.1:8443"

    func validate() throws {
        let explicit: [(String, String?)] = [("--target", target), ("--cert", cert), ("--key", key), ("--ca", ca)]
        let given = explicit.filter { $0.1 != nil }.map(\.0)
        let files = given.filter { $0 != "--target" }
        if stateDirectory != nil, !files.isEmpty {
            // --state-dir with --target alone is allowed: the demo files, another address (ephemeral ports).
            throw ValidationError("--state-dir and \(files.joined(separator: ", ")) exclude each other")
        }
        if stateDirectory == nil, !given.isEmpty, given.count < explicit.count {
            let missing = explicit.filter { $0.1 == nil }.map(\.0)
            let needed = missing.joined(separator: ", ")
            throw ValidationError("\(needed) also needed with \(given.joined(separator: ", "))")
        }
        if let target, Self.split(target) == nil {
            throw ValidationError("--target must be HOST:PORT with a port in 1...65535, got '\(target)'")
        }
        guard (1...300).contains(timeoutSeconds) else { throw ValidationError("--timeout-seconds in 1...300") }
    }

    /// The resolved endpoint and files (after `validate()`).
    var endpoint: (host: String, port: Int, cert: String, key: String, ca: String) {
        if let target, let cert, let key, let ca, let (host, port) = Self.split(target) {
            return (host, port, cert, key, ca)
        }
        let pki = ((stateDirectory ?? Self.defaultStateDirectory) as NSString).appendingPathComponent("pki")
        let (host, port) = Self.split(target ?? Self.demoTarget)!
        func file(_ name: String) -> String { (pki as NSString).appendingPathComponent(name) }
        let name = operatorAs == .operator2 ? "operator2" : "operator"
        return (host, port, file("\(name).pem"), file("\(name).key"), file("ca.pem"))
    }

    static func split(_ target: String) -> (String, Int)? {
        guard let colon = target.lastIndex(of: ":") else { return nil }
        let host = String(target[..<colon])
        guard !host.isEmpty, let port = Int(target[target.index(after: colon)...]), (1...65_535).contains(port) else {
            return nil
        }
        return (host, port)
    }
}

/// The demo state directory's operators (SPEC §6).

/// A failed admin call, already worded for stderr, with the exit code SPEC §7 gives it.
struct AdminFailure: Error {
    var message: String
    var exitCode: ExitCode
}

/// One mutual-TLS connection to the Admin service for one command.
struct AdminClient {
    let connection: RPCClientConnection
    let timeout: TimeAmount

    /// Connects with the operator certificate. Files that cannot be loaded are bad input (65); a gateway that
    /// refuses the connection or does not answer in time is unreachable (69).
    static func connect(_ options: AdminConnectionOptions) async throws -> AdminClient {
        let endpoint = options.endpoint
        let context: TLSClientContext
        do {
            context = try TLSClientContext(
                configuration: TLSClientConfiguration(
                    trustRootsPath: endpoint.ca, certificateChainPath: endpoint.cert, privateKeyPath: endpoint.key,
                    serverHostname: endpoint.host))
        } catch {
            throw AdminFailure(message: "admin: cannot load TLS material: \(error)", exitCode: .badInput)
        }
        do {
            let connection = try await RPCClientConnection.connect(
                host: endpoint.host, port: endpoint.port,
                configureSecurity: { channel in
                    try channel.pipeline.syncOperations.addHandler(context.makeHandler(serverHostname: endpoint.host))
                },
                connectTimeout: .seconds(5))
            return AdminClient(connection: connection, timeout: .seconds(options.timeoutSeconds))
        } catch {
            throw AdminFailure(
                message: "admin: gateway \(endpoint.host):\(endpoint.port) unreachable: \(error)",
                exitCode: .unreachable)
        }
    }

    /// Calls `method` (a generated `AdminMethods` descriptor). A gRPC error becomes one line naming the method, the
    /// status and its message: exit 69 when the gateway could not be reached or is unavailable, 1 otherwise (the
    /// gateway refused the act).
    func call<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request) async throws -> Response {
        let bytes: [UInt8]
        do {
            bytes = try request.wireBytes()
        } catch {
            throw AdminFailure(message: "admin: \(error)", exitCode: .usage)
        }
        let result = await connection.unary(path: method.path, message: ByteBuffer(bytes: bytes), timeout: timeout)
        guard let message = result.message else {
            let status = result.status
            let code: ExitCode = status.code == .unavailable ? .unreachable : .checkFailed
            throw AdminFailure(message: "admin: \(method.name): \(status)", exitCode: code)
        }
        do {
            return try Response(wireBytes: Array(message.readableBytesView))
        } catch {
            throw AdminFailure(
                message: "admin: \(method.name): undecodable response: \(error)", exitCode: .checkFailed)
        }
    }

    /// Calls `method` and prints its response: the table `rows` makes of it, or proto3 JSON with `--json`.
    @discardableResult
    func show<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request, json: Bool, rows: (Response) -> [[String]]
    ) async throws -> Response {
        let response = try await call(method, request)
        printAdmin(response, json: json) { rows(response) }
        return response
    }

    func close() async { await connection.close() }
}

/// Runs one admin act: connect, `body`, close; failures print their one line and exit with their code.
func runAdmin(_ options: AdminConnectionOptions, _ body: (AdminClient) async throws -> Void) async throws {
    do {
        let client = try await AdminClient.connect(options)
        do {
            try await body(client)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    } catch let failure as AdminFailure {
        printError(failure.message)
        throw failure.exitCode
    }
}

/// Runs one admin call: connect, call `method`, print its response (a table of `rows`, or `--json`), `then` (a
/// follow-up on the same connection), close.
func runAdmin<Request, Response>(
    _ options: AdminConnectionOptions, _ method: WireMethod<Request, Response>, _ request: Request,
    rows: (Response) -> [[String]], then: ((AdminClient, Response) async throws -> Void)? = nil
) async throws {
    try await runAdmin(options) { client in
        let response = try await client.show(method, request, json: options.json, rows: rows)
        try await then?(client, response)
    }
}

/// Prints `message` as a table (`rows` of label/value) or as proto3 JSON with `--json`.
func printAdmin<Message: WireMessage>(_ message: Message, json: Bool, table: () -> [[String]]) {
    if json {
        let bytes = (try? message.wireBytes()) ?? []
        print((try? WireJSON.decode(typeName: Message.protoName, bytes: bytes)) ?? "{}")
        return
    }
    printTable(table())
}
