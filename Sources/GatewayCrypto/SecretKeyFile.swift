import Foundation

/// A secret key kept in a file beside the wallet database: exactly `byteCount` random bytes, owner-only (0600),
/// created on first open and kept across restarts (`link-code.key`, `token-hash.key`).
///
/// Why one loader: both keys guard hashes an attacker with the database alone must not reverse, so both must refuse
/// a file of another size (a truncated or foreign file must not silently weaken every hash) and must never be
/// readable by others.
public enum SecretKeyFile {
    /// Why a key file could not be read or made. Callers word it for their own store.
    public enum Failure: Error, Equatable, Sendable {
        /// The file exists with `bytes` bytes instead of the `expected` count.
        case wrongSize(bytes: Int, expected: Int)
        /// The file could not be created (`reason`: strerror of errno).
        case cannotCreate(reason: String)
        /// The new file could not be written whole and synced; it was removed.
        case cannotWrite(reason: String)
    }

    /// Largest key this loader makes or reads: keys are 32 bytes; anything bigger is not a key file.
    public static let maxByteCount = 1024

    /// Reads the key at `path`, creating it (mode 0600, `byteCount` bytes from the CSPRNG) when missing.
    public static func loadOrCreate(path: String, byteCount: Int) throws(Failure) -> [UInt8] {
        precondition(byteCount > 0 && byteCount <= maxByteCount, "a key is 1...\(maxByteCount) bytes")
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == byteCount else { throw .wrongSize(bytes: data.count, expected: byteCount) }
            return [UInt8](data)
        }
        let key = SecureRandom.bytes(byteCount)
        // O_EXCL: two processes opening the same new store never both write a key; the loser fails here.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw .cannotCreate(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        // The umask may have narrowed 0600 further; a key must end up exactly owner read-write.
        _ = fchmod(fd, 0o600)
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == byteCount, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .cannotWrite(reason: reason)
        }
        return key
    }
}
