import GatewayRPC
import GatewayTLS
import NIOCore

/// `test.Echo`: a service that exercises the transport alone, with no codec or policy behind it. `bankgw bench
/// echo-server` serves it so h2load, grpcio and `bankgw bench` can measure and probe the RPC stage by itself.
/// Never registered on a production listener.
public enum EchoService {
    public static let name = "test.Echo"

    /// - `Echo`: synchronous, on the event loop: answers the request bytes (the fast path h2load measures).
    /// - `EchoAsync`: the same through a Task (the async handler path).
    /// - `Fail`: the request is `CODE:message` (CODE the number); answers that status.
    /// - `Crash`: throws a non-RPC error: the caller sees INTERNAL, the connection lives on.
    /// - `Sleep`: the request is a number of milliseconds; sleeps that long (cancellably), then answers it back.
    /// - `Stream`: the request is a count N; sends N messages `0`…`N-1` (N = 0: one a millisecond until cancelled).
    public static var services: RPCServices {
        var services = RPCServices()
        services.register(
            service: name, method: "Echo",
            .unary { request, response, _ in
                var request = request
                response.writeBuffer(&request)
            })
        services.register(
            service: name, method: "EchoAsync",
            .unaryAsync { request, context in
                var response = context.makeResponseBuffer(capacity: request.readableBytes)
                var request = request
                response.writeBuffer(&request)
                return response
            })
        services.register(
            service: name, method: "Fail",
            .unary { request, _, _ in
                let text = String(buffer: request)
                let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let code = GRPCStatus.Code(wireValue: Int(parts.first ?? "") ?? 2)
                throw RPCError(code, parts.count > 1 ? String(parts[1]) : "")
            })
        services.register(
            service: name, method: "Crash",
            .unary { _, _, _ in
                struct Boom: Error { let detail = "secret detail that must not reach the caller" }
                throw Boom()
            })
        services.register(
            service: name, method: "Sleep",
            .unaryAsync { request, _ in
                let ms = Int64(String(buffer: request)) ?? 0
                try await Task.sleep(for: .milliseconds(ms))
                return request
            })
        services.register(
            service: name, method: "Stream",
            .serverStreaming { request, responses, _ in
                let count = Int(String(buffer: request)) ?? 0
                var sent = 0
                while count == 0 || sent < count {
                    try Task.checkCancellation()
                    try await responses.send(ByteBuffer(string: String(sent)))
                    sent += 1
                    if count == 0 { try await Task.sleep(for: .milliseconds(1)) }
                }
            })
        return services
    }
}
