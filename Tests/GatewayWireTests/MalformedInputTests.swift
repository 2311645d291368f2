import GatewayWire
import XCTest

/// Every kind of damaged or rule-breaking input is refused with the field and the rule it broke.
final class MalformedInputTests: XCTestCase {
    private func assertRefused<M: WireMessage>(
        _ type: M.Type, _ bytes: [UInt8], field: String, _ matches: (WireError.Rule) -> Bool,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let value = try M(wireBytes: bytes)
            XCTFail("accepted \(value)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            XCTAssertTrue(matches(error.rule), "unexpected rule: \(error)", file: file, line: line)
        }
    }

    private func valid(_ mutate: (inout ChargeRequest) -> Void = { _ in }) -> [UInt8] {
        var request = Samples.chargeRequest
        mutate(&request)
        return try! request.wireBytes()
    }

    private func isMalformed(_ containing: String) -> (WireError.Rule) -> Bool {
        { rule in if case .malformed(let why) = rule { return why.contains(containing) } else { return false } }
    }

    func testTruncatedVarintIsRefused() {
        assertRefused(ChargeRequest.self, valid() + [0x18, 0x80], field: "amount_yen", isMalformed("truncated varint"))
    }

    func testOverlongVarintIsRefused() {
        let overlong: [UInt8] = [0x18] + Array(repeating: 0x80, count: 10) + [0x01]
        assertRefused(ChargeRequest.self, valid() + overlong, field: "amount_yen", isMalformed("overlong varint"))
        // Ten bytes whose last carries more than the 64th bit is overlong too.
        let tenBytes: [UInt8] = [0x18] + Array(repeating: 0xFF, count: 9) + [0x02]
        assertRefused(ChargeRequest.self, valid() + tenBytes, field: "amount_yen", isMalformed("overlong varint"))
    }

    func testTagsAndLengthsLongerThanFiveBytesAreRefused() {
        // protobuf-c reads at most 5 bytes of a tag or a length prefix; a zero-padded longer one (found by WireFuzz)
        // passed the scanner and then failed inside protobuf-c with no field named.
        let sixByteTag: [UInt8] = [0x8A, 0x8A, 0x8A, 0x8A, 0x8A, 0x00, 0x00]
        assertRefused(ChargeRequest.self, valid() + sixByteTag, field: "(message)", isMalformed("overlong varint"))
        let sixByteLength: [UInt8] = [0x12, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x41]
        assertRefused(ChargeRequest.self, sixByteLength, field: "link_id", isMalformed("overlong varint"))
        // Five bytes, padded or not, is what protobuf-c reads: accepted (a repeated link_id, the last one wins).
        let linkID = Array(Samples.chargeRequest.linkID.utf8)
        precondition(linkID.count < 128, "one length byte below")
        let fiveByteTag: [UInt8] = [0x92, 0x80, 0x80, 0x80, 0x00]
        let fiveByteLength: [UInt8] = [UInt8(linkID.count) | 0x80, 0x80, 0x80, 0x80, 0x00]
        let decoded = try? ChargeRequest(wireBytes: valid { $0.linkID = "" } + fiveByteTag + fiveByteLength + linkID)
        XCTAssertEqual(decoded?.linkID, Samples.chargeRequest.linkID)
    }

    func testWrongWireTypeOnAKnownFieldIsRefused() {
        // amount_yen (varint) sent as length-delimited.
        assertRefused(ChargeRequest.self, valid() + [0x1A, 0x01, 0x05], field: "amount_yen") { $0 == .wrongWireType }
        // header (message) sent as a varint.
        assertRefused(ChargeRequest.self, [0x08, 0x01], field: "header") { $0 == .wrongWireType }
    }

    func testLengthPastTheEndIsRefused() {
        assertRefused(ChargeRequest.self, [0x12, 0x05, 0x41], field: "link_id", isMalformed("past the end"))
        // Truncated inside the nested header: the error names the nested field.
        var bytes = valid()
        bytes.removeLast(bytes.count - 8)
        assertRefused(ChargeRequest.self, bytes, field: "header", isMalformed("past the end"))
    }

    func testZeroTagIsRefused() {
        assertRefused(ChargeRequest.self, [0x00, 0x01], field: "(message)", isMalformed("field number 0"))
    }

    func testGroupsAndInvalidWireTypesAreRefused() {
        assertRefused(ChargeRequest.self, valid() + [0x7B], field: "#15", isMalformed("groups"))
        assertRefused(ChargeRequest.self, valid() + [0x7E], field: "#15", isMalformed("invalid wire type"))
    }

    func testMessageOf64KiBPlusOneIsRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: 0, count: WireLimits.maxMessageBytes + 1)
        assertRefused(ChargeRequest.self, bytes, field: "(message)") {
            $0 == .tooLarge(bytes: 65_537, maxBytes: 65_536)
        }
    }

    func testNestingBombInsideAKnownStringFieldIsRefusedWithoutRecursion() {
        // 10,000 levels of "field 1, length-delimited" wrapped in header.bank_code: bytes, not messages.
        var inner: [UInt8] = []
        for _ in 0..<10_000 { inner = [0x0A] + varint(inner.count) + inner }
        let header: [UInt8] = [0x0A] + varint(inner.count) + inner
        let bytes: [UInt8] = [0x0A] + varint(header.count) + header
        assertRefused(ChargeRequest.self, bytes, field: "header.bank_code") { _ in true }
    }

    func testNestingBombInAnUnknownFieldIsSkippedAsBytes() throws {
        var bomb: [UInt8] = []
        for _ in 0..<5_000 { bomb = [0x0A] + varint(bomb.count) + bomb }
        let bytes = valid() + [0xFA, 0x07] + varint(bomb.count) + bomb
        XCTAssertEqual(try ChargeRequest(wireBytes: bytes), Samples.chargeRequest)
    }

    func testInvalidUTF8IsRefused() {
        assertRefused(ChargeRequest.self, valid() + [0x12, 0x02, 0xC3, 0x28], field: "link_id") { $0 == .invalidUTF8 }
        // A lone surrogate encoded in UTF-8 (CESU) is not UTF-8 either.
        assertRefused(ChargeRequest.self, valid() + [0x12, 0x03, 0xED, 0xA0, 0x80], field: "link_id") {
            $0 == .invalidUTF8
        }
    }

    func testNulByteInAStringIsRefused() {
        assertRefused(ChargeRequest.self, valid() + [0x12, 0x03, 0x4C, 0x00, 0x31], field: "link_id") {
            $0 == .invalidUTF8
        }
    }

    func testOutOfRangeEnumIsRefusedNamingTheField() {
        // customer_auth (field 4) { method (field 1) = 99 }
        assertRefused(ChargeRequest.self, valid() + [0x22, 0x02, 0x08, 0x63], field: "customer_auth.method") {
            $0 == .unknownEnumValue(99)
        }
        assertRefused(HealthCheckResponse.self, [0x08, 0x04], field: "status") { $0 == .unknownEnumValue(4) }
        // Negative enum numbers are sign-extended to ten bytes on the wire.
        let minusOne: [UInt8] = [0x08] + Array(repeating: 0xFF, count: 9) + [0x01]
        assertRefused(HealthCheckResponse.self, minusOne, field: "status") { $0 == .unknownEnumValue(-1) }
    }

    func testMissingHeaderIsRefused() {
        assertRefused(ChargeRequest.self, [0x12, 0x01, 0x4C, 0x18, 0x01], field: "header") { $0 == .missing }
        assertRefused(LinkAccountRequest.self, [], field: "header") { $0 == .missing }
        assertRefused(GetChargeRequest.self, [], field: "header") { $0 == .missing }
        assertRefused(UnlinkRequest.self, [], field: "header") { $0 == .missing }
    }

    func testEmptyRequiredFieldsAreRefused() {
        assertRefused(ChargeRequest.self, valid { $0.header.bankCode = "" }, field: "header.bank_code") {
            $0 == .missing
        }
        assertRefused(ChargeRequest.self, valid { $0.header.requestID = "" }, field: "header.request_id") {
            $0 == .missing
        }
        assertRefused(ChargeRequest.self, valid { $0.header.sentAtUnixMs = 0 }, field: "header.sent_at_unix_ms") {
            $0 == .missing
        }
        assertRefused(ChargeRequest.self, valid { $0.linkID = "" }, field: "link_id") { $0 == .missing }
        var link = Samples.linkRequest
        link.linkCode = ""
        assertRefused(LinkAccountRequest.self, try! link.wireBytes(), field: "link_code") { $0 == .missing }
        link = Samples.linkRequest
        link.accountHolderKana = "　"
        assertRefused(LinkAccountRequest.self, try! link.wireBytes(), field: "account_holder_kana") { $0 == .missing }
    }

    func testAmountMustBePositive() {
        for amount: Int64 in [0, -1, Int64.min] {
            assertRefused(ChargeRequest.self, valid { $0.amountYen = amount }, field: "amount_yen") {
                if case .invalid = $0 { return true } else { return false }
            }
        }
    }

    func testBankCodeMustBeFourDigits() {
        for code in ["990", "99000", "99a0", "９９００", " 9900"] {
            assertRefused(ChargeRequest.self, valid { $0.header.bankCode = code }, field: "header.bank_code") {
                if case .invalid = $0 { return true } else { return false }
            }
        }
    }

    func testRequestIDSyntax() throws {
        XCTAssertNoThrow(
            try ChargeRequest(wireBytes: valid { $0.header.requestID = String(repeating: "a", count: 64) }))
        XCTAssertNoThrow(try ChargeRequest(wireBytes: valid { $0.header.requestID = "A-z_0.9" }))
        for id in [String(repeating: "a", count: 65), "has space", "slash/no", "ü", "semi;colon"] {
            assertRefused(ChargeRequest.self, valid { $0.header.requestID = id }, field: "header.request_id") {
                if case .invalid = $0 { return true } else { return false }
            }
        }
    }

    func testWalletIDAndTokenSyntax() {
        var link = Samples.linkRequest
        link.walletAccountID = "X0000001"
        assertRefused(LinkAccountRequest.self, try! link.wireBytes(), field: "wallet_account_id") {
            if case .invalid = $0 { return true } else { return false }
        }
        link = Samples.linkRequest
        link.bankAccountToken = "1234567"
        assertRefused(LinkAccountRequest.self, try! link.wireBytes(), field: "bank_account_token") {
            if case .invalid(let why) = $0 { return why.contains("raw account number") } else { return false }
        }
    }

    func testScannerDepthCapNamesTheTooDeepField() {
        // Protos/ nests at most 3 deep (SetBankProfileRequest → profile); WireLimits allows 8. Prove the cap with
        // a chain deeper than it: ListBanksResponse → banks → profile is 3 deep and passes.
        XCTAssertNoThrow(try ListBanksResponse(wireBytes: try ListBanksResponse(banks: [AdminBank()]).wireBytes()))
        XCTAssertGreaterThanOrEqual(WireLimits.maxNestingDepth, 3)
    }

    func testErrorDescriptionsNameFieldAndRule() {
        do {
            _ = try ChargeRequest(wireBytes: valid { $0.amountYen = 0 })
            XCTFail("accepted amount 0")
        } catch {
            XCTAssertEqual(error.description, "amount_yen: must be at least 1 yen, got 0")
        }
    }

    private func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }
}
