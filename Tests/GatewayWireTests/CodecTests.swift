import GatewayWire
import XCTest

final class CodecTests: XCTestCase {
    func testEveryMessageTypeHasASampleAndADescriptor() {
        let sampled = Set(Samples.allMessages.map { type(of: $0).protoName })
        XCTAssertEqual(sampled, Set(WireJSON.types.keys), "every message of Protos/ is round-tripped below")
        XCTAssertEqual(Set(MessageDescriptor.all.keys), Set(WireJSON.types.keys), "every descriptor has a Swift type")
    }

    func testEveryMessageRoundTripsThroughProtobufC() throws {
        for message in Samples.allMessages {
            try assertRoundTrip(message)
        }
    }

    private func assertRoundTrip<M: WireMessage>(
        _ message: M, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let bytes = try message.wireBytes()
        let decoded = try M(wireBytes: bytes)
        XCTAssertEqual(decoded, message, "\(M.protoName) round trip", file: file, line: line)
        XCTAssertEqual(try decoded.wireBytes(), bytes, "\(M.protoName) re-encodes identically", file: file, line: line)
    }

    func testDefaultValuesEncodeToNothing() throws {
        XCTAssertEqual(try UnlinkResponse(unlinked: false).wireBytes(), [])
        XCTAssertEqual(try HealthCheckRequest(service: "").wireBytes(), [])
        XCTAssertEqual(try HealthCheckRequest(wireBytes: []), HealthCheckRequest(service: ""))
    }

    func testKnownEncodingMatchesTheProtobufWireFormat() throws {
        // header (field 1) present but empty → 0x0A 0x00; link_id (field 2) = "L" → 0x12 0x01 0x4C;
        // amount_yen (field 3, varint) = 150 → 0x18 0x96 0x01.
        let bytes = try ChargeRequest(header: RequestHeader(), linkID: "L", amountYen: 150).wireBytes()
        XCTAssertEqual(bytes, [0x0A, 0x00, 0x12, 0x01, 0x4C, 0x18, 0x96, 0x01])
    }

    func testUnknownFieldsAreSkipped() throws {
        var bytes = try Samples.chargeRequest.wireBytes()
        bytes += [0xF8, 0x07, 0x01]  // field 127, varint 1
        bytes += [0xFA, 0x07, 0x02, 0x41, 0x42]  // field 127, length-delimited "AB"
        XCTAssertEqual(try ChargeRequest(wireBytes: bytes), Samples.chargeRequest)
    }

    func testLargeRepeatedMessagesOverflowTheArenaSafely() throws {
        var bank = AdminBank()
        bank.bankCode = "9900"
        bank.name = String(repeating: "ゆうちょ", count: 10)
        bank.pilotWalletIDs = (0..<20).map { String(format: "W%07d", $0) }
        let response = ListBanksResponse(banks: Array(repeating: bank, count: 60))
        let bytes = try response.wireBytes()
        XCTAssertGreaterThan(bytes.count, 15_000)
        XCTAssertEqual(try ListBanksResponse(wireBytes: bytes), response)
        // 5,000 empty banks: 2 bytes each on the wire, a C struct of ~100 bytes each in memory: far past the
        // block sized from the input, so most of it lands in overflow chunks.
        let empties = ListBanksResponse(banks: Array(repeating: AdminBank(), count: 5_000))
        let emptyBytes = try empties.wireBytes()
        XCTAssertEqual(emptyBytes.count, 10_000)
        XCTAssertEqual(try ListBanksResponse(wireBytes: emptyBytes), empties)
    }

    func testEncodingRefusesAStringWithANulByte() {
        XCTAssertThrowsError(try ChargeRequest(header: Samples.header, linkID: "L\u{0}1", amountYen: 1).wireBytes()) {
            error in
            XCTAssertEqual((error as? WireError)?.field, "link_id")
        }
    }

    func testEncodingRefusesMessagesOver64KiB() {
        let huge = UnlinkRequest(header: Samples.header, linkID: "L", reason: String(repeating: "x", count: 70_000))
        XCTAssertThrowsError(try huge.wireBytes()) { error in
            guard case .tooLarge = (error as? WireError)?.rule else {
                return XCTFail("expected tooLarge, got \(error)")
            }
        }
    }

    func testReceiptSignedBytesAreTheEncodingWithTheSignatureEmpty() throws {
        let signed = ChargeResponse(
            decision: .held, chargeID: "C-9", processedAtUnixMs: 5, receiptSignature: [1, 2, 3])
        var unsigned = signed
        unsigned.receiptSignature = []
        XCTAssertEqual(try signed.receiptSignedBytes(), try unsigned.wireBytes())
        XCTAssertNotEqual(try signed.receiptSignedBytes(), try signed.wireBytes())
    }

    func testPackingStraightIntoACallerBuffer() throws {
        let expected = try Samples.chargeRequest.wireBytes()
        let packed: [UInt8] = try Samples.chargeRequest.withPacked { size, pack in
            var buffer = [UInt8](repeating: 0xEE, count: size + 8)
            let written = buffer.withUnsafeMutableBytes { pack($0) }
            XCTAssertEqual(written, size)
            XCTAssertEqual(buffer[size...].allSatisfy { $0 == 0xEE }, true, "nothing written past the packed size")
            return Array(buffer[..<written])
        }
        XCTAssertEqual(packed, expected)
    }
}
