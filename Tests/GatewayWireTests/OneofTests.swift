import CBankGatewayProtos
import CProtobufC
import XCTest

@testable import GatewayWire

/// Generated `oneof` and `repeated bytes` bindings (gRPC reflection): every member round-trips through protobuf-c
/// and proto3 JSON, a set member is written even when it holds the proto3 default, and the binding table of a
/// oneof member is checked against the descriptor (flag, case offset, union offset).
final class OneofTests: XCTestCase {
    private func roundTrip<M: WireMessage>(_ message: M, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = try message.wireBytes()
        XCTAssertEqual(try M(wireBytes: bytes), message, "\(M.protoName) round trip", file: file, line: line)
        let json = try WireJSON.decode(typeName: M.protoName, bytes: bytes)
        XCTAssertEqual(
            try WireJSON.encode(typeName: M.protoName, json: Array(json.utf8)), bytes, "\(M.protoName): \(json)",
            file: file, line: line
        )
    }

    func testEveryRequestMemberRoundTrips() throws {
        for member in Samples.reflectionRequestCases {
            let request = ServerReflectionRequest(host: "h", messageRequest: member)
            try roundTrip(request)
            try roundTrip(ServerReflectionResponse(originalRequest: request))
        }
        try roundTrip(ServerReflectionRequest(host: "h", messageRequest: nil))
    }

    func testEveryResponseMemberRoundTrips() throws {
        for member in Samples.reflectionResponseCases {
            try roundTrip(ServerReflectionResponse(validHost: "h", messageResponse: member))
        }
        for member: V1AlphaServerReflectionResponse.MessageResponse in [
            .fileDescriptorResponse(V1AlphaFileDescriptorResponse(fileDescriptorProto: [[9], [8, 7]])),
            .allExtensionNumbersResponse(V1AlphaExtensionNumberResponse(baseTypeName: "a.B", extensionNumber: [3])),
            .listServicesResponse(V1AlphaListServiceResponse(service: [V1AlphaServiceResponse(name: "a.S")])),
            .errorResponse(V1AlphaErrorResponse(errorCode: 2, errorMessage: "x")),
        ] {
            try roundTrip(V1AlphaServerReflectionResponse(messageResponse: member))
        }
    }

    func testASetMemberIsWrittenEvenWhenItHoldsTheDefault() throws {
        // list_services (field 7) = "" → 0x3A 0x00, as grpcurl sends it; unset → nothing.
        XCTAssertEqual(try ServerReflectionRequest(messageRequest: .listServices("")).wireBytes(), [0x3A, 0x00])
        XCTAssertEqual(try ServerReflectionRequest(messageRequest: nil).wireBytes(), [])
        XCTAssertEqual(try ServerReflectionRequest(wireBytes: [0x3A, 0x00]).messageRequest, .listServices(""))
        XCTAssertNil(try ServerReflectionRequest(wireBytes: []).messageRequest)
        // An empty sub-message member (field 6) is written too, and decodes as set.
        let empty = ServerReflectionResponse(messageResponse: .listServicesResponse(ListServiceResponse()))
        XCTAssertEqual(try empty.wireBytes(), [0x32, 0x00])
        XCTAssertEqual(try ServerReflectionResponse(wireBytes: [0x32, 0x00]), empty)
        // The JSON of a set default member names it; of an unset oneof, nothing.
        let json = try WireJSON.decode(typeName: ServerReflectionRequest.protoName, bytes: [0x3A, 0x00])
        XCTAssertEqual(json, #"{"listServices":""}"#)
    }

    func testTheLastMemberOnTheWireWins() throws {
        // file_by_filename (3) = "a", then list_services (7) = "b": proto3 keeps the last member seen.
        let bytes: [UInt8] = [0x1A, 0x01, 0x61, 0x3A, 0x01, 0x62]
        XCTAssertEqual(try ServerReflectionRequest(wireBytes: bytes).messageRequest, .listServices("b"))
    }

    func testRepeatedBytesKeepEmptyElements() throws {
        let response = FileDescriptorResponse(fileDescriptorProto: [[1], [], [2, 3]])
        XCTAssertEqual(try response.wireBytes(), [0x0A, 0x01, 0x01, 0x0A, 0x00, 0x0A, 0x02, 0x02, 0x03])
        XCTAssertEqual(try FileDescriptorResponse(wireBytes: try response.wireBytes()), response)
        let json = try WireJSON.decode(typeName: FileDescriptorResponse.protoName, bytes: try response.wireBytes())
        XCTAssertEqual(json, #"{"fileDescriptorProto":["AQ==","","AgM="]}"#)
    }

    func testJSONOfAOneofIsTheSetMembersField() throws {
        let request = ServerReflectionRequest(
            host: "gw", messageRequest: .fileContainingExtension(Samples.extensionRequest)
        )
        let json = try WireJSON.decode(typeName: ServerReflectionRequest.protoName, bytes: try request.wireBytes())
        XCTAssertEqual(
            json,
            #"{"host":"gw","fileContainingExtension":{"containingType":"bankgw.v1.ChargeRequest","#
                + #""extensionNumber":1000}}"#
        )
        let protoNamed = #"{"file_containing_symbol":"bankgw.v1.Decision"}"#
        let fromProtoName = try WireJSON.encode(
            typeName: ServerReflectionRequest.protoName, json: Array(protoNamed.utf8))
        XCTAssertEqual(
            try ServerReflectionRequest(wireBytes: fromProtoName).messageRequest,
            .fileContainingSymbol("bankgw.v1.Decision")
        )
    }

    func testJSONWithTwoMembersOfOneOneofIsRefused() {
        let json = #"{"fileByFilename":"a.proto","listServices":""}"#
        XCTAssertThrowsError(try WireJSON.encode(typeName: ServerReflectionRequest.protoName, json: Array(json.utf8))) {
            XCTAssertTrue("\($0)".contains("are members of one oneof"), "\($0)")
        }
    }

    func testOneofMemberErrorsNameTheMember() {
        // file_containing_extension (5) holding extension_number (2) with a string's wire type.
        let bytes: [UInt8] = [0x2A, 0x02, 0x12, 0x00]
        XCTAssertThrowsError(try ServerReflectionRequest(wireBytes: bytes)) { error in
            XCTAssertEqual((error as? WireError)?.field, "file_containing_extension.extension_number")
        }
        let nul = ServerReflectionRequest(messageRequest: .fileByFilename("a\u{0}"))
        XCTAssertThrowsError(try nul.wireBytes()) { error in
            XCTAssertEqual((error as? WireError)?.field, "file_by_filename")
        }
    }

    func testMethodsOfABidirectionalService() {
        XCTAssertEqual(
            ServerReflectionMethods.serverReflectionInfo.path,
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        )
        XCTAssertEqual(
            V1AlphaServerReflectionMethods.serverReflectionInfo.path,
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        )
        XCTAssertTrue(ServerReflectionMethods.serverReflectionInfo.clientStreaming)
        XCTAssertTrue(ServerReflectionMethods.serverReflectionInfo.serverStreaming)
        XCTAssertFalse(HealthMethods.watch.clientStreaming)
        XCTAssertTrue(ServerReflectionMethods.serverReflectionInfo.requestType == ServerReflectionRequest.self)
        let v1alpha = V1AlphaServerReflectionMethods.serverReflectionInfo
        XCTAssertTrue(v1alpha.responseType == V1AlphaServerReflectionResponse.self)
    }

    // MARK: - Binding tables of oneof members

    private func requestTable(_ name: String, _ change: (inout BindingTable.Field) -> Void) -> BindingTable {
        var table = ServerReflectionRequest.binding
        let index = table.fields.firstIndex { $0.name == name }!
        change(&table.fields[index])
        return table
    }

    func testOneofMemberTablesMatchTheDescriptor() {
        XCTAssertEqual(WireBindings.mismatches(ServerReflectionRequest.binding), [])
        XCTAssertEqual(WireBindings.mismatches(V1AlphaServerReflectionResponse.binding), [])
        let member = ServerReflectionRequest.binding.fields.first { $0.name == "list_services" }!
        XCTAssertTrue(member.isOneofMember)
        XCTAssertNotNil(member.offset, "the union offset is measured")
        XCTAssertNotNil(member.quantifierOffset)
        // All members share the union, behind the case field.
        let offsets = Set(ServerReflectionRequest.binding.fields.filter(\.isOneofMember).map(\.offset))
        XCTAssertEqual(offsets.count, 1)
        XCTAssertGreaterThan(member.offset!, member.quantifierOffset!)
    }

    func testATamperedOneofMemberIsCaught() {
        let notOneof = requestTable("list_services") { $0.isOneofMember = false }
        XCTAssertTrue(
            WireBindings.mismatches(notOneof).contains {
                $0.contains("ServerReflectionRequest.list_services (#7): binding is not a oneof member")
            }, "\(WireBindings.mismatches(notOneof))")

        let wrongCase = requestTable("file_by_filename") { $0.quantifierOffset = $0.quantifierOffset.map { $0 + 4 } }
        XCTAssertTrue(WireBindings.mismatches(wrongCase).contains { $0.contains("oneof case offset") })

        let wrongUnion = requestTable("file_containing_extension") { $0.offset = $0.offset.map { $0 - 8 } }
        XCTAssertTrue(WireBindings.mismatches(wrongUnion).contains { $0.contains("binding offset") })

        let wrongType = requestTable("file_containing_extension") { $0.type = PROTOBUF_C_TYPE_STRING }
        XCTAssertTrue(WireBindings.mismatches(wrongType).contains { $0.contains("binding type") })

        let wrongSub = requestTable("file_containing_extension") {
            $0.referencedType = "grpc.reflection.v1alpha.ExtensionRequest"
        }
        let expected = "descriptor grpc.reflection.v1.ExtensionRequest"
        XCTAssertTrue(WireBindings.mismatches(wrongSub).contains { $0.contains(expected) })

        // A plain field claiming to be a oneof member.
        var host = ServerReflectionRequest.binding
        host.fields[0].isOneofMember = true
        XCTAssertTrue(WireBindings.mismatches(host).contains { $0.contains("host (#1): binding is a oneof member") })
    }

    func testUnionMemberOffsetMeasuresWhereTheTypedMemberWrites() {
        typealias C = Grpc__Reflection__V1__ServerReflectionResponse
        let union = BindingTable.unionMemberOffset(\C.error_response)
        XCTAssertEqual(union, BindingTable.unionMemberOffset(\C.list_services_response))
        XCTAssertEqual(BindingTable.unionMemberOffset(\C.valid_host), MemoryLayout<C>.offset(of: \.valid_host))
        XCTAssertEqual(
            BindingTable.unionMemberOffset(\C.message_response_case),
            MemoryLayout<C>.offset(of: \.message_response_case))
    }
}
