import COpenSSL
import Foundation

/// An `EVP_PKEY`: the one owner of libcrypto keys in the process (receipt keys here; GatewayTLS's development PKI
/// signs certificates with it). A private key, or a public key only (`isPublicOnly`), never mutated after creation,
/// so shared read-only across threads (OpenSSL allows concurrent signing with one EVP_PKEY; each signature uses a
/// signing context no other thread holds meanwhile).
public final class PrivateKey: @unchecked Sendable {
    /// For the C edge only (GatewayTLS's X509 signing): valid as long as this object lives.
    public let pointer: OpaquePointer
    public let isPublicOnly: Bool

    /// Signing contexts of this key, each initialised once (`EVP_PKEY_sign_init` with SHA-256) and used by one
    /// thread at a time: `EVP_DigestSignInit` per signature looked the algorithms up again every time, a fifth of
    /// a receipt's cost on the event loops (issue 14). At most `maxIdleSigningContexts` are kept idle.
    private var idleSigningContexts: [OpaquePointer] = []
    private let signingContextsLock = NSLock()
    /// Idle signing contexts kept per key (a few hundred bytes each): more than the threads that sign at once.
    public static let maxIdleSigningContexts = 16

    /// Takes ownership of one reference.
    public init(taking pointer: OpaquePointer, publicOnly: Bool = false) {
        self.pointer = pointer
        self.isPublicOnly = publicOnly
    }
    deinit {
        for context in idleSigningContexts { EVP_PKEY_CTX_free(context) }
        EVP_PKEY_free(pointer)
    }

    /// A fresh ECDSA P-256 key.
    public static func generateP256() throws(CryptoError) -> PrivateKey {
        OpenSSLErrorQueue.clear()
        guard let key = bankgw_EVP_EC_gen_P256() else {
            throw CryptoError("cannot generate a P-256 key", openSSL: OpenSSLErrorQueue.drain())
        }
        return PrivateKey(taking: key)
    }

    /// The private key in the PEM file at `path`.
    public static func loadPEM(path: String) throws(CryptoError) -> PrivateKey {
        try withFileBIO(path) { bio throws(CryptoError) in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw CryptoError("no private key in \(path)", openSSL: OpenSSLErrorQueue.drain())
            }
            return PrivateKey(taking: key)
        }
    }

    /// The public key (SubjectPublicKeyInfo PEM, `-----BEGIN PUBLIC KEY-----`) in the file at `path`.
    public static func loadPublicPEM(path: String) throws(CryptoError) -> PrivateKey {
        try withFileBIO(path) { bio throws(CryptoError) in
            guard let key = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else {
                throw CryptoError("no public key in \(path)", openSSL: OpenSSLErrorQueue.drain())
            }
            return PrivateKey(taking: key, publicOnly: true)
        }
    }

    /// The public key of a DER SubjectPublicKeyInfo (a certificate's key, e.g. a bank's from its handshake).
    public static func publicKey(spkiDER der: [UInt8]) throws(CryptoError) -> PrivateKey {
        OpenSSLErrorQueue.clear()
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key else { throw CryptoError("not a DER SubjectPublicKeyInfo", openSSL: OpenSSLErrorQueue.drain()) }
        return PrivateKey(taking: key, publicOnly: true)
    }

    private static func withFileBIO<T>(
        _ path: String, _ body: (OpaquePointer) throws(CryptoError) -> T
    ) throws(CryptoError) -> T {
        OpenSSLErrorQueue.clear()
        guard let bio = BIO_new_file(path, "rb") else {
            throw CryptoError("cannot open \(path)", openSSL: OpenSSLErrorQueue.drain())
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }

    public var isP256: Bool { EVP_PKEY_get_base_id(pointer) == EVP_PKEY_EC && EVP_PKEY_get_bits(pointer) == 256 }

    public func privatePEM() throws(CryptoError) -> String {
        precondition(!isPublicOnly, "a public key has no private PEM")
        return try pem { PEM_write_bio_PrivateKey($0, pointer, nil, nil, 0, nil, nil) }
    }

    public func publicPEM() throws(CryptoError) -> String {
        try pem { PEM_write_bio_PUBKEY($0, pointer) }
    }

    private func pem(_ write: (OpaquePointer) -> Int32) throws(CryptoError) -> String {
        OpenSSLErrorQueue.clear()
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new(BIO_s_mem()) failed: out of memory") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw CryptoError("cannot encode key", openSSL: OpenSSLErrorQueue.drain()) }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = bankgw_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    /// The DER SubjectPublicKeyInfo.
    public var spkiDER: [UInt8] {
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_PUBKEY(pointer, &der)
        guard length > 0, let der else { return [] }
        defer { CRYPTO_free(der, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: der, count: Int(length)))
    }

    /// SPEC §5 `receipt_key_id`: hex SHA-256 of the SubjectPublicKeyInfo, first 16 characters.
    public var keyID: String { String(Digest.hex(Digest.sha256(spkiDER)).prefix(16)) }

    /// Whether `other` is the same key pair (the same public key).
    public func hasSamePublicKey(as other: PrivateKey) -> Bool { spkiDER == other.spkiDER }

    /// ECDSA / SHA-256 signature (DER) over `message`: the SHA-256 of `message` signed with a kept signing
    /// context (what `EVP_DigestSign` computes, without setting a context up per signature).
    public func signSHA256(_ message: [UInt8]) -> [UInt8] {
        precondition(!isPublicOnly, "signing needs the private key")
        let digest = Digest.sha256(message)
        OpenSSLErrorQueue.clear()
        let context = takeSigningContext()
        var length = 0
        guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1, length > 0 else {
            preconditionFailure("EVP_PKEY_sign (size) failed: \(OpenSSLErrorQueue.drainText())")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let ok = signature.withUnsafeMutableBufferPointer { out in
            EVP_PKEY_sign(context, out.baseAddress, &length, digest, digest.count)
        }
        guard ok == 1 else { preconditionFailure("EVP_PKEY_sign failed: \(OpenSSLErrorQueue.drainText())") }
        keepSigningContext(context)
        return Array(signature.prefix(length))
    }

    /// An idle signing context of this key, or a new one.
    private func takeSigningContext() -> OpaquePointer {
        if let idle = signingContextsLock.withLock({ idleSigningContexts.popLast() }) { return idle }
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            preconditionFailure("EVP_PKEY_CTX_new_from_pkey failed: \(OpenSSLErrorQueue.drainText())")
        }
        guard EVP_PKEY_sign_init(context) == 1, EVP_PKEY_CTX_set_signature_md(context, Digest.sha256Method) == 1
        else { preconditionFailure("EVP_PKEY_sign_init (SHA-256) failed: \(OpenSSLErrorQueue.drainText())") }
        return context
    }

    /// Back to the idle contexts after a signature, or freed when enough are idle.
    private func keepSigningContext(_ context: OpaquePointer) {
        let kept = signingContextsLock.withLock {
            guard idleSigningContexts.count < Self.maxIdleSigningContexts else { return false }
            idleSigningContexts.append(context)
            return true
        }
        if !kept { EVP_PKEY_CTX_free(context) }
    }

    /// Whether `signature` is this key's ECDSA / SHA-256 signature over `message`.
    public func verifySHA256(signature: [UInt8], message: [UInt8]) -> Bool {
        guard !signature.isEmpty else { return false }
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, pointer) == 1 else { return false }
        return signature.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer {
                EVP_DigestVerify(context, signature.baseAddress, signature.count, $0.baseAddress, $0.count)
            }
        } == 1
    }
}
