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
///
/// A call never goes through the factory: making a handle validates the name, sorts the labels and looks the series
/// up in the registry under its lock (about 1% of an h2c health-check profile, issue 14). The series a call moves are
/// made on their first use and kept here, by the label values that pick them (`SeriesHandles`); the series without
/// labels, or with labels fixed at start, are made in `init`.
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
        /// The write-ahead log's length in frames (4 KiB pages) after the newest commit: it starts over every few
        /// thousand, and grows past that only while a reader holds an old snapshot (`LedgerCheckpointer`).
        public static let ledgerWALFrames = "bankgw_ledger_wal_frames"
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

    /// The most series one metric's `SeriesHandles` keeps, default 4,096 series. Our labels take a few dozen
    /// values (registered methods × gRPC codes is the largest product); reaching this means a label took an
    /// unbounded value, a bug.
    static let maxSeriesPerMetric = 4_096

    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let alerts: AlertCounts

    /// `bankgw_requests_total{method,code}`.
    let requests: SeriesHandles<RequestSeries, Metrics.Counter>
    /// `bankgw_request_duration_seconds{method}`.
    let requestDurations: SeriesHandles<String, Metrics.Timer>
    /// `bankgw_decisions_total{bank,operation,decision,reason}`.
    let decisions: SeriesHandles<DecisionSeries, Metrics.Counter>
    /// `bankgw_rule_firings_total{operation,rule}`.
    let ruleFirings: SeriesHandles<RuleSeries, Metrics.Counter>
    /// `bankgw_rate_limited_total{bank}`.
    let rateLimits: SeriesHandles<String, Metrics.Counter>
    /// `bankgw_alerts_raised_total{rule,severity}`.
    let alertsRaised: SeriesHandles<AlertSeries, Metrics.Counter>
    /// `bankgw_tls_handshake_failures_total{reason}`.
    let handshakeFailures: SeriesHandles<String, Metrics.Counter>
    /// `bankgw_alerts_open{severity}`, one per SPEC §8 severity.
    private let alertsOpen: [String: Meter]
    private let holdsOpen: Meter
    private let traceparentsIgnored: Metrics.Counter
    /// `bankgw_tls_reloads_total{result}`: `ok`, `failed`.
    private let tlsReloadsSucceeded: Metrics.Counter
    private let tlsReloadsFailed: Metrics.Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = Self.factory(registry: registry)
        self.factory = factory
        self.alerts = AlertCounts()
        requests = SeriesHandles(counter: Name.requests, factory: factory) { $0.dimensions }
        requestDurations = SeriesHandles { method in
            Metrics.Timer(label: Name.requestDuration, dimensions: [("method", method)], factory: factory)
        }
        decisions = SeriesHandles(counter: Name.decisions, factory: factory) { $0.dimensions }
        ruleFirings = SeriesHandles(counter: Name.ruleFirings, factory: factory) { $0.dimensions }
        rateLimits = SeriesHandles(counter: Name.rateLimited, factory: factory) { [("bank", $0)] }
        alertsRaised = SeriesHandles(counter: Name.alertsRaised, factory: factory) { $0.dimensions }
        handshakeFailures = SeriesHandles(counter: Name.tlsHandshakeFailures, factory: factory) { [("reason", $0)] }
        var alertsOpen: [String: Meter] = [:]
        for severity in Self.severities {
            let meter = Meter(label: Name.alertsOpen, dimensions: [("severity", severity)], factory: factory)
            meter.set(0)
            alertsOpen[severity] = meter
        }
        self.alertsOpen = alertsOpen
        for port in Self.ports { Meter(label: Name.connections, dimensions: [("port", port)], factory: factory).set(0) }
        for reason in TLSError.refusalReasons { handshakeFailures[reason].increment(by: 0) }
        holdsOpen = Meter(label: Name.holdsOpen, factory: factory)
        holdsOpen.set(0)
        Meter(label: Name.streamsOpen, factory: factory).set(0)
        Meter(label: Name.writerQueueDepth, factory: factory).set(0)
        traceparentsIgnored = Counter(label: Name.traceparentIgnored, factory: factory)
        traceparentsIgnored.increment(by: 0)
        tlsReloadsSucceeded = Counter(label: Name.tlsReloads, dimensions: [("result", "ok")], factory: factory)
        tlsReloadsSucceeded.increment(by: 0)
        tlsReloadsFailed = Counter(label: Name.tlsReloads, dimensions: [("result", "failed")], factory: factory)
        tlsReloadsFailed.increment(by: 0)
    }

    /// The factory of every handle, with the gateway's histogram buckets.
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
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
        return factory
    }

    /// One SIGHUP reload of the TLS material, counted by its result.
    public func tlsReloaded(succeeded: Bool) {
        (succeeded ? tlsReloadsSucceeded : tlsReloadsFailed).increment()
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
        let requests = self.requests
        let requestDurations = self.requestDurations
        events.callFinished = { method, code, duration in
            requests[RequestSeries(method: method, code: code)].increment()
            requestDurations[method].recordNanoseconds(duration.nanoseconds)
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
        let handshakeFailures = self.handshakeFailures
        var events = TLSServerEvents()
        events.handshakeCompleted = { duration in completed.recordNanoseconds(duration.nanoseconds) }
        events.handshakeFailed = { reason, duration in
            handshakeFailures[reason].increment()
            refusedDuration.recordNanoseconds(duration.nanoseconds)
        }
        return events
    }

    // MARK: Wallet core

    public func writerEvents() -> WriterEvents {
        let commit = Metrics.Timer(label: Name.ledgerCommit, factory: factory)
        let batch = Recorder(label: Name.ledgerBatchSize, factory: factory)
        let queue = Meter(label: Name.writerQueueDepth, factory: factory)
        let log = Meter(label: Name.ledgerWALFrames, factory: factory)
        var events = WriterEvents()
        events.batchCommitted = { writes, duration, queued in
            commit.recordNanoseconds(duration.nanoseconds)
            batch.record(writes)
            queue.set(queued)
        }
        events.logLength = { walFrames in log.set(walFrames) }
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
        decisions[DecisionSeries(bank: bank, operation: operation, decision: decision, reason: reason)].increment()
        ruleFirings[RuleSeries(operation: operation, rule: rule)].increment()
    }

    func rateLimited(bank: String) { rateLimits[bank].increment() }

    /// Every registered bank shows `bankgw_rate_limited_total{bank} 0` before its first refusal.
    public func registerBanks(_ codes: [String]) {
        for code in codes { rateLimits[code].increment(by: 0) }
    }

    func traceparentIgnored() { traceparentsIgnored.increment() }

    // MARK: Alerts and holds

    /// An alert was raised (`rule` of SPEC §8, `severity` one of `severities`).
    ///
    /// HOOK (desk, issue 12): alerts are only log lines today, so "open" counts the alerts raised since start
    /// (nothing acknowledges or resolves them yet). When alerts become records, set `openAlerts` to read the OPEN
    /// and ACKNOWLEDGED ones by severity from the store; `refresh` then reports those instead.
    func alertRaised(rule: String, severity: String) {
        precondition(Self.severities.contains(severity), "alert severities are SPEC §8's")
        alertsRaised[AlertSeries(rule: rule, severity: severity)].increment()
        alerts.raise(severity)
    }

    /// Reads the gauges that live in the store (open holds, open alerts); the metrics endpoint calls it before
    /// every scrape, so a scrape always sees the database's current counts.
    public func refresh(store: WalletStore) async {
        if let holds = try? await store.openHoldCount() { holdsOpen.set(holds) }
        let open = alerts.openBySeverity
        for (severity, meter) in alertsOpen { meter.set(open[severity] ?? 0) }
    }
}

/// One metric's handles by the label values that pick their series, each made on its first use (`make`, through the
/// factory) and kept, so the next use is a dictionary lookup under a lock instead of the factory's work.
///
/// At most `GatewayMetrics.maxSeriesPerMetric` entries: past it a label took unbounded values (our bug), so debug
/// builds stop and release builds hand out a handle made anew each time (the registry's series are still right)
/// rather than grow this table or take the gateway down over a metric.
final class SeriesHandles<Key: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = NIOLockedValueBox<[Key: Handle]>([:])
    private let make: @Sendable (Key) -> Handle

    init(make: @escaping @Sendable (Key) -> Handle) { self.make = make }

    /// The handle of `key`'s series. Made under the lock on first use, so two first uses make it once; the
    /// registry's own lock, taken inside, never calls back here.
    subscript(key: Key) -> Handle {
        handles.withLockedValue { handles in
            if let handle = handles[key] { return handle }
            let handle = make(key)
            guard handles.count < GatewayMetrics.maxSeriesPerMetric else {
                assertionFailure("more than \(GatewayMetrics.maxSeriesPerMetric) series of one metric: \(key)")
                return handle
            }
            handles[key] = handle
            return handle
        }
    }

    /// How many series are kept (for tests).
    var count: Int { handles.withLockedValue { $0.count } }
}

extension SeriesHandles where Handle == Metrics.Counter {
    /// The counters of `name`, each series labelled with `dimensions(key)` (in the exposition's label order).
    convenience init(
        counter name: String, factory: PrometheusMetricsFactory,
        dimensions: @escaping @Sendable (Key) -> [(String, String)]
    ) {
        self.init { key in Counter(label: name, dimensions: dimensions(key), factory: factory) }
    }
}

/// The labels of `bankgw_requests_total`.
struct RequestSeries: Hashable, Sendable {
    var method: String
    var code: GRPCStatus.Code
    var dimensions: [(String, String)] { [("method", method), ("code", code.name)] }
}

/// The labels of `bankgw_decisions_total`.
struct DecisionSeries: Hashable, Sendable {
    var bank: String
    var operation: String
    var decision: String
    var reason: String
    var dimensions: [(String, String)] {
        [("bank", bank), ("operation", operation), ("decision", decision), ("reason", reason)]
    }
}

/// The labels of `bankgw_rule_firings_total`.
struct RuleSeries: Hashable, Sendable {
    var operation: String
    var rule: String
    var dimensions: [(String, String)] { [("operation", operation), ("rule", rule)] }
}

/// The labels of `bankgw_alerts_raised_total`.
struct AlertSeries: Hashable, Sendable {
    var rule: String
    var severity: String
    var dimensions: [(String, String)] { [("rule", rule), ("severity", severity)] }
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
