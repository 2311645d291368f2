import COpenSSL
import GatewayCrypto

// One Swift class owns each C object and frees it in deinit. Pointers never escape these classes except for the
// duration of a call.

/// An X.509 certificate (`X509*`). `package`: DevelopmentSupport builds and signs certificates through it.
package final class Certificate: @unchecked Sendable {
    // X509 objects are immutable once built and reference-counted by OpenSSL: safe to share read-only.
    package let pointer: OpaquePointer

    /// Takes ownership of one reference.
    package init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    /// Every certificate in a PEM file, leaf first.
    package static func loadPEM(path: String) throws -> [Certificate] {
        let bio = try FileBIO(readingPath: path)
        var result: [Certificate] = []
        while let cert = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            result.append(Certificate(taking: cert))
        }
        // The loop ends on "no start line" once the file is consumed; that is not an error.
        OpenSSLErrorQueue.clear()
        guard !result.isEmpty else { throw TLSError.configuration("no certificate in \(path)", []) }
        return result
    }

    package func pem() throws -> String {
        let bio = MemoryBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_X509(bio.pointer, pointer) == 1 else {
            throw TLSError.pki("cannot encode certificate", OpenSSLErrorQueue.drain())
        }
        return bio.string()
    }

    /// SHA-256 over the DER SubjectPublicKeyInfo: the value a bank's pin is compared with.
    package var spkiSHA256: [UInt8] { Digest.sha256(spkiDER) }

    /// The DER SubjectPublicKeyInfo.
    var spkiDER: [UInt8] {
        guard let key = X509_get_X509_PUBKEY(pointer) else { return [] }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509_PUBKEY(key, &der)
        guard length > 0, let der else { return [] }
        defer { CRYPTO_free(der, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: der, count: Int(length)))
    }

    /// The URI subject alternative names, in certificate order.
    var uriSANs: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var uris: [String] = []
        let count = bankgw_sk_GENERAL_NAME_num(names)
        // Bound: a certificate with thousands of SANs is not a partner certificate.
        for index in 0..<min(count, 64) {
            guard let name = bankgw_sk_GENERAL_NAME_value(names, index),
                let uri = bankgw_GENERAL_NAME_uri(name),
                let bytes = ASN1_STRING_get0_data(uri)
            else { continue }
            let length = Int(ASN1_STRING_length(uri))
            uris.append(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
        }
        return uris
    }

    /// The serial number as a hex string (used by CRL fixtures and logs).
    package var serialHex: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pointer), nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { CRYPTO_free(hex, #fileID, #line) }
        return String(cString: hex)
    }
}

// Keys (`EVP_PKEY*`) are GatewayCrypto's `PrivateKey`: one owner of libcrypto keys in the process.

/// A certificate revocation list (`X509_CRL*`). `package`: DevelopmentSupport signs CRLs through it.
package final class RevocationList: @unchecked Sendable {
    package let pointer: OpaquePointer
    package init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_CRL_free(pointer) }

    /// Every CRL in a PEM file.
    static func loadPEM(path: String) throws -> [RevocationList] {
        let bio = try FileBIO(readingPath: path)
        var result: [RevocationList] = []
        while let crl = PEM_read_bio_X509_CRL(bio.pointer, nil, nil, nil) {
            result.append(RevocationList(taking: crl))
        }
        OpenSSLErrorQueue.clear()
        guard !result.isEmpty else { throw TLSError.configuration("no CRL in \(path)", []) }
        return result
    }
}

/// A read-only file BIO.
final class FileBIO {
    let pointer: OpaquePointer
    init(readingPath path: String) throws {
        OpenSSLErrorQueue.clear()
        guard let bio = BIO_new_file(path, "rb") else {
            throw TLSError.configuration("cannot open \(path)", OpenSSLErrorQueue.drain())
        }
        self.pointer = bio
    }
    deinit { BIO_free(pointer) }
}

/// A growable memory BIO; also the transport of an `SSL` (one for ciphertext in, one for ciphertext out).
package final class MemoryBIO {
    package let pointer: OpaquePointer
    package init() {
        // BIO_new only fails on allocation failure, which Swift treats as fatal everywhere else too.
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new(BIO_s_mem()) failed: out of memory") }
        self.pointer = bio
    }
    /// Wraps a BIO whose reference is owned elsewhere (by an `SSL` after `SSL_set_bio`): takes one more reference.
    init(sharing pointer: OpaquePointer) {
        BIO_up_ref(pointer)
        self.pointer = pointer
    }
    deinit { BIO_free(pointer) }

    var pendingBytes: Int { Int(bankgw_BIO_ctrl_pending(pointer)) }

    package func string() -> String {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = bankgw_BIO_get_mem_data(pointer, &data)
        guard length > 0, let data else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
