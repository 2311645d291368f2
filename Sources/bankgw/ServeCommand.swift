import ArgumentParser
import Foundation
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

    func validate() throws {
        guard demo != (config != nil) else {
            throw ValidationError("give exactly one of --demo (SPEC §6 demo state) and --config FILE")
        }
        guard shutdownGraceSeconds >= 0 && shutdownGraceSeconds <= 300 else {
            throw ValidationError("--shutdown-grace-seconds must be 0...300")
        }
        for (name, port) in [("--tls-port", tlsPort), ("--probe-port", probePort), ("--metrics-port", metricsPort)] {
            if let port, !(0...65_535).contains(port) { throw ValidationError("\(name) must be 0...65535") }
        }
    }

    func run() async throws {
        let deployment: GatewayConfiguration
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
            store = try WalletStore(path: deployment.databasePath)
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
        services.merge(AdminService(store: store, receipts: receipts, directory: directory).services)

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
        let server = GatewayServer(
            listeners: listeners, tls: tls, services: services, limits: limits, registry: registry, logger: logger
        ) { tlsPort, probePort, metricsPort in
            guard let readyFile else { return }
            let json = #"{"tls":\#(tlsPort),"probe":\#(probePort),"metrics":\#(metricsPort)}"#
            FileManager.default.createFile(atPath: readyFile, contents: Data(json.utf8))
        }
        let group = ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger
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
