import NIOCore

/// The outcome of a gRPC call: a code and a human-readable message (gRPC "Status codes and their use").
///
/// Handlers throw it to end a call with that status; the client returns it for every finished call.
public struct GRPCStatus: Error, Sendable, Hashable, CustomStringConvertible {
    /// All 17 gRPC status codes with their wire numbers. Exhaustive on purpose (STYLE.md: we ship one service).
    public enum Code: Int, Sendable, Hashable, CaseIterable {
        case ok = 0
        case cancelled = 1
        case unknown = 2
        case invalidArgument = 3
        case deadlineExceeded = 4
        case notFound = 5
        case alreadyExists = 6
        case permissionDenied = 7
        case resourceExhausted = 8
        case failedPrecondition = 9
        case aborted = 10
        case outOfRange = 11
        case unimplemented = 12
        case `internal` = 13
        case unavailable = 14
        case dataLoss = 15
        case unauthenticated = 16

        /// The code for a `grpc-status` value; anything unrecognised is UNKNOWN (gRPC spec).
        public init(wireValue: Int) {
            self = Code(rawValue: wireValue) ?? .unknown
        }

        /// The canonical upper-case name (`RESOURCE_EXHAUSTED`), used in logs and the benchmark report.
        public var name: String {
            switch self {
            case .ok: return "OK"
            case .cancelled: return "CANCELLED"
            case .unknown: return "UNKNOWN"
            case .invalidArgument: return "INVALID_ARGUMENT"
            case .deadlineExceeded: return "DEADLINE_EXCEEDED"
            case .notFound: return "NOT_FOUND"
            case .alreadyExists: return "ALREADY_EXISTS"
            case .permissionDenied: return "PERMISSION_DENIED"
            case .resourceExhausted: return "RESOURCE_EXHAUSTED"
            case .failedPrecondition: return "FAILED_PRECONDITION"
            case .aborted: return "ABORTED"
            case .outOfRange: return "OUT_OF_RANGE"
            case .unimplemented: return "UNIMPLEMENTED"
            case .internal: return "INTERNAL"
            case .unavailable: return "UNAVAILABLE"
            case .dataLoss: return "DATA_LOSS"
            case .unauthenticated: return "UNAUTHENTICATED"
            }
        }

        /// The `grpc-status` header value, precomputed so the hot path formats nothing.
        var wireString: String { Self.wireStrings[self.rawValue] }
        private static let wireStrings: [String] = Code.allCases.map { String($0.rawValue) }
    }

    public var code: Code
    /// Free text for the caller; sent percent-encoded in `grpc-message`.
    public var message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static let ok = GRPCStatus(.ok)

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}

/// What a handler throws to answer with a gRPC error status. Same value as `GRPCStatus`; the alias reads better
/// at a throw site (`throw RPCError(.notFound, "no charge with request_id r-1")`).
public typealias RPCError = GRPCStatus

/// `grpc-message` encoding (gRPC over HTTP/2 spec): UTF-8, then every byte outside printable ASCII 0x20–0x7E and
/// `%` itself becomes `%XX`. Decoding is lenient: a malformed escape is kept as-is, as the spec asks of receivers.
enum GRPCMessageEncoding {
    static func encode(_ message: String) -> String {
        var needsEncoding = false
        for byte in message.utf8 where byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
            needsEncoding = true
            break
        }
        if !needsEncoding { return message }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count * 3)
        for byte in message.utf8 {
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ encoded: String) -> String {
        guard encoded.utf8.contains(UInt8(ascii: "%")) else { return encoded }
        var out: [UInt8] = []
        out.reserveCapacity(encoded.utf8.count)
        let bytes = Array(encoded.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// `grpc-timeout`: at most 8 ASCII digits and a unit (H M S m u n) (gRPC over HTTP/2 spec).
enum GRPCTimeout {
    /// The duration a `grpc-timeout` value names, or nil when it is malformed.
    static func parse(_ value: String) -> TimeAmount? {
        let utf8 = value.utf8
        guard utf8.count >= 2, utf8.count <= 9 else { return nil }
        var amount: Int64 = 0
        var unit: UInt8 = 0
        var index = 0
        for byte in utf8 {
            index += 1
            if index == utf8.count {
                unit = byte
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
            }
        }
        switch unit {
        case UInt8(ascii: "H"): return .hours(amount)
        case UInt8(ascii: "M"): return .minutes(amount)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// The shortest exact-enough encoding of `timeout` that fits the 8-digit limit, rounding up so a caller never
    /// gets a shorter deadline than it asked for.
    static func encode(_ timeout: TimeAmount) -> String {
        let nanos = max(timeout.nanoseconds, 0)
        let units: [(Int64, Character)] = [
            (1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"),
            (3_600_000_000_000, "H"),
        ]
        for (scale, unit) in units {
            // Rounded up without `nanos + scale - 1`, which overflows near Int64.max (a capped "99999999H").
            let value = nanos / scale + (nanos % scale == 0 ? 0 : 1)
            if value < 100_000_000 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }
}
