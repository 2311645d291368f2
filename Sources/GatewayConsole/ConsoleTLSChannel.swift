import GatewayService
import GatewayTLS
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Hummingbird's child channel behind the project's own TLS stage (not NIOSSL): the `TLSHandler` of GatewayTLS
/// (client certificate required, ALPN `http/1.1`), then a gate that lets only operator certificates through, then
/// the base channel (Hummingbird's HTTP/1.1).
struct ConsoleTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let tls: TLSServerContext
    let peers: ConsolePeers
    let onTLSRefusal: (@Sendable (String) -> Void)?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(tls.makeHandler())
            if let onTLSRefusal { try sync.addHandler(TLSRefusalReporter(onRefusal: onTLSRefusal)) }
            try sync.addHandler(OperatorGate(peers: peers, logger: logger))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension ConsoleTLSChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

/// The verified operator behind each open console connection (the request context reads it by channel).
final class ConsolePeers: Sendable {
    /// Connections tracked at once (a closed one leaves at once). 4,096.
    static let maxConnections = 4_096
    private let names = NIOLockedValueBox<[ObjectIdentifier: String]>([:])

    func set(_ channel: any Channel, operatorName: String) -> Bool {
        names.withLockedValue { table in
            guard table.count < Self.maxConnections else { return false }
            table[ObjectIdentifier(channel)] = operatorName
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = names.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func operatorName(of channel: any Channel) -> String? {
        names.withLockedValue { $0[ObjectIdentifier(channel)] }
    }
}

/// After the TLS handshake: an operator certificate is recorded for the connection's requests; a bank's (a valid
/// partner, but not a desk operator) closes the connection before any HTTP is read (SPEC §8: operators only).
final class OperatorGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let peers: ConsolePeers
    private let logger: Logger
    /// Set once an operator's handshake completed; nothing reaches HTTP before (or without) it.
    private var admitted = false

    init(peers: ConsolePeers, logger: Logger) {
        self.peers = peers
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            switch handshake.identity {
            case .operatorName(let name):
                guard peers.set(context.channel, operatorName: name) else {
                    context.close(promise: nil)
                    return
                }
                admitted = true
            case .bank(let code):
                logger.warning("console refused a bank certificate", metadata: ["bank": "\(code)"])
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused peer's bytes are dropped (the connection is closing).
        if admitted { context.fireChannelRead(data) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peers.remove(context.channel)
        context.fireChannelInactive()
    }
}
