import GatewayRPC
import GatewayTLS
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Where the gateway listens and with what credentials (SPEC §1 defaults).
public struct GatewayListeners: Sendable {
    /// TLS 1.2/1.3, ALPN h2, client certificate required: every service. Default 127.0.0.1:8443.
    public var tlsHost = "127.0.0.1"
    public var tlsPort = 8443
    /// Plaintext h2c: `grpc.health.v1.Health` only, for probes that speak no TLS. Default 127.0.0.1:8081.
    public var probeHost = "127.0.0.1"
    public var probePort = 8081
    /// Plaintext HTTP/1.1 `GET /metrics`. Default 127.0.0.1:9464.
    public var metricsHost = "127.0.0.1"
    public var metricsPort = 9464
    /// How long in-flight calls may run after SIGTERM before their connections close. Default 10 s.
    public var shutdownGrace: TimeAmount = .seconds(10)
    /// The metrics port's connection cap and idle timeout.
    public var metricsLimits = MetricsEndpointLimits()

    public init() {}
}

/// The serving process: the TLS listener with every service, the h2c probe listener with health only, and the
/// metrics endpoint. Runs under swift-service-lifecycle: on graceful shutdown (SIGTERM) health turns NOT_SERVING,
/// every connection gets GOAWAY, in-flight calls finish within the grace period, then the process exits 0.
public final class GatewayServer: Service, Sendable {
    public let health: HealthService
    private let listeners: GatewayListeners
    private let tls: TLSServerContext
    private let services: RPCServices
    private let limits: RPCServerLimits
    private let metrics: GatewayMetrics
    private let refreshMetrics: @Sendable () async -> Void
    private let logger: Logger
    private let onReady: @Sendable (_ tlsPort: Int, _ probePort: Int, _ metricsPort: Int) -> Void
    /// Told the client address of every refused TLS handshake (SPEC §8 `tls.refusals`).
    private let onTLSRefusal: (@Sendable (String) -> Void)?

    /// `services`: the business services served on the TLS port (Health is added to both listeners).
    public init(
        listeners: GatewayListeners, tls: TLSServerContext, services: RPCServices,
        health: HealthService = HealthService(),
        limits: RPCServerLimits = RPCServerLimits(), metrics: GatewayMetrics,
        refreshMetrics: @escaping @Sendable () async -> Void = {},
        logger: Logger = Logger(label: "bankgw.server"),
        onTLSRefusal: (@Sendable (String) -> Void)? = nil,
        onReady: @escaping @Sendable (_ tlsPort: Int, _ probePort: Int, _ metricsPort: Int) -> Void = { _, _, _ in }
    ) {
        self.onTLSRefusal = onTLSRefusal
        self.listeners = listeners
        self.tls = tls
        self.services = services
        self.health = health
        self.limits = limits
        self.metrics = metrics
        self.refreshMetrics = refreshMetrics
        self.logger = logger
        self.onReady = onReady
    }

    public func run() async throws {
        var tlsServices = services
        tlsServices.merge(health.services(for: .tls))
        let tls = self.tls
        let onTLSRefusal = self.onTLSRefusal
        let metricsPort = self.metrics.metricsPortEvents()
        let metrics = try await MetricsEndpoint.start(
            host: listeners.metricsHost, port: listeners.metricsPort, limits: listeners.metricsLimits,
            exposition: { [registry = self.metrics] in registry.exposition() }, refresh: refreshMetrics,
            connectionChanged: metricsPort.changed, connectionRefused: metricsPort.refused)
        let probe: RPCServer
        let secure: RPCServer
        do {
            probe = try await RPCServer.start(
                host: listeners.probeHost, port: listeners.probePort, services: health.services(for: .probe),
                limits: limits, logger: logger, events: self.metrics.rpcEvents(port: "probe")
            )
            secure = try await RPCServer.start(
                host: listeners.tlsHost, port: listeners.tlsPort, services: tlsServices, limits: limits,
                configureSecurity: { channel in
                    try channel.pipeline.syncOperations.addHandler(tls.makeHandler())
                    if let onTLSRefusal {
                        try channel.pipeline.syncOperations.addHandler(TLSRefusalReporter(onRefusal: onTLSRefusal))
                    }
                },
                logger: logger, events: self.metrics.rpcEvents(port: "tls")
            )
        } catch {
            await metrics.close()
            throw error
        }
        // SIGHUP: a failed reload is logged at error by the context and counted here, so it alerts.
        let reload = tls.reloadOnHangup { [metrics = self.metrics] succeeded in
            metrics.tlsReloaded(succeeded: succeeded)
        }
        health.setAll(.serving)
        logger.info(
            "BankGateway serving",
            metadata: [
                "tls": "\(listeners.tlsHost):\(secure.port)", "probe": "\(listeners.probeHost):\(probe.port)",
                "metrics": "\(listeners.metricsHost):\(metrics.port)",
            ]
        )
        onReady(secure.port, probe.port, metrics.port)

        // Serve until SIGTERM/SIGINT (graceful) or cancellation.
        try? await gracefulShutdown()

        logger.info(
            "draining: health NOT_SERVING, GOAWAY to every connection",
            metadata: ["grace": "\(listeners.shutdownGrace)"])
        health.finish()
        reload.cancel()
        async let drainSecure: Void = secure.shutdownGracefully(grace: listeners.shutdownGrace)
        async let drainProbe: Void = probe.shutdownGracefully(grace: listeners.shutdownGrace)
        _ = await (drainSecure, drainProbe)
        await metrics.close()
        logger.info("BankGateway stopped")
    }
}
