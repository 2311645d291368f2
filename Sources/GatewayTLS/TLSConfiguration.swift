import Logging

/// What a TLS listener reports about handshakes, for metrics. Hooks run on the event loop and must be fast.
public struct TLSServerEvents: Sendable {
    /// A handshake finished and the peer was admitted, after `duration` from the connection becoming active.
    public var handshakeCompleted: @Sendable (_ duration: Duration) -> Void = { _ in }
    /// A handshake was refused or timed out; `reason` is one of `TLSError.refusalReasons` (a bounded set).
    public var handshakeFailed: @Sendable (_ reason: String, _ duration: Duration) -> Void = { _, _ in }

    public init() {}
}

/// What the gateway's TLS listener needs (SPEC §1). Paths are PEM files, read by `TLSServerContext` at init and
/// at every `reload()`.
public struct TLSServerConfiguration: Sendable {
    /// The server certificate, then any intermediates.
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// The partner CA: a client certificate must chain to one of these.
    public var trustRootsPath: String
    /// When set, every certificate of a client's chain is checked against the CRLs in this file
    /// (`X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL`: one CRL per CA of the chain).
    public var crlPath: String?
    /// The demo's `pki/crl.pem`: a missing file means no CRL yet, and one added later is read at the next reload
    /// (SIGHUP). A file that exists must parse. False (a configured `tls.crl`): the file must exist.
    public var crlMayBeAbsent: Bool
    /// Longest a handshake may take from the first byte; default 10 s. Slow-loris handshakes hold a socket.
    public var handshakeTimeout: Duration
    /// How long to wait for the peer's close_notify after sending ours; default 3 s.
    public var shutdownTimeout: Duration
    /// The SHA-256 of the SubjectPublicKeyInfo a bank is pinned to, or nil when that bank is not pinned.
    /// Called during the handshake on the event loop: it must be fast and must not block.
    public var spkiPin: @Sendable (_ bankCode: String) -> [UInt8]?
    public var logger: Logger
    /// Handshake outcomes, for metrics (set after init; the default reports nowhere).
    public var events = TLSServerEvents()

    public init(
        certificateChainPath: String,
        privateKeyPath: String,
        trustRootsPath: String,
        crlPath: String? = nil,
        crlMayBeAbsent: Bool = false,
        handshakeTimeout: Duration = .seconds(10),
        shutdownTimeout: Duration = .seconds(3),
        spkiPin: @escaping @Sendable (_ bankCode: String) -> [UInt8]? = { _ in nil },
        logger: Logger = Logger(label: "bankgw.tls")
    ) {
        precondition(handshakeTimeout > .zero, "handshakeTimeout must be positive")
        precondition(shutdownTimeout > .zero, "shutdownTimeout must be positive")
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.crlPath = crlPath
        self.crlMayBeAbsent = crlMayBeAbsent
        self.handshakeTimeout = handshakeTimeout
        self.shutdownTimeout = shutdownTimeout
        self.spkiPin = spkiPin
        self.logger = logger
    }
}

/// What a client of the gateway (admin CLI, conformance suite, load generator, tests) needs.
public struct TLSClientConfiguration: Sendable {
    /// The CA the server's certificate must chain to.
    public var trustRootsPath: String
    /// Our certificate (bank or operator) and its key; nil for a client without a certificate (refused by the
    /// gateway, useful in tests).
    public var certificateChainPath: String?
    public var privateKeyPath: String?
    /// DNS name or IP address the server certificate must carry; also sent as SNI when it is a name.
    public var serverHostname: String
    /// ALPN protocols offered; the gateway accepts only `h2`.
    public var alpnProtocols: [String]
    public var handshakeTimeout: Duration
    public var shutdownTimeout: Duration

    public init(
        trustRootsPath: String,
        certificateChainPath: String? = nil,
        privateKeyPath: String? = nil,
        serverHostname: String = "localhost",
        alpnProtocols: [String] = ["h2"],
        handshakeTimeout: Duration = .seconds(10),
        shutdownTimeout: Duration = .seconds(3)
    ) {
        precondition((certificateChainPath == nil) == (privateKeyPath == nil), "certificate and key go together")
        precondition(alpnProtocols.allSatisfy { !$0.isEmpty && $0.utf8.count < 256 }, "ALPN names are 1...255 bytes")
        self.trustRootsPath = trustRootsPath
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.serverHostname = serverHostname
        self.alpnProtocols = alpnProtocols
        self.handshakeTimeout = handshakeTimeout
        self.shutdownTimeout = shutdownTimeout
    }
}

extension Duration {
    var nanosecondsForTimeAmount: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
