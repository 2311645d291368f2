import GatewayPolicy
import GatewayRPC
import Metrics
import Prometheus
import XCTest

@testable import GatewayService

/// The per-call metrics keep their handles (issue 14): a call moves its series without the factory, and what
/// `/metrics` shows is what handles made anew on every call showed.
final class GatewayMetricsTests: XCTestCase {
    private let check = "/grpc.health.v1.Health/Check"

    func testRepeatedCallsReuseOneHandlePerSeries() {
        let metrics = GatewayMetrics()
        let events = metrics.rpcEvents(port: "probe")
        for _ in 0..<3 { events.callFinished(check, .ok, .microseconds(300)) }
        events.callFinished(check, .unavailable, .microseconds(300))
        // The other listener's events share the handles: the same series.
        metrics.rpcEvents(port: "tls").callFinished(check, .ok, .microseconds(300))

        XCTAssertEqual(metrics.requests.count, 2)
        XCTAssertEqual(metrics.requestDurations.count, 1)
        let ok = RequestSeries(method: check, code: .ok)
        XCTAssertTrue(metrics.requests[ok] === metrics.requests[ok])
        XCTAssertFalse(metrics.requests[ok] === metrics.requests[RequestSeries(method: check, code: .unavailable)])
        XCTAssertTrue(metrics.requestDurations[check] === metrics.requestDurations[check])

        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        XCTAssertEqual(metric(text, "bankgw_requests_total", ["method": check, "code": "OK"]), 4)
        XCTAssertEqual(metric(text, "bankgw_requests_total", ["method": check, "code": "UNAVAILABLE"]), 1)
        XCTAssertEqual(metric(text, "bankgw_request_duration_seconds_count", ["method": check]), 5)
        XCTAssertEqual(metric(text, "bankgw_request_duration_seconds_bucket", ["method": check, "le": "0.00025"]), 0)
        XCTAssertEqual(metric(text, "bankgw_request_duration_seconds_bucket", ["method": check, "le": "0.0005"]), 5)
    }

    func testDecisionsRateLimitsAndAlertsReuseTheirHandles() {
        let metrics = GatewayMetrics()
        metrics.registerBanks(["9900", "0001"])
        for _ in 0..<2 {
            metrics.decided(.decline(.limitExceeded, rule: "charge.limit"), bank: "9900", operation: "charge")
            metrics.rateLimited(bank: "9900")
            metrics.alertRaised(rule: "unlink.fraud", severity: "HIGH")
        }
        XCTAssertEqual(metrics.decisions.count, 1)
        XCTAssertEqual(metrics.ruleFirings.count, 1)
        XCTAssertEqual(metrics.rateLimits.count, 2)  // both registered banks, the second never refused
        XCTAssertEqual(metrics.alertsRaised.count, 1)

        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let declined = ["bank": "9900", "operation": "charge", "decision": "DECLINED", "reason": "LIMIT_EXCEEDED"]
        XCTAssertEqual(metric(text, "bankgw_decisions_total", declined), 2)
        XCTAssertEqual(metric(text, "bankgw_rule_firings_total", ["operation": "charge", "rule": "charge.limit"]), 2)
        XCTAssertEqual(metric(text, "bankgw_rate_limited_total", ["bank": "9900"]), 2)
        XCTAssertEqual(metric(text, "bankgw_rate_limited_total", ["bank": "0001"]), 0)
        XCTAssertEqual(metric(text, "bankgw_alerts_raised_total", ["rule": "unlink.fraud", "severity": "HIGH"]), 2)
    }

    /// The same events through the kept handles and through handles made anew per event, as before issue 14, give
    /// the same exposition line for line: names, label order, values. (Compared as sorted lines: the registry emits
    /// its families in dictionary order, which differs between two registries.)
    func testExpositionIsThatOfHandlesMadePerCall() {
        let kept = GatewayMetrics()
        let events = kept.rpcEvents(port: "probe")
        let tls = kept.tlsEvents()

        let registry = PrometheusCollectorRegistry()
        // The series `init`, `rpcEvents` and `tlsEvents` make; then each event's handles made anew.
        let reference = GatewayMetrics(registry: registry)
        _ = reference.rpcEvents(port: "probe")
        _ = reference.tlsEvents()
        let factory = GatewayMetrics.factory(registry: registry)
        typealias Name = GatewayMetrics.Name

        for (index, code) in [GRPCStatus.Code.ok, .ok, .notFound, .ok].enumerated() {
            let method = index == 2 ? "unknown" : check
            let duration = Duration.microseconds(200 * (index + 1))
            events.callFinished(method, code, duration)
            Counter(label: Name.requests, dimensions: [("method", method), ("code", code.name)], factory: factory)
                .increment()
            Metrics.Timer(label: Name.requestDuration, dimensions: [("method", method)], factory: factory)
                .recordNanoseconds(duration.nanoseconds)
        }
        for verdict in [Verdict.approve, .hold(rule: "charge.velocity"), .decline(.nameMismatch, rule: "link.name")] {
            kept.decided(verdict, bank: "9900", operation: "link")
            let (decision, reason, rule): (String, String, String)
            switch verdict {
            case .approve: (decision, reason, rule) = ("APPROVED", "none", "approve")
            case .hold(let by): (decision, reason, rule) = ("HELD", "none", by)
            case .decline(let why, let by): (decision, reason, rule) = ("DECLINED", why.metricName, by)
            case .reject: continue
            }
            Counter(
                label: Name.decisions,
                dimensions: [("bank", "9900"), ("operation", "link"), ("decision", decision), ("reason", reason)],
                factory: factory
            ).increment()
            Counter(label: Name.ruleFirings, dimensions: [("operation", "link"), ("rule", rule)], factory: factory)
                .increment()
        }
        kept.registerBanks(["9900"])
        Counter(label: Name.rateLimited, dimensions: [("bank", "9900")], factory: factory).increment(by: 0)
        kept.rateLimited(bank: "9900")
        Counter(label: Name.rateLimited, dimensions: [("bank", "9900")], factory: factory).increment()
        kept.alertRaised(rule: "link.locked", severity: "HIGH")
        Counter(
            label: Name.alertsRaised, dimensions: [("rule", "link.locked"), ("severity", "HIGH")], factory: factory
        )
        .increment()
        kept.traceparentIgnored()
        Counter(label: Name.traceparentIgnored, factory: factory).increment()
        kept.tlsReloaded(succeeded: false)
        Counter(label: Name.tlsReloads, dimensions: [("result", "failed")], factory: factory).increment()
        tls.handshakeFailed("unknown_ca", .milliseconds(3))
        Counter(label: Name.tlsHandshakeFailures, dimensions: [("reason", "unknown_ca")], factory: factory).increment()
        Metrics.Timer(label: Name.tlsHandshakeDuration, dimensions: [("outcome", "refused")], factory: factory)
            .recordNanoseconds(Duration.milliseconds(3).nanoseconds)

        let keptLines = Self.sortedLines(kept.exposition())
        XCTAssertEqual(keptLines, Self.sortedLines(reference.exposition()))
        XCTAssertTrue(keptLines.contains(#"bankgw_requests_total{method="\#(check)",code="OK"} 3"#))
    }

    private static func sortedLines(_ exposition: [UInt8]) -> [String] {
        String(decoding: exposition, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }
}
