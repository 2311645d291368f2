import FuzzSupport
import NIOCore
import NIOHPACK

@testable import GatewayRPC

// The gRPC request path a peer controls before any handler runs: request headers (`content-type`, `grpc-timeout`,
// `te`, `grpc-encoding`, `:path`) through ServerCallStateMachine, then the DATA bytes through the message
// deframer, split into frames where the input says. (`traceparent` is parsed by the ops work on another branch;
// its parser joins this target when it lands.)
//
// Input: header lines `name: value` up to an empty line, then DATA; a 0xFF byte in the DATA part ends a frame.

private let services: RPCServices = {
    var services = RPCServices()
    services.register(
        service: "fuzz.Echo", method: "Echo",
        .unary { request, response, _ in
            var request = request
            response.writeBuffer(&request)
        })
    return services
}()

private let maxMessageBytes = 64 * 1024

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    let input = Array(bytes)
    let split = input.indices.first { i in i + 1 < input.count && input[i] == 0x0A && input[i + 1] == 0x0A }
    let head = split.map { Array(input[..<$0]) } ?? input
    let body = split.map { Array(input[($0 + 2)...]) } ?? []

    var headers = HPACKHeaders()
    for line in head.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(32) {
        let text = String(decoding: line, as: UTF8.self)
        guard let colon = text.dropFirst().firstIndex(of: ":") else { continue }
        let name = String(text[..<colon]).lowercased()
        // NIOHPACK's decoder only hands on ASCII header names (validated headers); HPACKHeaders.add traps on others.
        guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { continue }
        let value = String(text[text.index(after: colon)...].drop { $0 == " " })
        headers.add(name: name, value: value)
        if name == "grpc-timeout", let timeout = GRPCTimeout.parse(value) {
            // A timeout that parses is never negative, and our own encoding of it parses to no shorter a deadline.
            precondition(timeout >= .zero, "grpc-timeout \(value) parsed negative")
            guard let again = GRPCTimeout.parse(GRPCTimeout.encode(timeout)) else {
                preconditionFailure("grpc-timeout encoding of \(value) does not parse")
            }
            precondition(again >= timeout, "grpc-timeout \(value) re-encoded shorter")
        }
        if name == "content-type" {
            _ = ServerCallStateMachine.isGRPCContentType(Substring(value))
        }
    }
    var machine = ServerCallStateMachine(services: services, maxRequestMessageBytes: maxMessageBytes)
    guard case .awaitRequest = machine.receiveHeaders(headers, endStream: body.isEmpty) else { return }
    let frames = body.split(separator: 0xFF, omittingEmptySubsequences: false)
    for (index, frame) in frames.enumerated() {
        let action = machine.receiveData(ByteBuffer(bytes: frame), endStream: index == frames.count - 1)
        switch action {
        case .invoke(_, let request):
            precondition(request.readableBytes <= maxMessageBytes, "a message over the limit reached a handler")
            return
        case .finish:
            return
        default:
            continue
        }
    }
    // A standalone deframer over the same bytes must agree with itself whatever the split.
    var whole = GRPCMessageDeframer(maxMessageBytes: maxMessageBytes)
    whole.append(ByteBuffer(bytes: body))
    while let message = try? whole.nextMessage() {
        precondition(message.readableBytes <= maxMessageBytes, "deframer handed out an oversized message")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
@_cdecl("RPCFuzz_main")
func rpcFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv) { data, size in fuzzerTestOneInput(data, size) }
}
#else
@main
struct Replay {
    static func main() throws { try FuzzDriver.replay(name: "RPCFuzz", fuzzOne) }
}
#endif
