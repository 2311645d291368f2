import GatewayWire
import XCTest

final class WireJSONTests: XCTestCase {
    func testEveryMessageRoundTripsThroughJSON() throws {
        for message in Samples.allMessages {
            let name = type(of: message).protoName
            let bytes = try message.wireBytes()
            let json = try WireJSON.decode(typeName: name, bytes: bytes)
            let back = try WireJSON.encode(typeName: name, json: Array(json.utf8))
            XCTAssertEqual(back, bytes, "\(name): \(json)")
        }
    }

    func testJSONUsesProto3Names() throws {
        let json = try WireJSON.decode(typeName: ChargeRequest.protoName, bytes: try Samples.chargeRequest.wireBytes())
        XCTAssertEqual(
            json,
            #"{"header":{"bankCode":"9900","requestId":"req-20261124.0001_a","sentAtUnixMs":"1764000000123"},"#
                + #""linkId":"L-000000000042","amountYen":"12345","customerAuth":{"method":"SMS_OTP","#
                + #""authenticatedAtUnixMs":"1764000000000","authReference":"otp-7781"}}"#
        )
    }

    func testEncodeAcceptsProtoFieldNamesAndNumbers() throws {
        let json =
            #"{"header":{"bank_code":"9900","request_id":"r1","sent_at_unix_ms":5},"link_id":"L","amount_yen":7}"#
        let bytes = try WireJSON.encode(typeName: ChargeRequest.protoName, json: Array(json.utf8))
        XCTAssertEqual(
            try ChargeRequest(wireBytes: bytes),
            ChargeRequest(
                header: RequestHeader(bankCode: "9900", requestID: "r1", sentAtUnixMs: 5), linkID: "L", amountYen: 7)
        )
    }

    func testBadJSONNamesWhatIsWrong() {
        let cases: [(String, String)] = [
            (#"{"nope":1}"#, #"no field "nope""#),
            (#"{"amountYen":"x"}"#, "amount_yen must be an integer"),
            (#"{"customerAuth":{"method":"TELEPATHY"}}"#, #""TELEPATHY" is not a value"#),
            (#"{"header":5}"#, "header must be a JSON object"),
            ("{", "not valid JSON"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try WireJSON.encode(typeName: ChargeRequest.protoName, json: Array(json.utf8))) {
                error in
                XCTAssertTrue("\(error)".contains(expected), "\(json): \(error)")
            }
        }
    }

    func testDecodeAppliesTheStrictCodec() {
        XCTAssertThrowsError(try WireJSON.decode(typeName: ChargeRequest.protoName, bytes: [0x18, 0x80])) { error in
            XCTAssertTrue("\(error)".contains("truncated varint"), "\(error)")
        }
        XCTAssertThrowsError(try WireJSON.decode(typeName: "bankgw.v1.Nope", bytes: []))
    }
}
