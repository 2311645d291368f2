/// Who is on the other end of a mutually authenticated connection: what its verified certificate says (SPEC §1).
///
/// Captured once, at handshake completion, from the verified leaf's URI SAN:
/// `spiffe://bankgw.partners/bank/NNNN` or `spiffe://bankgw.partners/operator/NAME`.
public enum PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// A partner bank; `code` is its 4-digit Japanese bank code.
    case bank(code: String)
    /// An operator of the gateway (Admin service).
    case operatorName(String)

    public var description: String {
        switch self {
        case .bank(let code): return "bank/\(code)"
        case .operatorName(let name): return "operator/\(name)"
        }
    }
}

/// Fired inbound (`fireUserInboundEventTriggered`) by the TLS handler once the handshake and the identity check
/// are done, before any application data is passed on. Later stages (HTTP/2, gRPC) capture the identity from it.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    public var identity: PeerIdentity
    /// The negotiated ALPN protocol (always `h2` on the server: anything else fails the handshake).
    public var alpn: String?
    /// The verified leaf's DER SubjectPublicKeyInfo: what a bank's signatures (its conformance report, SPEC §4)
    /// are checked against.
    public var peerPublicKeyDER: [UInt8]

    public init(identity: PeerIdentity, alpn: String?, peerPublicKeyDER: [UInt8] = []) {
        self.identity = identity
        self.alpn = alpn
        self.peerPublicKeyDER = peerPublicKeyDER
    }
}
