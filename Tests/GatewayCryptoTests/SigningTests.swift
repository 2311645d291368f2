import Foundation
import GatewayCrypto
import XCTest

/// `PrivateKey.signSHA256` signs with kept signing contexts (issue 14); `verifySHA256` checks through
/// `EVP_DigestVerify`, a separate path, so each signature is checked by code that does not share the reuse.
final class SigningTests: XCTestCase {
    func testSignaturesVerifyWithThePublicKeyAloneAndNotForAnotherMessage() throws {
        let key = try PrivateKey.generateP256()
        let publicKey = try PrivateKey.publicKey(spkiDER: key.spkiDER)
        let message = Array("receipt bytes".utf8)
        let first = key.signSHA256(message)
        let second = key.signSHA256(message)
        XCTAssertNotEqual(first, second, "ECDSA draws a fresh nonce per signature, from a reused context too")
        for signature in [first, second] {
            XCTAssertTrue(publicKey.verifySHA256(signature: signature, message: message))
            XCTAssertFalse(publicKey.verifySHA256(signature: signature, message: Array("receipt bytez".utf8)))
        }
        let other = try PrivateKey.generateP256()
        XCTAssertFalse(other.verifySHA256(signature: first, message: message), "another key's signature")
    }

    /// More threads than the contexts kept idle, each signing its own messages at once: every signature verifies.
    func testConcurrentSignersEachGetASigningContextOfTheirOwn() throws {
        let key = try PrivateKey.generateP256()
        let threads = PrivateKey.maxIdleSigningContexts + 4
        let perThread = 50
        let failures = NSLock()
        nonisolated(unsafe) var failed: [String] = []
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for n in 0..<perThread {
                let message = Array("thread \(thread) message \(n)".utf8)
                let signature = key.signSHA256(message)
                if !key.verifySHA256(signature: signature, message: message) {
                    failures.withLock { failed.append("thread \(thread) message \(n)") }
                }
            }
        }
        XCTAssertEqual(failed, [])
    }
}
