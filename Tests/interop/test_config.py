"""`bankgw serve --config FILE`: a non-demo deployment from a JSON file; wrong keys and values refused at start-up."""
import json
import os
import subprocess
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import run_bankgw


def write_config(tmp_path, **overrides):
    pki = tmp_path / "pki"
    config = {
        "stateDirectory": str(tmp_path),
        "listen": {"tls": "127.0.0.1:0", "probe": "127.0.0.1:0", "metrics": "127.0.0.1:0",
                   "console": "127.0.0.1:0"},
        "tls": {"certificate": str(pki / "server.pem"), "privateKey": str(pki / "server.key"),
                "partnerCA": str(pki / "ca.pem"), "handshakeTimeoutMs": 5000},
        "receiptKey": str(pki / "receipt.key"),
        "shutdownGraceMs": 2000,
        "bankDefaults": {"maxChargeYen": 100000, "maxRequestsPerSecond": 50},
        "banks": [{"code": "9900", "name": "ゆうちょ銀行"}],
        "logLevel": "info",
    }
    config.update(overrides)
    path = tmp_path / "bankgw.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def pki_dir(bankgw_bin, tmp_path):
    result = run_bankgw(bankgw_bin, "pki", "init", str(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    return tmp_path


def test_a_deployment_from_a_config_file_serves_and_registers_its_banks_pending(bankgw_bin, pki_dir, pb):
    config = write_config(pki_dir)
    ready = pki_dir / "ready.json"
    process = subprocess.Popen([bankgw_bin, "serve", "--config", str(config), "--ready-file", str(ready)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.stat().st_size > 0):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "not ready in 30 s"
            time.sleep(0.05)
        ports = json.loads(ready.read_text())
        with grpc.insecure_channel(f"127.0.0.1:{ports['probe']}") as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(pki_dir / "pki/ca.pem").read_bytes(),
            private_key=(pki_dir / "pki/operator.key").read_bytes(),
            certificate_chain=(pki_dir / "pki/operator.pem").read_bytes())
        with grpc.secure_channel(f"localhost:{ports['tls']}", credentials) as channel:
            banks = pb.admin_grpc.AdminStub(channel).ListBanks(pb.admin.ListBanksRequest(), timeout=5).banks
        assert [(b.bank_code, b.link_state, b.charge_state) for b in banks] == [("9900", pb.admin.PENDING, pb.admin.PENDING)]
        assert banks[0].profile.max_charge_yen == 100000
        assert banks[0].profile.max_requests_per_second == 50
        assert os.path.exists(pki_dir / "wallet.sqlite")
    finally:
        process.terminate()
        returncode = process.wait(timeout=30)
        assert returncode == 0, process.stderr.read().decode()[-4000:]


@pytest.mark.parametrize("overrides,key", [
    ({"listen": {"tls": "127.0.0.1:8443", "tsl": "x"}}, "listen.tsl"),
    ({"shutdownGraceMs": -1}, "shutdownGraceMs"),
    ({"listen": {"tls": "no-port"}}, "listen.tls"),
    ({"bankDefaults": {"maxChargeYen": "lots"}}, "bankDefaults.maxChargeYen"),
    ({"banks": [{"code": "99", "name": "x"}]}, "banks[0].code"),
    ({"logLevel": "loud"}, "logLevel"),
    ({"receiptKeyy": "x"}, "receiptKeyy"),
])
def test_a_wrong_key_or_value_is_refused_naming_the_key(bankgw_bin, pki_dir, overrides, key):
    config = write_config(pki_dir, **overrides)
    result = run_bankgw(bankgw_bin, "serve", "--config", str(config))
    assert result.returncode == 65, result.stderr.decode()
    assert key in result.stderr.decode()


def test_a_missing_required_key_is_named(bankgw_bin, pki_dir):
    config = write_config(pki_dir)
    data = json.loads(config.read_text())
    del data["tls"]["partnerCA"]
    config.write_text(json.dumps(data))
    result = run_bankgw(bankgw_bin, "serve", "--config", str(config))
    assert result.returncode == 65
    assert "tls.partnerCA: is required" in result.stderr.decode()


def test_serve_needs_exactly_one_of_demo_and_config(bankgw_bin):
    assert run_bankgw(bankgw_bin, "serve").returncode == 64
