import COpenSSL
import Foundation
import GatewayCrypto
import GatewayTLS

/// What a development certificate says. Times are relative to now so tests can make expired and not-yet-valid
/// certificates without touching the clock.
public struct DevelopmentCertificateSpec: Sendable {
    public var commonName: String
    /// URI SANs, e.g. `spiffe://bankgw.partners/bank/9900`.
    public var uris: [String]
    public var dnsNames: [String]
    public var ipAddresses: [String]
    /// Start of validity relative to now (negative: in the past). Default −5 min, for clock skew between hosts.
    public var notBeforeOffset: Duration
    /// End of validity relative to now. Default 825 days (the longest CA/B-forum lifetime, plenty for a demo).
    public var notAfterOffset: Duration
    public var serverAuth: Bool
    public var clientAuth: Bool

    public init(
        commonName: String, uris: [String] = [], dnsNames: [String] = [], ipAddresses: [String] = [],
        notBeforeOffset: Duration = .seconds(-300), notAfterOffset: Duration = .seconds(825 * 86_400),
        serverAuth: Bool = false, clientAuth: Bool = true
    ) {
        precondition(notBeforeOffset < notAfterOffset, "a certificate must be valid for some time")
        self.commonName = commonName
        self.uris = uris
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.notBeforeOffset = notBeforeOffset
        self.notAfterOffset = notAfterOffset
        self.serverAuth = serverAuth
        self.clientAuth = clientAuth
    }

    /// A partner certificate for `identity` (client auth, URI SAN).
    public static func partner(_ identity: PeerIdentity) -> DevelopmentCertificateSpec {
        DevelopmentCertificateSpec(commonName: identity.description, uris: [identity.spiffeURI])
    }

    /// The gateway's server certificate (SAN DNS:localhost, IP:127.0.0.1).
    public static let localhostServer = DevelopmentCertificateSpec(
        commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], serverAuth: true,
        clientAuth: false)
}

/// A certificate and its private key, PEM-encoded.
public struct DevelopmentCredential: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String
    /// Upper-case hex serial, as CRLs list it.
    public var serialHex: String
    /// SHA-256 of the SubjectPublicKeyInfo: the value a bank pin holds.
    public var spkiSHA256: [UInt8]

    /// Writes the certificate (0644) and the key (0600), replacing existing files.
    public func write(certificatePath: String, keyPath: String) throws {
        try PKIFile.write(privateKeyPEM, to: keyPath, mode: 0o600)
        try PKIFile.write(certificatePEM, to: certificatePath, mode: 0o644)
    }
}

/// A development certificate authority: ECDSA P-256, issues partner and server certificates and CRLs.
public final class DevelopmentCA: @unchecked Sendable {
    // The certificate and key are never mutated after init; issuing only reads them.
    private let certificate: Certificate
    private let key: PrivateKey

    /// A fresh self-signed CA valid for ten years.
    public init(commonName: String) throws {
        let key = try PrivateKey.generateP256()
        let cert = try X509Builder.build(
            subjectCN: commonName, publicKey: key, issuer: nil, issuerKey: key,
            notBefore: .seconds(-300), notAfter: .seconds(10 * 365 * 86_400),
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
        self.certificate = cert
        self.key = key
    }

    /// An existing CA from its PEM certificate and key.
    public init(certificatePath: String, keyPath: String) throws {
        guard let cert = try Certificate.loadPEM(path: certificatePath).first else {
            throw TLSError.pki("no certificate in \(certificatePath)", [])
        }
        self.certificate = cert
        self.key = try PrivateKey.loadPEM(path: keyPath)
        OpenSSLErrorQueue.clear()
        guard X509_check_private_key(cert.pointer, key.pointer) == 1 else {
            throw TLSError.pki("\(keyPath) is not the key of \(certificatePath)", OpenSSLErrorQueue.drain())
        }
    }

    public func certificatePEM() throws -> String { try certificate.pem() }
    public func privateKeyPEM() throws -> String { try key.privatePEM() }

    /// Issues a certificate with a fresh P-256 key.
    public func issue(_ spec: DevelopmentCertificateSpec) throws -> DevelopmentCredential {
        let leafKey = try PrivateKey.generateP256()
        var usages: [String] = []
        if spec.serverAuth { usages.append("serverAuth") }
        if spec.clientAuth { usages.append("clientAuth") }
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        if !usages.isEmpty { extensions.append((NID_ext_key_usage, usages.joined(separator: ","))) }
        let sans =
            spec.uris.map { "URI:\($0)" } + spec.dnsNames.map { "DNS:\($0)" } + spec.ipAddresses.map { "IP:\($0)" }
        if !sans.isEmpty { extensions.append((NID_subject_alt_name, sans.joined(separator: ","))) }
        let cert = try X509Builder.build(
            subjectCN: spec.commonName, publicKey: leafKey, issuer: certificate, issuerKey: key,
            notBefore: spec.notBeforeOffset, notAfter: spec.notAfterOffset, extensions: extensions)
        return DevelopmentCredential(
            certificatePEM: try cert.pem(), privateKeyPEM: try leafKey.privatePEM(), serialHex: cert.serialHex,
            spkiSHA256: cert.spkiSHA256)
    }

    /// A CRL signed by this CA listing `revokedSerialsHex`, valid from now for `validFor` (default 30 days).
    public func revocationListPEM(
        revokedSerialsHex: [String], validFor: Duration = .seconds(30 * 86_400)
    ) throws
        -> String
    {
        OpenSSLErrorQueue.clear()
        guard let crl = X509_CRL_new() else { throw TLSError.pki("X509_CRL_new", OpenSSLErrorQueue.drain()) }
        let owner = RevocationList(taking: crl)
        guard let now = X509_gmtime_adj(nil, 0), let next = X509_gmtime_adj(nil, Int(validFor.components.seconds))
        else { throw TLSError.pki("CRL times", OpenSSLErrorQueue.drain()) }
        defer {
            ASN1_TIME_free(now)
            ASN1_TIME_free(next)
        }
        guard X509_CRL_set_version(crl, 1) == 1,  // v2
            X509_CRL_set_issuer_name(crl, X509_get_subject_name(certificate.pointer)) == 1,
            X509_CRL_set1_lastUpdate(crl, now) == 1, X509_CRL_set1_nextUpdate(crl, next) == 1
        else { throw TLSError.pki("CRL fields", OpenSSLErrorQueue.drain()) }
        for serial in revokedSerialsHex {
            var bn: OpaquePointer? = nil
            guard BN_hex2bn(&bn, serial) > 0, let bn else { throw TLSError.pki("serial \(serial) is not hex", []) }
            defer { BN_free(bn) }
            guard let revoked = X509_REVOKED_new() else {
                throw TLSError.pki("X509_REVOKED_new", OpenSSLErrorQueue.drain())
            }
            guard let integer = BN_to_ASN1_INTEGER(bn, nil) else {
                X509_REVOKED_free(revoked)
                throw TLSError.pki("serial \(serial)", OpenSSLErrorQueue.drain())
            }
            defer { ASN1_INTEGER_free(integer) }
            guard X509_REVOKED_set_serialNumber(revoked, integer) == 1,
                X509_REVOKED_set_revocationDate(revoked, now) == 1,
                X509_CRL_add0_revoked(crl, revoked) == 1  // takes ownership of `revoked`
            else {
                X509_REVOKED_free(revoked)
                throw TLSError.pki("revoked entry \(serial)", OpenSSLErrorQueue.drain())
            }
        }
        _ = X509_CRL_sort(crl)
        guard X509_CRL_sign(crl, key.pointer, EVP_sha256()) > 0 else {
            throw TLSError.pki("CRL signature", OpenSSLErrorQueue.drain())
        }
        let bio = MemoryBIO()
        guard PEM_write_bio_X509_CRL(bio.pointer, owner.pointer) == 1 else {
            throw TLSError.pki("CRL encoding", OpenSSLErrorQueue.drain())
        }
        return bio.string()
    }
}

/// Builds and signs one X.509 v3 certificate.
private enum X509Builder {
    static func build(
        subjectCN: String, publicKey: PrivateKey, issuer: Certificate?, issuerKey: PrivateKey,
        notBefore: Duration, notAfter: Duration, extensions: [(Int32, String)]
    ) throws -> Certificate {
        OpenSSLErrorQueue.clear()
        guard let x509 = X509_new() else { throw TLSError.pki("X509_new", OpenSSLErrorQueue.drain()) }
        let cert = Certificate(taking: x509)
        guard X509_set_version(x509, 2) == 1 else { throw TLSError.pki("version", OpenSSLErrorQueue.drain()) }  // v3
        // 127 random bits: positive, unique enough that CRL entries never collide.
        guard let bn = BN_new() else { throw TLSError.pki("BN_new", OpenSSLErrorQueue.drain()) }
        defer { BN_free(bn) }
        guard BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)) != nil
        else { throw TLSError.pki("serial", OpenSSLErrorQueue.drain()) }
        guard X509_gmtime_adj(X509_getm_notBefore(x509), Int(notBefore.components.seconds)) != nil,
            X509_gmtime_adj(X509_getm_notAfter(x509), Int(notAfter.components.seconds)) != nil
        else { throw TLSError.pki("validity", OpenSSLErrorQueue.drain()) }
        guard X509_set_pubkey(x509, publicKey.pointer) == 1 else {
            throw TLSError.pki("public key", OpenSSLErrorQueue.drain())
        }
        let subject = X509_get_subject_name(x509)
        guard X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, "BankGateway development", -1, -1, 0) == 1,
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, subjectCN, -1, -1, 0) == 1
        else { throw TLSError.pki("subject", OpenSSLErrorQueue.drain()) }
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? subject
        guard X509_set_issuer_name(x509, issuerName) == 1 else {
            throw TLSError.pki("issuer", OpenSSLErrorQueue.drain())
        }
        var v3 = X509V3_CTX()
        bankgw_X509V3_set_ctx_nodb(&v3)
        X509V3_set_ctx(&v3, issuer?.pointer ?? x509, x509, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else {
                throw TLSError.pki("extension \(nid)=\(value)", OpenSSLErrorQueue.drain())
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x509, ext, -1) == 1 else {
                throw TLSError.pki("add extension \(nid)", OpenSSLErrorQueue.drain())
            }
        }
        guard X509_sign(x509, issuerKey.pointer, EVP_sha256()) > 0 else {
            throw TLSError.pki("signature", OpenSSLErrorQueue.drain())
        }
        return cert
    }
}

/// Files of the PKI: written whole under a temporary name, then renamed, so a crash never leaves half a key.
enum PKIFile {
    static func write(_ contents: String, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw TLSError.pki("cannot create \(temporary): \(String(cString: strerror(errno)))", []) }
        // The umask may have narrowed the mode; a key must end up exactly 0600, a certificate 0644.
        _ = fchmod(fd, mode)
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                throw TLSError.pki("cannot write \(temporary): \(String(cString: strerror(errno)))", [])
            }
            offset += n
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TLSError.pki("cannot write \(path): \(String(cString: strerror(errno)))", [])
        }
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw TLSError.pki("cannot create \(path): \(error)", [])
        }
    }
}

/// The SPEC §6 development PKI under `DIR/pki/` (its paths: `DevelopmentPKI.Layout`, in GatewayTLS).
extension DevelopmentPKI {
    /// Creates whatever of the layout is missing; existing files are left alone. Returns the paths created.
    @discardableResult
    public static func initialize(directory: String) throws -> [String] {
        let layout = Layout(stateDirectory: directory)
        try PKIFile.makeDirectory(layout.root + "/banks")
        var created: [String] = []

        let ca: DevelopmentCA
        switch (PKIFile.exists(layout.caCertificate), PKIFile.exists(layout.caKey)) {
        case (true, true):
            ca = try DevelopmentCA(certificatePath: layout.caCertificate, keyPath: layout.caKey)
        case (false, false):
            ca = try DevelopmentCA(commonName: "BankGateway development partner CA")
            try PKIFile.write(try ca.privateKeyPEM(), to: layout.caKey, mode: 0o600)
            try PKIFile.write(try ca.certificatePEM(), to: layout.caCertificate, mode: 0o644)
            created += [layout.caCertificate, layout.caKey]
        default:
            // Making a new CA here would orphan every certificate the old one issued.
            throw TLSError.pki("\(layout.root) has only one of ca.pem and ca.key; restore it or remove both", [])
        }

        func issueIfMissing(_ spec: DevelopmentCertificateSpec, certificate: String, key: String) throws {
            guard !(PKIFile.exists(certificate) && PKIFile.exists(key)) else { return }
            try ca.issue(spec).write(certificatePath: certificate, keyPath: key)
            created += [certificate, key]
        }
        try issueIfMissing(.localhostServer, certificate: layout.serverCertificate, key: layout.serverKey)
        for code in demoBankCodes {
            try issueIfMissing(
                .partner(.bank(code: code)), certificate: layout.bankCertificate(code), key: layout.bankKey(code))
        }
        try issueIfMissing(
            .partner(.operatorName(demoOperatorName)), certificate: layout.operatorCertificate,
            key: layout.operatorKey)
        try issueIfMissing(
            .partner(.operatorName(demoSecondOperatorName)), certificate: layout.secondOperatorCertificate,
            key: layout.secondOperatorKey)

        if !(PKIFile.exists(layout.receiptKey) && PKIFile.exists(layout.receiptPublicKey)) {
            let receipt = try PrivateKey.generateP256()
            try PKIFile.write(try receipt.privatePEM(), to: layout.receiptKey, mode: 0o600)
            try PKIFile.write(try receipt.publicPEM(), to: layout.receiptPublicKey, mode: 0o644)
            created += [layout.receiptKey, layout.receiptPublicKey]
        }
        return created
    }
}
