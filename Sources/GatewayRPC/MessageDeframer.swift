import NIOCore

/// Reassembles gRPC length-prefixed messages (1-byte compressed flag, 4-byte big-endian length, body) from DATA
/// frames that may split them anywhere, including inside the 5-byte prefix.
///
/// A message longer than `maxMessageBytes` is refused as soon as its prefix is read, before any of its body is
/// buffered, so an oversized message costs us 5 bytes, not 64 KiB+. When a message lies within one DATA frame
/// (the usual case) it is handed on as a slice of that frame's buffer: no copy.
struct GRPCMessageDeframer {
    /// Why a stream of bytes is not a valid sequence of gRPC messages; the caller turns it into a status.
    enum Failure: Error, Equatable {
        /// The compressed flag was set but no `grpc-encoding` was negotiated (we only accept identity).
        case compressedWithoutEncoding
        /// The prefix announced `length` bytes, more than `maxMessageBytes`.
        case messageTooLarge(length: Int)
        /// The flag byte was neither 0 nor 1.
        case invalidFlag(UInt8)
    }

    /// The largest message body accepted, in bytes (SPEC §1: 64 KiB on the server).
    let maxMessageBytes: Int
    private var buffered: ByteBuffer?

    init(maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0 && maxMessageBytes <= Int(UInt32.max), "maxMessageBytes out of range")
        self.maxMessageBytes = maxMessageBytes
    }

    /// Bytes received but not yet handed out as a message.
    var bufferedBytes: Int { buffered?.readableBytes ?? 0 }

    mutating func append(_ bytes: ByteBuffer) {
        if self.buffered == nil || self.buffered!.readableBytes == 0 {
            self.buffered = bytes
        } else {
            self.buffered!.writeImmutableBuffer(bytes)
        }
    }

    /// The next complete message, nil when more bytes are needed.
    mutating func nextMessage() throws(Failure) -> ByteBuffer? {
        guard var buffer = self.buffered, buffer.readableBytes >= 5 else { return nil }
        let start = buffer.readerIndex
        let flag = buffer.getInteger(at: start, as: UInt8.self)!
        let length = Int(buffer.getInteger(at: start + 1, as: UInt32.self)!)
        switch flag {
        case 0: break
        case 1: throw .compressedWithoutEncoding
        default: throw .invalidFlag(flag)
        }
        guard length <= self.maxMessageBytes else { throw .messageTooLarge(length: length) }
        guard buffer.readableBytes >= 5 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let message = buffer.readSlice(length: length)!
        self.buffered = buffer.readableBytes == 0 ? nil : buffer
        return message
    }
}

/// Writes the 5-byte prefix in front of a response message.
enum GRPCMessageFramer {
    /// The prefix length; response buffers reserve it in front of the message so framing copies nothing.
    static let prefixBytes = 5

    /// A buffer whose readable part is empty and which has room for the prefix in front of it: the handler writes
    /// its message, `frame` then fills the prefix in place.
    static func makeResponseBuffer(allocator: ByteBufferAllocator, capacity: Int) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + prefixBytes)
        buffer.moveWriterIndex(forwardBy: prefixBytes)
        buffer.moveReaderIndex(forwardBy: prefixBytes)
        return buffer
    }

    /// `message` with its prefix. In place when the bytes before its reader index are free (a buffer from
    /// `makeResponseBuffer`, or any buffer already read past 5 bytes) and `message` is its buffer's only reference
    /// (pass it with `consume`: another reference makes writing the prefix copy the whole buffer first); otherwise
    /// one copy into a new buffer.
    static func frame(_ message: consuming ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = message.readableBytes
        precondition(length <= Int(UInt32.max), "a gRPC message is at most 4 GiB")
        if message.readerIndex >= prefixBytes {
            let start = message.readerIndex - prefixBytes
            message.setInteger(UInt8(0), at: start)
            message.setInteger(UInt32(length), at: start + 1)
            message.moveReaderIndex(to: start)
            return message
        }
        var framed = allocator.buffer(capacity: length + prefixBytes)
        framed.writeInteger(UInt8(0))
        framed.writeInteger(UInt32(length))
        framed.writeImmutableBuffer(message)
        return framed
    }
}
