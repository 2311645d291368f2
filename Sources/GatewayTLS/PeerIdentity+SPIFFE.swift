extension PeerIdentity {
    /// The trust domain every partner URI SAN lives in (SPEC §1).
    public static let spiffePrefix = "spiffe://bankgw.partners/"
    /// Longest operator name accepted; a limit on what a certificate can make us store and log.
    public static let maxOperatorNameBytes = 64

    /// Parses `spiffe://bankgw.partners/bank/NNNN` or `spiffe://bankgw.partners/operator/NAME`; nil for anything
    /// else (other trust domain, bank code not exactly 4 digits, empty or oversized name, extra path segments).
    public init?(spiffeURI uri: String) {
        guard uri.hasPrefix(Self.spiffePrefix) else { return nil }
        let path = uri.dropFirst(Self.spiffePrefix.count)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let value = parts[1]
        switch parts[0] {
        case "bank":
            guard value.utf8.count == 4, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
            self = .bank(code: String(value))
        case "operator":
            guard !value.isEmpty, value.utf8.count <= Self.maxOperatorNameBytes,
                value.utf8.allSatisfy(Self.isNameByte)
            else { return nil }
            self = .operatorName(String(value))
        default:
            return nil
        }
    }

    /// The URI SAN that names this identity (what `DevelopmentPKI` writes into certificates).
    public var spiffeURI: String {
        switch self {
        case .bank(let code): return Self.spiffePrefix + "bank/" + code
        case .operatorName(let name): return Self.spiffePrefix + "operator/" + name
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

/// Fired inbound by the client handler once the server's certificate chain and name are verified and ALPN `h2`
/// was agreed: the client-side counterpart of `TLSHandshakeCompleted` (a server has no SPIFFE identity).
public struct TLSClientHandshakeCompleted: Sendable, Hashable {
    /// The DNS name or IP address the server's certificate was verified against.
    public var verifiedServerName: String
    public var alpn: String?

    public init(verifiedServerName: String, alpn: String?) {
        self.verifiedServerName = verifiedServerName
        self.alpn = alpn
    }
}
