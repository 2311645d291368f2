import Foundation
import GatewayCrypto
import XCTest

final class KeyedHashTests: XCTestCase {
    private func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block is hashed first).
    func testHMACSHA256MatchesTheRFC4231Vectors() {
        XCTAssertEqual(
            Digest.hex(KeyedHash.sha256(key: [UInt8](repeating: 0x0b, count: 20), message: "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(
            Digest.hex(KeyedHash.sha256(key: Array("Jefe".utf8), message: "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(
            Digest.hex(
                KeyedHash.sha256(
                    key: [UInt8](repeating: 0xaa, count: 131),
                    message: "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertEqual(
            KeyedHash.sha256(key: bytes(hex: "0b0b"), message: [UInt8]()).count, KeyedHash.sha256Bytes,
            "an empty message is hashed too")
    }

    /// A kept key answers as a fresh one-shot HMAC, message after message (its keyed context is only duplicated,
    /// never consumed), from many threads at once; the empty key included (RFC 2104 pads it like any other).
    func testAKeptKeyHashesEveryMessageAsAFreshKeyWouldFromManyThreads() {
        let key = KeyedHash.Key(Array("Jefe".utf8))
        for _ in 0..<3 {
            XCTAssertEqual(
                Digest.hex(key.sha256("what do ya want for nothing?")),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        }
        XCTAssertEqual(
            Digest.hex(KeyedHash.Key([]).sha256("")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", "HMAC-SHA256 of empty key and message")
        let messages = (0..<64).map { "0005:token-\($0)" }
        let expected = messages.map { KeyedHash.sha256(key: Array("Jefe".utf8), message: $0) }
        let mismatches = NSLock()
        nonisolated(unsafe) var wrong = 0
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for (message, hash) in zip(messages, expected) where key.sha256(message) != hash {
                mismatches.withLock { wrong += 1 }
            }
        }
        XCTAssertEqual(wrong, 0)
    }

    func testSecretKeyFileIsCreatedOwnerOnlyAndReadBackUnchanged() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("test.key").path
        let created = try SecretKeyFile.loadOrCreate(path: path, byteCount: 32)
        XCTAssertEqual(created.count, 32)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try SecretKeyFile.loadOrCreate(path: path, byteCount: 32), created, "kept across opens")
    }

    func testSecretKeyFileOfAnotherSizeIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + ".key").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: 31)))
        XCTAssertThrowsError(try SecretKeyFile.loadOrCreate(path: path, byteCount: 32)) { error in
            XCTAssertEqual(error as? SecretKeyFile.Failure, .wrongSize(bytes: 31, expected: 32))
        }
    }

    func testSecretKeyFileInAMissingDirectoryCannotBeCreated() {
        let path = "/nonexistent-\(UUID().uuidString)/test.key"
        XCTAssertThrowsError(try SecretKeyFile.loadOrCreate(path: path, byteCount: 32)) { error in
            guard case .cannotCreate = error as? SecretKeyFile.Failure else { return XCTFail("\(error)") }
        }
    }
}
