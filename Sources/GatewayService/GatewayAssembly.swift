import Deployment
import DevelopmentSupport
import Foundation
import GatewayPolicy
import GatewayRPC
import GatewayTLS
import Logging
import NIOCore
import WalletCore

/// The composition root: the one place that builds a gateway from its configuration — wallet store, receipt
/// signer, bank directory (pins and rates), TLS context, metrics, the served services and the server.
/// `bankgw serve`, the conformance tests and the service-level tests all build their gateway here, so what they
/// test is what runs.
public final class GatewayAssembly: Sendable {
    /// What may differ from the shipped composition. The defaults are the shipped gateway; tests (and the
    /// conformance suite's "broken gateway" check) compose other chains. There is no switch for those in the binary.
    public struct Options: Sendable {
        public var linkChecks: LinkChecks = .standard
        public var chargeChecks: ChargeChecks = .standard
        public var clock: @Sendable () -> Int64 = WalletStore.systemClock
        /// Create the SPEC §6 demo registry and wallets in the store (idempotent).
        public var seedDemo = false
        /// Named in the audit entry of banks registered from `configuration.banks`.
        public var registrationSource = "the configuration"

        public init() {}
    }

    /// A start-up failure that is the deployment's input, not the store's (the CLI exits 65 for it).
    public enum StartupError: Error, CustomStringConvertible {
        /// The receipt key cannot be loaded, or the published public key is not its public half.
        case receiptKey(String)

        public var description: String {
            switch self {
            case .receiptKey(let why): "receipt key: \(why)"
            }
        }
    }

    public let configuration: GatewayConfiguration
    public let store: WalletStore
    public let receipts: ReceiptSigner
    public let directory: BankDirectory
    public let metrics: GatewayMetrics
    public let health: HealthService
    public let tls: TLSServerContext
    /// Business services of the TLS port (BankGateway and Admin); the server adds Health.
    public let services: RPCServices
    /// The Admin operations (also served in `services`); the console (SPEC §8) calls them in-process.
    public let admin: AdminService
    /// Counts refused handshakes per client address (SPEC §8 `tls.refusals`) for every TLS listener.
    public let refusals: TLSRefusalMonitor
    public let logger: Logger

    /// Opens (creating) the store, registers the configuration's banks, loads keys and TLS material. Throws the
    /// first thing that is wrong, naming it (`WalletError` for the store, `TLSError` for certificates and keys).
    public static func build(
        configuration: GatewayConfiguration, options: Options = Options(),
        logger: Logger = Logger(label: "bankgw")
    ) async throws -> GatewayAssembly {
        let metrics = GatewayMetrics()
        let store = try WalletStore(
            path: configuration.databasePath, clock: options.clock,
            monitoring: MonitoringChecks(thresholds: configuration.monitoring))
        store.observeWriter(metrics.writerEvents())
        if options.seedDemo { try await store.seedDemo() }
        for bank in configuration.banks where try await store.bank(code: bank.code) == nil {
            try await store.registerBank(
                code: bank.code, name: bank.name, profile: configuration.bankDefaults,
                audit: AuditContext(actor: "config", reason: "registered from \(options.registrationSource)"))
            logger.info("bank registered (PENDING)", metadata: ["bank": "\(bank.code)"])
        }
        // SPEC §5: the signing key's public half is published (and must match what is already published there:
        // checked now, not discovered by a bank whose receipts fail to verify) and archived under its key id.
        let receipts: ReceiptSigner
        do {
            receipts = try ReceiptSigner(privateKeyPath: configuration.receiptKey)
            let files = ReceiptKeyFiles(stateDirectory: configuration.stateDirectory)
            try files.publish(
                receipts, publicKeyPath: configuration.receiptPublicKey ?? files.currentPublicKey,
                privateKeyPath: configuration.receiptKey)
            logger.info("receipt key", metadata: ["receipt_key_id": "\(receipts.keyID)"])
        } catch {
            throw StartupError.receiptKey("\(error)")
        }
        // Pins and rates live in the bank profiles; the handshake and the request path read them from memory.
        let directory = BankDirectory()
        try await directory.reload(from: store)
        metrics.registerBanks(try await store.banks().map(\.facts.code))
        var tlsConfiguration = TLSServerConfiguration(
            certificateChainPath: configuration.tls.certificate, privateKeyPath: configuration.tls.privateKey,
            trustRootsPath: configuration.tls.partnerCA, crlPath: configuration.tls.crl,
            crlMayBeAbsent: configuration.tls.crlMayBeAbsent,
            handshakeTimeout: .milliseconds(configuration.tls.handshakeTimeoutMs),
            spkiPin: { code in directory.pin(for: code) }
        )
        tlsConfiguration.events = metrics.tlsEvents()
        let tls = try TLSServerContext(configuration: tlsConfiguration)
        var services = BankGatewayService(
            store: store, receipts: receipts, linkChecks: options.linkChecks, chargeChecks: options.chargeChecks,
            directory: directory, clock: options.clock, logger: Logger(label: "bankgw.bank-service"),
            metrics: metrics
        ).services
        // SPEC §4: RecordConformance accepts only runs the TLS listener saw over the bank's certificate.
        let witness = ConformanceWitness()
        let admin = AdminService(
            store: store, receipts: receipts, directory: directory, witness: witness, clock: options.clock)
        services.merge(admin.services)
        services.requestObserver = { head in witness.observe(head) }
        // SPEC §8 `tls.refusals`: refused handshakes per client address, raised as alerts off the handshake path.
        let refusals = TLSRefusalMonitor(thresholds: configuration.monitoring, clock: options.clock) { signal in
            Task { try? await store.raiseAlert(signal) }
        }
        // Reflection names only services this gateway serves on the TLS port (its own, Health and the above).
        let reflection = ReflectionService()
        services.merge(reflection.services)
        let served = Set(services.paths.compactMap { $0.split(separator: "/").first.map(String.init) })
            .union([HealthService.serviceName])
        for peer in [PeerIdentity.bank(code: "0000"), .operatorName("any")] {
            precondition(
                ReflectionService.visibleServices(for: peer).isSubset(of: served),
                "reflection would list a service the TLS port does not serve")
        }
        return GatewayAssembly(
            configuration: configuration, store: store, receipts: receipts, directory: directory, metrics: metrics,
            tls: tls, services: services, admin: admin, refusals: refusals, logger: logger)
    }

    private init(
        configuration: GatewayConfiguration, store: WalletStore, receipts: ReceiptSigner, directory: BankDirectory,
        metrics: GatewayMetrics, tls: TLSServerContext, services: RPCServices, admin: AdminService,
        refusals: TLSRefusalMonitor, logger: Logger
    ) {
        self.admin = admin
        self.refusals = refusals
        self.configuration = configuration
        self.store = store
        self.receipts = receipts
        self.directory = directory
        self.metrics = metrics
        self.health = HealthService()
        self.tls = tls
        self.services = services
        self.logger = logger
    }

    /// The configuration's listeners and grace (the CLI may override ports before `makeServer`).
    public var listeners: GatewayListeners {
        var listeners = GatewayListeners()
        listeners.tlsHost = configuration.listen.tls.host
        listeners.tlsPort = configuration.listen.tls.port
        listeners.probeHost = configuration.listen.probe.host
        listeners.probePort = configuration.listen.probe.port
        listeners.metricsHost = configuration.listen.metrics.host
        listeners.metricsPort = configuration.listen.metrics.port
        listeners.shutdownGrace = .milliseconds(configuration.shutdownGraceMs)
        return listeners
    }

    public var limits: RPCServerLimits {
        var limits = RPCServerLimits()
        limits.maxConnections = configuration.maxConnections
        limits.maxConcurrentStreams = configuration.maxConcurrentStreams
        return limits
    }

    /// The serving process (run it under a ServiceGroup: SIGTERM drains).
    public func makeServer(
        listeners: GatewayListeners? = nil,
        onReady: @escaping @Sendable (_ tlsPort: Int, _ probePort: Int, _ metricsPort: Int) -> Void = { _, _, _ in }
    ) -> GatewayServer {
        let (store, metrics) = (self.store, self.metrics)
        return GatewayServer(
            listeners: listeners ?? self.listeners, tls: tls, services: services, health: health, limits: limits,
            metrics: metrics, refreshMetrics: { await metrics.refresh(store: store) }, logger: logger,
            onTLSRefusal: { [refusals] in refusals.refused(address: $0) }, onReady: onReady)
    }

    /// Starts serving in a task (tests): returns once every listener is bound. `stop()` drains like SIGTERM.
    public func start(listeners: GatewayListeners? = nil) async throws -> RunningGateway {
        let (ready, readyContinuation) = AsyncStream<(Int, Int, Int)>.makeStream()
        let server = makeServer(listeners: listeners) { tls, probe, metrics in
            readyContinuation.yield((tls, probe, metrics))
            readyContinuation.finish()
        }
        let task = Task {
            defer { readyContinuation.finish() }
            try await server.run()
        }
        for await (tls, probe, metrics) in ready {
            return RunningGateway(tlsPort: tls, probePort: probe, metricsPort: metrics, task: task)
        }
        try await task.value
        throw CancellationError()  // run() returned without serving: only when cancelled
    }

    /// SPEC §6: the demo PKI (created on first start) and database under `stateDirectory`, on the SPEC §1 ports.
    public static func demoConfiguration(
        stateDirectory: String, graceMs: Int64 = 10_000
    ) throws
        -> GatewayConfiguration
    {
        let layout = DevelopmentPKI.Layout(stateDirectory: stateDirectory)
        _ = try DevelopmentPKI.initialize(directory: stateDirectory)
        var configuration = GatewayConfiguration(
            stateDirectory: stateDirectory, databasePath: stateDirectory + "/" + WalletStore.databaseFileName,
            tls: .init(
                certificate: layout.serverCertificate, privateKey: layout.serverKey, partnerCA: layout.caCertificate,
                crl: layout.crl),
            receiptKey: layout.receiptKey)
        // `pki/crl.pem` is read at start when present and again on every SIGHUP, so a CRL added later applies.
        configuration.tls.crlMayBeAbsent = true
        configuration.receiptPublicKey = layout.receiptPublicKey
        configuration.shutdownGraceMs = graceMs
        return configuration
    }
}

/// A gateway serving in a task (`GatewayAssembly.start`).
public final class RunningGateway: Sendable {
    public let tlsPort: Int
    public let probePort: Int
    public let metricsPort: Int
    private let task: Task<Void, any Error>

    init(tlsPort: Int, probePort: Int, metricsPort: Int, task: Task<Void, any Error>) {
        self.tlsPort = tlsPort
        self.probePort = probePort
        self.metricsPort = metricsPort
        self.task = task
    }

    /// Drains (health NOT_SERVING, GOAWAY, in-flight calls finish within the grace) and waits until stopped.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
