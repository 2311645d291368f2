import CProtobufC

/// Reads fields of a message protobuf-c has unpacked, by field number, through the descriptor's offsets.
///
/// Only the codec creates readers; message types use them in `init(reading:)`. The C memory belongs to the
/// decode call's arena, so every value is copied out into Swift storage before the call returns.
public struct MessageReader {
    let message: UnsafeRawPointer
    let descriptor: MessageDescriptor
    /// Dotted proto path of this message, for error messages ("" at the top).
    let path: String

    init(_ message: UnsafeRawPointer, _ descriptor: MessageDescriptor, path: String) {
        self.message = message
        self.descriptor = descriptor
        self.path = path
    }

    private func field(_ number: UInt32) -> UnsafePointer<ProtobufCFieldDescriptor> {
        guard let field = descriptor.field(number) else {
            preconditionFailure("\(descriptor.fullName) declares no field \(number)")
        }
        return field
    }

    private func slot(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> UnsafeRawPointer {
        message + Int(field.pointee.offset)
    }

    private func count(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> Int {
        assert(field.isRepeated)
        return message.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
    }

    func fieldPath(_ number: UInt32) -> String {
        let name = field(number).name
        return path.isEmpty ? name : path + "." + name
    }

    public func string(_ number: UInt32) -> String {
        guard let cString = slot(field(number)).load(as: UnsafePointer<CChar>?.self) else { return "" }
        return String(cString: cString)
    }

    public func bytes(_ number: UInt32) -> [UInt8] {
        let data = slot(field(number)).load(as: ProtobufCBinaryData.self)
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    public func int64(_ number: UInt32) -> Int64 {
        slot(field(number)).load(as: Int64.self)
    }

    public func int32(_ number: UInt32) -> Int32 {
        slot(field(number)).load(as: Int32.self)
    }

    public func uint64(_ number: UInt32) -> UInt64 {
        slot(field(number)).load(as: UInt64.self)
    }

    public func bool(_ number: UInt32) -> Bool {
        slot(field(number)).load(as: protobuf_c_boolean.self) != 0
    }

    public func enumValue<E: RawRepresentable>(_ number: UInt32, as type: E.Type = E.self) throws(WireError) -> E
    where E.RawValue == Int32 {
        let raw = slot(field(number)).load(as: Int32.self)
        guard let value = E(rawValue: raw) else { throw WireError(field: fieldPath(number), rule: .unknownEnumValue(raw)) }
        return value
    }

    /// nil when the sub-message is absent on the wire.
    public func message<M: WireMessage>(_ number: UInt32, as type: M.Type = M.self) throws(WireError) -> M? {
        let field = field(number)
        guard let sub = slot(field).load(as: UnsafeRawPointer?.self) else { return nil }
        return try M(reading: MessageReader(sub, field.messageDescriptor, path: fieldPath(number)))
    }

    public func repeatedStrings(_ number: UInt32) -> [String] {
        let field = field(number)
        let n = count(field)
        guard n > 0, let array = slot(field).load(as: UnsafePointer<UnsafePointer<CChar>?>?.self) else { return [] }
        return (0..<n).map { array[$0].map { String(cString: $0) } ?? "" }
    }

    public func repeatedEnums<E: RawRepresentable>(_ number: UInt32, as type: E.Type = E.self) throws(WireError) -> [E]
    where E.RawValue == Int32 {
        let field = field(number)
        let n = count(field)
        guard n > 0, let array = slot(field).load(as: UnsafePointer<Int32>?.self) else { return [] }
        var values: [E] = []
        values.reserveCapacity(n)
        for index in 0..<n {
            guard let value = E(rawValue: array[index]) else {
                throw WireError(field: fieldPath(number), rule: .unknownEnumValue(array[index]))
            }
            values.append(value)
        }
        return values
    }

    public func repeatedMessages<M: WireMessage>(_ number: UInt32, as type: M.Type = M.self) throws(WireError) -> [M] {
        let field = field(number)
        let n = count(field)
        guard n > 0, let array = slot(field).load(as: UnsafePointer<UnsafeRawPointer?>?.self) else { return [] }
        var values: [M] = []
        values.reserveCapacity(n)
        let subPath = fieldPath(number)
        for index in 0..<n {
            guard let sub = array[index] else { continue }
            values.append(try M(reading: MessageReader(sub, field.messageDescriptor, path: "\(subPath)[\(index)]")))
        }
        return values
    }
}

/// Builds a protobuf-c message in an arena from Swift values, for `protobuf_c_message_pack`.
///
/// Only the codec creates writers; message types use them in `write(to:)`. Proto3 defaults (empty strings, zero
/// numbers) are left unset so protobuf-c omits them, as every proto3 encoder does.
public struct MessageWriter {
    let message: UnsafeMutableRawPointer
    let descriptor: MessageDescriptor
    let allocator: UnsafeMutablePointer<ProtobufCAllocator>
    let path: String
    /// The first problem met (a string with a NUL); reported by the codec after `write(to:)` returns.
    var error: WireError?

    init(_ descriptor: MessageDescriptor, allocator: UnsafeMutablePointer<ProtobufCAllocator>, path: String) {
        self.descriptor = descriptor
        self.allocator = allocator
        self.path = path
        let raw = allocator.pointee.alloc(allocator.pointee.allocator_data, descriptor.messageBytes)!
        descriptor.pointer.pointee.message_init(raw.assumingMemoryBound(to: ProtobufCMessage.self))
        self.message = raw
    }

    private func field(_ number: UInt32) -> UnsafePointer<ProtobufCFieldDescriptor> {
        guard let field = descriptor.field(number) else {
            preconditionFailure("\(descriptor.fullName) declares no field \(number)")
        }
        return field
    }

    private func slot(_ field: UnsafePointer<ProtobufCFieldDescriptor>) -> UnsafeMutableRawPointer {
        message + Int(field.pointee.offset)
    }

    private func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        allocator.pointee.alloc(allocator.pointee.allocator_data, bytes)!
    }

    private func fieldPath(_ number: UInt32) -> String {
        let name = field(number).name
        return path.isEmpty ? name : path + "." + name
    }

    /// A NUL-terminated copy of `value` in the arena; nil (and `error` set) when `value` holds a NUL.
    private mutating func cString(_ value: String, number: UInt32) -> UnsafeMutablePointer<CChar>? {
        var value = value
        return value.withUTF8 { utf8 in
            if utf8.contains(0) {
                if error == nil { error = WireError(field: fieldPath(number), rule: .invalid("string contains a NUL byte")) }
                return nil
            }
            let copy = allocate(utf8.count + 1).assumingMemoryBound(to: UInt8.self)
            if let base = utf8.baseAddress { copy.update(from: base, count: utf8.count) }
            copy[utf8.count] = 0
            return UnsafeMutableRawPointer(copy).assumingMemoryBound(to: CChar.self)
        }
    }

    public mutating func set(_ number: UInt32, _ value: String) {
        guard !value.isEmpty, let copy = cString(value, number: number) else { return }
        slot(field(number)).storeBytes(of: copy, as: UnsafeMutablePointer<CChar>?.self)
    }

    public mutating func set(_ number: UInt32, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        let copy = allocate(value.count).assumingMemoryBound(to: UInt8.self)
        value.withUnsafeBufferPointer { copy.update(from: $0.baseAddress!, count: value.count) }
        slot(field(number)).storeBytes(of: ProtobufCBinaryData(len: value.count, data: copy), as: ProtobufCBinaryData.self)
    }

    public mutating func set(_ number: UInt32, _ value: Int64) {
        slot(field(number)).storeBytes(of: value, as: Int64.self)
    }

    public mutating func set(_ number: UInt32, _ value: Int32) {
        slot(field(number)).storeBytes(of: value, as: Int32.self)
    }

    public mutating func set(_ number: UInt32, _ value: UInt64) {
        slot(field(number)).storeBytes(of: value, as: UInt64.self)
    }

    public mutating func set(_ number: UInt32, _ value: Bool) {
        slot(field(number)).storeBytes(of: value ? 1 : 0, as: protobuf_c_boolean.self)
    }

    public mutating func set<E: RawRepresentable>(_ number: UInt32, _ value: E) where E.RawValue == Int32 {
        slot(field(number)).storeBytes(of: value.rawValue, as: Int32.self)
    }

    public mutating func set<M: WireMessage>(_ number: UInt32, _ value: M?) {
        guard let value else { return }
        let field = field(number)
        var sub = MessageWriter(field.messageDescriptor, allocator: allocator, path: fieldPath(number))
        value.write(to: &sub)
        if error == nil { error = sub.error }
        slot(field).storeBytes(of: sub.message, as: UnsafeMutableRawPointer?.self)
    }

    public mutating func set(_ number: UInt32, _ values: [String]) {
        guard !values.isEmpty else { return }
        let field = field(number)
        let array = allocate(values.count * MemoryLayout<UnsafeMutablePointer<CChar>?>.stride)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: values.count)
        for (index, value) in values.enumerated() {
            array[index] = cString(value, number: number) ?? cString("", number: number)
        }
        setRepeated(field, count: values.count, array: UnsafeMutableRawPointer(array))
    }

    public mutating func set<E: RawRepresentable>(_ number: UInt32, _ values: [E]) where E.RawValue == Int32 {
        guard !values.isEmpty else { return }
        let field = field(number)
        let array = allocate(values.count * 4).bindMemory(to: Int32.self, capacity: values.count)
        for (index, value) in values.enumerated() { array[index] = value.rawValue }
        setRepeated(field, count: values.count, array: UnsafeMutableRawPointer(array))
    }

    public mutating func set<M: WireMessage>(_ number: UInt32, _ values: [M]) {
        guard !values.isEmpty else { return }
        let field = field(number)
        let array = allocate(values.count * MemoryLayout<UnsafeMutableRawPointer?>.stride)
            .bindMemory(to: UnsafeMutableRawPointer?.self, capacity: values.count)
        for (index, value) in values.enumerated() {
            var sub = MessageWriter(field.messageDescriptor, allocator: allocator, path: "\(fieldPath(number))[\(index)]")
            value.write(to: &sub)
            if error == nil { error = sub.error }
            array[index] = sub.message
        }
        setRepeated(field, count: values.count, array: UnsafeMutableRawPointer(array))
    }

    private func setRepeated(_ field: UnsafePointer<ProtobufCFieldDescriptor>, count: Int, array: UnsafeMutableRawPointer) {
        message.storeBytes(of: count, toByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
        slot(field).storeBytes(of: array, as: UnsafeMutableRawPointer?.self)
    }
}
