import Dispatch
import GatewayCrypto
import Synchronization
import XCTest

final class SecureRandomTests: XCTestCase {
    func testARandomHexIdIsItsPrefixThenTwoLowerCaseDigitsPerByte() {
        let id = SecureRandom.hex(prefix: "ln_".utf8, byteCount: 10)
        XCTAssertEqual(id.utf8.count, 3 + 20, id)
        XCTAssertTrue(id.hasPrefix("ln_"), id)
        XCTAssertTrue(id.dropFirst(3).allSatisfy { "0123456789abcdef".contains($0) }, id)
        XCTAssertEqual(SecureRandom.hex(byteCount: 16).utf8.count, 32)
        XCTAssertEqual(SecureRandom.hex(byteCount: SecureRandom.maxIDBytes).utf8.count, 128)
    }

    /// 20,000 pooled bytes: the id pool (4 KiB) is drawn again several times, ids from two threads at once.
    func testRandomHexIdsDoNotRepeatAndUseEveryDigitAcrossPoolRefillsAndThreads() {
        let drawn = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let ids = (0..<1_000).map { _ in SecureRandom.hex(byteCount: 10) }
            drawn.withLock { $0 += ids }
        }
        let ids = drawn.withLock { $0 }
        XCTAssertEqual(Set(ids).count, ids.count)
        // 40,000 digits: each of the 16 appears about 2,500 times; a stuck or biased source would not.
        var counts: [Character: Int] = [:]
        for id in ids { for digit in id { counts[digit, default: 0] += 1 } }
        XCTAssertEqual(counts.count, 16)
        XCTAssertTrue(counts.values.allSatisfy { (2_000...3_000).contains($0) }, "\(counts)")
    }

    func testHexWithAPrefixKeepsThePrefixBytesAsTheyAre() {
        XCTAssertEqual(Digest.hex(prefix: "ch_".utf8, [0x00, 0x01, 0xab, 0xff]), "ch_0001abff")
        XCTAssertEqual(Digest.hex([0x10, 0xfe]), "10fe")
        XCTAssertEqual(Digest.hex(prefix: "x".utf8, []), "x")
    }
}
