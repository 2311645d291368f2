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
            problems.append("\(name): C struct of \(table.cStructBytes) bytes, descriptor says \(descriptor.messageBytes)")
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
                problems.append("\(path): binding type \(field.type.rawValue), descriptor \(actual.pointee.type.rawValue)")
            }
            if actual.pointee.label != field.label {
                problems.append("\(path): binding label \(field.label.rawValue), descriptor \(actual.pointee.label.rawValue)")
            }
            if field.offset != Int(actual.pointee.offset) {
                problems.append("\(path): binding offset \(field.offset.map(String.init) ?? "nil"), descriptor \(actual.pointee.offset)")
            }
            if field.label == PROTOBUF_C_LABEL_REPEATED, field.quantifierOffset != Int(actual.pointee.quantifier_offset) {
                problems.append("\(path): count offset \(field.quantifierOffset.map(String.init) ?? "nil"), "
                    + "descriptor \(actual.pointee.quantifier_offset)")
            }
            let referenced: String?
            switch actual.pointee.type {
            case PROTOBUF_C_TYPE_MESSAGE: referenced = actual.messageDescriptor.fullName
            case PROTOBUF_C_TYPE_ENUM: referenced = String(cString: actual.enumDescriptor.pointee.name)
            default: referenced = nil
            }
            if referenced != field.referencedType {
                problems.append("\(path): binding refers to \(field.referencedType ?? "nil"), descriptor \(referenced ?? "nil")")
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
    public let serverStreaming: Bool

    public init(service: String, name: String, serverStreaming: Bool) {
        self.service = service
        self.name = name
        self.serverStreaming = serverStreaming
    }

    public var requestType: Request.Type { Request.self }
    public var responseType: Response.Type { Response.self }
}

/// Every method of every service of Protos/.
public enum WireServices {
    public static var allMethods: [any WireMethodDescribing] { GeneratedBindings.methods }
}
