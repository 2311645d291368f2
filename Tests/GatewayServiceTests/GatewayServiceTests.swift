import DevelopmentSupport
import Foundation
import GatewayRPC
import GatewayService
import GatewayTLS
import GatewayWire
import NIOCore
import WalletCore
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Service-level tests against a gateway built by `GatewayAssembly` (what `bankgw serve --demo` runs): real TLS on
/// loopback, real HTTP/2, real SQLite in a temp dir. They pin down the admission order of SPEC §3, the mapping of
/// outcomes to statuses, alert raising, trace ids and the metrics each path moves.
final class GatewayServiceTests: XCTestCase {
    private var gateway: TestGateway!

    override func setUp() async throws {
        gateway = try await TestGateway.start()
    }

    override func tearDown() async throws {
        await gateway.stop()
    }

    // MARK: Admission order (SPEC §3: decode → identity → freshness → enablement/rate → wallet)

    func testUndecodableBytesAreInvalidArgumentBeforeAnyIdentityCheck() async throws {
        let bank = try await gateway.connect(as: .bank("9900"))
        let result = await bank.unary(
            path: "/bankgw.v1.BankGateway/Charge", request: .message(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])))
        XCTAssertEqual(result.status.code, .invalidArgument, result.status.message)
    }

    func testIdentityIsCheckedBeforeFreshness() async throws {
        let bank = try await gateway.connect(as: .bank("9900"))
        // Another bank's code AND a stale sent_at: the identity check answers first.
        let stale = ChargeRequest(
            header: RequestHeader(bankCode: "0001", requestID: "r-1", sentAtUnixMs: gateway.now() - 3_600_000),
            linkID: "L", amountYen: 100)
        let denied = await bank.call("Charge", stale)
        XCTAssertEqual(denied.status.code, .permissionDenied, denied.status.message)

        var own = stale
        own.header.bankCode = "9900"
        let old = await bank.call("Charge", own)
        XCTAssertEqual(old.status.code, .failedPrecondition, old.status.message)
        XCTAssertTrue(old.status.message.contains("sent_at"), old.status.message)
    }

    func testRateLimitIsCountedPerBank() async throws {
        let record = try await gateway.assembly.store.bank(code: "9900")
        var profile = try XCTUnwrap(record).profile
        profile.maxRequestsPerSecond = 1
        try await gateway.assembly.store.setBankProfile(
            code: "9900", profile: profile, audit: AuditContext(actor: "operator/test", reason: "rate test"))
        try await gateway.assembly.directory.reload(from: gateway.assembly.store)
        let bank = try await gateway.connect(as: .bank("9900"))
        // A stale request is refused for freshness. It spends a token: freshness is judged after the bucket, since
        // a stored request is answered whatever its sent_at (SPEC §3) and only the wallet core knows which are new.
        let stale = GetChargeRequest(
            header: RequestHeader(bankCode: "9900", requestID: "g-0", sentAtUnixMs: gateway.now() - 3_600_000),
            originalRequestID: "x")
        let old = await bank.call("GetCharge", stale)
        XCTAssertEqual(old.status.code, .failedPrecondition)
        try await Task.sleep(for: .milliseconds(1_100))  // the bucket (1/s) refills its one token
        var codes: [GRPCStatus.Code] = []
        for i in 1...3 {
            let get = GetChargeRequest(header: gateway.header("9900", "g-\(i)"), originalRequestID: "none")
            codes.append(await bank.call("GetCharge", get).status.code)
        }
        XCTAssertEqual(codes.first, .notFound, "the first request passes the bucket and finds nothing")
        XCTAssertTrue(codes.contains(.resourceExhausted), "\(codes)")
        let limited = codes.filter { $0 == .resourceExhausted }.count
        let text = await gateway.scrape()
        XCTAssertEqual(metric(text, "bankgw_rate_limited_total", ["bank": "9900"]), Double(limited))
        XCTAssertEqual(metric(text, "bankgw_rate_limited_total", ["bank": "0001"]), 0)
    }

    // MARK: Status mapping (SPEC §3)

    func testStatusMapping() async throws {
        let bank = try await gateway.connect(as: .bank("9900"))
        let unknown = await bank.call(
            "GetCharge",
            GetChargeRequest(
                header: gateway.header("9900", "g-1"), originalRequestID: "never-sent"))
        XCTAssertEqual(unknown.status.code, .notFound)

        let suspended = try await gateway.connect(as: .bank("0009"))
        let charge = await suspended.call(
            "Charge",
            ChargeRequest(
                header: gateway.header("0009", "c-1"), linkID: "L-none", amountYen: 1_000))
        XCTAssertEqual(charge.status.code, .permissionDenied)
        XCTAssertTrue(charge.status.message.contains("SUSPENDED"), charge.status.message)

        let unlink = await bank.call(
            "Unlink",
            UnlinkRequest(
                header: gateway.header("9900", "u-1"), linkID: "L-none", reason: "customer request"))
        XCTAssertEqual(unlink.status.code, .notFound)

        let operatorClient = try await gateway.connect(as: .operatorDemo)
        let asOperator = await operatorClient.call(
            "GetCharge",
            GetChargeRequest(
                header: gateway.header("9900", "g-2"), originalRequestID: "x"))
        XCTAssertEqual(asOperator.status.code, .permissionDenied)

        let missing = await bank.unary(path: "/bankgw.v1.BankGateway/Nope", request: .message(ByteBuffer()))
        XCTAssertEqual(missing.status.code, .unimplemented)

        let text = await gateway.scrape()
        XCTAssertEqual(
            metric(
                text, "bankgw_requests_total",
                ["method": "/bankgw.v1.BankGateway/GetCharge", "code": "NOT_FOUND"]), 1)
        XCTAssertEqual(
            metric(
                text, "bankgw_requests_total",
                ["method": "/bankgw.v1.BankGateway/Charge", "code": "PERMISSION_DENIED"]), 1)
        XCTAssertEqual(
            metric(text, "bankgw_requests_total", ["method": "unknown", "code": "UNIMPLEMENTED"]), 1,
            "an unserved path is labelled unknown, never with the caller's text")
        XCTAssertFalse(text.contains("bank=\"0009\",operation=\"charge\""), "a refused request is no decision")
    }

    // MARK: Decisions, alerts, traces

    func testChargeDecisionAuditTraceAndAlerts() async throws {
        let bank = try await gateway.connect(as: .bank("9900"))
        let linkID = try await gateway.link(bank, wallet: "W0000001", token: "tok-svc-1")
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let charge = ChargeRequest(header: gateway.header("9900", "c-trace"), linkID: linkID, amountYen: 1_000)
        let approved = await bank.call(
            "Charge", charge, metadata: [("traceparent", "00-\(traceID)-00f067aa0ba902b7-01")])
        let response = try ChargeResponse(wireBytes: Array(buffer: try XCTUnwrap(approved.message)))
        XCTAssertEqual(response.decision, .approved)
        let entries = try await gateway.assembly.store.auditEntries(subject: response.chargeID)
        XCTAssertFalse(entries.isEmpty)
        XCTAssertTrue(entries.allSatisfy { $0.traceID == traceID }, "\(entries.map(\.traceID))")
        let verification = try await gateway.assembly.store.verifyAudit()
        XCTAssertTrue(verification.passed, "the trace id is inside the hash chain: \(verification)")

        // The same request_id with another body: ALREADY_EXISTS and the idempotency alert (MEDIUM).
        var other = charge
        other.amountYen = 2_000
        let conflict = await bank.call("Charge", other, metadata: [("traceparent", "not-a-traceparent")])
        XCTAssertEqual(conflict.status.code, .alreadyExists)
        // A retry of the first body is answered from the store: not a second decision. Re-stamped with a fresh
        // sent_at it is still the same request (SPEC §3).
        var restamped = charge
        restamped.header.sentAtUnixMs += 1_500
        let replay = await bank.call("Charge", restamped)
        XCTAssertEqual(replay.status.code, .ok, replay.status.message)
        XCTAssertEqual(replay.message.map { Array(buffer: $0) }, approved.message.map { Array(buffer: $0) })

        // A FRAUD unlink freezes charges and raises a HIGH alert.
        let unlink = await bank.call(
            "Unlink",
            UnlinkRequest(
                header: gateway.header("9900", "u-fraud"), linkID: linkID, reason: "  fraud reported by customer"))
        XCTAssertEqual(unlink.status.code, .ok)

        let text = await gateway.scrape()
        XCTAssertEqual(
            metric(
                text, "bankgw_decisions_total",
                [
                    "bank": "9900", "operation": "charge", "decision": "APPROVED", "reason": "none",
                ]), 1)
        XCTAssertEqual(
            metric(
                text, "bankgw_decisions_total",
                [
                    "bank": "9900", "operation": "link", "decision": "APPROVED", "reason": "none",
                ]), 1)
        XCTAssertEqual(metric(text, "bankgw_alerts_open", ["severity": "MEDIUM"]), 1)
        XCTAssertEqual(metric(text, "bankgw_alerts_open", ["severity": "HIGH"]), 1)
        XCTAssertEqual(metric(text, "bankgw_alerts_raised_total", ["rule": "unlink.fraud", "severity": "HIGH"]), 1)
        XCTAssertEqual(metric(text, "bankgw_traceparent_ignored_total", [:]), 1)
        XCTAssertGreaterThanOrEqual(metric(text, "bankgw_ledger_batch_size_count", [:]) ?? 0, 3)
        // Every commit above wrote to the log, so it holds at least the last one's pages.
        XCTAssertGreaterThan(metric(text, "bankgw_ledger_wal_frames", [:]) ?? 0, 0)
        XCTAssertEqual(metric(text, "bankgw_holds_open", [:]), 0)
    }

    func testFiveDeclinedLinksLockTheWalletAndRaiseTheAlert() async throws {
        let bank = try await gateway.connect(as: .bank("9900"))
        for attempt in 1...5 {
            let code = try await gateway.linkCode("W0000001")
            let request = LinkAccountRequest(
                header: gateway.header("9900", "l-bad-\(attempt)"), walletAccountID: "W0000001", linkCode: code,
                bankAccountToken: "tok-lock-\(attempt)", accountHolderKana: "サトウ タロウ",
                customerAuth: CustomerAuth(method: .smsOTP, authenticatedAtUnixMs: gateway.now()))
            let result = await bank.call("LinkAccount", request)
            let response = try LinkAccountResponse(wireBytes: Array(buffer: try XCTUnwrap(result.message)))
            XCTAssertEqual(response.declineReason, .nameMismatch)
        }
        let text = await gateway.scrape()
        XCTAssertEqual(metric(text, "bankgw_alerts_raised_total", ["rule": "link.locked", "severity": "HIGH"]), 1)
        XCTAssertEqual(
            metric(
                text, "bankgw_decisions_total",
                [
                    "bank": "9900", "operation": "link", "decision": "DECLINED", "reason": "NAME_MISMATCH",
                ]), 5)
        XCTAssertEqual(
            metric(
                text, "bankgw_rule_firings_total",
                [
                    "operation": "link", "rule": "link.name_match",
                ]), 5)
    }

    func testTraceparentParsing() {
        let valid = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        XCTAssertEqual(valid?.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(valid?.parentID, "00f067aa0ba902b7")
        for bad in [
            "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            XCTAssertNil(TraceContext(traceparent: bad), bad)
        }
        XCTAssertNotNil(
            TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"),
            "a later version may append fields")
        let generated = TraceContext.forRequest(traceparent: "garbage")
        XCTAssertTrue(generated.ignored)
        XCTAssertEqual(generated.context.traceID.count, 32)
        XCTAssertTrue(generated.context.traceID.allSatisfy { "0123456789abcdef".contains($0) })
        XCTAssertNotNil(TraceContext(traceparent: "00-\(generated.context.traceID)-00f067aa0ba902b7-01"))
        XCTAssertNotEqual(TraceContext.generated().traceID, TraceContext.generated().traceID)
        XCTAssertNil(generated.context.parentID)
    }

    func testJSONLogLinesAreOneObjectEach() throws {
        let line = JSONLogHandler.line(
            time: Date(timeIntervalSince1970: 1_764_000_000.123), level: .info, message: "a \"quoted\"\nline\u{1}",
            label: "bankgw", metadata: ["bank": "9900", "trace_id": "abc", "extra": "ゆうちょ"])
        XCTAssertFalse(line.contains("\n"))
        let object = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["time"] as? String, "2025-11-24T16:00:00.123Z")
        XCTAssertEqual(object["message"] as? String, "a \"quoted\"\nline\u{1}")
        XCTAssertEqual(object["bank"] as? String, "9900")
        XCTAssertTrue(object["request_id"] is NSNull)
        XCTAssertEqual(object["extra"] as? String, "ゆうちょ")
    }
}

// MARK: - Fixture

/// A demo gateway from `GatewayAssembly` on ephemeral ports, and mutual-TLS clients for it.
struct TestGateway {
    enum Identity { case bank(String), operatorDemo }

    let directory: String
    let assembly: GatewayAssembly
    let running: RunningGateway

    static func start() async throws -> TestGateway {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("service-\(UUID().uuidString)").path
        var configuration = try GatewayAssembly.demoConfiguration(stateDirectory: directory, graceMs: 500)
        configuration.listen.tls.port = 0
        configuration.listen.probe.port = 0
        configuration.listen.metrics.port = 0
        var options = GatewayAssembly.Options()
        options.seedDemo = true
        let assembly = try await GatewayAssembly.build(configuration: configuration, options: options)
        return TestGateway(directory: directory, assembly: assembly, running: try await assembly.start())
    }

    func stop() async {
        await running.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func now() -> Int64 { WalletStore.systemClock() }

    func header(_ bank: String, _ requestID: String) -> RequestHeader {
        RequestHeader(bankCode: bank, requestID: requestID, sentAtUnixMs: now())
    }

    func connect(as identity: Identity) async throws -> TestClient {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        let (certificate, key): (String, String)
        switch identity {
        case .bank(let code): (certificate, key) = (layout.bankCertificate(code), layout.bankKey(code))
        case .operatorDemo: (certificate, key) = (layout.operatorCertificate, layout.operatorKey)
        }
        let context = try TLSClientContext(
            configuration: TLSClientConfiguration(
                trustRootsPath: layout.caCertificate, certificateChainPath: certificate, privateKeyPath: key,
                serverHostname: "localhost"))
        let rpc = try await RPCClientConnection.connect(
            host: "127.0.0.1", port: running.tlsPort,
            configureSecurity: { channel in
                try channel.pipeline.syncOperations.addHandler(context.makeHandler(serverHostname: "localhost"))
            })
        return TestClient(rpc: rpc)
    }

    func linkCode(_ wallet: String) async throws -> String {
        let operatorClient = try await connect(as: .operatorDemo)
        let result = await operatorClient.rpc.unary(
            path: "/bankgw.admin.v1.Admin/IssueLinkCode",
            request: .message(ByteBuffer(bytes: try IssueLinkCodeRequest(walletAccountID: wallet).wireBytes())))
        await operatorClient.rpc.close()
        return try IssueLinkCodeResponse(wireBytes: Array(buffer: try XCTUnwrap(result.message))).linkCode
    }

    /// Links the demo wallet `W0000001` (ヤマダ ハナコ) and returns the link id.
    func link(_ bank: TestClient, wallet: String, token: String) async throws -> String {
        let request = LinkAccountRequest(
            header: header("9900", "l-\(token)"), walletAccountID: wallet, linkCode: try await linkCode(wallet),
            bankAccountToken: token, accountHolderKana: "ヤマダ ハナコ",
            customerAuth: CustomerAuth(method: .smsOTP, authenticatedAtUnixMs: now()))
        let result = await bank.call("LinkAccount", request)
        let response = try LinkAccountResponse(wireBytes: Array(buffer: try XCTUnwrap(result.message)))
        XCTAssertEqual(response.decision, .approved)
        return response.linkID
    }

    /// `GET /metrics` over a plain socket.
    func scrape() async -> String {
        let url = URL(string: "http://127.0.0.1:\(running.metricsPort)/metrics")!
        guard let (data, _) = try? await URLSession.shared.data(from: url) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

struct TestClient {
    let rpc: RPCClientConnection

    func call<M: WireMessage>(
        _ method: String, _ message: M, metadata: [(String, String)] = []
    ) async -> RPCCallResult {
        let bytes = try! message.wireBytes()
        return await rpc.unary(
            path: "/bankgw.v1.BankGateway/\(method)", request: .message(ByteBuffer(bytes: bytes)), metadata: metadata)
    }

    func unary(path: String, request: RPCRequestBody) async -> RPCCallResult {
        await rpc.unary(path: path, request: request)
    }
}

/// The value of the sample `name{labels}` in a Prometheus text exposition (labels compared as a set).
func metric(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        let series = line[..<space]
        let value = Double(line[line.index(after: space)...])
        let sampleName: Substring
        var sampleLabels: [String: String] = [:]
        if let brace = series.firstIndex(of: "{") {
            sampleName = series[..<brace]
            let inner = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            for pair in inner.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                sampleLabels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
        } else {
            sampleName = series
        }
        if sampleName == name && sampleLabels == labels { return value }
    }
    return nil
}
