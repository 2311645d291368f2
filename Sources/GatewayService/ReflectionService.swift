import CBankGatewayProtos
import GatewayRPC
import GatewayTLS
import GatewayWire
import NIOCore

/// `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection` (SPEC §2) on the TLS
/// port: `grpcurl` and `grpcui` list and describe the API without `.proto` files, and see only what the caller's
/// certificate may call: a bank sees BankGateway, Health and reflection, never Admin; an operator sees Admin,
/// Health and reflection, never BankGateway. Asking for a symbol or file outside that set is NOT_FOUND, exactly as
/// for one that does not exist.
///
/// The descriptors are the FileDescriptorSet of `Protos/` compiled into `CBankGatewayProtos` by `make protos`.
/// The reflection messages are the generated bindings of `Protos/grpc/reflection/`, decoded and encoded through
/// `MessageCoding` like every other service's; both versions share one answer (`ReflectionAnswer`).
public final class ReflectionService: Sendable {
    public static let serviceNames = [
        ServerReflectionMethods.serviceName, V1AlphaServerReflectionMethods.serviceName,
    ]
    /// Requests one reflection stream may make (a describe of the whole API takes a few dozen).
    public static let maxRequestsPerStream = 1_000
    /// What a response adds to the echoed request and the answer's bytes: tags and lengths (a few per file).
    static let responseOverheadBytes = 1_024

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
        // Every answer is at most the whole set, so the set must leave room for the echoed request.
        assert(
            bytes.count + Self.responseOverheadBytes < WireLimits.maxMessageBytes,
            "the descriptor set (\(bytes.count) bytes) no longer fits one reflection response")
        self.index = DescriptorIndex(descriptorSet: bytes)
    }

    /// Every service the descriptor set declares (the services `visibleServices` may name).
    public var describedServices: Set<String> { Set(index.files.flatMap(\.services)) }

    public var services: RPCServices {
        var services = RPCServices()
        register(ServerReflectionMethods.serverReflectionInfo, into: &services) { request, answer in
            ServerReflectionResponse(request, answer)
        }
        register(V1AlphaServerReflectionMethods.serverReflectionInfo, into: &services) { request, answer in
            V1AlphaServerReflectionResponse(request, answer)
        }
        return services
    }

    /// Serves one version of ServerReflectionInfo: `respond` writes the version-neutral answer in that version's
    /// messages (v1 and v1alpha are the same fields under two packages).
    private func register<Request: ReflectionRequest, Response>(
        _ method: WireMethod<Request, Response>, into services: inout RPCServices,
        respond: @escaping @Sendable (Request, ReflectionAnswer) -> Response
    ) {
        services.register(
            method,
            .bidirectionalStreaming {
                [index] requests, responses, context in
                let visible = Self.visibleServices(for: context.peer)
                guard !visible.isEmpty else {
                    throw GRPCStatus(.permissionDenied, "a partner client certificate is required")
                }
                let files = index.visibleFiles(services: visible)
                var answered = 0
                for try await bytes in requests {
                    answered += 1
                    guard answered <= Self.maxRequestsPerStream else {
                        throw GRPCStatus(.resourceExhausted, "more than \(Self.maxRequestsPerStream) requests")
                    }
                    let request = try MessageCoding.decode(Request.self, from: bytes)
                    let answer = Self.answer(request.question, index: index, files: files, visible: visible)
                    // The response echoes the request beside the answer; both must fit one message, or encoding
                    // would fail as if it were our bug. A peer's oversized request is the peer's error.
                    guard
                        bytes.readableBytes + answer.payloadBytes + Self.responseOverheadBytes
                            <= WireLimits.maxMessageBytes
                    else {
                        throw GRPCStatus(.resourceExhausted, "the response to this request would exceed 64 KiB")
                    }
                    try await responses.send(
                        try MessageCoding.encode(respond(request, answer), context: context, capacityHint: 1024))
                }
            })
    }

    /// The answer to one question, from what the caller may see.
    static func answer(
        _ question: ReflectionQuestion?, index: DescriptorIndex, files: Set<String>, visible: Set<String>
    ) -> ReflectionAnswer {
        switch question {
        case nil:
            return .error(.invalidArgument, "no message_request set")
        case .fileByFilename(let name):
            guard files.contains(name) else { return .error(.notFound, "file \(name) not found") }
            return .files(index.withDependencies(name).map(index.bytes(ofFile:)))
        case .fileContainingSymbol(let symbol):
            guard let file = index.file(declaring: symbol), files.contains(file),
                index.visible(symbol: symbol, visible)
            else { return .error(.notFound, "symbol \(symbol) not found") }
            return .files(index.withDependencies(file).map(index.bytes(ofFile:)))
        case .fileContainingExtension:  // Protos/ declares no extensions
            return .error(.notFound, "no extension found")
        case .allExtensionNumbersOfType(let type):
            guard let file = index.file(declaring: type), files.contains(file) else {
                return .error(.notFound, "type \(type) not found")
            }
            return .extensionNumbers(baseTypeName: type)
        case .listServices:
            return .services(visible.sorted())
        }
    }
}

/// One reflection question, the same in v1 and v1alpha.
enum ReflectionQuestion: Equatable {
    case fileByFilename(String)
    case fileContainingSymbol(String)
    /// The extension asked for is not looked at: Protos/ declares none.
    case fileContainingExtension
    case allExtensionNumbersOfType(String)
    /// The value of list_services is not looked at (the reflection proto says so).
    case listServices
}

/// One reflection answer, the same in v1 and v1alpha.
enum ReflectionAnswer: Equatable {
    /// Serialized FileDescriptorProtos: the file asked for first, then its transitive imports.
    case files([[UInt8]])
    /// The extension numbers of a type: always none, Protos/ declares no extensions.
    case extensionNumbers(baseTypeName: String)
    /// Full names of the services the caller may see, sorted.
    case services([String])
    case error(GRPCStatus.Code, String)

    /// The bytes the answer's values take in a response (before tags and lengths).
    var payloadBytes: Int {
        switch self {
        case .files(let files): files.reduce(0) { $0 + $1.count }
        case .extensionNumbers(let type): type.utf8.count
        case .services(let names): names.reduce(0) { $0 + $1.utf8.count + 4 }
        case .error(_, let message): message.utf8.count + 8
        }
    }
}

/// A ServerReflectionRequest of either version, read as the version-neutral question.
protocol ReflectionRequest: WireMessage {
    var question: ReflectionQuestion? { get }
}

extension ServerReflectionRequest: ReflectionRequest {
    var question: ReflectionQuestion? {
        switch messageRequest {
        case .fileByFilename(let name)?: .fileByFilename(name)
        case .fileContainingSymbol(let symbol)?: .fileContainingSymbol(symbol)
        case .fileContainingExtension?: .fileContainingExtension
        case .allExtensionNumbersOfType(let type)?: .allExtensionNumbersOfType(type)
        case .listServices?: .listServices
        case nil: nil
        }
    }
}

extension V1AlphaServerReflectionRequest: ReflectionRequest {
    var question: ReflectionQuestion? {
        switch messageRequest {
        case .fileByFilename(let name)?: .fileByFilename(name)
        case .fileContainingSymbol(let symbol)?: .fileContainingSymbol(symbol)
        case .fileContainingExtension?: .fileContainingExtension
        case .allExtensionNumbersOfType(let type)?: .allExtensionNumbersOfType(type)
        case .listServices?: .listServices
        case nil: nil
        }
    }
}

extension ServerReflectionResponse {
    /// The response to `request`, which it echoes with its host.
    init(_ request: ServerReflectionRequest, _ answer: ReflectionAnswer) {
        let response: MessageResponse
        switch answer {
        case .files(let files):
            response = .fileDescriptorResponse(FileDescriptorResponse(fileDescriptorProto: files))
        case .extensionNumbers(let type):
            response = .allExtensionNumbersResponse(ExtensionNumberResponse(baseTypeName: type))
        case .services(let names):
            response = .listServicesResponse(ListServiceResponse(service: names.map { ServiceResponse(name: $0) }))
        case .error(let code, let message):
            response = .errorResponse(ErrorResponse(errorCode: Int32(code.rawValue), errorMessage: message))
        }
        self.init(validHost: request.host, originalRequest: request, messageResponse: response)
    }
}

extension V1AlphaServerReflectionResponse {
    /// The response to `request`, which it echoes with its host.
    init(_ request: V1AlphaServerReflectionRequest, _ answer: ReflectionAnswer) {
        let response: MessageResponse
        switch answer {
        case .files(let files):
            response = .fileDescriptorResponse(V1AlphaFileDescriptorResponse(fileDescriptorProto: files))
        case .extensionNumbers(let type):
            response = .allExtensionNumbersResponse(V1AlphaExtensionNumberResponse(baseTypeName: type))
        case .services(let names):
            response = .listServicesResponse(
                V1AlphaListServiceResponse(service: names.map { V1AlphaServiceResponse(name: $0) }))
        case .error(let code, let message):
            response = .errorResponse(V1AlphaErrorResponse(errorCode: Int32(code.rawValue), errorMessage: message))
        }
        self.init(validHost: request.host, originalRequest: request, messageResponse: response)
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

/// The fields of one protobuf message, top level only (enough to index the descriptor set).
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
