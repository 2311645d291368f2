import Deployment
import Foundation
import FuzzSupport

// `bankgw serve --config FILE`: the JSON configuration parser. Any input is refused with a named key or accepted;
// an accepted one holds only values inside the documented ranges, and parsing never traps.

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard let configuration = try? GatewayConfiguration.parse(Data(bytes)) else { return }
    precondition(!configuration.stateDirectory.isEmpty, "accepted an empty stateDirectory")
    precondition((1...100_000).contains(configuration.maxConnections), "maxConnections out of range")
    precondition(configuration.maxConcurrentStreams > 0, "maxConcurrentStreams out of range")
    precondition((0...300_000).contains(configuration.shutdownGraceMs), "shutdownGraceMs out of range")
    precondition((100...120_000).contains(configuration.tls.handshakeTimeoutMs), "handshakeTimeoutMs out of range")
    for port in [configuration.listen.tls.port, configuration.listen.probe.port, configuration.listen.metrics.port] {
        precondition((0...65_535).contains(port), "port out of range")
    }
    for bank in configuration.banks {
        precondition(bank.code.count == 4 && bank.code.allSatisfy(\.isASCII), "bank code \(bank.code) accepted")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
@_cdecl("ConfigFuzz_main")
func configFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv) { data, size in fuzzerTestOneInput(data, size) }
}
#else
@main
struct Replay {
    static func main() throws { try FuzzDriver.replay(name: "ConfigFuzz", fuzzOne) }
}
#endif
