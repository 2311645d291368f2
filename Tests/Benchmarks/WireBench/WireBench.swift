import GatewayWire

#if canImport(Glibc)
import Glibc
#endif

/// `make bench` (codec part): decode and encode ns/op and MB/s for the hot request messages, median of runs, and the
/// arena's effect against protobuf-c's default allocator as a ratio. Figures are printed, never asserted.
@main
struct WireBench {
    static let runs = 7
    static let iterations = 100_000

    static func main() throws {
        let header = RequestHeader(
            bankCode: "9900", requestID: "req-20261124-000000001", sentAtUnixMs: 1_764_000_000_123)
        let auth = CustomerAuth(method: .smsOTP, authenticatedAtUnixMs: 1_764_000_000_000, authReference: "otp-778123")
        let charge = ChargeRequest(header: header, linkID: "L-000000000042", amountYen: 12_345, customerAuth: auth)
        let link = LinkAccountRequest(
            header: header, walletAccountID: "W0000001", linkCode: "K7Q2-M9XA",
            bankAccountToken: "tok_9900_a1b2c3d4e5f6",
            accountHolderKana: "ヤマダ ハナコ", customerAuth: auth
        )
        print("codec benchmark: \(runs) runs × \(iterations) iterations, median (debug-free release build)")
        print(pad("message", 22) + pad("op", 22) + pad("ns/op", 10) + pad("MB/s", 10))
        try measure(charge)
        try measure(link)
    }

    static func measure<M: WireMessage>(_ message: M) throws {
        let bytes = try message.wireBytes()
        let name = String(M.protoName.split(separator: ".").last!)
        let arena = try median {
            try bytes.withUnsafeBytes { buffer in for _ in 0..<iterations { _ = try M(wireBytes: buffer) } }
        }
        let malloc = try median {
            try bytes.withUnsafeBytes { buffer in
                for _ in 0..<iterations { _ = try WireBenchmarkHooks.decodeWithSystemMalloc(M.self, buffer) }
            }
        }
        var scratch = [UInt8](repeating: 0, count: 4096)
        let encode = try median {
            for _ in 0..<iterations {
                _ = try message.withPacked { _, pack in scratch.withUnsafeMutableBytes { pack($0) } }
            }
        }
        for (op, seconds) in [("decode (arena)", arena), ("decode (malloc)", malloc), ("encode", encode)] {
            let nsPerOp = seconds * 1e9 / Double(iterations)
            let mbPerSecond = Double(bytes.count * iterations) / seconds / 1e6
            print(pad(name, 22) + pad(op, 22) + pad(String(format1(nsPerOp)), 10) + pad(format1(mbPerSecond), 10))
        }
        print(
            pad(name, 22)
                + "arena speed-up over protobuf-c's default allocator: \(format2(malloc / arena))× (\(bytes.count) B message)"
        )
    }

    static func median(_ body: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<runs {
            var start = timespec()
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            try body()
            clock_gettime(CLOCK_MONOTONIC, &end)
            samples.append(Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9)
        }
        return samples.sorted()[runs / 2]
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func format1(_ value: Double) -> String { String(Double(Int(value * 10)) / 10) }
    static func format2(_ value: Double) -> String { String(Double(Int(value * 100)) / 100) }
}
