import COpenSSL
import Synchronization

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
        hex(prefix: EmptyCollection(), bytes)
    }

    /// `prefix`'s bytes (ASCII) as they are, then `bytes` in lower-case hex.
    public static func hex(prefix: some Collection<UInt8>, _ bytes: some Collection<UInt8>) -> String {
        // Written as ASCII bytes into the string's own storage: one allocation (SPEC §8 token subjects are built
        // on the wallet writer).
        assert(prefix.allSatisfy { $0 < 0x80 }, "an ASCII prefix")
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: prefix.count + bytes.count * 2) { out in
            digits.withUTF8Buffer { digits in
                var index = 0
                for byte in prefix {
                    out[index] = byte
                    index += 1
                }
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

    /// `prefix` then `byteCount` random bytes as lower-case hex, in one allocation: for the ids drawn on every
    /// Charge (charge ids, trace ids; before, `SystemRandomNumberGenerator` made a `getrandom` system call per 8
    /// bytes and each hex piece was its own string).
    public static func hex(prefix: some Collection<UInt8> = EmptyCollection(), byteCount: Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { random in
            fillID(random)
            return Digest.hex(prefix: prefix, UnsafeBufferPointer(random))
        }
    }

    /// Fills `buffer`, an id's random part (1 to `maxIDBytes` bytes), from the id pool: `RAND_bytes` output drawn
    /// `idPoolBytes` at a time. OpenSSL 3's `RAND_bytes` costs about 1.2 µs a call here whatever its size (locks and
    /// DRBG bookkeeping), and a Charge draws two ids on the event loop. Each pooled byte is handed out once and
    /// zeroed as it leaves. Key material does not come from here (`bytes`).
    public static func fillID(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition((1...maxIDBytes).contains(buffer.count), "1...\(maxIDBytes) random bytes per id")
        idPool.withLock { pool in
            if pool.next + buffer.count > pool.bytes.count {
                let ok = pool.bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
                precondition(ok == 1, "RAND_bytes failed: the CSPRNG is unavailable")
                pool.next = 0
            }
            let range = pool.next..<(pool.next + buffer.count)
            pool.next = range.upperBound
            pool.bytes.withUnsafeMutableBufferPointer { bytes in
                let taken = UnsafeMutableBufferPointer(rebasing: bytes[range])
                _ = buffer.initialize(fromContentsOf: taken)
                taken.update(repeating: 0)
            }
        }
    }

    /// The most random bytes one id takes from the pool (an id, not key material). 64.
    public static let maxIDBytes = 64
    /// How much `RAND_bytes` output the id pool draws at once. 4 KiB.
    static let idPoolBytes = 4_096

    private struct IDPool {
        var bytes = [UInt8](repeating: 0, count: SecureRandom.idPoolBytes)
        /// The first byte not handed out yet (`bytes.count`: none left, so the first id draws).
        var next = SecureRandom.idPoolBytes
    }

    private static let idPool = Mutex(IDPool())
}
