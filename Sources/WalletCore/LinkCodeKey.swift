import Foundation
import GatewayCrypto

/// The secret under which link codes are kept (SPEC §4, issue 16 item 11): HMAC-SHA256(key, code).
///
/// Why keyed: a code is 8 characters of a 31-letter alphabet (~40 bits). A plain SHA-256 of it, as stored before,
/// is reversed offline by anyone who reads the database (a backup, a copied file) in minutes; with the MAC they need
/// the key file too. The key is 32 random bytes in `link-code.key` beside the wallet database, created owner-only
/// (0600) on first open and kept across restarts, so a code issued before a restart still links after it.
struct LinkCodeKey: Sendable {
    static let fileName = "link-code.key"
    static let keyBytes = 32

    /// Keyed once: a LinkAccount's MAC duplicates the keyed context rather than keying a new one.
    private let key: KeyedHash.Key

    /// Reads `DIR/link-code.key`, creating it (0600, `keyBytes` random bytes) when missing. Refuses a key file of
    /// another size (a truncated or foreign file must not silently weaken every code).
    static func loadOrCreate(directory: String) throws(WalletError) -> LinkCodeKey {
        let path = (directory as NSString).appendingPathComponent(fileName)
        do throws(SecretKeyFile.Failure) {
            return LinkCodeKey(key: KeyedHash.Key(try SecretKeyFile.loadOrCreate(path: path, byteCount: keyBytes)))
        } catch {
            switch error {
            case .wrongSize(let bytes, let expected):
                throw .storeUnavailable("link code key \(path) is \(bytes) bytes, expected \(expected)")
            case .cannotCreate(let reason):
                throw .storeUnavailable("cannot create link code key \(path): \(reason)")
            case .cannotWrite(let reason):
                throw .storeUnavailable("cannot write link code key \(path): \(reason)")
            }
        }
    }

    /// HMAC-SHA256 of the code's UTF-8 bytes.
    func mac(of code: String) -> [UInt8] {
        key.sha256(code)
    }
}
