import CBankGatewayProtos
import GatewayRPC
import GatewayTLS
import NIOCore

/// `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection` (SPEC §2) on the TLS
/// port: `grpcurl` and `grpcui` list and describe the API without `.proto` files, and see only what the caller's
/// certificate may call: a bank sees BankGateway, Health and reflection, never Admin; an operator sees Admin,
/// Health and reflection, never BankGateway. Asking for a symbol or file outside that set is NOT_FOUND, exactly as
/// for one that does not exist.
///
/// The descriptors are the FileDescriptorSet of `Protos/` compiled into `CBankGatewayProtos` by `make protos`.
/// The reflection messages are read and written here by hand: they use `oneof`, which the binding generator does
/// not take, and they are a handful of fields.
public final class ReflectionService: Sendable {
    public static let serviceNames = [
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]
    /// Requests one reflection stream may make (a describe of the whole API takes a few dozen).
    public static let maxRequestsPerStream = 1_000

    /// Which services each kind of caller may call (and so see).
    public static func visibleServices(for peer: PeerIdentity?) -> Set<String> {
        let always = Set([HealthService.serviceName] + serviceNames)
        switch peer {
        case .bank?: return always.union([BankGatewayService.serviceName])
        case .operatorName?: return always.union([AdminService.serviceName])
        case nil: return []
        }
    }

    private let index: DescriptorIndex

    public init() {
        let bytes = [UInt8](
            UnsafeBufferPointer(start: bankgw_descriptor_set_bytes(), count: bankgw_descriptor_set_size()))
        self.index = DescriptorIndex(descriptorSet: bytes)
    }

    /// Every service the descriptor set declares (the services `visibleServices` may name).
    public var describedServices: Set<String> { Set(index.files.flatMap(\.services)) }

    public var services: RPCServices {
        var services = RPCServices()
        for name in Self.serviceNames {
            services.register(
                service: name, method: "ServerReflectionInfo",
                .bidirectionalStreaming {
                    [index] requests, responses, context in
                    let visible = Self.visibleServices(for: context.peer)
                    guard !visible.isEmpty else {
                        throw GRPCStatus(.permissionDenied, "a partner client certificate is required")
                    }
                    let files = index.visibleFiles(services: visible)
                    var answered = 0
                    for try await request in requests {
                        answered += 1
                        guard answered <= Self.maxRequestsPerStream else {
                            throw GRPCStatus(.resourceExhausted, "more than \(Self.maxRequestsPerStream) requests")
                        }
                        let answer = try Self.answer(
                            Array(buffer: request), index: index, files: files, visible: visible)
                        var buffer = context.makeResponseBuffer(capacity: answer.count)
                        buffer.writeBytes(answer)
                        try await responses.send(buffer)
                    }
                })
        }
        return services
    }

    /// The ServerReflectionResponse to one ServerReflectionRequest.
    static func answer(
        _ request: [UInt8], index: DescriptorIndex, files: Set<String>, visible: Set<String>
    ) throws(GRPCStatus) -> [UInt8] {
        var host = ""
        var question: (field: Int, value: [UInt8])?
        do {
            for field in try ProtoFields.parse(request) {
                switch (field.number, field.value) {
                case (1, .bytes(let value)): host = String(decoding: value, as: UTF8.self)
                case (3...7, .bytes(let value)): question = (field.number, value)
                default: continue  // unknown fields are skipped, as proto3 says
                }
            }
        } catch {
            throw GRPCStatus(.invalidArgument, "ServerReflectionRequest: \(error)")
        }
        var response = ProtoWriter()
        response.bytes(1, Array(host.utf8))
        response.bytes(2, request)
        guard let question else {
            response.message(7, error(.invalidArgument, "no message_request set"))
            return response.output
        }
        let text = String(decoding: question.value, as: UTF8.self)
        switch question.field {
        case 3:  // file_by_filename
            if files.contains(text) {
                response.message(4, fileDescriptors(index.withDependencies(text)))
            } else {
                response.message(7, error(.notFound, "file \(text) not found"))
            }
        case 4:  // file_containing_symbol
            if let file = index.file(declaring: text), files.contains(file), index.visible(symbol: text, visible) {
                response.message(4, fileDescriptors(index.withDependencies(file)))
            } else {
                response.message(7, error(.notFound, "symbol \(text) not found"))
            }
        case 5:  // file_containing_extension: Protos/ declares no extensions
            response.message(7, error(.notFound, "no extension found"))
        case 6:  // all_extension_numbers_of_type
            if let file = index.file(declaring: text), files.contains(file) {
                var numbers = ProtoWriter()
                numbers.bytes(1, Array(text.utf8))
                response.message(5, numbers.output)
            } else {
                response.message(7, error(.notFound, "type \(text) not found"))
            }
        default:  // 7: list_services
            var list = ProtoWriter()
            for service in visible.sorted() {
                var entry = ProtoWriter()
                entry.bytes(1, Array(service.utf8))
                list.message(1, entry.output)
            }
            response.message(6, list.output)
        }
        return response.output

        func error(_ code: GRPCStatus.Code, _ message: String) -> [UInt8] {
            var error = ProtoWriter()
            error.varint(1, UInt64(code.rawValue))
            error.bytes(2, Array(message.utf8))
            return error.output
        }
        func fileDescriptors(_ names: [String]) -> [UInt8] {
            var files = ProtoWriter()
            for name in names { files.bytes(1, index.bytes(ofFile: name)) }
            return files.output
        }
    }
}

/// The FileDescriptorSet, indexed: each file's bytes, dependencies, services and declared symbols.
struct DescriptorIndex: Sendable {
    struct File: Sendable {
        var name: String
        var bytes: [UInt8]
        var dependencies: [String]
        var services: [String]
        /// Fully qualified names declared here: messages (nested too), enums, services, methods.
        var symbols: Set<String>
    }

    let files: [File]
    private let byName: [String: Int]
    private let bySymbol: [String: Int]

    init(descriptorSet: [UInt8]) {
        // The set is generated by `make protos`: a parse failure is a build bug, not input to handle.
        var files: [File] = []
        for entry in try! ProtoFields.parse(descriptorSet) where entry.number == 1 {
            guard case .bytes(let bytes) = entry.value else { continue }
            files.append(Self.file(bytes))
        }
        self.files = files
        byName = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($1.name, $0) })
        var symbols: [String: Int] = [:]
        for (position, file) in files.enumerated() {
            for symbol in file.symbols { symbols[symbol] = position }
        }
        bySymbol = symbols
    }

    private static func file(_ bytes: [UInt8]) -> File {
        var file = File(name: "", bytes: bytes, dependencies: [], services: [], symbols: [])
        var package = ""
        var messages: [[UInt8]] = []
        var enums: [[UInt8]] = []
        var services: [[UInt8]] = []
        for field in try! ProtoFields.parse(bytes) {
            guard case .bytes(let value) = field.value else { continue }
            switch field.number {
            case 1: file.name = String(decoding: value, as: UTF8.self)
            case 2: package = String(decoding: value, as: UTF8.self)
            case 3: file.dependencies.append(String(decoding: value, as: UTF8.self))
            case 4: messages.append(value)
            case 5: enums.append(value)
            case 6: services.append(value)
            default: continue
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        func name(_ bytes: [UInt8]) -> String {
            for field in try! ProtoFields.parse(bytes) where field.number == 1 {
                if case .bytes(let value) = field.value { return String(decoding: value, as: UTF8.self) }
            }
            return ""
        }
        func addMessage(_ bytes: [UInt8], scope: String) {
            let full = scope + name(bytes)
            file.symbols.insert(full)
            for field in try! ProtoFields.parse(bytes) {
                guard case .bytes(let value) = field.value else { continue }
                if field.number == 3 { addMessage(value, scope: full + ".") }  // nested_type
                if field.number == 4 { file.symbols.insert(full + "." + name(value)) }  // enum_type
            }
        }
        for message in messages { addMessage(message, scope: prefix) }
        for enumeration in enums { file.symbols.insert(prefix + name(enumeration)) }
        for service in services {
            let full = prefix + name(service)
            file.services.append(full)
            file.symbols.insert(full)
            for field in try! ProtoFields.parse(service) where field.number == 2 {
                if case .bytes(let method) = field.value { file.symbols.insert(full + "." + name(method)) }
            }
        }
        return file
    }

    func file(declaring symbol: String) -> String? { bySymbol[symbol].map { files[$0].name } }

    func bytes(ofFile name: String) -> [UInt8] { byName[name].map { files[$0].bytes } ?? [] }

    /// A symbol is visible when its file is; a service (or its method) only when that service is visible.
    func visible(symbol: String, _ services: Set<String>) -> Bool {
        guard let position = bySymbol[symbol] else { return false }
        for service in files[position].services where symbol == service || symbol.hasPrefix(service + ".") {
            return services.contains(service)
        }
        return true
    }

    /// Files that declare a visible service, and everything they import.
    func visibleFiles(services: Set<String>) -> Set<String> {
        var visible = Set<String>()
        for file in files where !Set(file.services).isDisjoint(with: services) {
            visible.formUnion(withDependencies(file.name))
        }
        return visible
    }

    /// `name` first, then its transitive imports (each once).
    func withDependencies(_ name: String) -> [String] {
        var order: [String] = []
        var pending = [name]
        while let next = pending.first {
            pending.removeFirst()
            guard !order.contains(next), let position = byName[next] else { continue }
            order.append(next)
            pending += files[position].dependencies
        }
        return order
    }
}

/// The fields of one protobuf message, top level only (enough for reflection and descriptors).
enum ProtoFields {
    enum Value { case varint(UInt64), bytes([UInt8]), fixed }
    struct Field { var number: Int; var value: Value }
    struct Malformed: Error, CustomStringConvertible { var description: String }

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> [Field] {
        var fields: [Field] = []
        var offset = 0
        func varint() throws(Malformed) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < bytes.count, shift < 64 else { throw Malformed(description: "truncated varint") }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while offset < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            guard number > 0 else { throw Malformed(description: "field number 0") }
            switch key & 7 {
            case 0: fields.append(Field(number: number, value: .varint(try varint())))
            case 1, 5:
                let width = key & 7 == 1 ? 8 : 4
                guard offset + width <= bytes.count else { throw Malformed(description: "truncated fixed field") }
                offset += width
                fields.append(Field(number: number, value: .fixed))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count - offset) else {
                    throw Malformed(description: "length past the end of field \(number)")
                }
                fields.append(Field(number: number, value: .bytes(Array(bytes[offset..<offset + Int(length)]))))
                offset += Int(length)
            default: throw Malformed(description: "unsupported wire type \(key & 7) on field \(number)")
            }
        }
        return fields
    }
}

/// Writes protobuf fields (length-delimited and varint: all reflection responses need).
struct ProtoWriter {
    private(set) var output: [UInt8] = []

    mutating func varint(_ number: Int, _ value: UInt64) {
        raw(UInt64(number) << 3)
        raw(value)
    }

    mutating func bytes(_ number: Int, _ value: [UInt8]) {
        raw(UInt64(number) << 3 | 2)
        raw(UInt64(value.count))
        output += value
    }

    mutating func message(_ number: Int, _ encoded: [UInt8]) { bytes(number, encoded) }

    private mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }
}
