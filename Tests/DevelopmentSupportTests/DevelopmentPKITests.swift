import DevelopmentSupport
import Foundation
import GatewayTLS
import XCTest

final class DevelopmentPKITests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("bankgw-pki-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    /// Runs the openssl CLI (an independent check of what we wrote); stdout and stderr share one pipe, read to
    /// its end before waiting, so neither can fill up and stall the child.
    private func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testInitCreatesTheSpecLayoutWithPrivateKeysReadableOnlyByTheOwner() throws {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        try DevelopmentPKI.initialize(directory: directory)
        var keys = [layout.caKey, layout.serverKey, layout.operatorKey, layout.receiptKey]
        var certificates = [layout.caCertificate, layout.serverCertificate, layout.operatorCertificate]
        for code in DevelopmentPKI.demoBankCodes {
            keys.append(layout.bankKey(code))
            certificates.append(layout.bankCertificate(code))
        }
        for key in keys { XCTAssertEqual(try mode(key), 0o600, key) }
        for certificate in certificates { XCTAssertEqual(try mode(certificate), 0o644, certificate) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: layout.receiptPublicKey))
    }

    func testIssuedCertificatesChainToTheCAAndCarryTheContractNames() throws {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        try DevelopmentPKI.initialize(directory: directory)
        let verify = try openssl([
            "verify", "-CAfile", layout.caCertificate, layout.serverCertificate, layout.bankCertificate("9900"),
            layout.operatorCertificate,
        ])
        XCTAssertEqual(verify.status, 0, verify.output)
        let server = try openssl(["x509", "-in", layout.serverCertificate, "-noout", "-ext", "subjectAltName"])
        XCTAssertTrue(server.output.contains("DNS:localhost"), server.output)
        XCTAssertTrue(server.output.contains("IP Address:127.0.0.1"), server.output)
        let bank = try openssl(["x509", "-in", layout.bankCertificate("0005"), "-noout", "-ext", "subjectAltName"])
        XCTAssertTrue(bank.output.contains("URI:spiffe://bankgw.partners/bank/0005"), bank.output)
        let op = try openssl(["x509", "-in", layout.operatorCertificate, "-noout", "-ext", "subjectAltName"])
        XCTAssertTrue(op.output.contains("URI:spiffe://bankgw.partners/operator/demo"), op.output)
        let receipt = try openssl(["pkey", "-pubin", "-in", layout.receiptPublicKey, "-noout", "-text"])
        XCTAssertTrue(receipt.output.contains("prime256v1") || receipt.output.contains("P-256"), receipt.output)
    }

    func testInitAgainLeavesExistingMaterialAlone() throws {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        try DevelopmentPKI.initialize(directory: directory)
        let before = try [layout.caCertificate, layout.bankKey("9900"), layout.receiptKey].map {
            try String(contentsOfFile: $0, encoding: .utf8)
        }
        try FileManager.default.removeItem(atPath: layout.bankCertificate("0009"))
        let created = try DevelopmentPKI.initialize(directory: directory)
        XCTAssertEqual(Set(created), [layout.bankCertificate("0009"), layout.bankKey("0009")])
        let after = try [layout.caCertificate, layout.bankKey("9900"), layout.receiptKey].map {
            try String(contentsOfFile: $0, encoding: .utf8)
        }
        XCTAssertEqual(before, after)
        let verify = try openssl(["verify", "-CAfile", layout.caCertificate, layout.bankCertificate("0009")])
        XCTAssertEqual(verify.status, 0, "the reissued certificate is signed by the existing CA: \(verify.output)")
    }

    func testInitRefusesAHalfPresentCA() throws {
        let layout = DevelopmentPKI.Layout(stateDirectory: directory)
        try DevelopmentPKI.initialize(directory: directory)
        try FileManager.default.removeItem(atPath: layout.caKey)
        XCTAssertThrowsError(try DevelopmentPKI.initialize(directory: directory))
    }

    func testCRLListsTheRevokedSerial() throws {
        let ca = try DevelopmentCA(commonName: "test CA")
        let bank = try ca.issue(.partner(.bank(code: "0001")))
        let crlPath = directory + "-crl.pem"
        defer { try? FileManager.default.removeItem(atPath: crlPath) }
        try ca.revocationListPEM(revokedSerialsHex: [bank.serialHex]).write(
            toFile: crlPath, atomically: true, encoding: .utf8)
        let text = try openssl(["crl", "-in", crlPath, "-noout", "-text"])
        XCTAssertTrue(text.output.uppercased().contains(bank.serialHex), text.output)
    }
}
