import GatewayRPC
import GatewayWire
import NIOCore

// The seam between the message-agnostic gRPC stage and the protobuf-c codec: request bytes become a validated
// value or a status naming what was wrong; response values are packed straight into the transport's buffer.

extension WireError {
    /// SPEC §3: bytes that are not a valid message or a malformed field → INVALID_ARGUMENT; over 64 KiB →
    /// RESOURCE_EXHAUSTED.
    var status: GRPCStatus {
        switch rule {
        case .tooLarge: return GRPCStatus(.resourceExhausted, description)
        default: return GRPCStatus(.invalidArgument, description)
        }
    }
}

enum MessageCoding {
    /// Decodes and validates one request from the bytes of a gRPC message (no copy of the bytes).
    static func decode<M: WireMessage>(_ type: M.Type, from buffer: ByteBuffer) throws(GRPCStatus) -> M {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(WireError) -> M in try M(wireBytes: bytes) }
        }
        switch result {
        case .success(let message): return message
        case .failure(let error): throw error.status
        }
    }

    /// Packs `message` into `buffer` (a response buffer with the gRPC prefix reserved in front).
    static func encode<M: WireMessage>(_ message: M, into buffer: inout ByteBuffer) throws(GRPCStatus) {
        do {
            _ = try message.withPacked { size, pack in
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { pack($0) }
            }
        } catch {
            // Our own responses always encode: a failure here is our bug, not the caller's.
            assertionFailure("could not encode \(M.protoName): \(error)")
            throw GRPCStatus(.internal, "could not encode the response")
        }
    }

    static func encode<M: WireMessage>(
        _ message: M, context: RPCCallContext, capacityHint: Int = 128
    ) throws(GRPCStatus) -> ByteBuffer {
        var buffer = context.makeResponseBuffer(capacity: capacityHint)
        try encode(message, into: &buffer)
        return buffer
    }
}
