import Foundation
import GatewayPolicy
import GatewayRPC
import GatewayService
import GatewayTLS
import GatewayWire
import WalletCore
import XCTest

@testable import Conformance

/// The suite against gateways composed in-process like `bankgw serve --demo` (real TLS on loopback, real SQLite in
/// a temp dir): it passes a correct gateway and catches one whose link chain leaves the name check out. The broken
/// composition exists only here; the shipped binary has no switch for it.
final class ConformanceSuiteTests: XCTestCase {
    func testSuitePassesACorrectGatewayForAPendingBank() async throws {
        let gateway = try await InProcessGateway.start(linkChecks: .standard)
        let report = try await ConformanceSuite.run(gateway.configuration(bank: "0005"))
        await gateway.stop()

        XCTAssertTrue(report.passed, report.text)
        XCTAssertEqual(report.casesFailed, 0, report.text)
        XCTAssertGreaterThanOrEqual(report.results.count, 25)
        XCTAssertEqual(report.reportSHA256Hex.count, 64)
        XCTAssertEqual(report.junitXML.components(separatedBy: "<testcase ").count - 1, report.results.count)
        XCTAssertTrue(report.text.hasSuffix("PASSED: \(report.results.count) passed, 0 failed\n"), report.text)
    }

    func testEveryCaseIsInTheAuditorsChecklist() async throws {
        let gateway = try await InProcessGateway.start(linkChecks: .standard)
        let report = try await ConformanceSuite.run(gateway.configuration(bank: "9900"))
        await gateway.stop()
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/CONFORMANCE.md")
        let checklist = try String(contentsOf: docs, encoding: .utf8)
        for result in report.results {
            XCTAssertTrue(
                checklist.contains("| `\(result.name)` | \(result.specReference) |"),
                "\(result.name) (\(result.specReference)) is missing from docs/CONFORMANCE.md")
        }
    }

    func testJUnitEscapesWhatTheGatewaySaid() {
        let report = ConformanceReport(
            bankCode: "0005", bankIdentity: "bank/0005", runID: "1",
            results: [
                CaseResult(name: "a", specReference: "§3", expected: "OK", got: "OK", passed: true, durationMs: 1),
                CaseResult(
                    name: "b", specReference: "§3", expected: "X", got: "<\"&'>\u{1}", passed: false, durationMs: 2),
            ])
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.failedCases, ["b"])
        XCTAssertTrue(report.junitXML.contains(#"tests="2" failures="1""#), report.junitXML)
        XCTAssertTrue(report.junitXML.contains("got &lt;&quot;&amp;&apos;&gt;?"), report.junitXML)
        XCTAssertFalse(report.junitXML.contains("\u{1}"))
    }

    func testSuiteFailsAGatewayWhoseLinkChainSkipsTheNameMatch() async throws {
        let broken = LinkChecks(rules: LinkRules.all.filter { $0.name != "link.name_match" })
        let gateway = try await InProcessGateway.start(linkChecks: broken)
        let report = try await ConformanceSuite.run(gateway.configuration(bank: "0005"))
        let recorded = try await gateway.store.bankRecord(code: "0005")
        await gateway.stop()

        XCTAssertFalse(report.passed, "a gateway without the name check must fail the suite (exit 1)")
        XCTAssertEqual(report.failedCases, ["link.decline.name_mismatch"], report.text)
        let nameCase = try XCTUnwrap(report.results.first { $0.name == "link.decline.name_mismatch" })
        XCTAssertEqual(nameCase.got, "APPROVED")
        XCTAssertTrue(report.text.contains("FAILED: "), report.text)
        XCTAssertTrue(
            report.junitXML.contains(#"<failure message="§4 link: expected DECLINED NAME_MISMATCH, got APPROVED""#))
        // The failing run was recorded and did not count as a pass: the PENDING bank still cannot be enabled.
        XCTAssertNil(recorded?.lastPassingConformanceAtUnixMs)
    }

    func testUnreachableGatewayIsAnErrorNotAReport() async throws {
        let gateway = try await InProcessGateway.start(linkChecks: .standard)
        let configuration = gateway.configuration(bank: "9900")
        await gateway.stop(keepingState: true)  // the certificates stay; nothing listens any more
        defer { gateway.removeState() }
        do {
            _ = try await ConformanceSuite.run(configuration)
            XCTFail("a stopped gateway cannot pass")
        } catch {
            guard case .unreachable = error else { return XCTFail("expected unreachable, got \(error)") }
        }
    }
}

/// The gateway as `ServeCommand` composes it, with the link chain given: demo PKI and store in a temp dir, the TLS
/// listener (bank, admin and health services) and the h2c probe listener on ephemeral loopback ports.
struct InProcessGateway {
    let directory: String
    let store: WalletStore
    let tls: RPCServer
    let probe: RPCServer

    static func start(linkChecks: LinkChecks) async throws -> InProcessGateway {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("conformance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        _ = try DevelopmentPKI.initialize(directory: directory)
        let store = try WalletStore(stateDirectory: directory)
        try await store.seedDemo()
        let receipts = try ReceiptSigner(privateKeyPath: layout.receiptKey)
        let context = try TLSServerContext(
            configuration: TLSServerConfiguration(
                certificateChainPath: layout.serverCertificate, privateKeyPath: layout.serverKey,
                trustRootsPath: layout.caCertificate))
        let health = HealthService()
        var services = BankGatewayService(store: store, receipts: receipts, linkChecks: linkChecks).services
        services.merge(AdminService(store: store, receipts: receipts).services)
        services.merge(health.services)
        let tls = try await RPCServer.start(
            host: "127.0.0.1", port: 0, services: services,
            configureSecurity: { channel in try channel.pipeline.syncOperations.addHandler(context.makeHandler()) })
        let probe = try await RPCServer.start(host: "127.0.0.1", port: 0, services: health.services)
        health.setAll(.serving)
        return InProcessGateway(directory: directory, store: store, tls: tls, probe: probe)
    }

    func configuration(bank: String) -> ConformanceConfiguration {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        let verifier = try! ReceiptVerifier(publicKeyPaths: [layout.receiptPublicKey])
        var configuration = ConformanceConfiguration(
            target: ConformanceTarget(
                host: "127.0.0.1", port: tls.port, probeHost: "127.0.0.1", probePort: probe.port,
                caPath: layout.caCertificate, bankCertificatePath: layout.bankCertificate(bank),
                bankKeyPath: layout.bankKey(bank), operatorCertificatePath: layout.operatorCertificate,
                operatorKeyPath: layout.operatorKey),
            bankCode: bank, verifyReceipt: { verifier.isValid($0) })
        configuration.target.secondOperatorCertificatePath = layout.secondOperatorCertificate
        configuration.target.secondOperatorKeyPath = layout.secondOperatorKey
        return configuration
    }

    func stop(keepingState: Bool = false) async {
        await tls.close()
        await probe.close()
        if !keepingState { removeState() }
    }

    func removeState() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
