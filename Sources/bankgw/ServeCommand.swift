import ArgumentParser
import Deployment
import Foundation
import GatewayConsole
import GatewayPolicy
import GatewayRPC
import GatewayService
import GatewayTLS
import Logging
import ServiceLifecycle
import WalletCore

/// `bankgw serve [--config FILE] [--demo] [--state-dir DIR]` (SPEC §7).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: TLS gRPC on 8443, the h2c health probe on 8081, metrics on 9464 (SPEC §1).",
        discussion: """
            --demo creates (on first start) and uses the SPEC §6 demo state under --state-dir: the development PKI \
            and the demo registry. --config FILE runs a deployment described by a JSON file (README.md lists every \
            key); a wrong key or value is refused at start-up, naming the key (exit 65). SIGTERM drains gracefully \
            (health NOT_SERVING, GOAWAY, in-flight calls finish within the grace period) and exits 0; SIGHUP \
            reloads the TLS certificates, CA and CRL.
            """
    )

    @Option(help: "Configuration file (JSON) for a non-demo deployment.")
    var config: String?

    @Flag(help: "Create and use the SPEC §6 demo state.")
    var demo = false

    @Option(help: "State directory of the demo (PKI, database).")
    var stateDir = ".bankgw-demo"

    @Option(help: "Override the TLS listener port (0: ephemeral; tests).")
    var tlsPort: Int?

    @Option(help: "Override the h2c health probe port (0: ephemeral; tests).")
    var probePort: Int?

    @Option(help: "Override the metrics port (0: ephemeral; tests).")
    var metricsPort: Int?

    @Option(help: "Seconds in-flight calls may run after SIGTERM (demo; a config file says shutdownGraceMs).")
    var shutdownGraceSeconds: Int64 = 10

    @Option(help: "Write the bound ports as JSON to this file once serving (tests, supervisors).")
    var readyFile: String?

    @Option(help: "text (a terminal) or json (one object a line: time, level, message, bank, request_id, trace_id).")
    var logFormat: LogFormat = .text

    @Option(help: "Override the log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String?

    @Option(help: "Override the monitoring console port (0: ephemeral; tests).")
    var consolePort: Int?

    @Option(
        help: "A JSON file of SPEC §8 monitoring thresholds (the config file's `monitoring` object; also with --demo).")
    var monitoring: String?

    @Flag(help: "Run only the SPEC §4 chain and the pre-§8 alerts (the benchmark's baseline).")
    var monitoringRulesOff = false

    @Option(help: "Override the connection cap per listener (the config file's maxConnections; benchmarks).")
    var maxConnections: Int?

    func validate() throws {
        guard demo != (config != nil) else {
            throw ValidationError("give exactly one of --demo (SPEC §6 demo state) and --config FILE")
        }
        guard shutdownGraceSeconds >= 0 && shutdownGraceSeconds <= 300 else {
            throw ValidationError("--shutdown-grace-seconds must be 0...300")
        }
        for (name, port) in [
            ("--tls-port", tlsPort), ("--probe-port", probePort), ("--metrics-port", metricsPort),
            ("--console-port", consolePort),
        ] {
            if let port, !(0...65_535).contains(port) { throw ValidationError("\(name) must be 0...65535") }
        }
    }

    func run() async throws {
        var deployment: GatewayConfiguration
        if let config {
            do {
                deployment = try GatewayConfiguration.load(path: config)
            } catch {
                printError("bankgw serve: \(config): \(error)")
                throw ExitCode.badInput
            }
        } else {
            deployment = try GatewayAssembly.demoConfiguration(
                stateDirectory: stateDir, graceMs: shutdownGraceSeconds * 1_000)
        }
        if let monitoring {
            do {
                deployment.monitoring = try GatewayConfiguration.parseMonitoring(
                    FileManager.default.contents(atPath: monitoring) ?? Data("cannot read the file".utf8))
            } catch {
                printError("bankgw serve: \(monitoring): \(error)")
                throw ExitCode.badInput
            }
        }
        if monitoringRulesOff { deployment.monitoring.rulesEnabled = false }
        if let maxConnections {
            guard (1...100_000).contains(maxConnections) else {
                printError("bankgw serve: --max-connections must be 1...100000")
                throw ExitCode.usage
            }
            deployment.maxConnections = maxConnections
        }
        guard let level = Logger.Level(rawValue: logLevel ?? deployment.logLevel) else {
            printError("bankgw serve: --log-level must be one of \(Logger.Level.allCases.map(\.rawValue))")
            throw ExitCode.usage
        }
        logFormat.bootstrap(level: level)
        let logger = Logger(label: "bankgw")

        var options = GatewayAssembly.Options()
        options.seedDemo = demo
        options.registrationSource = config ?? "the configuration"
        let assembly: GatewayAssembly
        do {
            assembly = try await GatewayAssembly.build(configuration: deployment, options: options, logger: logger)
        } catch let error as WalletError {
            logger.error("wallet store unavailable: \(error)")
            throw ExitCode(1)
        } catch let error as GatewayAssembly.StartupError {
            printError("bankgw serve: \(error)")
            throw ExitCode.badInput
        } catch {
            logger.error("start-up failed: \(error)")
            throw ExitCode(1)
        }
        var listeners = assembly.listeners
        if let tlsPort { listeners.tlsPort = tlsPort }
        if let probePort { listeners.probePort = probePort }
        if let metricsPort { listeners.metricsPort = metricsPort }

        let ports = ReadyPorts(readyFile: readyFile)
        // The console (SPEC §8): the same certificates and CA on the project's TLS stage, speaking HTTP/1.1.
        var consoleTLS = assembly.tls.configuration
        consoleTLS.applicationProtocol = .http1
        let refusals = assembly.refusals
        let console = try ConsoleServer(
            host: deployment.listen.console.host, port: consolePort ?? deployment.listen.console.port,
            tls: try TLSServerContext(configuration: consoleTLS), admin: assembly.admin, store: assembly.store,
            logger: logger, onTLSRefusal: { refusals.refused(address: $0) })
        console.onReady = { port in ports.set(console: port) }
        let server = assembly.makeServer(listeners: listeners) { tlsPort, probePort, metricsPort in
            ports.set(tls: tlsPort, probe: probePort, metrics: metricsPort)
        }
        let sweep = HoldSweep(
            store: assembly.store, intervalMs: deployment.monitoring.holdSweepIntervalMs, logger: logger)
        let group = ServiceGroup(
            services: [server, console, sweep], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
            logger: logger
        )
        try await group.run()
    }
}

extension LogFormat: ExpressibleByArgument {}

/// Writes the ready file once every listener is bound (the gRPC listeners and the console start separately).
final class ReadyPorts: @unchecked Sendable {
    private let readyFile: String?
    private let lock = NSLock()
    private var grpc: (tls: Int, probe: Int, metrics: Int)?
    private var console: Int?

    init(readyFile: String?) { self.readyFile = readyFile }

    func set(tls: Int, probe: Int, metrics: Int) {
        lock.withLock { grpc = (tls, probe, metrics) }
        writeIfComplete()
    }

    func set(console port: Int) {
        lock.withLock { console = port }
        writeIfComplete()
    }

    private func writeIfComplete() {
        let json: String? = lock.withLock {
            guard let grpc, let console else { return nil }
            let consolePort = console >= 0 ? #","console":\#(console)"# : ""
            return #"{"tls":\#(grpc.tls),"probe":\#(grpc.probe),"metrics":\#(grpc.metrics)\#(consolePort)}"#
        }
        guard let readyFile, let json else { return }
        // Atomically (a temporary file renamed into place): a supervisor polling for the file never reads it
        // half-written.
        try? Data(json.utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic)
    }
}

/// The `hold.overdue` sweep (SPEC §8) every `intervalMs`, until shutdown; also prunes old decision buckets.
struct HoldSweep: Service {
    let store: WalletStore
    let intervalMs: Int64
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {
            // Graceful shutdown cancels the sleep between sweeps: a normal end, not a failure.
        }
    }

    private func loop() async throws {
        while !Task.isCancelled {
            do {
                let added = try await store.sweepOverdueHolds()
                if added > 0 { logger.warning("holds overdue", metadata: ["added": "\(added)"]) }
                try await store.pruneDecisionBuckets(olderThanUnixMs: WalletStore.systemClock() - 2 * 3_600_000)
            } catch {
                logger.error("hold sweep failed: \(error)")
            }
            try await Task.sleep(for: .milliseconds(intervalMs))
        }
    }
}
