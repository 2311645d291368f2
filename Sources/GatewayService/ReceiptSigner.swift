import COpenSSL
import Foundation
import GatewayWire

/// Signs ChargeResponses with the gateway's receipt key (SPEC §5): ECDSA P-256 over SHA-256 of the protobuf-c
/// encoding of the response with `receipt_signature` empty, so a bank can prove what the wallet answered.
///
/// One `EVP_PKEY`, shared read-only by every signing thread; each signature uses its own `EVP_MD_CTX`.
public final class ReceiptSigner: @unchecked Sendable {
    // @unchecked: `key` is never mutated after init; OpenSSL allows concurrent signing with one EVP_PKEY.
    private let key: OpaquePointer

    public enum Failure: Error, CustomStringConvertible {
        case unreadableKey(path: String, openSSL: String)
        case notP256(path: String)

        public var description: String {
            switch self {
            case .unreadableKey(let path, let openSSL): return "cannot read the receipt key \(path): \(openSSL)"
            case .notP256(let path): return "the receipt key \(path) is not an ECDSA P-256 key"
            }
        }
    }

    /// Loads the PEM private key at `path` (`pki/receipt.key`).
    public init(privateKeyPath path: String) throws {
        ERR_clear_error()
        guard let file = fopen(path, "r") else {
            throw Failure.unreadableKey(path: path, openSSL: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        guard let key = PEM_read_PrivateKey(file, nil, nil, nil) else {
            throw Failure.unreadableKey(path: path, openSSL: Self.drainErrors())
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, EVP_PKEY_get_bits(key) == 256 else {
            EVP_PKEY_free(key)
            throw Failure.notP256(path: path)
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// The DER-encoded ECDSA signature over `response` with its signature field emptied.
    public func sign(_ response: ChargeResponse) -> [UInt8] {
        guard let message = try? response.receiptSignedBytes() else {
            assertionFailure("a ChargeResponse we built did not encode")
            return []
        }
        return sign(message)
    }

    func sign(_ message: [UInt8]) -> [UInt8] {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            preconditionFailure("EVP_DigestSignInit failed: \(Self.drainErrors())")
        }
        var length = 0
        guard message.withUnsafeBufferPointer({ EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }) == 1
        else { preconditionFailure("EVP_DigestSign (size) failed: \(Self.drainErrors())") }
        var signature = [UInt8](repeating: 0, count: length)
        let ok = signature.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer { EVP_DigestSign(context, out.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard ok == 1 else { preconditionFailure("EVP_DigestSign failed: \(Self.drainErrors())") }
        return Array(signature.prefix(length))
    }

    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(cString: buffer))
        }
        return messages.isEmpty ? "no OpenSSL error" : messages.joined(separator: "; ")
    }
}

/// Verifies receipts with a published receipt public key (`pki/receipt.pub.pem`): what a bank does.
public final class ReceiptVerifier: @unchecked Sendable {
    private let key: OpaquePointer

    public init(publicKeyPath path: String) throws {
        ERR_clear_error()
        guard let file = fopen(path, "r") else {
            throw ReceiptSigner.Failure.unreadableKey(path: path, openSSL: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        guard let key = PEM_read_PUBKEY(file, nil, nil, nil) else {
            throw ReceiptSigner.Failure.unreadableKey(path: path, openSSL: ReceiptSigner.drainErrors())
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, EVP_PKEY_get_bits(key) == 256 else {
            EVP_PKEY_free(key)
            throw ReceiptSigner.Failure.notP256(path: path)
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// Whether `response.receiptSignature` is the receipt key's signature over the response.
    public func isValid(_ response: ChargeResponse) -> Bool {
        guard !response.receiptSignature.isEmpty, let message = try? response.receiptSignedBytes() else { return false }
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        let result = response.receiptSignature.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer {
                EVP_DigestVerify(context, signature.baseAddress, signature.count, $0.baseAddress, $0.count)
            }
        }
        ERR_clear_error()
        return result == 1
    }
}
