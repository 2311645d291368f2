import GatewayRPC
import GatewayWire

extension RPCServices {
    /// Registers `handler` under the generated method descriptor's service and method names (Protos/ is the
    /// only place the paths are spelled).
    mutating func register<Request, Response>(_ method: WireMethod<Request, Response>, _ handler: RPCMethodHandler) {
        register(service: method.service, method: method.name, handler)
    }
}
