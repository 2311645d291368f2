import CProtobufC
import XCTest

@testable import GatewayWire

/// The generated bindings against the protoc-c descriptors: every binding's table (field numbers, names, protoc-c
/// types, labels, struct offsets, referenced types, struct size) must match what protoc-c generated, and a table
/// that does not match is reported naming the field.
final class BindingTests: XCTestCase {
    func testEveryGeneratedBindingMatchesItsProtobufCDescriptor() {
        XCTAssertEqual(WireBindings.mismatches(), [])
        XCTAssertEqual(Set(GeneratedBindings.tables.map(\.protoName)), Set(MessageDescriptor.all.keys))
    }

    private func chargeRequestTable(_ change: (inout BindingTable.Field) -> Void, field name: String) -> BindingTable {
        var table = ChargeRequest.binding
        let index = table.fields.firstIndex { $0.name == name }!
        change(&table.fields[index])
        return table
    }

    func testAWrongFieldTypeInABindingIsCaught() {
        // amount_yen is int64 in Protos/; a binding that took it for an int32 would read half the slot.
        let wrongType = chargeRequestTable({ $0.type = PROTOBUF_C_TYPE_INT32 }, field: "amount_yen")
        let problems = WireBindings.mismatches(wrongType)
        XCTAssertEqual(problems.count, 1, "\(problems)")
        XCTAssertTrue(
            problems.first?.contains("bankgw.v1.ChargeRequest.amount_yen (#3): binding type") == true, "\(problems)")
    }

    func testAWrongOffsetNumberOrReferencedTypeIsCaught() {
        let wrongOffset = chargeRequestTable({ $0.offset = $0.offset.map { $0 + 4 } }, field: "amount_yen")
        XCTAssertTrue(WireBindings.mismatches(wrongOffset).contains { $0.contains("binding offset") })

        // A binding reading field 2 (link_id, a string) where it meant field 3 (amount_yen): the classic slip of a
        // by-number reader. The table names the field it expected, so both the name and the type disagree.
        let wrongNumber = chargeRequestTable({ $0.number = 2 }, field: "amount_yen")
        let problems = WireBindings.mismatches(wrongNumber)
        XCTAssertTrue(problems.contains { $0.contains("descriptor names it link_id") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("binding type") }, "\(problems)")

        let wrongSub = chargeRequestTable({ $0.referencedType = "bankgw.v1.CustomerAuth" }, field: "header")
        XCTAssertTrue(WireBindings.mismatches(wrongSub).contains { $0.contains("descriptor bankgw.v1.RequestHeader") })

        var wrongSize = ChargeRequest.binding
        wrongSize.cStructBytes -= 8
        XCTAssertTrue(WireBindings.mismatches(wrongSize).contains { $0.contains("C struct of") })

        var missingField = AdminBankProfile.binding
        missingField.fields.removeLast()
        XCTAssertTrue(
            WireBindings.mismatches(missingField).contains { $0.contains("binding has 8 fields, descriptor 9") })
    }

    func testRepeatedFieldCountOffsetsAreChecked() {
        var table = AdminBankProfile.binding
        let index = table.fields.firstIndex { $0.name == "required_ekyc_methods" }!
        table.fields[index].quantifierOffset = table.fields[index].offset
        XCTAssertTrue(WireBindings.mismatches(table).contains { $0.contains("count offset") })
    }

    /// Interpolating an enum prints its Swift case name, as reflection did before the bindings said it themselves:
    /// audit entries store `charge.\(decision)` and `decline_reason=\(reason)` (`audit show` and the chain's hashes
    /// depend on the text staying the same).
    func testEnumsInterpolateAsTheirSwiftCaseNames() {
        XCTAssertEqual(Decision.allCases.map { "\($0)" }, ["unspecified", "approved", "held", "declined"])
        XCTAssertEqual("\(DeclineReason.walletKYCIncomplete)", "walletKYCIncomplete")
        XCTAssertEqual("\(DeclineReason.limitExceeded)", "limitExceeded")
        XCTAssertEqual("\(DeclineReason.unspecified)", "unspecified")
        XCTAssertEqual("\(HoldState.open)", "open")
        XCTAssertEqual("\(ServingStatus.serviceUnknown)", "serviceUnknown")
    }

    func testEnumsCarryTheirProtoNamesAndNumbers() {
        XCTAssertEqual(DeclineReason.walletKYCIncomplete.protoName, "WALLET_KYC_INCOMPLETE")
        XCTAssertEqual(DeclineReason(protoName: "NOT_IN_PILOT"), .notInPilot)
        XCTAssertNil(DeclineReason(protoName: "notInPilot"))
        XCTAssertEqual(HoldState.unspecified.protoName, "STATE_UNSPECIFIED")
        XCTAssertEqual(ServingStatus.serviceUnknown.rawValue, 3)
        // Every Swift case has the name and number the protoc-c enum descriptor declares.
        func check<E: WireEnum>(_ type: E.Type, _ field: String, of message: String) {
            let fields = MessageDescriptor.named(message).fields
            let index = fields.firstIndex { String(cString: $0.name) == field }!
            let descriptor = (fields.baseAddress! + index).enumDescriptor
            XCTAssertEqual(String(cString: descriptor.pointee.name), E.protoTypeName)
            XCTAssertEqual(Int(descriptor.pointee.n_values), E.allCases.count, E.protoTypeName)
            for value in E.allCases {
                XCTAssertEqual(descriptor.name(of: value.rawValue), value.protoName, E.protoTypeName)
            }
        }
        check(Decision.self, "decision", of: "bankgw.v1.ChargeResponse")
        check(DeclineReason.self, "decline_reason", of: "bankgw.v1.ChargeResponse")
        check(AuthMethod.self, "method", of: "bankgw.v1.CustomerAuth")
        check(BankState.self, "link_state", of: "bankgw.admin.v1.Bank")
        check(Operation.self, "operation", of: "bankgw.admin.v1.SetBankStateRequest")
        check(EkycMethod.self, "ekyc_method", of: "bankgw.admin.v1.Wallet")
        check(EkycStatus.self, "ekyc_status", of: "bankgw.admin.v1.Wallet")
        check(HoldState.self, "state", of: "bankgw.admin.v1.Hold")
        check(ServingStatus.self, "status", of: "grpc.health.v1.HealthCheckResponse")
    }

    func testMethodDescriptorsSpellTheGRPCPaths() {
        XCTAssertEqual(BankGatewayMethods.charge.path, "/bankgw.v1.BankGateway/Charge")
        XCTAssertTrue(BankGatewayMethods.getCharge.responseType == ChargeResponse.self)
        XCTAssertEqual(AdminMethods.unfreezeCharges.path, "/bankgw.admin.v1.Admin/UnfreezeCharges")
        XCTAssertTrue(AdminMethods.unfreezeCharges.requestType == WalletActionRequest.self)
        XCTAssertEqual(HealthMethods.watch.path, "/grpc.health.v1.Health/Watch")
        XCTAssertTrue(HealthMethods.watch.serverStreaming)
        XCTAssertFalse(HealthMethods.check.serverStreaming)
        XCTAssertTrue(BankGatewayMethods.watchEvents.serverStreaming)
        // BankGateway 4 + WatchEvents; Admin 16 + SPEC §8's 12 + the §9 block's 7; Health 2; reflection v1 and
        // v1alpha 1 each.
        XCTAssertEqual(WireServices.allMethods.count, 5 + 16 + 12 + 7 + 2 + 1 + 1)
        XCTAssertEqual(Set(WireServices.allMethods.map(\.path)).count, WireServices.allMethods.count)
    }
}
