import CProtobufC
import Glibc

/// A bump allocator handed to protobuf-c as its `ProtobufCAllocator` for the life of one decode or encode.
///
/// Why: protobuf-c's default allocator mallocs every string, array and sub-message and frees them one by one.
/// One block per message (a temporary allocation, on the stack when small) serves them all, and is released
/// at once when the call returns. `free` is a no-op. If a message needs more than the block, further chunks are
/// malloc'd and chained so nothing is ever refused; they are freed with the block.
struct Arena {
    /// Header kept at the start of the caller's block; `allocator_data` points at it.
    fileprivate struct State {
        var cursor: UnsafeMutableRawPointer
        var end: UnsafeMutableRawPointer
        /// Singly linked list of overflow chunks (each chunk's first word is the next pointer).
        var overflow: UnsafeMutableRawPointer?
    }

    /// Bytes of block to reserve for decoding `inputBytes` of a message whose C struct is `messageBytes`.
    /// Strings and bytes cost at most their length + 1; sub-messages and arrays a few words each.
    static func capacity(forInputBytes inputBytes: Int, messageBytes: Int) -> Int {
        return messageBytes + 2 * inputBytes + 512
    }

    /// Runs `body` with an allocator backed by a block of `capacity` bytes; everything allocated through it is
    /// released when `body` returns.
    static func with<R, E: Error>(
        capacity: Int,
        _ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws(E) -> R
    ) throws(E) -> R {
        precondition(capacity > 0 && capacity <= 16 * WireLimits.maxMessageBytes + 4096, "arena capacity out of range")
        let headerBytes = (MemoryLayout<State>.size + 15) & ~15
        let allocatorBytes = (MemoryLayout<ProtobufCAllocator>.size + 15) & ~15
        let result: Result<R, E> = withUnsafeTemporaryAllocation(
            byteCount: headerBytes + allocatorBytes + capacity, alignment: 16
        ) { block in
            let base = block.baseAddress!
            let state = base.bindMemory(to: State.self, capacity: 1)
            state.initialize(
                to: State(
                    cursor: base + headerBytes + allocatorBytes,
                    end: base + block.count,
                    overflow: nil
                ))
            let allocator = (base + headerBytes).bindMemory(to: ProtobufCAllocator.self, capacity: 1)
            allocator.initialize(to: ProtobufCAllocator(alloc: arenaAlloc, free: arenaFree, allocator_data: base))
            defer {
                var chunk = state.pointee.overflow
                while let current = chunk {
                    chunk = current.load(as: UnsafeMutableRawPointer?.self)
                    free(current)
                }
            }
            do throws(E) { return .success(try body(allocator)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// 16-byte alignment suits every C type protobuf-c places in the arena.
private func arenaAlloc(_ data: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    let state = data!.assumingMemoryBound(to: Arena.State.self)
    let rounded = (max(size, 1) + 15) & ~15
    if state.pointee.end - state.pointee.cursor >= rounded {
        let pointer = state.pointee.cursor
        state.pointee.cursor += rounded
        return pointer
    }
    // Overflow: a chunk of its own, chained for release. Rare: the block is sized for the input.
    guard let chunk = malloc(16 + rounded) else { return nil }
    chunk.storeBytes(of: state.pointee.overflow, as: UnsafeMutableRawPointer?.self)
    state.pointee.overflow = chunk
    return chunk + 16
}

private func arenaFree(_ data: UnsafeMutableRawPointer?, _ pointer: UnsafeMutableRawPointer?) {
    // Deliberately nothing: the whole arena is released at once when the call returns.
}
