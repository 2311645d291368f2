import CProtobufC

/// A message type whose generated binding reads and writes protoc-c's struct `CMessage` through its typed fields
/// (so the compiler checks every width); `binding` records what the binding assumes of the struct.
protocol ProtobufCBinding: WireMessage {
    associatedtype CMessage
    static var binding: BindingTable { get }
}

/// A wire enum whose generated binding converts to and from protoc-c's C enum `CEnum`.
protocol ProtobufCEnumBinding: WireEnum {
    associatedtype CEnum: RawRepresentable where CEnum.RawValue: FixedWidthInteger
}

/// A Swift enum generated from a proto enum: raw values are the proto numbers, `protoName` the proto names.
public protocol WireEnum: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == Int32 {
    /// The full proto name of the enum, e.g. `bankgw.v1.Decision`.
    static var protoTypeName: String { get }
    /// The proto name of the value, e.g. `APPROVED` (as proto3 JSON writes it).
    var protoName: String { get }
    init?(protoName: String)
}

/// Reads a message protobuf-c has unpacked. Generated bindings bind it to their protoc-c struct and copy each
/// typed field out with the helpers below (strings, enums, sub-messages, arrays need a conversion; numbers do not).
///
/// Only the codec creates readers. The C memory belongs to the decode call's arena, so every value is copied out
/// into Swift storage before the call returns.
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

    /// The unpacked message as `M`'s protoc-c struct (protobuf-c allocated it from `M.descriptor`).
    func bound<M: ProtobufCBinding>(to type: M.Type) -> UnsafePointer<M.CMessage> {
        assert(descriptor == M.descriptor, "reading \(descriptor.fullName) as \(M.protoName)")
        return message.assumingMemoryBound(to: M.CMessage.self)
    }

    func fieldPath(_ name: String) -> String {
        path.isEmpty ? name : path + "." + name
    }

    func string(_ value: UnsafePointer<CChar>?) -> String {
        guard let value else { return "" }
        return String(cString: value)
    }

    func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    func bool(_ value: protobuf_c_boolean) -> Bool {
        value != 0
    }

    func enumValue<E: ProtobufCEnumBinding>(_ value: E.CEnum, _ field: String) throws(WireError) -> E {
        let raw = Int32(truncatingIfNeeded: value.rawValue)
        guard let decoded = E(rawValue: raw) else {
            throw WireError(field: fieldPath(field), rule: .unknownEnumValue(raw))
        }
        return decoded
    }

    /// nil when the sub-message is absent on the wire.
    func message<M: ProtobufCBinding>(_ sub: UnsafePointer<M.CMessage>?, _ field: String) throws(WireError) -> M? {
        guard let sub else { return nil }
        return try M(reading: MessageReader(UnsafeRawPointer(sub), M.descriptor, path: fieldPath(field)))
    }

    /// A sub-message the proto marks `@required`: its absence is a `missing` error naming the field.
    func requiredMessage<M: ProtobufCBinding>(_ sub: UnsafePointer<M.CMessage>?, _ field: String) throws(WireError) -> M
    {
        guard let value: M = try message(sub, field) else { throw WireError(field: fieldPath(field), rule: .missing) }
        return value
    }

    func strings(_ count: Int, _ array: UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard count > 0, let array else { return [] }
        return (0..<count).map { string(array[$0]) }
    }

    func byteArrays(_ count: Int, _ array: UnsafePointer<ProtobufCBinaryData>?) -> [[UInt8]] {
        guard count > 0, let array else { return [] }
        return (0..<count).map { bytes(array[$0]) }
    }

    func scalars<T>(_ count: Int, _ array: UnsafePointer<T>?) -> [T] {
        guard count > 0, let array else { return [] }
        return Array(UnsafeBufferPointer(start: array, count: count))
    }

    func bools(_ count: Int, _ array: UnsafePointer<protobuf_c_boolean>?) -> [Bool] {
        scalars(count, array).map { $0 != 0 }
    }

    func enums<E: ProtobufCEnumBinding>(
        _ count: Int, _ array: UnsafePointer<E.CEnum>?, _ field: String
    ) throws(WireError) -> [E] {
        guard count > 0, let array else { return [] }
        var values: [E] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            let raw = Int32(truncatingIfNeeded: array[index].rawValue)
            guard let value = E(rawValue: raw) else {
                throw WireError(field: fieldPath(field), rule: .unknownEnumValue(raw))
            }
            values.append(value)
        }
        return values
    }

    func messages<M: ProtobufCBinding>(
        _ count: Int, _ array: UnsafePointer<UnsafeMutablePointer<M.CMessage>?>?, _ field: String
    ) throws(WireError) -> [M] {
        guard count > 0, let array else { return [] }
        var values: [M] = []
        values.reserveCapacity(count)
        let subPath = fieldPath(field)
        for index in 0..<count {
            guard let sub = array[index] else { continue }
            values.append(
                try M(reading: MessageReader(UnsafeRawPointer(sub), M.descriptor, path: "\(subPath)[\(index)]")))
        }
        return values
    }
}

/// Builds a protobuf-c message in an arena from Swift values, for `protobuf_c_message_pack`. Generated bindings
/// bind it to their protoc-c struct and store each typed field, through the helpers below where a value needs
/// arena memory.
///
/// Only the codec creates writers. Proto3 defaults (empty strings, zero numbers) are left unset so protobuf-c
/// omits them, as every proto3 encoder does.
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

    /// The message being built as `M`'s protoc-c struct (initialized from `M.descriptor`).
    func bound<M: ProtobufCBinding>(to type: M.Type) -> UnsafeMutablePointer<M.CMessage> {
        assert(descriptor == M.descriptor, "writing \(M.protoName) into \(descriptor.fullName)")
        return message.assumingMemoryBound(to: M.CMessage.self)
    }

    private func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        allocator.pointee.alloc(allocator.pointee.allocator_data, bytes)!
    }

    private func fieldPath(_ name: String) -> String {
        path.isEmpty ? name : path + "." + name
    }

    /// A NUL-terminated copy of `value` in the arena; nil (and `error` set) when `value` holds a NUL.
    private mutating func cString(_ value: String, field: String) -> UnsafeMutablePointer<CChar>? {
        var value = value
        return value.withUTF8 { utf8 in
            if utf8.contains(0) {
                if error == nil {
                    error = WireError(field: fieldPath(field), rule: .invalid("string contains a NUL byte"))
                }
                return nil
            }
            let copy = allocate(utf8.count + 1).assumingMemoryBound(to: UInt8.self)
            if let base = utf8.baseAddress { copy.update(from: base, count: utf8.count) }
            copy[utf8.count] = 0
            return UnsafeMutableRawPointer(copy).assumingMemoryBound(to: CChar.self)
        }
    }

    mutating func setString(_ slot: inout UnsafeMutablePointer<CChar>?, _ value: String, _ field: String) {
        guard !value.isEmpty, let copy = cString(value, field: field) else { return }
        slot = copy
    }

    /// A set oneof member's string: stored even when empty, since protobuf-c packs a oneof string whose pointer
    /// is not NULL (proto3 writes a set member whatever its value).
    mutating func setOneofString(_ slot: inout UnsafeMutablePointer<CChar>?, _ value: String, _ field: String) {
        slot = cString(value, field: field)
    }

    func setBytes(_ slot: inout ProtobufCBinaryData, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        let copy = allocate(value.count).assumingMemoryBound(to: UInt8.self)
        value.withUnsafeBufferPointer { copy.update(from: $0.baseAddress!, count: value.count) }
        slot = ProtobufCBinaryData(len: value.count, data: copy)
    }

    func cEnum<E: ProtobufCEnumBinding>(_ value: E) -> E.CEnum {
        E.CEnum(rawValue: E.CEnum.RawValue(truncatingIfNeeded: value.rawValue))!
    }

    /// The sub-message built in the arena (nil when `value` is nil, so protobuf-c omits it).
    private mutating func build<M: ProtobufCBinding>(_ value: M, path: String) -> UnsafeMutablePointer<M.CMessage> {
        var sub = MessageWriter(M.descriptor, allocator: allocator, path: path)
        value.write(to: &sub)
        if error == nil { error = sub.error }
        return sub.message.assumingMemoryBound(to: M.CMessage.self)
    }

    mutating func setMessage<M: ProtobufCBinding>(
        _ slot: inout UnsafeMutablePointer<M.CMessage>?, _ value: M?, _ field: String
    ) {
        guard let value else { return }
        slot = build(value, path: fieldPath(field))
    }

    private func array<T>(_ count: Int, of type: T.Type) -> UnsafeMutablePointer<T> {
        allocate(count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
    }

    mutating func setStrings(
        _ count: inout Int, _ slot: inout UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ values: [String],
        _ field: String
    ) {
        guard !values.isEmpty else { return }
        let storage = array(values.count, of: UnsafeMutablePointer<CChar>?.self)
        for (index, value) in values.enumerated() {
            storage[index] = cString(value, field: field) ?? cString("", field: field)
        }
        count = values.count
        slot = storage
    }

    func setScalars<T>(_ count: inout Int, _ slot: inout UnsafeMutablePointer<T>?, _ values: [T]) {
        guard !values.isEmpty else { return }
        let storage = array(values.count, of: T.self)
        storage.initialize(from: values, count: values.count)
        count = values.count
        slot = storage
    }

    func setByteArrays(
        _ count: inout Int, _ slot: inout UnsafeMutablePointer<ProtobufCBinaryData>?, _ values: [[UInt8]]
    ) {
        guard !values.isEmpty else { return }
        let storage = array(values.count, of: ProtobufCBinaryData.self)
        for (index, value) in values.enumerated() {
            var data = ProtobufCBinaryData(len: 0, data: nil)
            setBytes(&data, value)
            (storage + index).initialize(to: data)
        }
        count = values.count
        slot = storage
    }

    func setBools(_ count: inout Int, _ slot: inout UnsafeMutablePointer<protobuf_c_boolean>?, _ values: [Bool]) {
        setScalars(&count, &slot, values.map { $0 ? 1 : 0 })
    }

    func setEnums<E: ProtobufCEnumBinding>(
        _ count: inout Int, _ slot: inout UnsafeMutablePointer<E.CEnum>?, _ values: [E]
    ) {
        setScalars(&count, &slot, values.map(cEnum))
    }

    mutating func setMessages<M: ProtobufCBinding>(
        _ count: inout Int, _ slot: inout UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?, _ values: [M],
        _ field: String
    ) {
        guard !values.isEmpty else { return }
        let storage = array(values.count, of: UnsafeMutablePointer<M.CMessage>?.self)
        for (index, value) in values.enumerated() {
            storage[index] = build(value, path: "\(fieldPath(field))[\(index)]")
        }
        count = values.count
        slot = storage
    }
}
