import GatewayCrypto
import Logging
import NIOCore

/// The server side of the gateway's TLS: decrypts inbound, encrypts outbound, and lets no application byte through
/// before the peer is verified and named (`TLSHandshakeCompleted`).
public typealias TLSServerHandler = TLSHandler
/// The client side (admin CLI, conformance suite, load generator, tests): same code, the other role.
public typealias TLSClientHandler = TLSHandler

/// TLS over OpenSSL memory BIOs for one channel, in either role. Thin: each event asks `TLSConnectionStateMachine`
/// what to do, then does it with `TLSConnection` (the `SSL*`).
///
/// Ordering guarantees: the completed event is fired before any decrypted byte; application data that arrived with
/// the handshake's last flight is delivered before buffered writes are encrypted; outbound ciphertext produced
/// while reading is flushed once per read batch (`channelReadComplete`).
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Plaintext asked of one `SSL_read_ex` at most: a full TLS record (16 KiB), so one call decrypts one record.
    /// Less when the peer sent less (`readRoom`).
    static let readChunkBytes = 16 * 1024
    /// Plaintext given to one `SSL_write_ex`: bounds how much ciphertext one call adds to the outbound BIO.
    static let maxPlaintextPerWrite = 64 * 1024
    /// Ciphertext gathered before it is written and flushed during a large write, so a 64 MiB write streams
    /// instead of doubling its size in memory first.
    static let maxCiphertextBatchBytes = 256 * 1024
    /// Application bytes accepted before the handshake completes; beyond this writes fail (a client that writes
    /// this much before being authenticated is broken or hostile).
    static let maxBytesBufferedBeforeHandshake = 64 * 1024 * 1024 + 1024 * 1024
    /// Upper bound on `SSL_read_ex` calls per inbound read batch. Every call consumes ciphertext or yields
    /// plaintext, so the loop ends by itself; the bound turns a bug into a failure instead of a hang.
    static let maxReadCallsPerBatch = 1 << 20

    private enum Role {
        case server(logger: Logger)
        case client(serverName: String, offeredALPN: [String])
    }

    private let role: Role
    private var connection: TLSConnection?
    /// Set when the SSL object could not be created; reported when the handler is added.
    private var setupError: TLSError?
    /// The connection's phase with the state it decides: the writes not yet encrypted, the close promise.
    private var machine = TLSConnectionStateMachine()
    /// Plaintext of the current read batch: allocated by its first record, as large as the peer's bytes can
    /// decrypt to (`readRoom`), reused within the batch, and released when the batch ends (`channelReadComplete`),
    /// so an idle connection holds no read buffer (issue 14: 10,000 idle connections). The next stage may keep what
    /// it is handed: NIOHTTP2's frame parser keeps the first buffer of a connection, and appends every later read
    /// to it, for the connection's life, so that buffer is sized by its content, not by a full record (a 16 KiB
    /// one per idle connection before). Outbound ciphertext gets a buffer of its exact size per write instead of a
    /// retained one, for the same reason.
    private var readBuffer = ByteBuffer()
    /// Ciphertext was written to the channel and not yet flushed.
    private var needsFlush = false
    private var handshakeTimer: Scheduled<Void>?
    private var shutdownTimer: Scheduled<Void>?
    private let handshakeTimeout: TimeAmount
    private let shutdownTimeout: TimeAmount
    private var events = TLSServerEvents()
    /// When the handshake started (metrics); nil once its outcome is reported.
    private var handshakeStartedAt: ContinuousClock.Instant?
    /// The ALPN protocol a server connection must agree (`h2`, or `http/1.1` on the console).
    private var serverApplicationProtocol = "h2"

    init(
        server context: SSLContextHandle, spkiPin: @escaping @Sendable (String) -> [UInt8]?,
        handshakeTimeout: Duration, shutdownTimeout: Duration, logger: Logger,
        events: TLSServerEvents = TLSServerEvents()
    ) {
        self.role = .server(logger: logger)
        self.events = events
        self.serverApplicationProtocol = context.serverApplicationProtocol.rawValue
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.shutdownTimeout = TimeAmount(shutdownTimeout)
        do {
            self.connection = try TLSConnection(
                context: context, verification: PeerVerification(role: .server, spkiPin: spkiPin),
                serverName: nil, alpn: [])
        } catch {
            self.setupError = error as? TLSError ?? .configuration("\(error)", [])
        }
    }

    init(
        client context: SSLContextHandle, serverName: String, alpn: [String], handshakeTimeout: Duration,
        shutdownTimeout: Duration
    ) {
        self.role = .client(serverName: serverName, offeredALPN: alpn)
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.shutdownTimeout = TimeAmount(shutdownTimeout)
        do {
            self.connection = try TLSConnection(
                context: context, verification: PeerVerification(role: .client, spkiPin: { _ in nil }),
                serverName: serverName, alpn: alpn)
        } catch {
            self.setupError = error as? TLSError ?? .configuration("\(error)", [])
        }
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if let setupError {
            fail(context: context, error: setupError)
            return
        }
        if context.channel.isActive {
            start(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        let removal = machine.handlerRemoved()
        removal.failing.fail(TLSError.connectionClosed)
        removal.closePromiseToFail?.fail(TLSError.connectionClosed)
        // Frees the SSL and both BIOs now rather than whenever the handler object goes away.
        connection = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        handleEOF(context: context)
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Half-closure enabled: TCP input is over. Without close_notify that is the same EOF as inactive.
            handleEOF(context: context)
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func start(context: ChannelHandlerContext) {
        guard machine.channelActive() == .startHandshake else { return }
        handshakeStartedAt = ContinuousClock.now
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            self.handshakeTimedOut(context: context)
        }
        driveHandshake(context: context)
        // The client's first flight goes out now; a server has nothing yet (no-op flush avoided).
        flushIfNeeded(context: context)
    }

    private func handshakeTimedOut(context: ChannelHandlerContext) {
        handshakeTimer = nil
        perform(machine.handshakeTimedOut(), error: .handshakeTimeout, context: context)
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        guard let connection, !machine.isClosed else {
            // Deliberate drop: bytes after a fatal error or close have no session to belong to.
            return
        }
        connection.receive(ciphertext)
        if machine.isHandshaking {
            driveHandshake(context: context)
        } else if machine.mayDeliverData {
            deliverPlaintext(context: context)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        // The batch is over: an idle connection keeps no read buffer (the next batch allocates one), nor the
        // handshake-sized buffers of its memory BIOs.
        readBuffer = ByteBuffer()
        connection?.releaseIdleBuffers()
        context.fireChannelReadComplete()
    }

    private func driveHandshake(context: ChannelHandlerContext) {
        guard let connection else { return }
        switch connection.handshake() {
        case .inProgress:
            writeCiphertext(context: context)
        case .failed(let error):
            fail(context: context, error: error)
        case .complete:
            completeHandshake(context: context, connection: connection)
        }
    }

    private func completeHandshake(context: ChannelHandlerContext, connection: TLSConnection) {
        let event: any Sendable
        switch announcement(for: connection) {
        case .success(let value): event = value
        case .failure(let error):
            fail(context: context, error: error)
            return
        }
        guard machine.handshakeCompleted() == .announceThenDeliverThenFlush else { return }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if case .server = role, let startedAt = handshakeStartedAt {
            handshakeStartedAt = nil
            events.handshakeCompleted(ContinuousClock.now - startedAt)
        }
        if case .server(let logger) = role, logger.logLevel <= .debug {
            logger.debug(
                "TLS handshake completed",
                metadata: [
                    "peer": "\(event)", "version": "\(connection.protocolVersion)",
                    "cipher": "\(connection.cipherName)", "resumed": "\(connection.sessionReused)",
                    "ticketRefused": "\(connection.verification.resumptionRefusal ?? "no")",
                ])
        }
        writeCiphertext(context: context)  // the server's session ticket, the client's last flight
        context.fireUserInboundEventTriggered(event)
        deliverPlaintext(context: context)
        if machine.hasFlushedWritesToEncrypt {
            encryptFlushedWrites(context: context)
        }
    }

    /// The event announcing the verified peer, or why the finished handshake is still refused.
    private func announcement(for connection: TLSConnection) -> Result<any Sendable, TLSError> {
        let alpn = connection.negotiatedALPN
        switch role {
        case .server:
            // The verify callback already checked the leaf on a full handshake; a resumed session skips the
            // callback, so the identity is always read again from the session's leaf here, once.
            guard connection.verifyResultIsOK, let leaf = connection.peerCertificate() else {
                return .failure(.handshakeFailed(reason: "no verified client certificate", []))
            }
            if let refusal = connection.resumedSessionRefusal {
                return .failure(.handshakeFailed(reason: refusal, []))
            }
            let identities = leaf.uriSANs.compactMap(PeerIdentity.init(spiffeURI:))
            guard identities.count == 1, let identity = identities.first else {
                return .failure(.handshakeFailed(reason: "client certificate names no single partner", []))
            }
            guard alpn == serverApplicationProtocol else {
                return .failure(
                    .handshakeFailed(
                        reason: "ALPN \(alpn ?? "none") is not \(serverApplicationProtocol)", []))
            }
            return .success(TLSHandshakeCompleted(identity: identity, alpn: alpn, peerPublicKeyDER: leaf.spkiDER))
        case .client(let serverName, let offered):
            guard connection.verifyResultIsOK else {
                return .failure(.handshakeFailed(reason: "server certificate not verified", []))
            }
            if !offered.isEmpty {
                guard let alpn, offered.contains(alpn) else {
                    return .failure(.handshakeFailed(reason: "server agreed no offered ALPN protocol", []))
                }
            }
            return .success(TLSClientHandshakeCompleted(verifiedServerName: serverName, alpn: alpn))
        }
    }

    /// Decrypts every complete record OpenSSL holds and passes the plaintext on in batches of up to 16 KiB.
    private func deliverPlaintext(context: ChannelHandlerContext) {
        guard let connection else { return }
        var calls = 0
        reading: while calls < Self.maxReadCallsPerBatch {
            calls += 1
            if readBuffer.readableBytes >= Self.readChunkBytes {
                firePlaintext(context: context)
            }
            switch connection.read(into: &readBuffer, maxBytes: readRoom(connection, after: readBuffer.readableBytes)) {
            case .bytes:
                continue
            case .wantMore:
                break reading
            case .closeNotify:
                firePlaintext(context: context)
                writeCiphertext(context: context)
                closeNotifyReceived(context: context)
                return
            case .failed(let error):
                firePlaintext(context: context)
                fail(context: context, error: error)
                return
            }
        }
        assert(calls < Self.maxReadCallsPerBatch, "SSL_read_ex loop made no progress")
        firePlaintext(context: context)
        // SSL_read may have produced output: a TLS 1.3 KeyUpdate reply, a ticket, an alert.
        writeCiphertext(context: context)
    }

    /// Plaintext to ask of the next `SSL_read_ex`: the rest of a full record's worth in `readBuffer`, but no more
    /// than the peer's bytes can decrypt to. At least 1, so every call makes progress or reports WANT_READ.
    private func readRoom(_ connection: TLSConnection, after bufferedBytes: Int) -> Int {
        max(min(Self.readChunkBytes - bufferedBytes, connection.readablePlaintextBoundBytes), 1)
    }

    private func firePlaintext(context: ChannelHandlerContext) {
        guard readBuffer.readableBytes > 0 else { return }
        context.fireChannelRead(wrapInboundOut(readBuffer))
        // Reused when the next stage did not keep the buffer; when it did, a new one sized for what is left to read.
        readBuffer.clear(minimumCapacity: connection.map { readRoom($0, after: 0) } ?? 0)
    }

    private func closeNotifyReceived(context: ChannelHandlerContext) {
        switch machine.closeNotifyReceived() {
        case .replyAndClose(let writes):
            connection?.sendCloseNotify()
            writeCiphertext(context: context)
            flushIfNeeded(context: context)
            writes.fail(TLSError.connectionClosed)
            context.close(promise: nil)
        case .closeNow(let closePromise):
            closeChannel(context: context, promise: closePromise)
        case .none:
            break
        }
    }

    private func handleEOF(context: ChannelHandlerContext) {
        cancelTimers()
        let inactive = machine.channelInactive()
        switch inactive.report {
        case .reportHandshakeEOF:
            let error = TLSError.handshakeFailed(reason: "peer closed the connection during the handshake", [])
            logRefusal(error)
            context.fireErrorCaught(error)
        case .reportUncleanShutdown:
            context.fireErrorCaught(TLSError.uncleanShutdown)
        case .none:
            break
        }
        inactive.failing.fail(TLSError.connectionClosed)
        inactive.closePromiseToSucceed?.succeed(())
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch machine.write(unwrapOutboundIn(data), promise: promise) {
        case .queued:
            break
        case .failTooMuchBeforeHandshake(let promise):
            promise?.fail(
                TLSError.connectionFailed(
                    "over \(machine.maxBytesBufferedBeforeHandshake) bytes written before the handshake", []))
        case .failClosed(let promise):
            promise?.fail(TLSError.connectionClosed)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch machine.flush() {
        case .encrypt:
            encryptFlushedWrites(context: context)
        case .none:
            break  // before the handshake the machine remembers the flush and completion honours it
        }
    }

    /// Encrypts the flushed writes, writes the ciphertext in one buffer (or 256 KiB batches for large writes),
    /// and flushes once.
    private func encryptFlushedWrites(context: ChannelHandlerContext) {
        guard let connection else { return }
        var promises: [EventLoopPromise<Void>] = []
        // Bounded by the queue's length; each iteration takes one write out of it.
        while let write = machine.nextFlushedWrite() {
            let error: TLSError? = write.data.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + Self.maxPlaintextPerWrite, bytes.count)
                    if let error = connection.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) {
                        return error
                    }
                    offset = end
                    if connection.pendingCiphertextBytes >= Self.maxCiphertextBatchBytes {
                        writeCiphertext(context: context)
                        flushIfNeeded(context: context)
                    }
                }
                return nil
            }
            if let error {
                write.promise?.fail(error)
                promises.forEach { $0.fail(error) }
                fail(context: context, error: error)
                return
            }
            if let promise = write.promise { promises.append(promise) }
        }
        let promise: EventLoopPromise<Void>?
        switch promises.count {
        case 0: promise = nil
        case 1: promise = promises[0]
        default:
            let combined = context.eventLoop.makePromise(of: Void.self)
            let waiting = promises  // a constant copy for the completion closure
            combined.futureResult.whenComplete { result in waiting.forEach { $0.completeWith(result) } }
            promise = combined
        }
        writeCiphertext(context: context, promise: promise)
        flushIfNeeded(context: context)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .input {
            context.close(mode: .input, promise: promise)
            return
        }
        switch machine.closeRequested(promise: promise) {
        case .sendCloseNotifyAndWait(let unflushed):
            // Writes the application flushed are already encrypted; unflushed ones will never be.
            unflushed.fail(TLSError.connectionClosed)
            connection?.sendCloseNotify()
            writeCiphertext(context: context)
            flushIfNeeded(context: context)
            shutdownTimer = context.eventLoop.assumeIsolated().scheduleTask(in: shutdownTimeout) {
                self.shutdownTimer = nil
                if case .closeNow(let closePromise) = self.machine.shutdownTimedOut() {
                    self.closeChannel(context: context, promise: closePromise)
                }
            }
        case .closeNow(let writes):
            cancelTimers()
            writes.fail(TLSError.connectionClosed)
            context.close(mode: .all, promise: promise)
        case .cascadeFrom(let closePromise):
            closePromise.futureResult.cascade(to: promise)
        case .forwardClose:
            context.close(mode: .all, promise: promise)
        }
    }

    // MARK: Plumbing

    /// Moves pending ciphertext from the outbound BIO into one buffer written to the channel (not flushed).
    private func writeCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        guard let connection, connection.pendingCiphertextBytes > 0 else {
            promise?.succeed(())
            return
        }
        // Exactly the pending size, and not kept: the socket frees it once written, so an idle connection holds no
        // outbound buffer.
        var ciphertext = context.channel.allocator.buffer(capacity: connection.pendingCiphertextBytes)
        connection.drainCiphertext(into: &ciphertext)
        context.write(wrapOutboundOut(ciphertext), promise: promise)
        needsFlush = true
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    /// A fatal error: report it once, send whatever alert OpenSSL queued, fail every pending write, close.
    private func fail(context: ChannelHandlerContext, error: TLSError) {
        perform(machine.failed(), error: error, context: context)
    }

    private func perform(
        _ failure: TLSConnectionStateMachine.FailureAction, error: TLSError, context: ChannelHandlerContext
    ) {
        guard case .reportAndClose(let writes, let closePromise) = failure else { return }
        cancelTimers()
        writeCiphertext(context: context)
        flushIfNeeded(context: context)
        writes.fail(error)
        logRefusal(error)
        context.fireErrorCaught(error)
        context.close(promise: closePromise)
    }

    private func closeChannel(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        cancelTimers()
        context.close(promise: promise)
    }

    private func cancelTimers() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        shutdownTimer?.cancel()
        shutdownTimer = nil
    }

    private func logRefusal(_ error: TLSError) {
        guard case .server(let logger) = role else { return }
        switch error {
        case .handshakeFailed, .handshakeTimeout:
            logger.info("TLS handshake refused", metadata: ["reason": "\(error)"])
            if let startedAt = handshakeStartedAt {
                handshakeStartedAt = nil
                events.handshakeFailed(error.refusalReason, ContinuousClock.now - startedAt)
            }
        default:
            break
        }
    }
}
