import COpenSSL
import Foundation

/// The secret under which link codes are kept (SPEC §4, issue 16 item 11): HMAC-SHA256(key, code).
///
/// Why keyed: a code is 8 characters of a 31-letter alphabet (~40 bits). A plain SHA-256 of it, as stored before,
/// is reversed offline by anyone who reads the database (a backup, a copied file) in minutes; with the MAC they need
/// the key file too. The key is 32 random bytes in `link-code.key` beside the wallet database, created owner-only
/// (0600) on first open and kept across restarts, so a code issued before a restart still links after it.
struct LinkCodeKey: Sendable {
    static let fileName = "link-code.key"
    static let keyBytes = 32

    private let key: [UInt8]

    /// Reads `DIR/link-code.key`, creating it (0600, `keyBytes` random bytes) when missing. Refuses a key file of
    /// another size (a truncated or foreign file must not silently weaken every code).
    static func loadOrCreate(directory: String) throws(WalletError) -> LinkCodeKey {
        let path = (directory as NSString).appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == keyBytes else {
                throw .storeUnavailable("link code key \(path) is \(data.count) bytes, expected \(keyBytes)")
            }
            return LinkCodeKey(key: [UInt8](data))
        }
        var key = [UInt8](repeating: 0, count: keyBytes)
        let ok = key.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard ok == 1 else { throw .storeUnavailable("RAND_bytes failed: cannot create \(path)") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw .storeUnavailable("cannot create link code key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == keyBytes, fsync(fd) == 0 else {
            unlink(path)
            throw .storeUnavailable("cannot write link code key \(path): \(String(cString: strerror(errno)))")
        }
        return LinkCodeKey(key: key)
    }

    /// HMAC-SHA256 of the code's UTF-8 bytes. The only HMAC call here: when GatewayCrypto lands, this body moves
    /// there unchanged.
    func mac(of code: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let bytes = Array(code.utf8)
        let result = key.withUnsafeBufferPointer { key in
            bytes.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { digest in
                    HMAC(
                        EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress, data.count,
                        digest.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 32, "HMAC-SHA256 failed")
        return out
    }
}
