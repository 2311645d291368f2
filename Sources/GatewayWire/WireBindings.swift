import CBankGatewayProtos
import CProtobufC

/// What a generated binding assumes of its protoc-c struct: the size, and per field the number, name, protoc-c
/// type, label, struct offsets and referenced message or enum. The compiler checks each field's width where the
/// binding reads or writes it; this table lets a test check the rest against the descriptors protoc-c generated.
struct BindingTable: Sendable {
    struct Field: Sendable {
        var number: UInt32
        var name: String
        var type: ProtobufCType
        var label: ProtobufCLabel
        var offset: Int?
        /// Offset of the `n_` count of a repeated field.
        var quantifierOffset: Int?
        /// Full proto name of the sub-message or enum type.
        var referencedType: String?
        /// A member of a `oneof` (in the C struct's union; `quantifierOffset` is that of the `<oneof>_case` field).
        var isOneofMember = false
    }

    /// Where a union member of `C` lives: Swift imports the members of protoc-c's anonymous oneof unions as
    /// computed properties (no `MemoryLayout.offset(of:)`), so a pattern is written through the member into a
    /// zeroed struct and found again. nil when the write does not land as one run of the member's size.
    static func unionMemberOffset<C, V>(_ member: WritableKeyPath<C, V>) -> Int? {
        let bytes = MemoryLayout<C>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: MemoryLayout<C>.alignment)
        defer { raw.deallocate() }
        let pattern = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<V>.size, alignment: MemoryLayout<V>.alignment)
        defer { pattern.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pattern.initializeMemory(as: UInt8.self, repeating: 0xA5, count: MemoryLayout<V>.size)
        // C and V are trivial protoc-c types (structs of scalars and pointers), so any bit pattern is a value.
        let message = raw.bindMemory(to: C.self, capacity: 1)
        message.pointee[keyPath: member] = pattern.load(as: V.self)
        let written = UnsafeRawBufferPointer(start: raw, count: bytes)
        guard let first = written.firstIndex(where: { $0 != 0 }),
            let last = written.lastIndex(where: { $0 != 0 }),
            last - first + 1 == MemoryLayout<V>.size
        else { return nil }
        return first
    }

    var protoName: String
    var cStructBytes: Int
    var fields: [Field]
}

/// The generated bindings, checked against the protoc-c descriptors.
public enum WireBindings {
    /// Every problem found comparing every generated binding with its protoc-c descriptor (empty: all agree).
    public static func mismatches() -> [String] {
        GeneratedBindings.tables.flatMap(mismatches)
    }

    /// Every way `table` disagrees with the descriptor of `table.protoName`.
    static func mismatches(_ table: BindingTable) -> [String] {
        guard let descriptor = MessageDescriptor.all[table.protoName] else {
            return ["\(table.protoName): no protoc-c descriptor (run `make protos`)"]
        }
        var problems: [String] = []
        let name = table.protoName
        if descriptor.messageBytes != table.cStructBytes {
            problems.append(
                "\(name): C struct of \(table.cStructBytes) bytes, descriptor says \(descriptor.messageBytes)")
        }
        if descriptor.fields.count != table.fields.count {
            problems.append("\(name): binding has \(table.fields.count) fields, descriptor \(descriptor.fields.count)")
        }
        for field in table.fields {
            guard let actual = descriptor.field(field.number) else {
                problems.append("\(name).\(field.name): descriptor has no field \(field.number)")
                continue
            }
            let path = "\(name).\(field.name) (#\(field.number))"
            if actual.name != field.name { problems.append("\(path): descriptor names it \(actual.name)") }
            if actual.pointee.type != field.type {
                problems.append(
                    "\(path): binding type \(field.type.rawValue), descriptor \(actual.pointee.type.rawValue)")
            }
            if actual.pointee.label != field.label {
                problems.append(
                    "\(path): binding label \(field.label.rawValue), descriptor \(actual.pointee.label.rawValue)")
            }
            if field.offset != Int(actual.pointee.offset) {
                problems.append(
                    "\(path): binding offset \(field.offset.map(String.init) ?? "nil"), descriptor \(actual.pointee.offset)"
                )
            }
            if field.label == PROTOBUF_C_LABEL_REPEATED, field.quantifierOffset != Int(actual.pointee.quantifier_offset)
            {
                problems.append(
                    "\(path): count offset \(field.quantifierOffset.map(String.init) ?? "nil"), "
                        + "descriptor \(actual.pointee.quantifier_offset)")
            }
            let isOneofMember = actual.pointee.flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0
            if isOneofMember != field.isOneofMember {
                problems.append(
                    "\(path): binding \(field.isOneofMember ? "is" : "is not") a oneof member, "
                        + "descriptor \(isOneofMember ? "is" : "is not")")
            } else if isOneofMember, field.quantifierOffset != Int(actual.pointee.quantifier_offset) {
                problems.append(
                    "\(path): oneof case offset \(field.quantifierOffset.map(String.init) ?? "nil"), "
                        + "descriptor \(actual.pointee.quantifier_offset)")
            }
            let referenced: String?
            switch actual.pointee.type {
            case PROTOBUF_C_TYPE_MESSAGE: referenced = actual.messageDescriptor.fullName
            case PROTOBUF_C_TYPE_ENUM: referenced = String(cString: actual.enumDescriptor.pointee.name)
            default: referenced = nil
            }
            if referenced != field.referencedType {
                problems.append(
                    "\(path): binding refers to \(field.referencedType ?? "nil"), descriptor \(referenced ?? "nil")")
            }
        }
        return problems
    }
}

/// A method of a service, without its types (for tables of every method).
public protocol WireMethodDescribing: Sendable {
    /// Full service name, e.g. `bankgw.v1.BankGateway`.
    var service: String { get }
    /// Method name, e.g. `Charge`.
    var name: String { get }
    /// Whether the client sends a stream of requests.
    var clientStreaming: Bool { get }
    /// Whether the server answers with a stream of responses.
    var serverStreaming: Bool { get }
}

extension WireMethodDescribing {
    /// The HTTP/2 `:path` of the method, e.g. `/bankgw.v1.BankGateway/Charge`.
    public var path: String { "/\(service)/\(name)" }
}

/// A gRPC method of Protos/ with its request and response types (generated: `BankGatewayMethods.charge`, ...).
public struct WireMethod<Request: WireMessage, Response: WireMessage>: WireMethodDescribing {
    public let service: String
    public let name: String
    public let clientStreaming: Bool
    public let serverStreaming: Bool

    public init(service: String, name: String, clientStreaming: Bool = false, serverStreaming: Bool) {
        self.service = service
        self.name = name
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
    }

    public var requestType: Request.Type { Request.self }
    public var responseType: Response.Type { Response.self }
}

/// Every method of every service of Protos/.
public enum WireServices {
    public static var allMethods: [any WireMethodDescribing] { GeneratedBindings.methods }
}
