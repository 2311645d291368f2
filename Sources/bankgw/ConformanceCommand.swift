import ArgumentParser
import Conformance
import Foundation
import GatewayService
import GatewayTLS

/// `bankgw conformance`: the per-bank conformance suite (SPEC §7). Exit 0 only when every case passes, 1 when any
/// fails, 69 when the gateway can't be reached, 64 on a usage error. The result is recorded through Admin
/// `RecordConformance`; a bank moves to PILOT or ENABLED only with a passing run (SPEC §4).
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run the per-bank conformance suite against a gateway and record the result (SPEC §7).",
        discussion: """
            With --state-dir the certificates come from DIR/pki (the demo layout of SPEC §6): banks/CODE.pem and \
            .key, operator.pem and .key, ca.pem, receipt.pub.pem; --target and --probe override the demo \
            addresses. Without --state-dir give --target and every certificate option. The suite uses only TEST \
            wallets it registers itself, so it runs for a PENDING bank. docs/CONFORMANCE.md lists the cases.
            """
    )

    @Option(help: "The gateway's state directory: certificates from DIR/pki.")
    var stateDir: String?
    @Option(help: "host:port of the gateway's TLS port (default 127.0.0.1:8443).")
    var target: String?
    @Option(help: "host:port of the h2c health probe port.")
    var probe = "127.0.0.1:8081"
    @Option(help: "The partner CA (PEM) the gateway's certificate must chain to.")
    var ca: String?
    @Option(help: "The bank's client certificate (PEM).")
    var bankCert: String?
    @Option(help: "The bank's private key (PEM).")
    var bankKey: String?
    @Option(help: "An operator certificate (PEM), for set-up through Admin and recording the result.")
    var operatorCert: String?
    @Option(help: "The operator's private key (PEM).")
    var operatorKey: String?
    @Option(help: "A second operator's certificate (PEM), who approves the reversal case (four eyes, SPEC §8).")
    var operator2Cert: String?
    @Option(help: "The second operator's private key (PEM).")
    var operator2Key: String?
    @Option(help: "The gateway's published receipt public key (PEM).")
    var receiptKey: String?
    @Option(help: "The bank's 4-digit code.")
    var bank: String
    @Option(help: "Write JUnit XML here (one testcase per case).")
    var junit: String?

    func validate() throws {
        guard bank.count == 4, bank.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError("--bank is a 4-digit bank code")
        }
        if stateDir == nil {
            let missing = [
                ("--target", target), ("--ca", ca), ("--bank-cert", bankCert), ("--bank-key", bankKey),
                ("--operator-cert", operatorCert), ("--operator-key", operatorKey),
                ("--receipt-key", receiptKey),
            ].filter { $0.1 == nil }.map(\.0)
            guard missing.isEmpty else {
                throw ValidationError("give --state-dir DIR, or \(missing.joined(separator: ", "))")
            }
        }
        _ = try Self.split(target ?? "127.0.0.1:8443", "--target")
        _ = try Self.split(probe, "--probe")
    }

    func run() async throws {
        let layout = stateDir.map { DevelopmentPKI.Layout(stateDirectory: $0) }
        // validate() made sure that every path without a state directory was given.
        let (host, port) = try Self.split(target ?? "127.0.0.1:8443", "--target")
        let (probeHost, probePort) = try Self.split(probe, "--probe")
        let receiptKeyPath = receiptKey ?? layout!.receiptPublicKey
        let verifier: ReceiptVerifier
        do {
            // A state directory publishes every receipt key ever used (SPEC §5); --receipt-key names one.
            verifier =
                try receiptKey != nil || stateDir == nil
                ? ReceiptVerifier(publicKeyPaths: [receiptKeyPath]) : ReceiptVerifier(stateDirectory: stateDir!)
        } catch {
            FileHandle.standardError.write(Data("conformance: receipt key \(receiptKeyPath): \(error)\n".utf8))
            throw ExitCode.badInput
        }
        var configuration = ConformanceConfiguration(
            target: ConformanceTarget(
                host: host, port: port, probeHost: probeHost, probePort: probePort,
                caPath: ca ?? layout!.caCertificate,
                bankCertificatePath: bankCert ?? layout!.bankCertificate(bank),
                bankKeyPath: bankKey ?? layout!.bankKey(bank),
                operatorCertificatePath: operatorCert ?? layout!.operatorCertificate,
                operatorKeyPath: operatorKey ?? layout!.operatorKey),
            bankCode: bank, verifyReceipt: { verifier.isValid($0) })
        configuration.target.secondOperatorCertificatePath = operator2Cert ?? layout?.secondOperatorCertificate
        configuration.target.secondOperatorKeyPath = operator2Key ?? layout?.secondOperatorKey

        let report: ConformanceReport
        do {
            report = try await ConformanceSuite.run(configuration)
        } catch {
            FileHandle.standardError.write(Data("conformance: \(error)\n".utf8))
            switch error {
            case .unreachable: throw ExitCode.unreachable
            case .setupFailed: throw ExitCode.checkFailed
            }
        }
        print(report.text, terminator: "")
        print("recorded: report sha256 \(report.reportSHA256Hex)")
        if let junit {
            guard FileManager.default.createFile(atPath: junit, contents: Data(report.junitXML.utf8)) else {
                FileHandle.standardError.write(Data("conformance: cannot write \(junit)\n".utf8))
                throw ExitCode.checkFailed
            }
        }
        if !report.passed { throw ExitCode.checkFailed }
    }

    static func split(_ address: String, _ option: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65_535).contains(port), colon > address.startIndex
        else { throw ValidationError("\(option) must be HOST:PORT") }
        return (String(address[..<colon]), port)
    }
}
