import ArgumentParser
import Foundation
import GatewayConsole
import GatewayPolicy
import GatewayRPC
import GatewayService
import GatewayTLS
import Logging
import Metrics
import Prometheus
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

    @Option(help: "Override the monitoring console port (0: ephemeral; tests).")
    var consolePort: Int?

    @Option(help: "A JSON file of SPEC §8 monitoring thresholds (the config file's `monitoring` object; also with --demo).")
    var monitoring: String?

    @Flag(help: "Run only the SPEC §4 chain and the pre-§8 alerts (the benchmark's baseline).")
    var monitoringRulesOff = false

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
            deployment = try Self.demoConfiguration(stateDir: stateDir, graceSeconds: shutdownGraceSeconds)
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
        let level = Logger.Level(rawValue: deployment.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "bankgw")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let store: WalletStore
        do {
            store = try WalletStore(
                path: deployment.databasePath, monitoring: MonitoringChecks(thresholds: deployment.monitoring))
            if demo { try await store.seedDemo() }
            for bank in deployment.banks where try await store.bank(code: bank.code) == nil {
                try await store.registerBank(
                    code: bank.code, name: bank.name, profile: deployment.bankDefaults,
                    audit: AuditContext(actor: "config", reason: "registered from \(config ?? "the configuration")"))
                logger.info("bank registered (PENDING)", metadata: ["bank": "\(bank.code)"])
            }
        } catch {
            logger.error("wallet store unavailable: \(error)")
            throw ExitCode(1)
        }
        // SPEC §5: the signing key's public half is published (and must match what is already published there:
        // checked now, not discovered by a bank whose receipts fail to verify) and archived under its key id.
        let receipts: ReceiptSigner
        do {
            receipts = try ReceiptSigner(privateKeyPath: deployment.receiptKey)
            let files = ReceiptKeyFiles(stateDirectory: deployment.stateDirectory)
            try files.publish(
                receipts, publicKeyPath: deployment.receiptPublicKey ?? files.currentPublicKey,
                privateKeyPath: deployment.receiptKey)
            logger.info("receipt key", metadata: ["receipt_key_id": "\(receipts.keyID)"])
        } catch {
            printError("bankgw serve: \(error)")
            throw ExitCode.badInput
        }

        // Pins and rates live in the bank profiles; the handshake and the request path read them from memory.
        let directory = BankDirectory()
        try await directory.reload(from: store)
        let tls = try TLSServerContext(configuration: TLSServerConfiguration(
            certificateChainPath: deployment.tls.certificate, privateKeyPath: deployment.tls.privateKey,
            trustRootsPath: deployment.tls.partnerCA, crlPath: deployment.tls.crl,
            crlMayBeAbsent: deployment.tls.crlMayBeAbsent,
            handshakeTimeout: .milliseconds(deployment.tls.handshakeTimeoutMs),
            spkiPin: { code in directory.pin(for: code) }
        ))
        var services = BankGatewayService(store: store, receipts: receipts, directory: directory).services
        let admin = AdminService(store: store, receipts: receipts, directory: directory)
        services.merge(admin.services)
        let refusals = TLSRefusalMonitor(thresholds: deployment.monitoring) { signal in
            Task { try? await store.raiseAlert(signal) }
        }

        var listeners = GatewayListeners()
        listeners.tlsHost = deployment.listen.tls.host
        listeners.tlsPort = tlsPort ?? deployment.listen.tls.port
        listeners.probeHost = deployment.listen.probe.host
        listeners.probePort = probePort ?? deployment.listen.probe.port
        listeners.metricsHost = deployment.listen.metrics.host
        listeners.metricsPort = metricsPort ?? deployment.listen.metrics.port
        listeners.shutdownGrace = .milliseconds(deployment.shutdownGraceMs)
        var limits = RPCServerLimits()
        limits.maxConnections = deployment.maxConnections
        limits.maxConcurrentStreams = deployment.maxConcurrentStreams

        let readyFile = self.readyFile
        let ports = ReadyPorts(readyFile: readyFile)
        // The console (SPEC §8): the same certificates and CA on the project's TLS stage, speaking HTTP/1.1.
        var consoleTLS = tls.configuration
        consoleTLS.applicationProtocol = .http1
        let console = try ConsoleServer(
            host: deployment.listen.console.host, port: consolePort ?? deployment.listen.console.port,
            tls: try TLSServerContext(configuration: consoleTLS), admin: admin, store: store, logger: logger,
            onTLSRefusal: { refusals.refused(address: $0) })
        console.onReady = { port in ports.set(console: port) }
        let server = GatewayServer(
            listeners: listeners, tls: tls, services: services, limits: limits, registry: registry, logger: logger,
            onTLSRefusal: { refusals.refused(address: $0) },
            onReady: { tlsPort, probePort, metricsPort in
                ports.set(tls: tlsPort, probe: probePort, metrics: metricsPort)
            })
        let sweep = HoldSweep(store: store, intervalMs: deployment.monitoring.holdSweepIntervalMs, logger: logger)
        let group = ServiceGroup(
            services: [server, console, sweep], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
            logger: logger
        )
        try await group.run()
    }

    /// SPEC §6: the demo PKI (created on first start) and database under `stateDir`, on the SPEC §1 ports.
    static func demoConfiguration(stateDir: String, graceSeconds: Int64) throws -> GatewayConfiguration {
        let layout = DevelopmentPKI.Layout(stateDirectory: stateDir)
        try DevelopmentPKI.initialize(directory: stateDir)
        var configuration = GatewayConfiguration(
            stateDirectory: stateDir, databasePath: stateDir + "/" + WalletStore.databaseFileName,
            tls: .init(
                certificate: layout.serverCertificate, privateKey: layout.serverKey, partnerCA: layout.caCertificate,
                crl: layout.crl),
            receiptKey: layout.receiptKey)
        // `pki/crl.pem` is read at start when present and again on every SIGHUP, so a CRL added later applies.
        configuration.tls.crlMayBeAbsent = true
        configuration.receiptPublicKey = layout.receiptPublicKey
        configuration.shutdownGraceMs = graceSeconds * 1_000
        return configuration
    }
}

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
        FileManager.default.createFile(atPath: readyFile, contents: Data(json.utf8))
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
