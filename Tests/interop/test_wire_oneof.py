"""oneof and repeated bytes (the gRPC reflection messages of Protos/grpc/reflection) in the Swift codec against
Python's protobuf package: every member of each oneof, encoded by one side, decodes to the same value in the other
and re-encodes byte-identically; a member holding the proto3 default is still written.

The messages come from a private descriptor pool built from grpcio-tools' descriptor set of Protos/, so they cannot
clash with a `grpc.reflection` module of another package in the default pool."""
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from conftest import ROOT, run_bankgw

REFLECTION = ["grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"]


@pytest.fixture(scope="module")
def reflection(tmp_path_factory):
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("reflection") / "set.pb"
    rc = protoc.main(["protoc", f"-I{ROOT / 'Protos'}", f"--descriptor_set_out={out}", *REFLECTION])
    assert rc == 0, "grpcio-tools could not compile the reflection protos"
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)

    def message(full_name):
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))

    return message


def samples(message):
    out = []
    for package in ("grpc.reflection.v1", "grpc.reflection.v1alpha"):
        request_type = message(f"{package}.ServerReflectionRequest")
        response_type = message(f"{package}.ServerReflectionResponse")
        ext = message(f"{package}.ExtensionRequest")(containing_type="bankgw.v1.ChargeRequest", extension_number=9)
        requests = [
            request_type(host="gw", file_by_filename="bankgw/v1/bankgw.proto"),
            request_type(file_containing_symbol="bankgw.v1.BankGateway.Charge"),
            request_type(file_containing_extension=ext),
            request_type(all_extension_numbers_of_type="bankgw.v1.ChargeRequest"),
            request_type(list_services=""),  # set, holding the default: grpcurl's request
            request_type(list_services="*"),
            request_type(host="only-host"),  # no member set
        ]
        files = message(f"{package}.FileDescriptorResponse")(
            file_descriptor_proto=[b"\x0a\x03a.p", b"", bytes(range(256))])
        services = message(f"{package}.ListServiceResponse")(service=[
            message(f"{package}.ServiceResponse")(name="bankgw.v1.BankGateway"),
            message(f"{package}.ServiceResponse")(name="grpc.health.v1.Health")])
        responses = [
            response_type(valid_host="gw", original_request=requests[0], file_descriptor_response=files),
            response_type(all_extension_numbers_response=message(f"{package}.ExtensionNumberResponse")(
                base_type_name="bankgw.v1.ChargeRequest", extension_number=[1, 536870911])),
            response_type(original_request=requests[4], list_services_response=services),
            response_type(list_services_response=message(f"{package}.ListServiceResponse")()),  # empty, still set
            response_type(error_response=message(f"{package}.ErrorResponse")(error_code=5, error_message="not found")),
        ]
        out += [(f"{package}.ServerReflectionRequest", m) for m in requests]
        out += [(f"{package}.ServerReflectionResponse", m) for m in responses]
        out.append((f"{package}.FileDescriptorResponse", files))
    return out


COUNT = 2 * (7 + 5 + 1)


def test_sample_count(reflection):
    assert len(samples(reflection)) == COUNT


@pytest.mark.parametrize("index", range(COUNT))
def test_python_encoded_bytes_decode_in_swift_to_the_same_values(bankgw_bin, reflection, index):
    name, message = samples(reflection)[index]
    result = run_bankgw(bankgw_bin, "wire", "decode", name, stdin=message.SerializeToString())
    assert result.returncode == 0, result.stderr.decode()
    parsed = json_format.Parse(result.stdout, type(message)())
    assert parsed == message
    for oneof in message.DESCRIPTOR.oneofs:
        assert parsed.WhichOneof(oneof.name) == message.WhichOneof(oneof.name), oneof.name


@pytest.mark.parametrize("index", range(COUNT))
def test_swift_encoded_bytes_decode_in_python_to_the_same_values(bankgw_bin, reflection, index):
    name, message = samples(reflection)[index]
    result = run_bankgw(bankgw_bin, "wire", "encode", name, stdin=json_format.MessageToJson(message).encode())
    assert result.returncode == 0, result.stderr.decode()
    decoded = type(message)()
    decoded.ParseFromString(result.stdout)
    assert decoded == message
    for oneof in message.DESCRIPTOR.oneofs:
        assert decoded.WhichOneof(oneof.name) == message.WhichOneof(oneof.name), oneof.name
    assert result.stdout == message.SerializeToString()


def test_a_default_member_is_on_the_wire(bankgw_bin, reflection):
    request = reflection("grpc.reflection.v1.ServerReflectionRequest")(list_services="")
    assert request.SerializeToString() == b"\x3a\x00"
    result = run_bankgw(bankgw_bin, "wire", "decode", "grpc.reflection.v1.ServerReflectionRequest", stdin=b"\x3a\x00")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b'{"listServices":""}'


def test_two_members_of_one_oneof_in_json_exit_65(bankgw_bin):
    result = run_bankgw(bankgw_bin, "wire", "encode", "grpc.reflection.v1.ServerReflectionRequest",
                        stdin=b'{"fileByFilename": "a.proto", "listServices": ""}')
    assert result.returncode == 65
    assert b"one oneof" in result.stderr
