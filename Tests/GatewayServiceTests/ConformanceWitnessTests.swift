import Conformance
import GatewayCrypto
import GatewayRPC
import GatewayService
import GatewayTLS
import GatewayWire
import XCTest

/// SPEC §4: RecordConformance accepts only a run the gateway saw cover every case over the bank's certificate,
/// signed with that certificate's key.
final class ConformanceWitnessTests: XCTestCase {
    let bankKey = try! PrivateKey.generateP256()

    private func observe(
        _ witness: ConformanceWitness, bank: String = "0005", run: String = "run1", cases: [String],
        key: PrivateKey? = nil
    ) {
        for name in cases {
            witness.observe(
                RPCObservedRequest(
                    peer: .bank(code: bank), peerPublicKeyDER: (key ?? bankKey).spkiDER, path: "/x/Y",
                    metadata: [ConformanceWitnessing.metadataName: "\(run) \(name)"]))
        }
    }

    private func record(
        bank: String = "0005", run: String = "run1", signedBy key: PrivateKey? = nil
    )
        -> ConformanceRecord
    {
        var record = ConformanceRecord(
            bankCode: bank, passed: true, casesPassed: Int32(ConformanceWitnessing.caseNames.count), casesFailed: 0,
            reportSHA256Hex: String(repeating: "ab", count: 32), runID: run)
        record.reportSignature = (key ?? bankKey).signSHA256(try! record.bankSignedBytes())
        return record
    }

    private func refusal(_ witness: ConformanceWitness, _ record: ConformanceRecord) -> String? {
        do {
            try witness.verify(record)
            return nil
        } catch {
            XCTAssertEqual(error.code, .failedPrecondition)
            return error.message
        }
    }

    func testAWitnessedSignedRunIsAccepted() {
        let witness = ConformanceWitness()
        observe(witness, cases: Array(ConformanceWitnessing.witnessedCaseNames))
        XCTAssertNil(refusal(witness, record()))
    }

    func testAnOperatorsWordAloneRecordsNothing() {
        let witness = ConformanceWitness()
        var noRun = record()
        noRun.runID = ""
        XCTAssertTrue(refusal(witness, noRun)?.contains("run_id") == true)
        XCTAssertTrue(refusal(witness, record())?.contains("witnessed no conformance run run1") == true)
    }

    func testARunThatMissedACaseIsRefusedNamingIt() {
        let witness = ConformanceWitness()
        observe(witness, cases: Array(ConformanceWitnessing.witnessedCaseNames.subtracting(["receipt.verifies"])))
        XCTAssertTrue(refusal(witness, record())?.contains("not witnessed: receipt.verifies") == true)
    }

    func testTheRunOfAnotherBankDoesNotCount() {
        let witness = ConformanceWitness()
        observe(witness, bank: "9900", cases: Array(ConformanceWitnessing.witnessedCaseNames))
        XCTAssertNotNil(refusal(witness, record(bank: "0005")))
    }

    func testAReportNotSignedWithTheCertificatesKeyIsRefused() {
        let witness = ConformanceWitness()
        observe(witness, cases: Array(ConformanceWitnessing.witnessedCaseNames))
        let other = try! PrivateKey.generateP256()
        XCTAssertTrue(refusal(witness, record(signedBy: other))?.contains("report_signature") == true)
        var tampered = record()
        tampered.casesFailed = 3
        XCTAssertTrue(refusal(witness, tampered)?.contains("report_signature") == true, "the signature covers it")
    }

    func testARunWhoseRequestsCameWithTwoKeysIsRefused() {
        let witness = ConformanceWitness()
        observe(witness, cases: Array(ConformanceWitnessing.witnessedCaseNames))
        observe(witness, cases: ["charge.approved"], key: try! PrivateKey.generateP256())
        XCTAssertTrue(refusal(witness, record())?.contains("more than one certificate key") == true)
    }

    func testRequestsWithoutABankCertificateOrWithUnknownCasesAreIgnored() {
        let witness = ConformanceWitness()
        for name in ConformanceWitnessing.witnessedCaseNames {
            witness.observe(
                RPCObservedRequest(
                    peer: .operatorName("demo"), peerPublicKeyDER: bankKey.spkiDER, path: "/x/Y",
                    metadata: [ConformanceWitnessing.metadataName: "run1 \(name)"]))
            witness.observe(
                RPCObservedRequest(
                    peer: nil, peerPublicKeyDER: [], path: "/x/Y",
                    metadata: [ConformanceWitnessing.metadataName: "run1 \(name)"]))
        }
        observe(witness, cases: ["no.such.case"])
        XCTAssertNotNil(refusal(witness, record()))
    }
}
