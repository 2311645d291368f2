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

extension TLSError {
    /// Every value `refusalReason` takes: a bounded set, fit for a metric label.
    public static let refusalReasons = [
        "timeout", "peer_closed", "no_client_certificate", "certificate_expired", "unknown_ca", "revoked",
        "pin_mismatch", "no_partner_identity", "protocol_version", "alpn", "verify_failed", "other",
    ]

    /// Why a handshake was refused, as one of `refusalReasons` (from our rule's text and OpenSSL's error queue).
    public var refusalReason: String {
        let text: String
        switch self {
        case .handshakeTimeout: return "timeout"
        case .handshakeFailed(let reason, let queue):
            text = ([reason] + queue.map(\.description)).joined(separator: " ").lowercased()
        default: return "other"
        }
        let rules: [(String, [String])] = [
            ("peer_closed", ["peer closed"]),
            ("pin_mismatch", ["pin"]),
            ("no_partner_identity", ["names no", "partner", "spiffe"]),
            ("certificate_expired", ["expired", "not yet valid"]),
            ("revoked", ["revoked"]),
            ("unknown_ca", ["unknown ca", "unable to get local issuer", "self-signed", "self signed"]),
            (
                "no_client_certificate",
                [
                    "peer did not return a certificate", "no verified client certificate",
                    "certificate required",
                ]
            ),
            ("protocol_version", ["version", "no shared cipher", "no suitable"]),
            ("alpn", ["alpn", "application protocol"]),
            ("verify_failed", ["verify failed"]),
        ]
        for (label, needles) in rules where needles.contains(where: text.contains) { return label }
        return "other"
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
