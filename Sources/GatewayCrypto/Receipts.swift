import Foundation

/// The gateway's receipt key (SPEC §5): ECDSA P-256 over SHA-256, identified by `keyID`. Signs the bytes the
/// caller gives it; GatewayService turns a ChargeResponse into those bytes.
public final class ReceiptSigner: Sendable {
    public let key: PrivateKey
    /// SPEC §5 `receipt_key_id`.
    public let keyID: String

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadableKey(path: String, openSSL: String)
        case notP256(path: String)
        /// The published public key is not the public half of the signing key (config mode, checked at start).
        case publishedKeyMismatch(publicKeyPath: String, privateKeyPath: String)

        public var description: String {
            switch self {
            case .unreadableKey(let path, let openSSL): return "cannot read the receipt key \(path): \(openSSL)"
            case .notP256(let path): return "the receipt key \(path) is not an ECDSA P-256 key"
            case .publishedKeyMismatch(let publicKeyPath, let privateKeyPath):
                return "receiptPublicKey \(publicKeyPath) is not the public half of receiptKey \(privateKeyPath)"
            }
        }
    }

    /// Loads the PEM private key at `path` (`pki/receipt.key`).
    public init(privateKeyPath path: String) throws(Failure) {
        do {
            key = try PrivateKey.loadPEM(path: path)
        } catch {
            throw .unreadableKey(path: path, openSSL: error.description)
        }
        guard key.isP256 else { throw .notP256(path: path) }
        keyID = key.keyID
    }

    public init(key: PrivateKey) {
        precondition(key.isP256 && !key.isPublicOnly, "a receipt key is a P-256 private key")
        self.key = key
        self.keyID = key.keyID
    }

    /// The DER-encoded ECDSA signature over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] { key.signSHA256(message) }
}

/// What a bank does with receipts: every published receipt public key by its key id (SPEC §5: the current one
/// and every one used before a rotation stay published, so old receipts still verify).
public struct ReceiptVerifier: Sendable {
    public private(set) var keys: [String: PrivateKey] = [:]

    public init(publicKeyPaths: [String]) throws(ReceiptSigner.Failure) {
        for path in publicKeyPaths {
            let key: PrivateKey
            do {
                key = try PrivateKey.loadPublicPEM(path: path)
            } catch {
                throw .unreadableKey(path: path, openSSL: error.description)
            }
            guard key.isP256 else { throw .notP256(path: path) }
            keys[key.keyID] = key
        }
    }

    public mutating func add(_ key: PrivateKey, id: String) { keys[id] = key }

    /// `pki/receipt.pub.pem` and every `pki/receipts/KEYID.pub.pem` of a state directory.
    public init(stateDirectory: String) throws(ReceiptSigner.Failure) {
        let layout = ReceiptKeyFiles(stateDirectory: stateDirectory)
        try self.init(publicKeyPaths: layout.publishedKeyPaths())
    }

    /// Whether `signature` over `message` is valid under the key `keyID` (SPEC §5). An empty `keyID` (a receipt
    /// from before fields 6-10 existed) is checked against every published key.
    public func isValid(signature: [UInt8], message: [UInt8], keyID: String) -> Bool {
        if keyID.isEmpty {
            return keys.values.contains { $0.verifySHA256(signature: signature, message: message) }
        }
        guard let key = keys[keyID] else { return false }
        return key.verifySHA256(signature: signature, message: message)
    }
}

/// Where receipt keys live in a state directory (SPEC §5): `pki/receipt.key` (0600), `pki/receipt.pub.pem` (the
/// current public key) and `pki/receipts/KEYID.pub.pem` (every key ever used).
public struct ReceiptKeyFiles: Sendable {
    public var privateKey: String
    public var currentPublicKey: String
    public var archive: String

    public init(stateDirectory: String) {
        privateKey = stateDirectory + "/pki/receipt.key"
        currentPublicKey = stateDirectory + "/pki/receipt.pub.pem"
        archive = stateDirectory + "/pki/receipts"
    }

    public func archived(_ keyID: String) -> String { archive + "/\(keyID).pub.pem" }

    /// The current public key (when present) and every archived one.
    public func publishedKeyPaths() -> [String] {
        var paths: [String] = []
        if FileManager.default.fileExists(atPath: currentPublicKey) { paths.append(currentPublicKey) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []
        paths += names.filter { $0.hasSuffix(".pub.pem") }.sorted().map { archive + "/" + $0 }
        return paths
    }

    /// Start-up (SPEC §5): the public half of `signer` is published as `publicKeyPath` (when that file exists it
    /// must be that key: a mismatch is refused) and archived as `pki/receipts/KEYID.pub.pem`.
    public func publish(_ signer: ReceiptSigner, publicKeyPath: String, privateKeyPath: String) throws {
        let pem = try signer.key.publicPEM()
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: publicKeyPath) {
            let published: PrivateKey
            do {
                published = try PrivateKey.loadPublicPEM(path: publicKeyPath)
            } catch {
                throw ReceiptSigner.Failure.unreadableKey(path: publicKeyPath, openSSL: error.description)
            }
            guard published.hasSamePublicKey(as: signer.key) else {
                throw ReceiptSigner.Failure.publishedKeyMismatch(
                    publicKeyPath: publicKeyPath, privateKeyPath: privateKeyPath)
            }
        } else {
            try Self.writeFile(pem, to: publicKeyPath, mode: 0o644)
        }
        let archivePath = archived(signer.keyID)
        if !FileManager.default.fileExists(atPath: archivePath) {
            try Self.writeFile(pem, to: archivePath, mode: 0o644)
        }
    }

    /// `bankgw pki rotate-receipt-key`: archives the current key's public half, then replaces `pki/receipt.key`
    /// and `pki/receipt.pub.pem` with a fresh key (archived too). Returns (old key id, new key id).
    public func rotate() throws -> (old: String, new: String) {
        let old = try ReceiptSigner(privateKeyPath: privateKey)
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        let oldArchived = archived(old.keyID)
        if !FileManager.default.fileExists(atPath: oldArchived) {
            try Self.writeFile(try old.key.publicPEM(), to: oldArchived, mode: 0o644)
        }
        let fresh = ReceiptSigner(key: try PrivateKey.generateP256())
        let publicPEM = try fresh.key.publicPEM()
        try Self.writeFile(publicPEM, to: archived(fresh.keyID), mode: 0o644)
        // The private key last, by rename: a crash leaves either the old key or the new one, never half of one.
        try Self.writeFile(try fresh.key.privatePEM(), to: privateKey, mode: 0o600)
        try Self.writeFile(publicPEM, to: currentPublicKey, mode: 0o644)
        return (old.keyID, fresh.keyID)
    }

    /// Writes through a temporary file created with `mode`, then renames it over `path`.
    static func writeFile(_ text: String, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CryptoError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CryptoError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
