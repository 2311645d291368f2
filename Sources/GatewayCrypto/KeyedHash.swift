import COpenSSL

/// HMAC-SHA-256 (RFC 2104) through libcrypto: link codes (`link-code.key`), the desk's token hashes
/// (`token-hash.key`), the console's CSRF tokens. One implementation, so every keyed hash of the gateway is the same
/// function of the same bytes.
public enum KeyedHash {
    /// Bytes of one HMAC-SHA-256.
    public static let sha256Bytes = 32

    public static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: sha256Bytes)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { digest in
                    // An empty array may have no base address; HMAC takes (NULL, 0) as the empty key or message.
                    HMAC(
                        EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress, data.count,
                        digest.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == UInt32(sha256Bytes), "HMAC-SHA256 failed")
        return out
    }

    public static func sha256(key: [UInt8], message: String) -> [UInt8] {
        sha256(key: key, message: Array(message.utf8))
    }
}
