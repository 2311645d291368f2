/// Fingerprints an operator needs to configure pins (`bankgw admin bank set-profile --pin-certificate`).
public enum CertificateFingerprint {
    /// SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in a PEM file: the value a bank's SPKI pin
    /// is compared with during the handshake.
    public static func spkiSHA256(pemFile path: String) throws -> [UInt8] {
        guard let leaf = try Certificate.loadPEM(path: path).first else {
            throw TLSError.configuration("no certificate in \(path)", [])
        }
        let digest = leaf.spkiSHA256
        guard digest.count == 32 else { throw TLSError.configuration("no public key in \(path)", []) }
        return digest
    }
}
