import COpenSSL

/// HMAC-SHA-256 (RFC 2104) through libcrypto: link codes (`link-code.key`), the desk's token hashes
/// (`token-hash.key`), the console's CSRF tokens. One implementation, so every keyed hash of the gateway is the same
/// function of the same bytes.
public enum KeyedHash {
    /// Bytes of one HMAC-SHA-256.
    public static let sha256Bytes = 32

    public static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Key(key).sha256(message)
    }

    public static func sha256(key: [UInt8], message: String) -> [UInt8] {
        Key(key).sha256(Array(message.utf8))
    }

    /// A key set up once, for a key that hashes many messages (token hashes, link codes, console CSRF tokens):
    /// `HMAC()` fetched the algorithms and hashed the padded key again on every call (issue 14). The keyed context is
    /// never used itself, only duplicated per message, so one `Key` is safe to share between threads.
    public final class Key: @unchecked Sendable {
        private let keyed: OpaquePointer

        public init(_ key: [UInt8]) {
            let context = key.withUnsafeBufferPointer {
                bankgw_EVP_MAC_HMAC_SHA256_keyed(Self.hmac, $0.baseAddress, $0.count)
            }
            guard let context else { preconditionFailure("HMAC-SHA256 key set-up failed") }
            keyed = context
        }

        deinit { EVP_MAC_CTX_free(keyed) }

        public func sha256(_ message: [UInt8]) -> [UInt8] {
            guard let context = EVP_MAC_CTX_dup(keyed) else { preconditionFailure("EVP_MAC_CTX_dup: out of memory") }
            defer { EVP_MAC_CTX_free(context) }
            var out = [UInt8](repeating: 0, count: sha256Bytes)
            var length = 0
            let ok = message.withUnsafeBufferPointer { data in
                // An empty message may have no base address; a zero-length update reads nothing.
                (data.isEmpty || EVP_MAC_update(context, data.baseAddress, data.count) == 1)
                    && out.withUnsafeMutableBufferPointer { EVP_MAC_final(context, $0.baseAddress, &length, $0.count) }
                        == 1
            }
            precondition(ok && length == sha256Bytes, "HMAC-SHA256 failed")
            return out
        }

        public func sha256(_ message: String) -> [UInt8] { sha256(Array(message.utf8)) }

        /// HMAC fetched from the default provider once (immutable, shared between threads).
        nonisolated(unsafe) private static let hmac: OpaquePointer = {
            guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { preconditionFailure("no HMAC in libcrypto") }
            return mac
        }()
    }
}
