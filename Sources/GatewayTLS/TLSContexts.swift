import Foundation
import GatewayCrypto
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
            configuration.logger.notice(
                "TLS material reloaded", metadata: ["crl": "\(configuration.crlPath ?? "none")"])
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
    public func reloadOnHangup(
        onResult: @escaping @Sendable (_ succeeded: Bool) -> Void = { _ in }
    )
        -> HangupSubscription
    {
        HangupSignal.subscribe { [self] in
            do {
                try self.reload()
                onResult(true)
            } catch {
                onResult(false)
            }
        }
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

/// A `reloadOnHangup` registration; `cancel()` ends it (idempotent).
public final class HangupSubscription: Sendable {
    private let id: Int

    fileprivate init(id: Int) { self.id = id }

    public func cancel() { HangupSignal.unsubscribe(id) }
}

/// The process's one SIGHUP dispatch source, installed on first use and never cancelled, fanning out to the
/// subscribed contexts. Why one: on Linux, libdispatch stops delivering a signal to new sources for it once an
/// earlier source for the same signal was cancelled, so a second server (or test) in one process would never
/// reload again.
enum HangupSignal {
    /// Only ever touched under the lock below (the dispatch source is not `Sendable`).
    private struct Subscribers: @unchecked Sendable {
        var nextID = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
        var source: (any DispatchSourceSignal)?
    }

    private static let subscribers = NIOLockedValueBox(Subscribers())

    static func subscribe(_ handler: @escaping @Sendable () -> Void) -> HangupSubscription {
        subscribers.withLockedValue { state in
            if state.source == nil {
                signal(SIGHUP, SIG_IGN)  // the dispatch source receives it instead of the default action (terminate)
                let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
                source.setEventHandler {
                    let handlers = subscribers.withLockedValue { Array($0.handlers.values) }
                    for handler in handlers { handler() }
                }
                source.resume()
                state.source = source
            }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return HangupSubscription(id: state.nextID)
        }
    }

    static func unsubscribe(_ id: Int) {
        _ = subscribers.withLockedValue { $0.handlers.removeValue(forKey: id) }
    }
}
