import CProtobufC

/// Walks raw protobuf bytes against a descriptor before protobuf-c sees them, and refuses what protobuf-c would
/// accept silently or report only as "failed": wrong wire types on known fields, truncated or overlong varints
/// (tags and length prefixes longer than the 5 bytes protobuf-c reads), lengths past the end, zero field numbers,
/// groups, nesting deeper than `WireLimits.maxNestingDepth`, strings that are not UTF-8 (or hold a NUL, which protobuf-c's C strings would truncate), and undeclared enum numbers.
/// Every error names the offending field as a dotted proto path.
struct WireScanner {
    private let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func scan(_ descriptor: MessageDescriptor) throws(WireError) {
        try scan(descriptor, from: 0, to: bytes.count, depth: 1, path: "")
    }

    // Paths are autoclosures: the dotted name is built only when an error needs it, never on the happy path.
    private func scan(
        _ descriptor: MessageDescriptor, from start: Int, to end: Int, depth: Int, path: @autoclosure () -> String
    ) throws(WireError) {
        var position = start
        while position < end {
            let key = try readVarint(&position, end: end, maxBytes: 5, path: messagePath(path()))
            let number = key >> 3
            let wireType = UInt8(key & 7)
            guard number != 0 else { throw WireError(field: messagePath(path()), rule: .malformed("field number 0")) }
            guard number <= 536_870_911 else {
                throw WireError(field: messagePath(path()), rule: .malformed("field number \(number) out of range"))
            }
            guard let field = descriptor.field(UInt32(number)) else {
                try skip(wireType: wireType, &position, end: end, path: join(path(), "#\(number)"))
                continue
            }
            try scanField(field, wireType: wireType, &position, end: end, depth: depth, path: join(path(), field.name))
        }
        assert(position == end, "scanner overran its bounds")
    }

    private func scanField(
        _ field: UnsafePointer<ProtobufCFieldDescriptor>, wireType: UInt8, _ position: inout Int, end: Int,
        depth: Int, path: @autoclosure () -> String
    ) throws(WireError) {
        let type = field.pointee.type
        switch type {
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE:
            guard wireType == 2 else { throw WireError(field: path(), rule: .wrongWireType) }
            let length = try readLength(&position, end: end, path: path())
            let bodyStart = position
            position += length
            if type == PROTOBUF_C_TYPE_STRING {
                guard isValidUTF8WithoutNUL(bodyStart, bodyStart + length) else {
                    throw WireError(field: path(), rule: .invalidUTF8)
                }
            } else if type == PROTOBUF_C_TYPE_MESSAGE {
                guard depth < WireLimits.maxNestingDepth else {
                    throw WireError(field: path(), rule: .tooDeep(maxDepth: WireLimits.maxNestingDepth))
                }
                try scan(
                    field.messageDescriptor, from: bodyStart, to: bodyStart + length, depth: depth + 1, path: path())
            }
        case PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_DOUBLE:
            if wireType == 2 && field.isRepeated {
                try skipPacked(elementBytes: 8, &position, end: end, path: path())
            } else {
                guard wireType == 1 else { throw WireError(field: path(), rule: .wrongWireType) }
                try advance(&position, by: 8, end: end, path: path())
            }
        case PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FLOAT:
            if wireType == 2 && field.isRepeated {
                try skipPacked(elementBytes: 4, &position, end: end, path: path())
            } else {
                guard wireType == 5 else { throw WireError(field: path(), rule: .wrongWireType) }
                try advance(&position, by: 4, end: end, path: path())
            }
        default:
            // Varint types: int32/64, uint32/64, sint32/64, bool, enum.
            let isEnum = type == PROTOBUF_C_TYPE_ENUM
            if wireType == 2 && field.isRepeated {
                let length = try readLength(&position, end: end, path: path())
                let packedEnd = position + length
                // No message declares a repeated bool: protobuf-c would read one as a byte per element, 0 or 1.
                assert(type != PROTOBUF_C_TYPE_BOOL, "packed bools need a one-byte rule here")
                while position < packedEnd {
                    let value = try readVarint(&position, end: packedEnd, path: path())
                    if isEnum { try checkEnum(field, value, path: path()) }
                }
            } else {
                guard wireType == 0 else { throw WireError(field: path(), rule: .wrongWireType) }
                let value = try readVarint(&position, end: end, path: path())
                if isEnum { try checkEnum(field, value, path: path()) }
            }
        }
    }

    private func checkEnum(
        _ field: UnsafePointer<ProtobufCFieldDescriptor>, _ raw: UInt64, path: @autoclosure () -> String
    ) throws(WireError) {
        // An enum is an int32 on the wire (negative numbers sign-extended to 10 bytes).
        let value = Int32(truncatingIfNeeded: raw)
        guard field.enumDescriptor.declares(value) else {
            throw WireError(field: path(), rule: .unknownEnumValue(value))
        }
    }

    private func skip(
        wireType: UInt8, _ position: inout Int, end: Int, path: @autoclosure () -> String
    ) throws(WireError) {
        switch wireType {
        case 0: _ = try readVarint(&position, end: end, path: path())
        case 1: try advance(&position, by: 8, end: end, path: path())
        case 2: position += try readLength(&position, end: end, path: path())
        case 5: try advance(&position, by: 4, end: end, path: path())
        case 3, 4: throw WireError(field: path(), rule: .malformed("groups are not supported"))
        default: throw WireError(field: path(), rule: .malformed("invalid wire type \(wireType)"))
        }
    }

    private func skipPacked(
        elementBytes: Int, _ position: inout Int, end: Int, path: @autoclosure () -> String
    ) throws(WireError) {
        let length = try readLength(&position, end: end, path: path())
        guard length % elementBytes == 0 else {
            throw WireError(
                field: path(), rule: .malformed("packed length \(length) is not a multiple of \(elementBytes)"))
        }
        position += length
    }

    private func advance(
        _ position: inout Int, by count: Int, end: Int, path: @autoclosure () -> String
    ) throws(WireError) {
        guard end - position >= count else {
            throw WireError(field: path(), rule: .malformed("truncated fixed-width value"))
        }
        position += count
    }

    /// A length prefix, checked to fit inside the enclosing message.
    private func readLength(_ position: inout Int, end: Int, path: @autoclosure () -> String) throws(WireError) -> Int {
        let length = try readVarint(&position, end: end, maxBytes: 5, path: path())
        guard length <= UInt64(end - position) else {
            throw WireError(field: path(), rule: .malformed("length \(length) runs past the end of the message"))
        }
        return Int(length)
    }

    /// A base-128 varint of at most `maxBytes` bytes (10 for a value, whose 10th byte carries only the 64th bit;
    /// 5 for a tag or a length prefix, as protobuf-c reads them, even with a zero-padded overlong encoding).
    private func readVarint(
        _ position: inout Int, end: Int, maxBytes: Int = 10, path: @autoclosure () -> String
    ) throws(WireError) -> UInt64 {
        assert((1...10).contains(maxBytes), "a varint is 1 to 10 bytes")
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<maxBytes {
            guard position < end else { throw WireError(field: path(), rule: .malformed("truncated varint")) }
            let byte = bytes[position]
            position += 1
            if index == 9 && byte > 1 { throw WireError(field: path(), rule: .malformed("overlong varint")) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw WireError(field: path(), rule: .malformed("overlong varint"))
    }

    private func isValidUTF8WithoutNUL(_ start: Int, _ end: Int) -> Bool {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        // ASCII fast path: most fields (codes, ids) are ASCII.
        var allASCII = true
        for byte in slice {
            if byte == 0 { return false }
            if byte >= 0x80 { allASCII = false }
        }
        if allASCII { return true }
        var iterator = slice.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : path + "." + name
    }

    private func messagePath(_ path: String) -> String {
        path.isEmpty ? "(message)" : path
    }
}
