"""Shared fixtures for the interop tests: third-party implementations (Python protobuf, grpcio, h2, ssl,
cryptography) talking to the real bankgw binary and the real files it writes."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bankgw_bin() -> str:
    path = os.environ.get("BANKGW_BIN", str(ROOT / ".build" / "debug" / "bankgw"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"bankgw binary not found at {path}: build it first (make build)")
    return path


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """Python protobuf modules generated from Protos/ by grpcio-tools, the reference protobuf implementation."""
    from grpc_tools import protoc
    import grpc_tools

    out = tmp_path_factory.mktemp("pyprotos")
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = ["bankgw/v1/bankgw.proto", "bankgw/admin/v1/admin.proto", "grpc/health/v1/health.proto"]
    args = ["protoc", f"-I{ROOT / 'Protos'}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
    rc = protoc.main(args + protos)
    assert rc == 0, "grpcio-tools could not compile Protos/"
    sys.path.insert(0, str(out))
    import importlib

    class Modules:
        v1 = importlib.import_module("bankgw.v1.bankgw_pb2")
        v1_grpc = importlib.import_module("bankgw.v1.bankgw_pb2_grpc")
        admin = importlib.import_module("bankgw.admin.v1.admin_pb2")
        admin_grpc = importlib.import_module("bankgw.admin.v1.admin_pb2_grpc")

    return Modules


def run_bankgw(bankgw_bin, *args, stdin=b"", timeout=30):
    return subprocess.run([bankgw_bin, *args], input=stdin, capture_output=True, timeout=timeout)
