import GatewayWire

#if !FUZZING
import Foundation
#endif

/// The request messages a bank can send: the fuzzer's first byte picks one, the rest is the message.
private let requestTypes: [any WireMessage.Type] = [
    LinkAccountRequest.self, ChargeRequest.self, GetChargeRequest.self, UnlinkRequest.self, HealthCheckRequest.self,
    SetBankStateRequest.self, SetBankProfileRequest.self, SetPilotListRequest.self, RecordConformanceRequest.self,
    RegisterWalletRequest.self, RecordEkycRequest.self, IssueLinkCodeRequest.self, ReleaseHoldRequest.self,
]

/// Decodes `bytes` as the chosen request. A value that decodes must re-encode, and the re-encoding must decode to
/// the same value: the codec may refuse input, but it must never accept something it cannot reproduce.
func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard let selector = bytes.first else { return }
    let type = requestTypes[Int(selector) % requestTypes.count]
    let body = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    checkRoundTrip(type, body)
}

private func checkRoundTrip<M: WireMessage>(_ type: M.Type, _ body: UnsafeRawBufferPointer) {
    guard let value = try? M(wireBytes: body) else { return }
    guard let encoded = try? value.wireBytes() else {
        fatalError("\(M.protoName): decoded value does not re-encode")
    }
    guard let again = try? M(wireBytes: encoded), again == value else {
        fatalError("\(M.protoName): re-encoded value does not decode to itself")
    }
    // The JSON path walks the same bytes through the descriptors.
    guard (try? WireJSON.decode(typeName: M.protoName, bytes: encoded)) != nil else {
        fatalError("\(M.protoName): decodable value has no JSON form")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
// SwiftPM links an executable's entry point as `<Target>_main` and aliases `main` to it; hand control to
// libFuzzer's driver from there.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("WireFuzz_main")
func wireFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) }
}
#else
/// Without libFuzzer: replay every file named on the command line (or in the directories named).
@main
struct Replay {
    static func main() throws {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else { continue }
            let files =
                isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: argument).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                data.withUnsafeBytes { fuzzOne($0) }
                count += 1
            }
        }
        print("WireFuzz replay: \(count) inputs, no failures")
    }
}
#endif
