import ArgumentParser
import DevelopmentSupport
import Dispatch
import Foundation
import GatewayRPC
import GatewayTLS
import Histogram
import Logging
import NIOCore
import NIOPosix

/// `bankgw bench`: N connections × M concurrent streams for S seconds against any gRPC server (SPEC §7).
///
/// Ours because no stock load tool presents a client certificate (h2load cannot). It drives calls from the event
/// loops with futures (no Task per call) and prebuilt request HEADERS, so it outruns the server it measures.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load-test a gRPC server: req/s, latency percentiles, errors by status.",
        subcommands: [BenchLoad.self, BenchEchoServer.self],
        defaultSubcommand: BenchLoad.self
    )
}

struct BenchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "N connections × M concurrent streams for S seconds (the default subcommand)."
    )

    @Option(help: "The gateway's state directory (mutual TLS with the bank's demo certificate).")
    var stateDir: String?
    @Option(help: "host:port of the gRPC server.")
    var target: String?
    @Flag(help: "Plaintext HTTP/2 (h2c) instead of TLS.")
    var plaintext = false
    @Option(help: "The bank (4-digit code) whose certificate to present over TLS.")
    var bank: String?
    @Option(help: "Connections to open.")
    var connections = 4
    @Option(help: "Concurrent streams per connection.")
    var streams = 64
    @Option(help: "Seconds to run (after the warm-up).")
    var duration = 10.0
    @Option(help: "Seconds of warm-up not counted.")
    var warmup = 1.0
    @Option(help: "The method to call.")
    var method = "/test.Echo/Echo"
    @Option(help: "Request message size in bytes (filled with 'x'), ignored with --message-file.")
    var messageBytes = 16
    @Option(help: "A file whose bytes are the request message (e.g. an encoded ChargeRequest).")
    var messageFile: String?
    @Option(help: "Per-call deadline in milliseconds (0: none).")
    var timeoutMs: Int64 = 0
    @Option(help: "Event-loop threads (default: all cores).")
    var threads: Int = System.coreCount
    @Option(help: "PID of the server (same machine): print its CPU (/proc utime+stime) per call over the timed window.")
    var serverPid: Int32?

    func validate() throws {
        guard connections > 0, connections <= 10_000 else { throw ValidationError("--connections in 1...10000") }
        guard streams > 0, streams <= 10_000 else { throw ValidationError("--streams in 1...10000") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration in (0, 3600] seconds") }
        guard warmup >= 0, threads > 0 else { throw ValidationError("--warmup >= 0, --threads > 0") }
        guard target != nil || stateDir != nil else { throw ValidationError("give --target HOST:PORT or --state-dir") }
        guard method.hasPrefix("/"), method.dropFirst().contains("/") else {
            throw ValidationError("--method is /package.Service/Method")
        }
    }

    func run() async throws {
        let (host, port) = try Self.split(target ?? (plaintext ? "127.0.0.1:8081" : "127.0.0.1:8443"))
        var security: RPCClientConnection.ConfigureSecurity?
        if !plaintext {
            // Mutual TLS with the bank's certificate from the state directory (SPEC §6 layout).
            guard let stateDir, let bank else {
                FileHandle.standardError.write(
                    Data("bench: TLS needs --state-dir and --bank (or use --plaintext)\n".utf8))
                throw ExitCode.usage
            }
            let pki = DevelopmentPKI.Layout(stateDirectory: stateDir)
            let context: TLSClientContext
            do {
                context = try TLSClientContext(
                    configuration: TLSClientConfiguration(
                        trustRootsPath: pki.caCertificate, certificateChainPath: pki.bankCertificate(bank),
                        privateKeyPath: pki.bankKey(bank)))
            } catch {
                FileHandle.standardError.write(Data("bench: cannot load the TLS credentials: \(error)\n".utf8))
                throw ExitCode.badInput
            }
            security = { channel in try channel.pipeline.syncOperations.addHandler(context.makeHandler()) }
        }
        let message: ByteBuffer
        if let messageFile {
            message = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: messageFile)))
        } else {
            message = ByteBuffer(repeating: UInt8(ascii: "x"), count: messageBytes)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)

        var clients: [RPCClientConnection] = []
        for _ in 0..<connections {
            do {
                clients.append(
                    try await RPCClientConnection.connect(
                        host: host, port: port, configureSecurity: security, group: group))
            } catch {
                FileHandle.standardError.write(Data("bench: cannot connect to \(host):\(port): \(error)\n".utf8))
                throw ExitCode.unreachable
            }
        }
        let timeout: TimeAmount? = timeoutMs > 0 ? .milliseconds(timeoutMs) : nil
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(warmup * 1e9))
        let stopAt = measureFrom + .nanoseconds(Int64(duration * 1e9))
        // The server's CPU over exactly the timed window (after connecting and the warm-up).
        let cpuWindow = serverPid.map { pid in
            Task { () -> Double? in
                try? await Task.sleep(nanoseconds: UInt64(max(0, (measureFrom - NIODeadline.now()).nanoseconds)))
                guard let before = ServerCPU.seconds(pid: pid) else { return nil }
                try? await Task.sleep(nanoseconds: UInt64(max(0, (stopAt - NIODeadline.now()).nanoseconds)))
                guard let after = ServerCPU.seconds(pid: pid) else { return nil }
                return after - before
            }
        }
        let runs = clients.map { client in
            LoadRun(
                client: client, head: client.makeRequestHead(path: method, timeout: timeout), body: .message(message),
                streams: streams, measureFrom: measureFrom, stopAt: stopAt)
        }
        let results = try await withThrowingTaskGroup(of: LoadRun.Tally.self) { group in
            for run in runs { group.addTask { try await run.start().get() } }
            var all: [LoadRun.Tally] = []
            for try await tally in group { all.append(tally) }
            return all
        }
        let serverCPU = await cpuWindow?.value
        for client in clients { await client.close() }
        try await group.shutdownGracefully()

        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var byStatus = [Int](repeating: 0, count: GRPCStatus.Code.allCases.count)
        for tally in results {
            histogram.add(tally.latencyMicros)
            for (code, count) in tally.byStatus.enumerated() { byStatus[code] += count }
        }
        let total = byStatus.reduce(0, +)
        let seconds = duration
        print(
            "bench: \(connections) connections × \(streams) streams, \(seconds) s (+\(warmup) s warm-up), \(method), "
                + "\(message.readableBytes)-byte messages, \(plaintext ? "h2c" : "mTLS") \(host):\(port), "
                + "\(threads) client threads")
        print(String(format: "requests: %d in %.2f s = %.0f req/s", total, seconds, Double(total) / seconds))
        print(
            "latency µs: p50 \(histogram.valueAtPercentile(50)) p90 \(histogram.valueAtPercentile(90)) "
                + "p99 \(histogram.valueAtPercentile(99)) p99.9 \(histogram.valueAtPercentile(99.9)) "
                + "max \(histogram.max)")
        let statuses = GRPCStatus.Code.allCases.filter { byStatus[$0.rawValue] > 0 }
            .map { "\($0.name) \(byStatus[$0.rawValue])" }
        print("statuses: " + (statuses.isEmpty ? "none" : statuses.joined(separator: ", ")))
        let ok = byStatus[GRPCStatus.Code.ok.rawValue]
        // One line for scripts (scripts/bench/issue14.py): key=value, times in ms, CPU in µs per completed call.
        var line = String(
            format: "BENCH tool=bench method=%@ transport=%@ calls=%d ok=%d req_per_s=%.1f p50_ms=%.3f p99_ms=%.3f",
            method, plaintext ? "h2c" : "mtls", total, ok, Double(total) / seconds,
            Double(histogram.valueAtPercentile(50)) / 1000, Double(histogram.valueAtPercentile(99)) / 1000)
        if let serverCPU {
            line += String(
                format: " server_cpu_s=%.3f server_cpu_us_per_call=%.2f", serverCPU,
                total > 0 ? serverCPU * 1e6 / Double(total) : 0)
        }
        print(line)
        if byStatus[GRPCStatus.Code.ok.rawValue] == 0 { throw ExitCode.checkFailed }
    }

    static func split(_ target: String) throws -> (String, Int) {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw ValidationError("target must be HOST:PORT") }
        return (String(target[..<colon]), port)
    }
}

/// CPU time (user + system, all threads) a process has used, from /proc/PID/stat (Linux; nil elsewhere or when the
/// process is gone). Read with plain POSIX calls: /proc files report size 0, which whole-file readers mishandle.
enum ServerCPU {
    static func seconds(pid: Int32) -> Double? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        guard let paren = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: paren)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// The load on one connection: `streams` call loops, each starting its next call when the last one ends, all on
/// the connection's event loop. Tallies are loop-confined, so recording takes no lock.
final class LoadRun: @unchecked Sendable {
    struct Tally: Sendable {
        var latencyMicros = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var byStatus = [Int](repeating: 0, count: GRPCStatus.Code.allCases.count)
    }

    private let client: RPCClientConnection
    private let head: RPCRequestHead
    private let body: RPCRequestBody
    private let streams: Int
    private let measureFrom: NIODeadline
    private let stopAt: NIODeadline
    private var tally = Tally()
    private var running = 0
    private let done: EventLoopPromise<Tally>

    init(
        client: RPCClientConnection, head: RPCRequestHead, body: RPCRequestBody, streams: Int,
        measureFrom: NIODeadline, stopAt: NIODeadline
    ) {
        self.client = client
        self.head = head
        self.body = body
        self.streams = streams
        self.measureFrom = measureFrom
        self.stopAt = stopAt
        self.done = client.eventLoop.makePromise()
    }

    func start() -> EventLoopFuture<Tally> {
        client.eventLoop.execute {
            self.running = self.streams
            for _ in 0..<self.streams { self.next() }
        }
        return done.futureResult
    }

    private func next() {
        let started = NIODeadline.now()
        guard started < stopAt else {
            running -= 1
            if running == 0 { done.succeed(tally) }
            return
        }
        client.call(head, body: body).whenSuccess { result in
            let ended = NIODeadline.now()
            if started >= self.measureFrom && ended <= self.stopAt {
                let micros = max((ended - started).nanoseconds / 1000, 1)
                _ = self.tally.latencyMicros.record(UInt64(micros))
                self.tally.byStatus[result.status.code.rawValue] += 1
            }
            if result.status.code == .unavailable && !self.client.isConnected {
                // The connection is gone; stop this loop rather than spin on failures.
                self.running -= 1
                if self.running == 0 { self.done.succeed(self.tally) }
                return
            }
            self.next()
        }
    }
}

/// `bankgw bench echo-server`: the transport alone (`test.Echo`) on h2c, to measure with h2load or `bench` and
/// to host the interop tests. SIGTERM drains gracefully (GOAWAY, in-flight calls finish) and exits 0.
struct BenchEchoServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-server",
        abstract: "Serve test.Echo over h2c (for h2load and the interop tests); prints the bound port."
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"
    @Option(help: "Port (0: ephemeral; the bound port is printed).")
    var port = 0
    @Option(help: "Event-loop threads.")
    var threads = System.coreCount
    @Option(help: "Request receive limit in ms (slowloris).")
    var maxRequestReceiveMs: Int64 = 10_000
    @Option(help: "Connection cap.")
    var maxConnections = 1000
    @Option(help: "Idle connection timeout in ms.")
    var maxIdleMs: Int64 = 300_000
    @Option(help: "Grace period for in-flight calls on SIGTERM, in ms.")
    var graceMs: Int64 = 10_000
    @Option(help: "Serve mutual TLS with the server certificate of this state directory (`bankgw pki init DIR`).")
    var tlsStateDir: String?

    func run() async throws {
        var limits = RPCServerLimits()
        limits.maxRequestReceiveTime = .milliseconds(maxRequestReceiveMs)
        limits.maxConnections = maxConnections
        limits.maxIdleTime = .milliseconds(maxIdleMs)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let logger = Logger(label: "bankgw.bench.echo")
        var security: RPCServer.ConfigureSecurity?
        if let tlsStateDir {
            let pki = DevelopmentPKI.Layout(stateDirectory: tlsStateDir)
            let context = try TLSServerContext(
                configuration: TLSServerConfiguration(
                    certificateChainPath: pki.serverCertificate, privateKeyPath: pki.serverKey,
                    trustRootsPath: pki.caCertificate))
            security = { channel in try channel.pipeline.syncOperations.addHandler(context.makeHandler()) }
        }
        let server = try await RPCServer.start(
            host: host, port: port, services: EchoService.services, limits: limits, configureSecurity: security,
            group: group, logger: logger)
        FileHandle.standardOutput.write(Data("listening on \(host):\(server.port)\n".utf8))

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGTERM, SIGINT].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return source
        }
        // The sources must outlive the wait: a released DispatchSource stops delivering (release builds free
        // them early without this).
        for await _ in stream { break }
        withExtendedLifetime(sources) {}
        await server.shutdownGracefully(grace: .milliseconds(graceMs))
        FileHandle.standardOutput.write(Data("drained\n".utf8))
        try await group.shutdownGracefully()
    }
}
