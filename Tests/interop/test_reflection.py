"""gRPC server reflection (SPEC §2) on the TLS port, read by the reference client (grpcio-reflection's
ProtoReflectionDescriptorDatabase, v1alpha) and by grpcio stubs of grpc.reflection.v1 generated from Protos/:
each certificate sees only what it may call, and the descriptors served are good enough to build and send a
request the gateway accepts, with no .proto file on the client."""
import pathlib
import queue
import sys
import time

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import ROOT
from gateway import Gateway

BANK_VISIBLE = ["bankgw.v1.BankGateway", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection"]
OPERATOR_VISIBLE = ["bankgw.admin.v1.Admin", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection"]


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def reflection_v1(tmp_path_factory):
    """Python stubs of Protos/grpc/reflection/v1 (under another module path: `grpc` is grpcio's own package)."""
    from grpc_tools import protoc
    import importlib
    import shutil
    root = tmp_path_factory.mktemp("reflection_v1")
    (root / "bankgw_reflection_v1").mkdir()
    shutil.copy(ROOT / "Protos/grpc/reflection/v1/reflection.proto", root / "bankgw_reflection_v1/reflection.proto")
    rc = protoc.main(["protoc", f"-I{root}", f"--python_out={root}", f"--grpc_python_out={root}",
                      "bankgw_reflection_v1/reflection.proto"])
    assert rc == 0
    sys.path.insert(0, str(root))
    return (importlib.import_module("bankgw_reflection_v1.reflection_pb2"),
            importlib.import_module("bankgw_reflection_v1.reflection_pb2_grpc"))


def test_a_bank_lists_its_services_and_never_admin(gw):
    database = ProtoReflectionDescriptorDatabase(gw.secure_channel("9900"))
    assert sorted(database.get_services()) == BANK_VISIBLE


def test_an_operator_lists_admin_and_never_the_bank_service(gw):
    database = ProtoReflectionDescriptorDatabase(gw.secure_channel("operator"))
    assert sorted(database.get_services()) == OPERATOR_VISIBLE


def test_hidden_services_and_their_types_are_not_found(gw):
    bank = ProtoReflectionDescriptorDatabase(gw.secure_channel("9900"))
    for symbol in ("bankgw.admin.v1.Admin", "bankgw.admin.v1.SetBankStateRequest", "bankgw.admin.v1.Admin.ListBanks"):
        with pytest.raises(KeyError):
            bank.FindFileContainingSymbol(symbol)
    with pytest.raises(KeyError):
        bank.FindFileByName("bankgw/admin/v1/admin.proto")
    operator = ProtoReflectionDescriptorDatabase(gw.secure_channel("operator"))
    for symbol in ("bankgw.v1.BankGateway", "bankgw.v1.ChargeRequest"):
        with pytest.raises(KeyError):
            operator.FindFileContainingSymbol(symbol)
    assert operator.FindFileContainingSymbol("bankgw.admin.v1.Admin.ListBanks").name == "bankgw/admin/v1/admin.proto"


def test_a_charge_built_from_reflected_descriptors_is_accepted(gw, pb):
    channel = gw.secure_channel("9900")
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    service = pool.FindServiceByName("bankgw.v1.BankGateway")
    assert [m.name for m in service.methods] == ["LinkAccount", "Charge", "GetCharge", "Unlink", "WatchEvents"][
        :len(service.methods)]
    charge_method = service.FindMethodByName("Charge")
    request_type = message_factory.GetMessageClass(pool.FindMessageTypeByName("bankgw.v1.ChargeRequest"))
    response_type = message_factory.GetMessageClass(charge_method.output_type)
    assert charge_method.input_type.full_name == "bankgw.v1.ChargeRequest"

    # A link through the generated stubs, then the charge through descriptors fetched by reflection only.
    operator = pb.admin_grpc.AdminStub(gw.secure_channel("operator"))
    code = operator.IssueLinkCode(pb.admin.IssueLinkCodeRequest(wallet_account_id="W0000001"), timeout=10).link_code
    now = int(time.time() * 1000)
    linked = pb.v1_grpc.BankGatewayStub(channel).LinkAccount(pb.v1.LinkAccountRequest(
        header=pb.v1.RequestHeader(bank_code="9900", request_id=f"refl-link-{now}", sent_at_unix_ms=now),
        wallet_account_id="W0000001", link_code=code, bank_account_token=f"tok-refl-{now}",
        account_holder_kana="ヤマダ ハナコ",
        customer_auth=pb.v1.CustomerAuth(method=pb.v1.SMS_OTP, authenticated_at_unix_ms=now)), timeout=10)
    request = request_type()
    request.header.bank_code = "9900"
    request.header.request_id = f"refl-charge-{now}"
    request.header.sent_at_unix_ms = now
    request.link_id = linked.link_id
    request.amount_yen = 1_000
    call = channel.unary_unary("/bankgw.v1.BankGateway/Charge", request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    response = call(request, timeout=10)
    decision = pool.FindEnumTypeByName("bankgw.v1.Decision").values_by_number[response.decision].name
    assert decision == "APPROVED" and response.charge_id.startswith("ch")


def test_descriptors_carry_the_contract_comments(gw):
    database = ProtoReflectionDescriptorDatabase(gw.secure_channel("9900"))
    file = database.FindFileContainingSymbol("bankgw.v1.ChargeRequest")
    assert file.name == "bankgw/v1/bankgw.proto" and file.package == "bankgw.v1"
    assert any(location.leading_comments or location.trailing_comments
               for location in file.source_code_info.location), "grpcurl describe shows the .proto comments"


def test_v1_answers_several_requests_on_one_stream(gw, reflection_v1):
    reflection_pb2, reflection_grpc = reflection_v1
    stub = reflection_grpc.ServerReflectionStub(gw.secure_channel("9900"))
    outbox = queue.Queue()

    def requests():
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    responses = stub.ServerReflectionInfo(requests(), timeout=10)
    outbox.put(reflection_pb2.ServerReflectionRequest(host="h", list_services=""))
    first = next(responses)
    assert sorted(s.name for s in first.list_services_response.service) == BANK_VISIBLE
    assert first.valid_host == "h" and first.original_request.list_services == ""
    outbox.put(reflection_pb2.ServerReflectionRequest(file_containing_symbol="bankgw.v1.BankGateway.Charge"))
    second = next(responses)
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in
             second.file_descriptor_response.file_descriptor_proto]
    assert files[0].name == "bankgw/v1/bankgw.proto"
    outbox.put(reflection_pb2.ServerReflectionRequest(file_by_filename="bankgw/admin/v1/admin.proto"))
    third = next(responses)
    assert third.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    outbox.put(None)
    assert list(responses) == []
