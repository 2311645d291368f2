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
            and the demo registry. SIGTERM drains gracefully (health NOT_SERVING, GOAWAY, in-flight calls finish \
            within the grace period) and exits 0; SIGHUP reloads the TLS certificates, CA and CRL.
            """
    )

    @Option(help: "Configuration file for a non-demo deployment.")
    var config: String?

    @Flag(help: "Create and use the SPEC §6 demo state.")
    var demo = false

    @Option(help: "State directory (PKI, database).")
    var stateDir = ".bankgw-demo"

    @Option(help: "Override the TLS listener port (0: ephemeral; tests).")
    var tlsPort: Int?

    @Option(help: "Override the h2c health probe port (0: ephemeral; tests).")
    var probePort: Int?

    @Option(help: "Override the metrics port (0: ephemeral; tests).")
    var metricsPort: Int?

    @Option(help: "Seconds in-flight calls may run after SIGTERM.")
    var shutdownGraceSeconds: Int64 = 10

    @Option(help: "Write the bound ports as JSON to this file once serving (tests, supervisors).")
    var readyFile: String?

    func validate() throws {
        guard demo || config != nil else {
            throw ValidationError("give --demo (SPEC §6 demo state) or --config FILE")
        }
        guard shutdownGraceSeconds >= 0 && shutdownGraceSeconds <= 300 else {
            throw ValidationError("--shutdown-grace-seconds must be 0...300")
        }
        for (name, port) in [("--tls-port", tlsPort), ("--probe-port", probePort), ("--metrics-port", metricsPort)] {
            if let port, !(0...65_535).contains(port) { throw ValidationError("\(name) must be 0...65535") }
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "bankgw")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        guard config == nil else {
            // The configuration file format lands with the gateway service (issue 6); refuse rather than guess.
            logger.error("--config is not supported by this build yet; use --demo")
            throw ExitCode.usage
        }

        let layout = DevelopmentPKI.Layout(stateDirectory: stateDir)
        let created = try DevelopmentPKI.initialize(directory: stateDir)
        if !created.isEmpty { logger.info("demo PKI created", metadata: ["files": "\(created.count)", "dir": "\(layout.root)"]) }

        let store: WalletStore
        do {
            store = try WalletStore(stateDirectory: stateDir)
            try await store.seedDemo()
        } catch {
            logger.error("wallet store unavailable: \(error)")
            throw ExitCode(1)
        }
        let receipts = try ReceiptSigner(privateKeyPath: layout.receiptKey)

        // SPKI pins live in the bank profiles; the handshake reads them from memory (it cannot wait on storage).
        let pins = try await store.banks().reduce(into: [String: [UInt8]]()) { pins, bank in
            if let pin = bank.facts.profile.pinnedSPKISHA256 { pins[bank.facts.code] = pin }
        }
        let tls = try TLSServerContext(configuration: TLSServerConfiguration(
            certificateChainPath: layout.serverCertificate, privateKeyPath: layout.serverKey,
            trustRootsPath: layout.caCertificate,
            crlPath: FileManager.default.fileExists(atPath: layout.crl) ? layout.crl : nil,
            spkiPin: { code in pins[code] }
        ))
        var services = BankGatewayService(store: store, receipts: receipts).services
        services.merge(AdminService(store: store, receipts: receipts).services)
        var listeners = GatewayListeners()
        if let tlsPort { listeners.tlsPort = tlsPort }
        if let probePort { listeners.probePort = probePort }
        if let metricsPort { listeners.metricsPort = metricsPort }
        listeners.shutdownGrace = .seconds(shutdownGraceSeconds)

        let readyFile = self.readyFile
        let server = GatewayServer(
            listeners: listeners, tls: tls, services: services, registry: registry, logger: logger
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
}
