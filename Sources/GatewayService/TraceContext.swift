import GatewayCrypto

/// A request's W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/): the trace id the gateway
/// keeps in its log lines and in the audit entries of the request (SPEC §10).
///
/// A malformed `traceparent` is ignored and the gateway starts a new trace, as the W3C recommendation says for
/// receivers: a bank's tracing bug must never turn a payment into an error. The ignored header is counted
/// (`bankgw_traceparent_ignored_total`) and logged at debug level, never echoed into logs verbatim.
public struct TraceContext: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    public let traceID: String
    /// The caller's span (16 hex digits), nil when the gateway started the trace.
    public let parentID: String?

    /// Parses `header`: `VERSION-TRACEID-PARENTID-FLAGS`, lowercase hex, version not `ff`, ids not all zero. Version
    /// `00` is exactly 55 characters; a later version may append `-…` fields, which are ignored (the spec's
    /// forward compatibility rule). nil for anything else.
    public init?(traceparent header: String) {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes.count <= 512 else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        func allZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == 0x30 } }
        guard isHex(0..<2), bytes[2] == 0x2D, isHex(3..<35), bytes[35] == 0x2D, isHex(36..<52), bytes[52] == 0x2D,
            isHex(53..<55)
        else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard version != "ff", !allZero(3..<35), !allZero(36..<52) else { return nil }
        if version == "00" {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == 0x2D else { return nil }
        }
        traceID = String(decoding: bytes[3..<35], as: UTF8.self)
        parentID = String(decoding: bytes[36..<52], as: UTF8.self)
    }

    /// A new trace started by the gateway (random 128-bit id; all zeros is invalid, so drawn again).
    public static func generated() -> TraceContext {
        var id = ""
        repeat {
            id = SecureRandom.hex(byteCount: 16)
        } while id.utf8.allSatisfy { $0 == UInt8(ascii: "0") }
        return TraceContext(traceID: id, parentID: nil)
    }

    /// The request's context: the caller's when its `traceparent` is valid, else a new one (`ignored` says whether
    /// a header was present and refused).
    public static func forRequest(traceparent: String?) -> (context: TraceContext, ignored: Bool) {
        guard let traceparent else { return (generated(), false) }
        if let parsed = TraceContext(traceparent: traceparent) { return (parsed, false) }
        return (generated(), true)
    }

    private init(traceID: String, parentID: String?) {
        self.traceID = traceID
        self.parentID = parentID
    }
}
