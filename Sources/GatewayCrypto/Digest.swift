import COpenSSL

/// SHA-256 through libcrypto: idempotency body digests, the audit chain, the conformance report digest, pins.
public enum Digest {
    /// SHA-256 fetched from the default provider once: `EVP_sha256()` makes every `EVP_Digest` look the
    /// implementation up again (OpenSSL 3's implicit fetch), and the wallet writer hashes an audit entry per charge.
    /// An `EVP_MD` is immutable once fetched and safe to share between threads.
    nonisolated(unsafe) static let sha256Method: OpaquePointer = {
        guard let method = EVP_MD_fetch(nil, "SHA2-256", nil) else { preconditionFailure("no SHA2-256 in libcrypto") }
        return method
    }()

    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { digest in
            EVP_Digest(bytes.baseAddress, bytes.count, digest.baseAddress, &length, sha256Method, nil)
        }
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return out
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha256($0) }
    }

    public static func sha256(_ string: String) -> [UInt8] {
        sha256(Array(string.utf8))
    }

    /// Lower-case hex.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        // Written as ASCII bytes into the string's own storage: one allocation (SPEC §8 token subjects are built
        // on the wallet writer).
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { digits in
                var index = 0
                for byte in bytes {
                    out[index] = digits[Int(byte >> 4)]
                    out[index + 1] = digits[Int(byte & 0x0F)]
                    index += 2
                }
                return index
            }
        }
    }
}

/// The CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= 1 << 20, "1 MiB of randomness at most per call")
        var random = [UInt8](repeating: 0, count: count)
        let ok = random.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(ok == 1, "RAND_bytes failed: the CSPRNG is unavailable")
        return random
    }
}
