import GatewayWire

/// `make bench` compares the arena with protobuf-c's default allocator through this; it lives in the benchmark,
/// not in GatewayWire, so production code cannot decode with the malloc-per-field path.
enum WireBenchmarkHooks {
    static func decodeWithSystemMalloc<M: WireMessage>(
        _ type: M.Type, _ bytes: UnsafeRawBufferPointer
    ) throws(WireError) -> M {
        var value: M? = nil
        try decodeMessage(bytes, M.descriptor, allocation: .systemMalloc) { reader throws(WireError) in
            value = try M(reading: reader)
        }
        try value!.validate()
        return value!
    }
}
