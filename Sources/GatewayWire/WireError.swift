/// Why bytes could not be decoded into a message, or a message broke a SPEC field rule.
///
/// Every failure names the field (a dotted path such as `header.request_id`, or `(message)` for the whole
/// input) and the rule it broke. The gRPC layer maps every `WireError` to INVALID_ARGUMENT, except
/// `.tooLarge`, which is RESOURCE_EXHAUSTED.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Rule: Sendable, Hashable {
        /// The input is larger than `WireLimits.maxMessageBytes`.
        case tooLarge(bytes: Int, maxBytes: Int)
        /// Wire-format damage: truncated or overlong varint, length past the end, zero tag, bad wire type.
        case malformed(String)
        /// A known field arrived with a wire type its declared type cannot have.
        case wrongWireType
        /// Nested messages deeper than `WireLimits.maxNestingDepth`.
        case tooDeep(maxDepth: Int)
        /// A string field is not valid UTF-8 (or holds a NUL, which protobuf-c's C strings cannot carry).
        case invalidUTF8
        /// An enum field holds a number the enum does not define.
        case unknownEnumValue(Int32)
        /// A field the SPEC requires is absent or empty.
        case missing
        /// A field is present but breaks its SPEC syntax rule (the string says which).
        case invalid(String)
    }

    public var field: String
    public var rule: Rule

    public init(field: String, rule: Rule) {
        self.field = field
        self.rule = rule
    }

    public var description: String {
        switch rule {
        case .tooLarge(let bytes, let maxBytes):
            return "message of \(bytes) bytes exceeds the limit of \(maxBytes) bytes"
        case .malformed(let why): return "\(field): not a valid protobuf message: \(why)"
        case .wrongWireType: return "\(field): wrong wire type for the field's declared type"
        case .tooDeep(let maxDepth): return "\(field): messages nested deeper than \(maxDepth) levels"
        case .invalidUTF8: return "\(field): string is not valid UTF-8"
        case .unknownEnumValue(let value): return "\(field): \(value) is not a defined enum value"
        case .missing: return "\(field): required field is missing or empty"
        case .invalid(let why): return "\(field): \(why)"
        }
    }
}
