import CProtobufC

/// A Swift value type with a protobuf-c descriptor behind it: decoded and encoded through protobuf-c only.
///
/// Decoding runs, in order: the 64 KiB cap, `WireScanner` (structure, UTF-8, enum ranges, depth), protobuf-c's
/// unpack into a per-call arena, the copy into Swift values, then `validate()` (the SPEC field rules). A decoded
/// value has passed all of them. Encoding does not validate, on purpose: clients and the conformance suite must be
/// able to send requests that break SPEC rules to see them refused.
public protocol WireMessage: Sendable, Hashable {
    /// The full proto name, e.g. `bankgw.v1.ChargeRequest`.
    static var protoName: String { get }
    /// The protobuf-c descriptor; implement as `static let descriptor = MessageDescriptor.named(protoName)`.
    static var descriptor: MessageDescriptor { get }
    /// Copies fields out of an unpacked C message.
    init(reading reader: MessageReader) throws(WireError)
    /// Sets fields on a C message being built for packing.
    func write(to writer: inout MessageWriter)
    /// SPEC field rules beyond the wire format (run after decoding). Default: none.
    func validate() throws(WireError)
}

extension WireMessage {
    public func validate() throws(WireError) {}

    /// Decodes and validates one message.
    ///
    /// Inlinable so the caller's module specializes it for `Self`: unspecialized, every call would look up generic
    /// metadata at run time, which costs more than the rest of a small decode.
    @inlinable
    public init(wireBytes bytes: UnsafeRawBufferPointer) throws(WireError) {
        var value: Self? = nil
        try decodeMessage(bytes, Self.descriptor, allocation: .arena) { reader throws(WireError) in
            value = try Self(reading: reader)
        }
        try value!.validate()
        self = value!
    }

    public init(wireBytes bytes: [UInt8]) throws(WireError) {
        // Array.withUnsafeBytes only rethrows untyped errors; carry the typed one out in a Result.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireError) -> Self in try Self(wireBytes: buffer) }
        }
        self = try result.get()
    }

    /// Packs the message with protobuf-c and hands `body` its size and a function that writes it into a buffer of
    /// at least that size (returning the bytes written), so callers pack straight into their own buffers.
    public func withPacked<R>(
        _ body: (_ packedSize: Int, _ pack: (UnsafeMutableRawBufferPointer) -> Int) throws -> R
    ) throws -> R {
        let estimate = 4096
        return try Arena.with(capacity: estimate) { allocator throws -> R in
            var writer = MessageWriter(Self.descriptor, allocator: allocator, path: "")
            write(to: &writer)
            if let error = writer.error { throw error }
            let message = writer.message.assumingMemoryBound(to: ProtobufCMessage.self)
            let size = protobuf_c_message_get_packed_size(message)
            guard size <= WireLimits.maxMessageBytes else {
                throw WireError(field: "(message)", rule: .tooLarge(bytes: size, maxBytes: WireLimits.maxMessageBytes))
            }
            return try body(size) { out in
                precondition(out.count >= size, "pack buffer smaller than the packed size")
                let written = protobuf_c_message_pack(message, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
                assert(written == size, "protobuf-c packed a different size than it measured")
                return written
            }
        }
    }

    /// The protobuf encoding of this message.
    public func wireBytes() throws(WireError) -> [UInt8] {
        do {
            return try withPacked { size, pack in
                [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
                    count = pack(UnsafeMutableRawBufferPointer(buffer))
                }
            }
        } catch let error as WireError {
            throw error
        } catch {
            preconditionFailure("unexpected error packing \(Self.protoName): \(error)")
        }
    }
}

/// Where protobuf-c puts what it unpacks. `package`: the codec benchmark (WireBench) decodes with `.systemMalloc`.
@usableFromInline
package enum DecodeAllocation {
    /// One block per call (the production path).
    case arena
    /// protobuf-c's default: malloc per string, array and sub-message, freed one by one. Benchmarks only.
    case systemMalloc
}

/// The non-generic core of every decode: size cap, scanner, protobuf-c unpack, then `read` with the unpacked
/// message (whose memory lives only for the duration of `read`).
@usableFromInline
package func decodeMessage(
    _ bytes: UnsafeRawBufferPointer, _ descriptor: MessageDescriptor, allocation: DecodeAllocation,
    _ read: (MessageReader) throws(WireError) -> Void
) throws(WireError) {
    guard bytes.count <= WireLimits.maxMessageBytes else {
        throw WireError(field: "(message)", rule: .tooLarge(bytes: bytes.count, maxBytes: WireLimits.maxMessageBytes))
    }
    try WireScanner(bytes).scan(descriptor)
    // protobuf-c wants a non-null pointer even for an empty message.
    let empty: StaticString = ""
    let input = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? empty.utf8Start
    func unpack(_ allocator: UnsafeMutablePointer<ProtobufCAllocator>?) throws(WireError) {
        guard let unpacked = protobuf_c_message_unpack(descriptor.pointer, allocator, bytes.count, input) else {
            // The scanner accepts only what protobuf-c can unpack; reaching here means they disagree.
            assertionFailure("protobuf-c refused bytes the scanner accepted")
            throw WireError(field: "(message)", rule: .malformed("protobuf-c could not unpack the message"))
        }
        defer { if allocator == nil { protobuf_c_message_free_unpacked(unpacked, nil) } }
        try read(MessageReader(UnsafeRawPointer(unpacked), descriptor, path: ""))
    }
    switch allocation {
    case .arena:
        // No free: the arena releases everything when the closure returns.
        try Arena.with(capacity: Arena.capacity(forInputBytes: bytes.count, messageBytes: descriptor.messageBytes)) {
            allocator throws(WireError) in try unpack(allocator)
        }
    case .systemMalloc:
        try unpack(nil)
    }
}
