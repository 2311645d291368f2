import COpenSSL
import GatewayCrypto

/// Why a TLS operation failed. Every case that came out of OpenSSL carries the drained error queue.
public enum TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A configuration file could not be read or used (bad PEM, key does not match certificate, missing file).
    case configuration(String, [OpenSSLErrorEntry])
    /// The handshake failed: our policy refused the peer, or the peer refused us. `reason` says which rule.
    case handshakeFailed(reason: String, [OpenSSLErrorEntry])
    /// The handshake did not finish within the configured `handshakeTimeout`.
    case handshakeTimeout
    /// The peer closed TCP without sending close_notify: a truncation attack cannot be told apart from a crash,
    /// so the last bytes read may not be the last bytes sent.
    case uncleanShutdown
    /// A fatal error while reading or writing application data (bad record MAC, unexpected message, alert received).
    case connectionFailed(String, [OpenSSLErrorEntry])
    /// An operation was attempted on a connection that is closing or closed.
    case connectionClosed
    /// A certificate or key could not be created (development PKI).
    case pki(String, [OpenSSLErrorEntry])

    public var description: String {
        func queue(_ e: [OpenSSLErrorEntry]) -> String {
            e.isEmpty ? "" : " [" + e.map(\.description).joined(separator: "; ") + "]"
        }
        switch self {
        case .configuration(let what, let e): return "TLS configuration: \(what)\(queue(e))"
        case .handshakeFailed(let reason, let e): return "TLS handshake failed: \(reason)\(queue(e))"
        case .handshakeTimeout: return "TLS handshake timed out"
        case .uncleanShutdown: return "TLS peer closed the connection without close_notify"
        case .connectionFailed(let what, let e): return "TLS connection failed: \(what)\(queue(e))"
        case .connectionClosed: return "TLS connection closed"
        case .pki(let what, let e): return "PKI: \(what)\(queue(e))"
        }
    }
}

/// `SSL_get_error` as an enum: the only place its integers are looked at.
enum SSLResult: Equatable {
    case none
    /// Not an error: OpenSSL needs more ciphertext from the peer.
    case wantRead
    /// Not an error with memory BIOs (they never refuse a write), kept so the switch is exhaustive.
    case wantWrite
    /// The peer sent close_notify.
    case zeroReturn
    /// EOF or an I/O error below TLS.
    case syscall
    /// A protocol error; the error queue says which.
    case ssl
    case other(Int32)

    init(ssl: OpaquePointer, returnCode: Int32) {
        switch SSL_get_error(ssl, returnCode) {
        case SSL_ERROR_NONE: self = .none
        case SSL_ERROR_WANT_READ: self = .wantRead
        case SSL_ERROR_WANT_WRITE: self = .wantWrite
        case SSL_ERROR_ZERO_RETURN: self = .zeroReturn
        case SSL_ERROR_SYSCALL: self = .syscall
        case SSL_ERROR_SSL: self = .ssl
        case let code: self = .other(code)
        }
    }
}
