import COpenSSL

/// One entry of OpenSSL's thread-local error queue, as text (`error:0A000086:SSL routines::certificate verify failed`).
public struct OpenSSLErrorEntry: Sendable, Hashable, CustomStringConvertible {
    public var code: UInt
    public var description: String

    public init(code: UInt, description: String) {
        self.code = code
        self.description = description
    }
}

/// The thread-local OpenSSL error queue: the one drain of the process (GatewayTLS and GatewayCrypto both use it).
/// Cleared before each call whose failure we report, drained after it.
public enum OpenSSLErrorQueue {
    /// Bound on entries kept: the queue is per-thread and short, but a bound keeps a loop from a bug finite.
    public static let maxEntries = 16

    public static func clear() { ERR_clear_error() }

    /// Removes and returns every queued error, oldest first (at most `maxEntries` kept; the rest are dropped).
    public static func drain() -> [OpenSSLErrorEntry] {
        var entries: [OpenSSLErrorEntry] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if entries.count < maxEntries {
                ERR_error_string_n(code, &buffer, buffer.count)
                let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                entries.append(OpenSSLErrorEntry(code: UInt(code), description: text))
            }
        }
        return entries
    }

    /// The drained queue as one line, for error messages.
    public static func drainText() -> String {
        let entries = drain()
        return entries.isEmpty ? "no OpenSSL error" : entries.map(\.description).joined(separator: "; ")
    }
}

/// A libcrypto operation that failed, with what OpenSSL said.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    public var what: String
    public var openSSL: [OpenSSLErrorEntry]

    public init(_ what: String, openSSL: [OpenSSLErrorEntry] = []) {
        self.what = what
        self.openSSL = openSSL
    }

    public var description: String {
        openSSL.isEmpty ? what : what + " [" + openSSL.map(\.description).joined(separator: "; ") + "]"
    }
}
