import GatewayCrypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The gateway's TLS listener material: one `SSL_CTX` generation at a time. `reload()` swaps in a new generation
/// for new connections; open connections keep the generation they started with.
public final class TLSServerContext: Sendable {
    public let configuration: TLSServerConfiguration
    private let current: NIOLockedValueBox<SSLContextHandle>

    /// Loads and checks all material now: a server that cannot load its certificates must not start.
    public init(configuration: TLSServerConfiguration) throws {
        self.configuration = configuration
        self.current = NIOLockedValueBox(try SSLContextHandle.makeServer(configuration))
    }

    /// Reads certificate, key, CA and CRL again. On any failure the old material stays in use, the reason is
    /// logged and thrown.
    public func reload() throws {
        do {
            let fresh = try SSLContextHandle.makeServer(configuration)
            current.withLockedValue { $0 = fresh }
            configuration.logger.notice("TLS material reloaded", metadata: ["crl": "\(configuration.crlPath ?? "none")"])
        } catch {
            configuration.logger.error(
                "TLS reload failed; keeping the previous material (old CRL, certificates and CA still in force)",
                metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// Calls `reload()` on every SIGHUP until the returned source is cancelled. Failures are logged at error by
    /// `reload()` and reported to `onResult` (false), which counts them in a metric: a failed reload keeps the old
    /// material, so it must never pass unnoticed.
    public func reloadOnHangup(onResult: @escaping @Sendable (_ succeeded: Bool) -> Void = { _ in })
        -> DispatchSourceSignal
    {
        signal(SIGHUP, SIG_IGN)  // the dispatch source receives it instead of the default action (terminate)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in
            do {
                try self.reload()
                onResult(true)
            } catch {
                onResult(false)
            }
        }
        source.resume()
        return source
    }

    /// A handler for one accepted connection, using the current material.
    public func makeHandler() -> TLSServerHandler {
        TLSHandler(
            server: current.withLockedValue { $0 }, spkiPin: configuration.spkiPin,
            handshakeTimeout: configuration.handshakeTimeout, shutdownTimeout: configuration.shutdownTimeout,
            logger: configuration.logger, events: configuration.events)
    }
}

/// A client's TLS material (CA to verify the gateway, our certificate and key).
public final class TLSClientContext: Sendable {
    public let configuration: TLSClientConfiguration
    private let handle: SSLContextHandle

    public init(configuration: TLSClientConfiguration) throws {
        self.configuration = configuration
        self.handle = try SSLContextHandle.makeClient(configuration)
    }

    /// A handler for one outgoing connection; `serverHostname` overrides the configured one (SNI + verification).
    public func makeHandler(serverHostname: String? = nil) -> TLSClientHandler {
        TLSHandler(
            client: handle, serverName: serverHostname ?? configuration.serverHostname,
            alpn: configuration.alpnProtocols, handshakeTimeout: configuration.handshakeTimeout,
            shutdownTimeout: configuration.shutdownTimeout)
    }
}
