"""The generated bindings read and write the protoc-c structs' typed fields, so a binding with a wrong field type
does not compile: `swiftc -typecheck` of GatewayWire with one binding deliberately broken must fail at that line,
and the unmodified sources must type-check."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WIRE = ROOT / "Sources/GatewayWire"


def typecheck(tmp_path, edit=None):
    src = tmp_path / "src"
    src.mkdir()
    for f in list(WIRE.glob("*.swift")) + list((WIRE / "Generated").glob("*.swift")):
        shutil.copy(f, src / f.name)
    if edit:
        name, old, new = edit
        text = (src / name).read_text()
        assert old in text, f"{old!r} not found in {name}"
        (src / name).write_text(text.replace(old, new))
    return subprocess.run(
        # -package-name: as SwiftPM passes it, so GatewayWire's `package` declarations typecheck.
        ["swiftc", "-typecheck", "-module-name", "GatewayWire", "-package-name", "BankGateway",
         "-I", str(ROOT / "Sources/CBankGatewayProtos/include"), "-I", str(ROOT / "Sources/CProtobufC"),
         *sorted(str(p) for p in src.glob("*.swift"))],
        capture_output=True, text=True)


@pytest.fixture(autouse=True)
def need_swiftc():
    if shutil.which("swiftc") is None:
        pytest.skip("swiftc not on PATH")


def test_unmodified_bindings_typecheck(tmp_path):
    result = typecheck(tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_binding_whose_swift_type_is_narrower_than_the_c_field_does_not_compile(tmp_path):
    # amount_yen is int64_t in the protoc-c struct; a binding declaring it Int32 would truncate it.
    result = typecheck(tmp_path, ("bankgw.v1.swift", "    public var amountYen: Int64\n",
                                  "    public var amountYen: Int32\n"))
    assert result.returncode != 0
    assert "bankgw.v1.swift" in result.stderr and "Int64" in result.stderr and "Int32" in result.stderr, result.stderr


def test_a_binding_reading_the_wrong_c_field_does_not_compile(tmp_path):
    # The by-number reader's slip: reading an int64 slot (recorded_at_unix_ms) into an int32 property.
    result = typecheck(tmp_path, ("bankgw.admin.v1.swift", "casesPassed: c.cases_passed,",
                                  "casesPassed: c.recorded_at_unix_ms,"))
    assert result.returncode != 0
    assert "bankgw.admin.v1.swift" in result.stderr and "Int64" in result.stderr, result.stderr


def test_a_binding_pointing_a_sub_message_at_the_wrong_c_type_does_not_compile(tmp_path):
    # customer_auth is a Bankgw__V1__CustomerAuth*; reading it as a RequestHeader must not type-check.
    result = typecheck(tmp_path, ("bankgw.v1.swift", "    public var customerAuth: CustomerAuth?\n",
                                  "    public var customerAuth: RequestHeader?\n"))
    assert result.returncode != 0, "a RequestHeader read from a CustomerAuth slot compiled"


def test_a_oneof_case_carrying_the_wrong_swift_type_does_not_compile(tmp_path):
    # error_code is an int32_t member of ErrorResponse; list_services a `char *` in the request's oneof union: a
    # case declared Int32 cannot take the string the binding reads from the union member.
    result = typecheck(tmp_path, ("grpc.reflection.v1.swift", "        case listServices(String)\n",
                                  "        case listServices(Int32)\n"))
    assert result.returncode != 0
    assert "grpc.reflection.v1.swift" in result.stderr and "Int32" in result.stderr, result.stderr


def test_a_oneof_read_from_the_wrong_union_member_does_not_compile(tmp_path):
    # file_containing_extension is a Grpc__Reflection__V1__ExtensionRequest* in the union; reading the string
    # member file_by_filename in its place must not type-check.
    result = typecheck(tmp_path, ("grpc.reflection.v1.swift",
                                  "try r.requiredMessage(c.file_containing_extension, Field.fileContainingExtension)",
                                  "try r.requiredMessage(c.file_by_filename, Field.fileContainingExtension)"))
    assert result.returncode != 0
    assert "grpc.reflection.v1.swift" in result.stderr, result.stderr


def test_a_oneof_case_constant_of_another_oneof_does_not_compile(tmp_path):
    # The `_case` field is a typed C enum: storing the response oneof's constant into the request's case fails.
    result = typecheck(tmp_path, (
        "grpc.reflection.v1.swift",
        "c.pointee.message_request_case =\n"
        "                GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES\n",
        "c.pointee.message_request_case =\n"
        "                GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE\n"))
    assert result.returncode != 0
    assert "grpc.reflection.v1.swift" in result.stderr, result.stderr
