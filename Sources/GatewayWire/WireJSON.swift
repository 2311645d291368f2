import CProtobufC
import Foundation

/// proto3 JSON for any message of Protos/, driven by the protobuf-c descriptors (for `bankgw wire`).
///
/// Decoding goes bytes → strict Swift decode (every codec and SPEC rule) → protobuf-c unpack → JSON; encoding goes
/// JSON → a protobuf-c message built in an arena → `protobuf_c_message_pack`. JSON names are lowerCamelCase
/// (proto field names are accepted too), 64-bit integers are strings, enums are names, bytes are base64, and
/// proto3 defaults are omitted, as the proto3 JSON mapping says.
public enum WireJSON {
    /// Every message type by full proto name, with the Swift type that validates it.
    public static let types: [String: any WireMessage.Type] = {
        let all = GeneratedBindings.messageTypes
        return Dictionary(uniqueKeysWithValues: all.map { ($0.protoName, $0) })
    }()

    public enum Failure: Error, CustomStringConvertible {
        case unknownType(String)
        case wire(WireError)
        case json(String)

        public var description: String {
            switch self {
            case .unknownType(let name):
                return "unknown message type \(name); known: \(WireJSON.types.keys.sorted().joined(separator: ", "))"
            case .wire(let error): return error.description
            case .json(let why): return "bad JSON: \(why)"
            }
        }
    }

    /// Binary protobuf of `typeName` → JSON text (one line).
    public static func decode(typeName: String, bytes: [UInt8]) throws(Failure) -> String {
        guard let type = types[typeName] else { throw .unknownType(typeName) }
        do {
            _ = try type.init(wireBytes: bytes)
        } catch {
            throw .wire(error)
        }
        let descriptor = type.descriptor
        let capacity = Arena.capacity(forInputBytes: bytes.count, messageBytes: descriptor.messageBytes)
        return Arena.with(capacity: capacity) { allocator -> String in
            var empty: UInt8 = 0
            let unpacked = bytes.withUnsafeBufferPointer { buffer in
                protobuf_c_message_unpack(
                    descriptor.pointer, allocator, buffer.count,
                    buffer.baseAddress ?? withUnsafePointer(to: &empty) { $0 })
            }
            guard let unpacked else { preconditionFailure("protobuf-c refused bytes the strict decoder accepted") }
            var out = ""
            writeJSON(UnsafeRawPointer(unpacked), descriptor, into: &out)
            return out
        }
    }

    /// JSON text → binary protobuf of `typeName`. The JSON must be well-typed for the message; SPEC field rules
    /// are not applied, so operators can craft requests the gateway must refuse.
    public static func encode(typeName: String, json: [UInt8]) throws(Failure) -> [UInt8] {
        guard let type = types[typeName] else { throw .unknownType(typeName) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
        } catch {
            throw .json("not valid JSON (\(error.localizedDescription))")
        }
        let descriptor = type.descriptor
        let result: Result<[UInt8], Failure> = Arena.with(capacity: 4096 + 2 * json.count) { allocator in
            do {
                let message = try build(object, descriptor, allocator, path: "")
                let typed = message.assumingMemoryBound(to: ProtobufCMessage.self)
                let size = protobuf_c_message_get_packed_size(typed)
                guard size <= WireLimits.maxMessageBytes else {
                    throw Failure.wire(
                        WireError(
                            field: "(message)", rule: .tooLarge(bytes: size, maxBytes: WireLimits.maxMessageBytes)))
                }
                let bytes = [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
                    count = protobuf_c_message_pack(typed, buffer.baseAddress!)
                }
                return .success(bytes)
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(.json("\(error)"))
            }
        }
        return try result.get()
    }

    // MARK: - C message → JSON

    static func jsonName(_ protoName: String) -> String {
        var out = ""
        var upperNext = false
        for character in protoName {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                out += character.uppercased()
                upperNext = false
            } else {
                out.append(character)
            }
        }
        return out
    }

    private static func writeJSON(_ message: UnsafeRawPointer, _ descriptor: MessageDescriptor, into out: inout String)
    {
        out += "{"
        var first = true
        for index in 0..<descriptor.fields.count {
            let field = descriptor.fields.baseAddress! + index
            let slot = message + Int(field.pointee.offset)
            var values: [String] = []
            if field.isRepeated {
                let count = message.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
                guard count > 0, let array = slot.load(as: UnsafeRawPointer?.self) else { continue }
                let stride = elementStride(field)
                for element in 0..<count {
                    values.append(scalarJSON(field, array + element * stride, omitDefault: false) ?? "null")
                }
                appendKey(field, &first, &out)
                out += "[" + values.joined(separator: ",") + "]"
            } else if field.isOneofMember {
                // proto3 JSON writes the set member of a oneof (whatever its value) and nothing for the others.
                guard oneofCase(message, field) == field.pointee.id else { continue }
                appendKey(field, &first, &out)
                out += scalarJSON(field, slot, omitDefault: false) ?? "{}"
            } else if let value = scalarJSON(field, slot, omitDefault: true) {
                appendKey(field, &first, &out)
                out += value
            }
        }
        out += "}"
    }

    /// The field number of the member set in `field`'s oneof (0: none); protoc-c's `<oneof>_case` is an int-sized
    /// C enum at the field's quantifier offset.
    private static func oneofCase(
        _ message: UnsafeRawPointer, _ field: UnsafePointer<ProtobufCFieldDescriptor>
    ) -> UInt32 {
        message.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: UInt32.self)
    }

    private static func appendKey(
        _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ first: inout Bool, _ out: inout String
    ) {
        if !first { out += "," }
        first = false
        out += quote(jsonName(field.name)) + ":"
    }

    private static func elementStride(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> Int {
        switch field.pointee.type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_UINT64,
            PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            return 8
        case PROTOBUF_C_TYPE_BYTES: return MemoryLayout<ProtobufCBinaryData>.stride
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE: return MemoryLayout<UnsafeRawPointer?>.stride
        default: return 4
        }
    }

    /// One value as JSON; nil when it is the proto3 default and `omitDefault` is set.
    private static func scalarJSON(
        _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ slot: UnsafeRawPointer, omitDefault: Bool
    ) -> String? {
        switch field.pointee.type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            let value = slot.load(as: Int64.self)
            return omitDefault && value == 0 ? nil : quote(String(value))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            let value = slot.load(as: UInt64.self)
            return omitDefault && value == 0 ? nil : quote(String(value))
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            let value = slot.load(as: Int32.self)
            return omitDefault && value == 0 ? nil : String(value)
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            let value = slot.load(as: UInt32.self)
            return omitDefault && value == 0 ? nil : String(value)
        case PROTOBUF_C_TYPE_BOOL:
            let value = slot.load(as: protobuf_c_boolean.self) != 0
            return omitDefault && !value ? nil : (value ? "true" : "false")
        case PROTOBUF_C_TYPE_ENUM:
            let value = slot.load(as: Int32.self)
            if omitDefault && value == 0 { return nil }
            return field.enumDescriptor.name(of: value).map(quote) ?? String(value)
        case PROTOBUF_C_TYPE_STRING:
            guard let cString = slot.load(as: UnsafePointer<CChar>?.self) else { return omitDefault ? nil : "\"\"" }
            let value = String(cString: cString)
            return omitDefault && value.isEmpty ? nil : quote(value)
        case PROTOBUF_C_TYPE_BYTES:
            let data = slot.load(as: ProtobufCBinaryData.self)
            if omitDefault && data.len == 0 { return nil }
            let bytes = data.len == 0 ? Data() : Data(bytes: data.data, count: data.len)
            return quote(bytes.base64EncodedString())
        case PROTOBUF_C_TYPE_MESSAGE:
            guard let sub = slot.load(as: UnsafeRawPointer?.self) else { return nil }
            var out = ""
            writeJSON(sub, field.messageDescriptor, into: &out)
            return out
        default:
            // float/double are not used by Protos/; refuse to guess their formatting.
            preconditionFailure("unsupported field type in \(field.name)")
        }
    }

    private static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: - JSON → C message

    private static func build(
        _ object: Any, _ descriptor: MessageDescriptor, _ allocator: UnsafeMutablePointer<ProtobufCAllocator>,
        path: String
    ) throws(Failure) -> UnsafeMutableRawPointer {
        guard let dictionary = object as? [String: Any] else {
            throw .json("\(path.isEmpty ? "the top level" : path) must be a JSON object")
        }
        let message = allocator.pointee.alloc(allocator.pointee.allocator_data, descriptor.messageBytes)!
        descriptor.pointer.pointee.message_init(message.assumingMemoryBound(to: ProtobufCMessage.self))
        for (key, value) in dictionary {
            guard
                let field = descriptor.fields.indices.lazy.map({ descriptor.fields.baseAddress! + $0 })
                    .first(where: { jsonName($0.name) == key || $0.name == key })
            else {
                throw .json("\(descriptor.fullName) has no field \"\(key)\"")
            }
            let fieldPath = path.isEmpty ? field.name : path + "." + field.name
            if value is NSNull { continue }
            let slot = message + Int(field.pointee.offset)
            if field.isRepeated {
                guard let array = value as? [Any] else { throw .json("\(fieldPath) must be a JSON array") }
                let stride = elementStride(field)
                let storage = allocator.pointee.alloc(allocator.pointee.allocator_data, max(1, array.count * stride))!
                for (index, element) in array.enumerated() {
                    try store(element, field, into: storage + index * stride, allocator, path: "\(fieldPath)[\(index)]")
                }
                message.storeBytes(of: array.count, toByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
                slot.storeBytes(of: storage, as: UnsafeMutableRawPointer?.self)
            } else if field.isOneofMember {
                let set = oneofCase(UnsafeRawPointer(message), field)
                if set != 0 && set != field.pointee.id {
                    let other = descriptor.field(set).map(\.name) ?? "#\(set)"
                    let otherPath = path.isEmpty ? other : path + "." + other
                    throw .json("\(fieldPath) and \(otherPath) are members of one oneof: set one")
                }
                try store(value, field, into: slot, allocator, path: fieldPath)
                let caseOffset = Int(field.pointee.quantifier_offset)
                message.storeBytes(of: field.pointee.id, toByteOffset: caseOffset, as: UInt32.self)
            } else {
                try store(value, field, into: slot, allocator, path: fieldPath)
            }
        }
        return message
    }

    private static func store(
        _ value: Any, _ field: UnsafePointer<ProtobufCFieldDescriptor>, into slot: UnsafeMutableRawPointer,
        _ allocator: UnsafeMutablePointer<ProtobufCAllocator>, path: String
    ) throws(Failure) {
        switch field.pointee.type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            slot.storeBytes(of: try integer(value, path: path, Int64.self), as: Int64.self)
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            slot.storeBytes(of: try integer(value, path: path, UInt64.self), as: UInt64.self)
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            slot.storeBytes(of: try integer(value, path: path, Int32.self), as: Int32.self)
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            slot.storeBytes(of: try integer(value, path: path, UInt32.self), as: UInt32.self)
        case PROTOBUF_C_TYPE_BOOL:
            guard let number = value as? NSNumber, isJSONBoolean(number) else {
                throw .json("\(path) must be true or false")
            }
            slot.storeBytes(of: number.boolValue ? 1 : 0, as: protobuf_c_boolean.self)
        case PROTOBUF_C_TYPE_ENUM:
            let enumDescriptor = field.enumDescriptor
            if let name = value as? String {
                guard let number = enumDescriptor.value(named: name) else {
                    throw .json(
                        "\(path): \"\(name)\" is not a value of \(String(cString: enumDescriptor.pointee.name))")
                }
                slot.storeBytes(of: number, as: Int32.self)
            } else {
                let number = try integer(value, path: path, Int32.self)
                guard enumDescriptor.declares(number) else {
                    throw .wire(WireError(field: path, rule: .unknownEnumValue(number)))
                }
                slot.storeBytes(of: number, as: Int32.self)
            }
        case PROTOBUF_C_TYPE_STRING:
            guard let string = value as? String else { throw .json("\(path) must be a string") }
            var utf8 = Array(string.utf8)
            guard !utf8.contains(0) else {
                throw .wire(WireError(field: path, rule: .invalid("string contains a NUL byte")))
            }
            utf8.append(0)
            let copy = allocator.pointee.alloc(allocator.pointee.allocator_data, utf8.count)!
            copy.copyMemory(from: utf8, byteCount: utf8.count)
            slot.storeBytes(of: copy, as: UnsafeMutableRawPointer?.self)
        case PROTOBUF_C_TYPE_BYTES:
            guard let string = value as? String, let data = Data(base64Encoded: string) else {
                throw .json("\(path) must be a base64 string")
            }
            let copy = allocator.pointee.alloc(allocator.pointee.allocator_data, max(1, data.count))!
            data.copyBytes(to: copy.assumingMemoryBound(to: UInt8.self), count: data.count)
            slot.storeBytes(
                of: ProtobufCBinaryData(len: data.count, data: copy.assumingMemoryBound(to: UInt8.self)),
                as: ProtobufCBinaryData.self
            )
        case PROTOBUF_C_TYPE_MESSAGE:
            let sub = try build(value, field.messageDescriptor, allocator, path: path)
            slot.storeBytes(of: sub, as: UnsafeMutableRawPointer?.self)
        default:
            throw .json("\(path): unsupported field type")
        }
    }

    /// JSONSerialization hands `true`/`false` over as NSNumbers of the boolean class, numbers as plain NSNumbers.
    private static func isJSONBoolean(_ number: NSNumber) -> Bool {
        type(of: number) == type(of: NSNumber(value: true))
    }

    /// proto3 JSON accepts integers as numbers or as decimal strings.
    private static func integer<T: FixedWidthInteger>(_ value: Any, path: String, _ type: T.Type) throws(Failure) -> T {
        if let string = value as? String {
            guard let parsed = T(string) else { throw .json("\(path) must be an integer in range, got \"\(string)\"") }
            return parsed
        }
        if let number = value as? NSNumber, !isJSONBoolean(number) {
            let double = number.doubleValue
            guard double.rounded() == double, let exact = T(exactly: number.int64Value),
                Double(exact) == double || T.bitWidth == 64
            else {
                throw .json("\(path) must be an integer in range, got \(number)")
            }
            return exact
        }
        throw .json("\(path) must be an integer")
    }
}
