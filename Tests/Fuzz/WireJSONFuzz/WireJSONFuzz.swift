import FuzzSupport
import GatewayWire

// `bankgw wire encode TYPE`: proto3 JSON from stdin into a protobuf-c message. The first byte picks the message
// type (every type of Protos/), the rest is the JSON. JSON that encodes must decode back to JSON that encodes to
// the same bytes: the encoder may refuse input, never produce bytes it cannot read back the same way.

private let typeNames = WireJSON.types.keys.sorted()

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard let selector = bytes.first else { return }
    let typeName = typeNames[Int(selector) % typeNames.count]
    let json = Array(bytes.dropFirst())
    guard let encoded = try? WireJSON.encode(typeName: typeName, json: json) else { return }
    // The decoder applies the SPEC field rules the encoder does not: a refusal there is allowed.
    guard let text = try? WireJSON.decode(typeName: typeName, bytes: encoded) else { return }
    guard let again = try? WireJSON.encode(typeName: typeName, json: Array(text.utf8)) else {
        preconditionFailure("\(typeName): JSON the decoder wrote does not encode: \(text)")
    }
    precondition(again == encoded, "\(typeName): JSON round trip changed the bytes")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
@_cdecl("WireJSONFuzz_main")
func wireJSONFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv) { data, size in fuzzerTestOneInput(data, size) }
}
#else
@main
struct Replay {
    static func main() throws { try FuzzDriver.replay(name: "WireJSONFuzz", fuzzOne) }
}
#endif
