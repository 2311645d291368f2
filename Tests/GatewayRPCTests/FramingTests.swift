import NIOCore
import XCTest

@testable import GatewayRPC

final class MessageDeframerTests: XCTestCase {
    private func framed(_ bodies: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for body in bodies {
            out.append(0)
            let n = UInt32(body.utf8.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            out += Array(body.utf8)
        }
        return out
    }

    func testMessagesFedOneByteAtATimeAreReassembled() throws {
        var d = GRPCMessageDeframer(maxMessageBytes: 1024)
        var got: [String] = []
        for byte in framed(["hello", "", "world!"]) {
            d.append(ByteBuffer(bytes: [byte]))
            while let m = try d.nextMessage() { got.append(String(buffer: m)) }
        }
        XCTAssertEqual(got, ["hello", "", "world!"])
        XCTAssertEqual(d.bufferedBytes, 0)
    }

    func testMessageInOneBufferIsASliceNotACopy() throws {
        var d = GRPCMessageDeframer(maxMessageBytes: 1024)
        let buffer = ByteBuffer(bytes: framed(["abc"]))
        d.append(buffer)
        let m = try XCTUnwrap(try d.nextMessage())
        m.withUnsafeReadableBytes { msg in
            buffer.withUnsafeReadableBytes { all in XCTAssertEqual(msg.baseAddress, all.baseAddress! + 5) }
        }
    }

    func testOversizedMessageIsRefusedAfterItsPrefixOnly() {
        var d = GRPCMessageDeframer(maxMessageBytes: 10)
        d.append(ByteBuffer(bytes: [0, 0, 0, 0, 11]))
        XCTAssertThrowsError(try d.nextMessage()) {
            XCTAssertEqual($0 as? GRPCMessageDeframer.Failure, .messageTooLarge(length: 11))
        }
    }

    func testCompressedFlagIsRefused() {
        var d = GRPCMessageDeframer(maxMessageBytes: 10)
        d.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 65]))
        XCTAssertThrowsError(try d.nextMessage()) {
            XCTAssertEqual($0 as? GRPCMessageDeframer.Failure, .compressedWithoutEncoding)
        }
    }

    func testFramerWritesPrefixInPlaceInAReservedBuffer() {
        var b = GRPCMessageFramer.makeResponseBuffer(allocator: ByteBufferAllocator(), capacity: 8)
        b.writeString("abc")
        let messageStart = b.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let framed = GRPCMessageFramer.frame(consume b, allocator: ByteBufferAllocator())
        XCTAssertEqual(Array(framed.readableBytesView), [0, 0, 0, 0, 3] + Array("abc".utf8))
        // The same storage, the prefix just in front of the message: neither copied nor reallocated.
        let framedStart = framed.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        XCTAssertEqual(framedStart + UInt(GRPCMessageFramer.prefixBytes), messageStart)
        let plain = GRPCMessageFramer.frame(ByteBuffer(string: "xy"), allocator: ByteBufferAllocator())
        XCTAssertEqual(Array(plain.readableBytesView), [0, 0, 0, 0, 2] + Array("xy".utf8))
    }
}

final class GRPCWireFormatTests: XCTestCase {
    func testGRPCMessageIsPercentEncodedAndDecodedBack() {
        let message = "100% done — 口座\r\n"
        let encoded = GRPCMessageEncoding.encode(message)
        XCTAssertTrue(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E })
        XCTAssertTrue(encoded.hasPrefix("100%25 done %E2%80%94"))
        XCTAssertEqual(GRPCMessageEncoding.decode(encoded), message)
        XCTAssertEqual(GRPCMessageEncoding.encode("plain text"), "plain text")
        XCTAssertEqual(GRPCMessageEncoding.decode("bad %zz escape %"), "bad %zz escape %")
    }

    func testGRPCTimeoutParsesEveryUnitAndRefusesMalformedValues() {
        XCTAssertEqual(GRPCTimeout.parse("1H"), .hours(1))
        XCTAssertEqual(GRPCTimeout.parse("2M"), .minutes(2))
        XCTAssertEqual(GRPCTimeout.parse("3S"), .seconds(3))
        XCTAssertEqual(GRPCTimeout.parse("4m"), .milliseconds(4))
        XCTAssertEqual(GRPCTimeout.parse("5u"), .microseconds(5))
        XCTAssertEqual(GRPCTimeout.parse("99999999n"), .nanoseconds(99_999_999))
        for bad in ["", "S", "1", "123456789S", "1s", "-1S", "1.5S"] { XCTAssertNil(GRPCTimeout.parse(bad), bad) }
    }

    func testGRPCTimeoutEncodingFitsEightDigitsAndNeverShortens() {
        XCTAssertEqual(GRPCTimeout.encode(.milliseconds(1)), "1000000n")
        let long = GRPCTimeout.encode(.hours(30))
        XCTAssertLessThanOrEqual(long.count, 9)
        XCTAssertGreaterThanOrEqual(GRPCTimeout.parse(long)!, .hours(30))
    }

    /// Found by RPCFuzz: "99999999H" parses to NIO's capped Int64.max nanoseconds, whose rounding-up overflowed.
    func testGRPCTimeoutEncodingOfTheLongestTimeoutDoesNotOverflow() {
        let longest = GRPCTimeout.parse("99999999H")!
        let encoded = GRPCTimeout.encode(longest)
        XCTAssertLessThanOrEqual(encoded.count, 9)
        XCTAssertGreaterThanOrEqual(GRPCTimeout.parse(encoded)!, longest)
        XCTAssertEqual(GRPCTimeout.encode(.nanoseconds(.max)), "2562048H")
    }

    func testAllSeventeenStatusCodesHaveTheirWireNumbers() {
        XCTAssertEqual(GRPCStatus.Code.allCases.count, 17)
        XCTAssertEqual(GRPCStatus.Code.unauthenticated.rawValue, 16)
        XCTAssertEqual(GRPCStatus.Code(wireValue: 99), .unknown)
        XCTAssertEqual(GRPCStatus.Code.resourceExhausted.name, "RESOURCE_EXHAUSTED")
    }
}
