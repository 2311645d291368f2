import DevelopmentSupport
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
        // The gateway knows the suite's cases (it requires each to be witnessed), and it recorded this run.
        XCTAssertEqual(report.results.map(\.name), ConformanceWitnessing.caseNames)
    }

    func testAWitnessedSignedRunIsRecordedAsPassing() async throws {
        let gateway = try await InProcessGateway.start(linkChecks: .standard)
        let report = try await ConformanceSuite.run(gateway.configuration(bank: "0005"))
        let recorded = try await gateway.store.bankRecord(code: "0005")
        await gateway.stop()
        XCTAssertTrue(report.passed, report.text)
        XCTAssertNotNil(recorded?.lastPassingConformanceAtUnixMs, "the witnessed, signed run counts")
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

/// The gateway as `bankgw serve --demo` composes it (`GatewayAssembly`), with the link chain given: demo PKI and
/// store in a temp dir, every listener on an ephemeral loopback port.
struct InProcessGateway {
    let directory: String
    let assembly: GatewayAssembly
    let running: RunningGateway

    var store: WalletStore { assembly.store }

    static func start(linkChecks: LinkChecks) async throws -> InProcessGateway {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("conformance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = try GatewayAssembly.demoConfiguration(stateDirectory: directory, graceMs: 500)
        configuration.listen.tls.port = 0
        configuration.listen.probe.port = 0
        configuration.listen.metrics.port = 0
        var options = GatewayAssembly.Options()
        options.linkChecks = linkChecks
        options.seedDemo = true
        let assembly = try await GatewayAssembly.build(configuration: configuration, options: options)
        let running = try await assembly.start()
        return InProcessGateway(directory: directory, assembly: assembly, running: running)
    }

    func configuration(bank: String) -> ConformanceConfiguration {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        let verifier = try! ReceiptVerifier(publicKeyPaths: [layout.receiptPublicKey])
        var configuration = ConformanceConfiguration(
            target: ConformanceTarget(
                host: "127.0.0.1", port: running.tlsPort, probeHost: "127.0.0.1", probePort: running.probePort,
                caPath: layout.caCertificate, bankCertificatePath: layout.bankCertificate(bank),
                bankKeyPath: layout.bankKey(bank), operatorCertificatePath: layout.operatorCertificate,
                operatorKeyPath: layout.operatorKey),
            bankCode: bank, verifyReceipt: { verifier.isValid($0) })
        configuration.target.secondOperatorCertificatePath = layout.secondOperatorCertificate
        configuration.target.secondOperatorKeyPath = layout.secondOperatorKey
        return configuration
    }

    func stop(keepingState: Bool = false) async {
        await running.stop()
        if !keepingState { removeState() }
    }

    func removeState() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
