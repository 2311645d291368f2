import COpenSSL
import GatewayCrypto
import NIOCore

/// One `SSL*` with its two memory BIOs: ciphertext from the peer goes into `inbound`, ciphertext for the peer comes
/// out of `outbound`. Owns the `SSL` (which owns the BIOs) and the `PeerVerification` its callbacks use.
final class TLSConnection {
    private let ssl: OpaquePointer
    /// Replaced (not emptied: a memory BIO never shrinks) by `releaseIdleBuffers` once it grew past
    /// `maxIdleBIOCapacityBytes`; the `SSL` owns whichever is current.
    private var inbound: OpaquePointer
    private var outbound: OpaquePointer
    /// A drained memory BIO that holds more than this (the handshake's flights, a large write) is replaced by an
    /// empty one at the end of a read batch, so an idle connection keeps no handshake-sized buffers (issue 14).
    static let maxIdleBIOCapacityBytes = 1024
    let verification: PeerVerification
    /// Keeps this generation of certificate material alive (and documents which one the connection uses).
    private let context: SSLContextHandle

    enum HandshakeResult {
        case complete
        /// Needs more bytes from the peer (WANT_READ).
        case inProgress
        case failed(TLSError)
    }

    enum ReadResult {
        /// `count` plaintext bytes were appended to the buffer.
        case bytes(Int)
        /// No complete record buffered (WANT_READ).
        case wantMore
        /// The peer sent close_notify.
        case closeNotify
        case failed(TLSError)
    }

    init(context: SSLContextHandle, verification: PeerVerification, serverName: String?, alpn: [String]) throws {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError.configuration("SSL_new", OpenSSLErrorQueue.drain())
        }
        guard let inbound = Self.makeInboundBIO(), let outbound = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.configuration("BIO_new", OpenSSLErrorQueue.drain())
        }
        SSL_set_bio(ssl, inbound, outbound)
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
        self.context = context
        self.verification = verification
        SSL_set_ex_data(ssl, peerVerificationIndex, Unmanaged.passUnretained(verification).toOpaque())

        switch verification.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName {
                try configureServerName(serverName)
            }
            var wire: [UInt8] = []
            for name in alpn {
                wire.append(UInt8(name.utf8.count))
                wire.append(contentsOf: name.utf8)
            }
            // SSL_set_alpn_protos returns 0 on success.
            guard SSL_set_alpn_protos(ssl, wire, UInt32(wire.count)) == 0 else {
                throw TLSError.configuration("ALPN protocols", OpenSSLErrorQueue.drain())
            }
        }
    }

    deinit {
        SSL_set_ex_data(ssl, peerVerificationIndex, nil)
        SSL_free(ssl)  // frees both BIOs
    }

    private static func makeInboundBIO() -> OpaquePointer? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        // An empty inbound BIO means "retry later" (WANT_READ), never EOF: EOF is decided from the channel.
        _ = bankgw_BIO_set_mem_eof_return(bio, -1)
        return bio
    }

    /// Swaps a drained BIO that grew past `maxIdleBIOCapacityBytes` for a new empty one (the `SSL` frees the old).
    /// Called between read batches: nothing is lost, since only a BIO holding no bytes is replaced. A failed
    /// allocation keeps the old BIO (still correct, only larger).
    func releaseIdleBuffers() {
        if bankgw_BIO_ctrl_pending(inbound) == 0, bankgw_BIO_mem_capacity(inbound) > Self.maxIdleBIOCapacityBytes,
            let fresh = Self.makeInboundBIO()
        {
            SSL_set0_rbio(ssl, fresh)  // frees the old inbound BIO
            inbound = fresh
        }
        if bankgw_BIO_ctrl_pending(outbound) == 0, bankgw_BIO_mem_capacity(outbound) > Self.maxIdleBIOCapacityBytes,
            let fresh = BIO_new(BIO_s_mem())
        {
            SSL_set0_wbio(ssl, fresh)  // frees the old outbound BIO
            outbound = fresh
        }
    }

    /// SNI plus the name the server certificate is verified against: an IP literal is matched against IP SANs
    /// and not sent as SNI (RFC 6066 forbids it).
    private func configureServerName(_ name: String) throws {
        let isIP =
            name.contains(":") || name.split(separator: ".").count == 4 && name.allSatisfy { $0.isNumber || $0 == "." }
        if isIP {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
                throw TLSError.configuration("server IP \(name)", OpenSSLErrorQueue.drain())
            }
        } else {
            guard bankgw_SSL_set_tlsext_host_name(ssl, name) == 1, SSL_set1_host(ssl, name) == 1 else {
                throw TLSError.configuration("server name \(name)", OpenSSLErrorQueue.drain())
            }
        }
    }

    // MARK: Ciphertext in and out

    /// Hands ciphertext from the peer to OpenSSL.
    func receive(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count > 0 else { return }
            let written = BIO_write(inbound, bytes.baseAddress, Int32(bytes.count))
            // A memory BIO grows to take everything; anything else is an allocation failure.
            precondition(written == Int32(bytes.count), "memory BIO refused \(bytes.count) bytes")
        }
    }

    var pendingCiphertextBytes: Int { Int(bankgw_BIO_ctrl_pending(outbound)) }

    /// The most plaintext the reads that follow can return from what the peer sent so far: what OpenSSL holds
    /// decrypted plus the ciphertext still in the inbound BIO (a record's plaintext is shorter than its
    /// ciphertext). It undercounts only a record whose first bytes OpenSSL has already taken from the BIO; a
    /// reader sized by it then reads that record in more than one call.
    var readablePlaintextBoundBytes: Int { Int(SSL_pending(ssl)) + Int(bankgw_BIO_ctrl_pending(inbound)) }

    /// Moves all ciphertext OpenSSL produced into `buffer`. Returns the byte count.
    @discardableResult
    func drainCiphertext(into buffer: inout ByteBuffer) -> Int {
        let pending = pendingCiphertextBytes
        guard pending > 0 else { return 0 }
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { space in
            Int(BIO_read(outbound, space.baseAddress, Int32(pending)))
        }
        assert(read == pending, "memory BIO returned \(read) of \(pending) pending bytes")
        return read
    }

    // MARK: SSL calls

    func handshake() -> HandshakeResult {
        OpenSSLErrorQueue.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .complete }
        switch SSLResult(ssl: ssl, returnCode: rc) {
        case .wantRead, .wantWrite:
            return .inProgress
        case let result:
            let queue = OpenSSLErrorQueue.drain()
            let reason =
                verification.failure ?? queue.last.map { "\($0.description) (\(result))" } ?? "\(result)"
            return .failed(.handshakeFailed(reason: reason, queue))
        }
    }

    /// Decrypts at most one record into `buffer`'s writable space (at most `maxBytes`).
    func read(into buffer: inout ByteBuffer, maxBytes: Int) -> ReadResult {
        precondition(maxBytes > 0)
        OpenSSLErrorQueue.clear()
        var result: ReadResult = .wantMore
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxBytes) { space in
            var count = 0
            let rc = SSL_read_ex(ssl, space.baseAddress, maxBytes, &count)
            if rc == 1 {
                result = .bytes(count)
                return count
            }
            switch SSLResult(ssl: ssl, returnCode: rc) {
            case .wantRead, .wantWrite: result = .wantMore
            case .zeroReturn: result = .closeNotify
            case let other:
                result = .failed(.connectionFailed("SSL_read: \(other)", OpenSSLErrorQueue.drain()))
            }
            return 0
        }
        return result
    }

    /// Encrypts all of `bytes` (memory BIOs never push back, so SSL_write_ex writes everything or fails).
    func write(_ bytes: UnsafeRawBufferPointer) -> TLSError? {
        guard bytes.count > 0 else { return nil }  // SSL_write with 0 bytes is an error in OpenSSL
        OpenSSLErrorQueue.clear()
        var written = 0
        let rc = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written)
        if rc == 1 {
            assert(written == bytes.count, "SSL_write_ex wrote \(written) of \(bytes.count)")
            return nil
        }
        return .connectionFailed("SSL_write: \(SSLResult(ssl: ssl, returnCode: rc))", OpenSSLErrorQueue.drain())
    }

    /// Queues our close_notify in the outbound BIO.
    func sendCloseNotify() {
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        // 0 means "sent, peer's not yet received", <0 after a fatal error: either way nothing more to do here.
        OpenSSLErrorQueue.clear()
    }

    /// The verified peer's leaf; also present on resumed sessions (the session keeps it, not the chain).
    func peerCertificate() -> Certificate? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        return Certificate(taking: cert)
    }

    var verifyResultIsOK: Bool { SSL_get_verify_result(ssl) == X509_V_OK }

    var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }
    var cipherName: String {
        guard let cipher = SSL_get_current_cipher(ssl) else { return "" }
        return String(cString: SSL_CIPHER_get_name(cipher))
    }
    var sessionReused: Bool { SSL_session_reused(ssl) == 1 }

    /// For a resumed session, why it no longer passes the checks of a full handshake (nil: it does, or the
    /// handshake was full). The ticket callback already refused such sessions; this is the same check once more
    /// at completion, so no path of resumption can skip it.
    var resumedSessionRefusal: String? {
        guard sessionReused else { return nil }
        guard let session = SSL_get_session(ssl) else { return "resumed session missing" }
        defer { OpenSSLErrorQueue.clear() }
        return PeerVerification.checkResumed(session: session, ssl: ssl)
    }
}
