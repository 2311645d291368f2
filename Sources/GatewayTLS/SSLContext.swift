import COpenSSL
import Foundation
import GatewayCrypto

/// TLS 1.2 suites allowed (SPEC §1): ECDHE key exchange with an AEAD only. TLS 1.3 suites are all AEAD.
let tls12CipherList = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
].joined(separator: ":")

/// Longest certificate chain accepted from a peer (leaf + intermediates + root).
let maxVerifyDepth: Int32 = 4

/// The `SSL` ex_data slot holding the connection's `PeerVerification` (an unretained pointer; the handler's
/// `TLSConnection` keeps it alive as long as the `SSL`).
let peerVerificationIndex: Int32 = bankgw_SSL_get_ex_new_index()

/// What the C callbacks of one connection learn and decide. Touched only on the connection's event loop, inside
/// OpenSSL calls made by the handler.
final class PeerVerification {
    enum Role { case server, client }
    let role: Role
    let spkiPin: @Sendable (String) -> [UInt8]?
    /// The first policy reason the handshake was refused for; reported in the handler's error.
    var failure: String?
    /// Why an offered session ticket was not used (the client then got a full handshake); logged at debug.
    var resumptionRefusal: String?

    init(role: Role, spkiPin: @escaping @Sendable (String) -> [UInt8]?) {
        self.role = role
        self.spkiPin = spkiPin
    }

    static func of(ssl: OpaquePointer?) -> PeerVerification? {
        guard let ssl, let raw = SSL_get_ex_data(ssl, peerVerificationIndex) else { return nil }
        return Unmanaged<PeerVerification>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The partner checks on the verified leaf (SPEC §1): a SPIFFE URI SAN naming a bank or an operator, and the
    /// bank's pinned key when it has one. Returns the failure reason, nil when the leaf passes.
    func checkLeaf(_ leaf: Certificate) -> String? {
        let identities = leaf.uriSANs.compactMap(PeerIdentity.init(spiffeURI:))
        guard identities.count == 1, let identity = identities.first else {
            return identities.isEmpty
                ? "certificate has no spiffe://bankgw.partners/bank/NNNN or /operator/NAME URI SAN"
                : "certificate names more than one partner identity"
        }
        if case .bank(let code) = identity, let pin = spkiPin(code), pin != leaf.spkiSHA256 {
            return "bank \(code) is pinned to another key (SPKI SHA-256 mismatch)"
        }
        return nil
    }

    /// SPEC §1: a resumed session passes the same checks as a full handshake, against the material and pins in
    /// force now: the session's leaf is verified again with this `SSL_CTX`'s store (partner CA, dates, every CRL of
    /// the chain) and then `checkLeaf` (identity, pin). Returns the failure reason, nil when the session may be used.
    ///
    /// The session keeps the leaf only, not the intermediates the client sent; a chain that needs them fails here
    /// and the client gets a full handshake instead (see `serverTicketDecryptCallback`).
    static func checkResumed(session: OpaquePointer, ssl: OpaquePointer) -> String? {
        guard let peer = SSL_SESSION_get0_peer(session) else { return "resumed session has no client certificate" }
        X509_up_ref(peer)
        let leaf = Certificate(taking: peer)
        guard let ctx = SSL_get_SSL_CTX(ssl), let store = SSL_CTX_get_cert_store(ctx) else {
            return "no certificate store"
        }
        guard let storeContext = X509_STORE_CTX_new() else { return "X509_STORE_CTX_new failed" }
        defer { X509_STORE_CTX_free(storeContext) }
        guard X509_STORE_CTX_init(storeContext, store, leaf.pointer, nil) == 1,
            X509_STORE_CTX_set_default(storeContext, "ssl_client") == 1
        else { return "cannot set up the verification of a resumed session" }
        X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(storeContext), maxVerifyDepth)
        if X509_verify_cert(storeContext) != 1 {
            let code = X509_STORE_CTX_get_error(storeContext)
            let depth = X509_STORE_CTX_get_error_depth(storeContext)
            return "resumed session: certificate at depth \(depth): "
                + String(cString: X509_verify_cert_error_string(Int(code)))
        }
        guard let verification = PeerVerification.of(ssl: ssl) else { return "connection not set up by the gateway" }
        return verification.checkLeaf(leaf).map { "resumed session: \($0)" }
    }
}

/// Session ticket decryption callback of the server (TLS 1.3 tickets and TLS 1.2 RFC 5077 tickets alike): a ticket
/// whose session no longer passes `checkResumed` (re-pinned bank, revoked or expired certificate) is ignored, so
/// the client gets a full handshake and meets the verify callback like any newcomer. The server keeps no session-id
/// cache (`SSL_SESS_CACHE_OFF`), so tickets are the only way to resume and every resumption passes here.
private let serverTicketDecryptCallback:
    @convention(c) (
        OpaquePointer?, OpaquePointer?, UnsafePointer<UInt8>?, Int, SSL_TICKET_STATUS, UnsafeMutableRawPointer?
    ) -> SSL_TICKET_RETURN = { ssl, session, _, _, status, _ in
        switch status {
        case SSL_TICKET_SUCCESS, SSL_TICKET_SUCCESS_RENEW:
            guard let ssl, let session else { return SSL_TICKET_RETURN_IGNORE_RENEW }
            if let reason = PeerVerification.checkResumed(session: session, ssl: ssl) {
                OpenSSLErrorQueue.clear()
                PeerVerification.of(ssl: ssl)?.resumptionRefusal = reason
                return SSL_TICKET_RETURN_IGNORE_RENEW
            }
            return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW
        case SSL_TICKET_FATAL_ERR_MALLOC, SSL_TICKET_FATAL_ERR_OTHER:
            return SSL_TICKET_RETURN_ABORT
        default:  // NONE, EMPTY, NO_DECRYPT (a ticket of another SSL_CTX generation): a full handshake
            return SSL_TICKET_RETURN_IGNORE_RENEW
        }
    }

/// `SSL_CTX_set_verify` callback of the server: OpenSSL's chain, date and CRL checks, then ours on the leaf.
private let serverVerifyCallback: @convention(c) (Int32, OpaquePointer?) -> Int32 = { preverifyOK, store in
    guard let store,
        let sslRaw = X509_STORE_CTX_get_ex_data(store, bankgw_X509_STORE_CTX_get_ssl_index()),
        let verification = PeerVerification.of(ssl: OpaquePointer(sslRaw))
    else {
        // No verification object means a connection we did not set up: refuse rather than guess.
        return 0
    }
    let depth = X509_STORE_CTX_get_error_depth(store)
    if preverifyOK == 0 {
        let code = X509_STORE_CTX_get_error(store)
        if verification.failure == nil {
            verification.failure =
                "certificate at depth \(depth): "
                + String(cString: X509_verify_cert_error_string(Int(code)))
        }
        return 0
    }
    guard depth == 0 else { return 1 }
    guard let current = X509_STORE_CTX_get_current_cert(store) else { return 0 }
    X509_up_ref(current)
    if let reason = verification.checkLeaf(Certificate(taking: current)) {
        verification.failure = reason
        // CERT_REJECTED becomes a bad_certificate alert: the peer learns its certificate was refused, not why.
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED)
        return 0
    }
    return 1
}

/// Client hello callback of the server: a hello without ALPN gets no_application_protocol, because the ALPN
/// select callback below is not called at all when the extension is absent.
private let serverClientHelloCallback:
    @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = {
        ssl, alert, _ in
        // A hello below TLS 1.2 is refused by version negotiation with protocol_version, which says more than
        // no_application_protocol would; let it get there.
        if SSL_client_hello_get0_legacy_version(ssl) < UInt32(TLS1_2_VERSION) {
            return SSL_CLIENT_HELLO_SUCCESS
        }
        var data: UnsafePointer<UInt8>? = nil
        var length = 0
        if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length)
            == 1
        {
            return SSL_CLIENT_HELLO_SUCCESS
        }
        PeerVerification.of(ssl: ssl)?.failure = "client offered no ALPN (h2 required)"
        alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
        return SSL_CLIENT_HELLO_ERROR
    }

/// ALPN select callbacks of the server: the listener's one protocol (`h2`, or `http/1.1` for the console) or a
/// fatal no_application_protocol alert. Two C callbacks, as a callback cannot capture which protocol it wants.
private let serverALPNCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { ssl, out, outLength, offered, offeredLength, _ in
        selectALPN(ssl, out, outLength, offered, offeredLength, wanted: Array("h2".utf8))
    }

private let serverHTTP1ALPNCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { ssl, out, outLength, offered, offeredLength, _ in
        selectALPN(ssl, out, outLength, offered, offeredLength, wanted: Array("http/1.1".utf8))
    }

private func selectALPN(
    _ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32, wanted: [UInt8]
) -> Int32 {
    guard let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    var index = 0
    let end = Int(offeredLength)
    // Each entry is a length byte then that many bytes; the loop advances by at least one byte per step.
    while index < end {
        let length = Int(offered[index])
        let start = index + 1
        guard length > 0, start + length <= end else { break }
        if length == wanted.count, (0..<length).allSatisfy({ offered[start + $0] == wanted[$0] }) {
            out?.pointee = offered + start
            outLength?.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index = start + length
    }
    PeerVerification.of(ssl: ssl)?.failure = "client did not offer ALPN \(String(decoding: wanted, as: UTF8.self))"
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// An `SSL_CTX*` with all of one generation of certificate material loaded. Immutable once built: a reload builds
/// a new one, so open connections keep theirs (each `SSL` holds a reference to its `SSL_CTX`).
final class SSLContextHandle: @unchecked Sendable {
    // After init the SSL_CTX is only passed to SSL_new, which OpenSSL documents as thread-safe.
    let pointer: OpaquePointer
    /// The ALPN protocol a server context requires (`h2` unless it serves the console).
    private(set) var serverApplicationProtocol: ServerApplicationProtocol = .h2

    private init(taking pointer: OpaquePointer) { self.pointer = pointer }
    deinit { SSL_CTX_free(pointer) }

    static func makeServer(_ configuration: TLSServerConfiguration) throws -> SSLContextHandle {
        OpenSSLErrorQueue.clear()
        guard let raw = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.configuration("SSL_CTX_new", OpenSSLErrorQueue.drain())
        }
        let handle = SSLContextHandle(taking: raw)
        let ctx = handle.pointer
        try applyCommonPolicy(ctx)
        try check(
            SSL_CTX_use_certificate_chain_file(ctx, configuration.certificateChainPath) == 1,
            "server certificate chain \(configuration.certificateChainPath)")
        try check(
            SSL_CTX_use_PrivateKey_file(ctx, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1,
            "server private key \(configuration.privateKeyPath)")
        try check(SSL_CTX_check_private_key(ctx) == 1, "server key does not match the server certificate")
        try loadTrustRoots(ctx, path: configuration.trustRootsPath)
        // Tell clients which CA we want their certificate from (CertificateRequest certificate_authorities).
        if let names = SSL_load_client_CA_file(configuration.trustRootsPath) {
            SSL_CTX_set_client_CA_list(ctx, names)
        }
        if let crlPath = configuration.crlPath,
            !(configuration.crlMayBeAbsent && !FileManager.default.fileExists(atPath: crlPath))
        {
            let crls = try RevocationList.loadPEM(path: crlPath)
            guard let store = SSL_CTX_get_cert_store(ctx) else {
                throw TLSError.configuration("no certificate store", OpenSSLErrorQueue.drain())
            }
            for crl in crls {
                try check(X509_STORE_add_crl(store, crl.pointer) == 1, "CRL \(crlPath)")
            }
            // The whole chain (SPEC §1): a revoked intermediate refuses every certificate under it, and each CA of
            // the chain must have its CRL in the file.
            try check(
                X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL)) == 1,
                "CRL check flags")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, serverVerifyCallback)
        SSL_CTX_set_verify_depth(ctx, maxVerifyDepth)
        // Required for session resumption with client certificates; the value only has to be ours.
        let sessionContext = Array("bankgw".utf8)
        try check(
            SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count)) == 1,
            "session id context")
        // One TLS 1.3 ticket instead of two: each costs an encryption on every full handshake.
        SSL_CTX_set_num_tickets(ctx, 1)
        // Resumption only through tickets, each checked again when it comes back (`serverTicketDecryptCallback`);
        // no session-id cache, whose hits OpenSSL would resume without asking us. Ticket keys are this SSL_CTX's
        // own, so a reload (SIGHUP: certificates, CA, CRL) voids every ticket issued before it.
        _ = bankgw_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        try check(
            SSL_CTX_set_session_ticket_cb(ctx, nil, serverTicketDecryptCallback, nil) == 1, "session ticket callback")
        SSL_CTX_set_client_hello_cb(ctx, serverClientHelloCallback, nil)
        handle.serverApplicationProtocol = configuration.applicationProtocol
        SSL_CTX_set_alpn_select_cb(
            ctx, configuration.applicationProtocol == .h2 ? serverALPNCallback : serverHTTP1ALPNCallback, nil)
        return handle
    }

    static func makeClient(_ configuration: TLSClientConfiguration) throws -> SSLContextHandle {
        OpenSSLErrorQueue.clear()
        guard let raw = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.configuration("SSL_CTX_new", OpenSSLErrorQueue.drain())
        }
        let handle = SSLContextHandle(taking: raw)
        let ctx = handle.pointer
        try applyCommonPolicy(ctx)
        try loadTrustRoots(ctx, path: configuration.trustRootsPath)
        if let chain = configuration.certificateChainPath, let key = configuration.privateKeyPath {
            try check(SSL_CTX_use_certificate_chain_file(ctx, chain) == 1, "client certificate chain \(chain)")
            try check(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1, "client private key \(key)")
            try check(SSL_CTX_check_private_key(ctx) == 1, "client key does not match the client certificate")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        SSL_CTX_set_verify_depth(ctx, maxVerifyDepth)
        return handle
    }

    /// SPEC §1: TLS 1.2 minimum, ECDHE+AEAD suites, no renegotiation, no compression.
    private static func applyCommonPolicy(_ ctx: OpaquePointer) throws {
        try check(bankgw_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, "minimum protocol version")
        _ = bankgw_SSL_CTX_set_options(
            ctx,
            bankgw_SSL_OP_NO_RENEGOTIATION() | bankgw_SSL_OP_NO_COMPRESSION()
                | bankgw_SSL_OP_CIPHER_SERVER_PREFERENCE())
        try check(SSL_CTX_set_cipher_list(ctx, tls12CipherList) == 1, "TLS 1.2 cipher list")
        // Issue 14 (≤ 64 KiB per idle connection at 10,000): OpenSSL frees a connection's record read and write
        // buffers (~17 KiB each) whenever they are empty, instead of keeping them for the connection's life. An
        // idle connection then holds none; a busy one allocates them again per record, which costs far less than
        // the record's encryption.
        _ = bankgw_SSL_CTX_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS))
    }

    private static func loadTrustRoots(_ ctx: OpaquePointer, path: String) throws {
        // Read through our own loader first so an empty or non-PEM file is an error, not an empty trust store.
        _ = try Certificate.loadPEM(path: path)
        try check(SSL_CTX_load_verify_locations(ctx, path, nil) == 1, "trust roots \(path)")
    }

    private static func check(_ ok: Bool, _ what: String) throws {
        if !ok { throw TLSError.configuration(what, OpenSSLErrorQueue.drain()) }
    }
}
