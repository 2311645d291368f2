import GatewayPolicy
import GatewayRPC
import GatewayTLS
import GatewayWire
import Metrics
import NIOConcurrencyHelpers
import Prometheus
import WalletCore

/// Every metric the gateway exports on `GET /metrics` (SPEC §10 and what on-call needs beside it), named once here.
///
/// Labels take bounded values only: registered bank codes, method paths the listener serves (else `unknown`), gRPC
/// code names, decision and decline-reason names, rule names, the listener (`tls`, `probe`, `metrics`), the refusal
/// reasons of `TLSError.refusalReasons` and alert severities. Never request ids, wallets, links or tokens.
///
/// Each gateway (each `GatewayAssembly`) has its own registry, so in-process tests never share counters; the
/// metrics go through swift-metrics with this registry's factory rather than the process-wide `MetricsSystem`.
public final class GatewayMetrics: Sendable {
    public enum Name {
        public static let requests = "bankgw_requests_total"
        public static let decisions = "bankgw_decisions_total"
        public static let requestDuration = "bankgw_request_duration_seconds"
        public static let tlsHandshakeFailures = "bankgw_tls_handshake_failures_total"
        public static let connections = "bankgw_connections"
        public static let rateLimited = "bankgw_rate_limited_total"
        public static let ledgerCommit = "bankgw_ledger_commit_seconds"
        public static let ledgerBatchSize = "bankgw_ledger_batch_size"
        public static let alertsOpen = "bankgw_alerts_open"
        public static let holdsOpen = "bankgw_holds_open"
        // Beyond SPEC §10, for on-call:
        public static let tlsHandshakeDuration = "bankgw_tls_handshake_seconds"
        public static let streamsOpen = "bankgw_streams_open"
        public static let connectionsRefused = "bankgw_connections_refused_total"
        public static let writerQueueDepth = "bankgw_ledger_writer_queue_depth"
        public static let ruleFirings = "bankgw_rule_firings_total"
        public static let alertsRaised = "bankgw_alerts_raised_total"
        public static let traceparentIgnored = "bankgw_traceparent_ignored_total"
        /// SIGHUP reloads of the TLS material by `result` (`ok`, `failed`): a failed one keeps the old CRL.
        public static let tlsReloads = "bankgw_tls_reloads_total"
    }

    /// Severities of SPEC §8, the values of `bankgw_alerts_open{severity}`.
    public static let severities = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    /// The listeners, the values of `bankgw_connections{port}`.
    public static let ports = ["tls", "probe", "metrics"]

    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let alerts: AlertCounts

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request and commit latencies of a payments gateway: sub-millisecond to seconds.
        let latency: [Duration] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        factory.durationHistogramBuckets = [
            Name.requestDuration: latency, Name.ledgerCommit: latency, Name.tlsHandshakeDuration: latency,
        ]
        // Group commit carries up to `WalletLimits.maxBatchWrites` writes.
        factory.valueHistogramBuckets = [Name.ledgerBatchSize: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]]
        self.factory = factory
        self.alerts = AlertCounts()
        for severity in Self.severities {
            Meter(
                label: Name.alertsOpen, dimensions: [("severity", severity)],
                factory: factory
            ).set(0)
        }
        for port in Self.ports { Meter(label: Name.connections, dimensions: [("port", port)], factory: factory).set(0) }
        for reason in TLSError.refusalReasons {
            Counter(label: Name.tlsHandshakeFailures, dimensions: [("reason", reason)], factory: factory)
                .increment(by: 0)
        }
        Meter(label: Name.holdsOpen, factory: factory).set(0)
        Meter(label: Name.streamsOpen, factory: factory).set(0)
        Meter(label: Name.writerQueueDepth, factory: factory).set(0)
        Counter(label: Name.traceparentIgnored, factory: factory).increment(by: 0)
        for result in ["ok", "failed"] {
            Counter(label: Name.tlsReloads, dimensions: [("result", result)], factory: factory).increment(by: 0)
        }
    }

    /// One SIGHUP reload of the TLS material, counted by its result.
    public func tlsReloaded(succeeded: Bool) {
        Counter(label: Name.tlsReloads, dimensions: [("result", succeeded ? "ok" : "failed")], factory: factory)
            .increment()
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    // MARK: Transport

    /// Hooks for one gRPC listener (`port`: `tls` or `probe`).
    public func rpcEvents(port: String) -> RPCServerEvents {
        let factory = self.factory
        let connections = Meter(label: Name.connections, dimensions: [("port", port)], factory: factory)
        let streams = Meter(label: Name.streamsOpen, factory: factory)
        let refused = Counter(label: Name.connectionsRefused, dimensions: [("port", port)], factory: factory)
        var events = RPCServerEvents()
        events.connectionChanged = { opened in opened ? connections.increment() : connections.decrement() }
        events.streamChanged = { opened in opened ? streams.increment() : streams.decrement() }
        events.connectionRefused = { refused.increment() }
        events.callFinished = { method, code, duration in
            Counter(label: Name.requests, dimensions: [("method", method), ("code", code.name)], factory: factory)
                .increment()
            Metrics.Timer(label: Name.requestDuration, dimensions: [("method", method)], factory: factory)
                .recordNanoseconds(duration.nanoseconds)
        }
        return events
    }

    /// The metrics listener's own connection gauge and refusals.
    func metricsPortEvents() -> (changed: @Sendable (Bool) -> Void, refused: @Sendable () -> Void) {
        let connections = Meter(label: Name.connections, dimensions: [("port", "metrics")], factory: factory)
        let refused = Counter(label: Name.connectionsRefused, dimensions: [("port", "metrics")], factory: factory)
        return ({ opened in opened ? connections.increment() : connections.decrement() }, { refused.increment() })
    }

    public func tlsEvents() -> TLSServerEvents {
        let factory = self.factory
        let completed = Metrics.Timer(
            label: Name.tlsHandshakeDuration, dimensions: [("outcome", "ok")],
            factory: factory)
        let refusedDuration = Metrics.Timer(
            label: Name.tlsHandshakeDuration, dimensions: [("outcome", "refused")],
            factory: factory)
        var events = TLSServerEvents()
        events.handshakeCompleted = { duration in completed.recordNanoseconds(duration.nanoseconds) }
        events.handshakeFailed = { reason, duration in
            Counter(label: Name.tlsHandshakeFailures, dimensions: [("reason", reason)], factory: factory).increment()
            refusedDuration.recordNanoseconds(duration.nanoseconds)
        }
        return events
    }

    // MARK: Wallet core

    public func writerEvents() -> WriterEvents {
        let commit = Metrics.Timer(label: Name.ledgerCommit, factory: factory)
        let batch = Recorder(label: Name.ledgerBatchSize, factory: factory)
        let queue = Meter(label: Name.writerQueueDepth, factory: factory)
        var events = WriterEvents()
        events.batchCommitted = { writes, duration, queued in
            commit.recordNanoseconds(duration.nanoseconds)
            batch.record(writes)
            queue.set(queued)
        }
        return events
    }

    // MARK: Decisions

    /// A new policy decision (never a replay): `bankgw_decisions_total` and the deciding rule's firing.
    func decided(_ verdict: Verdict, bank: String, operation: String) {
        let decision: String
        let reason: String
        let rule: String
        switch verdict {
        case .approve: (decision, reason, rule) = ("APPROVED", "none", "approve")
        case .hold(let by): (decision, reason, rule) = ("HELD", "none", by)
        case .decline(let why, let by): (decision, reason, rule) = ("DECLINED", why.metricName, by)
        case .reject: return  // not judged: a status, counted by bankgw_requests_total
        }
        Counter(
            label: Name.decisions,
            dimensions: [
                ("bank", bank), ("operation", operation), ("decision", decision), ("reason", reason),
            ], factory: factory
        ).increment()
        Counter(label: Name.ruleFirings, dimensions: [("operation", operation), ("rule", rule)], factory: factory)
            .increment()
    }

    func rateLimited(bank: String) {
        Counter(label: Name.rateLimited, dimensions: [("bank", bank)], factory: factory).increment()
    }

    /// Every registered bank shows `bankgw_rate_limited_total{bank} 0` before its first refusal.
    public func registerBanks(_ codes: [String]) {
        for code in codes {
            Counter(label: Name.rateLimited, dimensions: [("bank", code)], factory: factory)
                .increment(by: 0)
        }
    }

    func traceparentIgnored() { Counter(label: Name.traceparentIgnored, factory: factory).increment() }

    // MARK: Alerts and holds

    /// An alert was raised (`rule` of SPEC §8, `severity` one of `severities`).
    ///
    /// HOOK (desk, issue 12): alerts are only log lines today, so "open" counts the alerts raised since start
    /// (nothing acknowledges or resolves them yet). When alerts become records, set `openAlerts` to read the OPEN
    /// and ACKNOWLEDGED ones by severity from the store; `refresh` then reports those instead.
    func alertRaised(rule: String, severity: String) {
        precondition(Self.severities.contains(severity), "alert severities are SPEC §8's")
        Counter(label: Name.alertsRaised, dimensions: [("rule", rule), ("severity", severity)], factory: factory)
            .increment()
        alerts.raise(severity)
    }

    /// Reads the gauges that live in the store (open holds, open alerts); the metrics endpoint calls it before
    /// every scrape, so a scrape always sees the database's current counts.
    public func refresh(store: WalletStore) async {
        if let holds = try? await store.openHoldCount() {
            Meter(label: Name.holdsOpen, factory: factory).set(holds)
        }
        let open = alerts.openBySeverity
        for severity in Self.severities {
            Meter(label: Name.alertsOpen, dimensions: [("severity", severity)], factory: factory)
                .set(open[severity] ?? 0)
        }
    }
}

/// Alerts raised since start, by severity (see `GatewayMetrics.alertRaised`).
private final class AlertCounts: Sendable {
    private let counts = NIOLockedValueBox<[String: Int]>([:])
    func raise(_ severity: String) { counts.withLockedValue { $0[severity, default: 0] += 1 } }
    var openBySeverity: [String: Int] { counts.withLockedValue { $0 } }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension DeclineReason {
    /// The proto enum value name (`NAME_MISMATCH`), a bounded label.
    var metricName: String {
        switch self {
        case .unspecified: return "DECLINE_REASON_UNSPECIFIED"
        case .walletNotFound: return "WALLET_NOT_FOUND"
        case .walletKYCIncomplete: return "WALLET_KYC_INCOMPLETE"
        case .walletPhoneUnverified: return "WALLET_PHONE_UNVERIFIED"
        case .nameMismatch: return "NAME_MISMATCH"
        case .weakCustomerAuth: return "WEAK_CUSTOMER_AUTH"
        case .linkCodeInvalid: return "LINK_CODE_INVALID"
        case .linkNotActive: return "LINK_NOT_ACTIVE"
        case .limitExceeded: return "LIMIT_EXCEEDED"
        case .balanceCapExceeded: return "BALANCE_CAP_EXCEEDED"
        case .fraudSuspected: return "FRAUD_SUSPECTED"
        case .accountLinkLimit: return "ACCOUNT_LINK_LIMIT"
        case .notInPilot: return "NOT_IN_PILOT"
        }
    }
}
