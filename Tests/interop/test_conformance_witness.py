"""SPEC §4 conformance gate against `bankgw serve --demo`: RecordConformance no longer takes an operator's word.
A record the gateway did not witness, a run another bank's certificate made, a report not signed with the bank's
key, or a tampered signed report, each is refused with FAILED_PRECONDITION and the bank stays PENDING; the real
`bankgw conformance` run (which tags its requests and signs with the bank key) is recorded and opens the gate."""
import re

import grpc
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway import Gateway
from test_bank_service import expect_status
from test_conformance import Operator, run_conformance


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def signed_record(gw, pb, bank, run_id, key_pem=None, **fields):
    record = pb.admin.ConformanceRecord(bank_code=bank, passed=True, cases_passed=31, cases_failed=0,
                                        report_sha256_hex="ab" * 32, run_id=run_id, **fields)
    key = serialization.load_pem_private_key(key_pem or gw.pki(f"banks/{bank}.key"), password=None)
    record.report_signature = key.sign(record.SerializeToString(), ec.ECDSA(hashes.SHA256()))
    return record


def record(op, pb, record):
    return op.stub.RecordConformance(pb.admin.RecordConformanceRequest(record=record), timeout=10)


def test_an_operators_word_records_nothing(gw, pb):
    op, admin = Operator(gw, pb), pb.admin
    # Signed with 0005's own key, but no run was ever witnessed.
    details = expect_status(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: record(op, pb, signed_record(gw, pb, "0005", "1764000000000")))
    assert "witnessed no conformance run" in details
    unsigned = admin.ConformanceRecord(bank_code="0005", passed=True, report_sha256_hex="cd" * 32)
    assert "run_id" in expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: record(op, pb, unsigned))
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: op.set_state("0005", admin.LINK, admin.PILOT))
    assert op.bank("0005").link_state == admin.PENDING


def test_a_witnessed_run_counts_only_for_its_bank_and_with_its_banks_signature(bankgw_bin, gw, pb):
    op, admin = Operator(gw, pb), pb.admin
    result = run_conformance(bankgw_bin, gw, "9900")
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = re.search(r"run (\S+)", result.stdout).group(1)
    # The run 9900 made does not count for 0005, whoever signs it.
    details = expect_status(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: record(op, pb, signed_record(gw, pb, "0005", run_id)))
    assert "witnessed no conformance run" in details
    # For 9900 it needs 9900's key: another key, or a field changed after signing, is refused.
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    details = expect_status(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: record(op, pb, signed_record(gw, pb, "9900", run_id, key_pem=other)))
    assert "report_signature" in details
    tampered = signed_record(gw, pb, "9900", run_id)
    tampered.cases_failed = 0
    tampered.passed = True
    tampered.report_sha256_hex = "ef" * 32
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: record(op, pb, tampered))
    # Signed by 9900's key over exactly what it claims: accepted (this is what `bankgw conformance` does).
    recorded = record(op, pb, signed_record(gw, pb, "9900", run_id))
    assert recorded.operator == "operator/demo" and recorded.recorded_at_unix_ms > 0


def test_the_real_run_of_a_pending_bank_opens_the_gate(bankgw_bin, gw, pb):
    op, admin = Operator(gw, pb), pb.admin
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: op.set_state("0005", admin.LINK, admin.PILOT))
    result = run_conformance(bankgw_bin, gw, "0005")
    assert result.returncode == 0, result.stdout + result.stderr
    assert op.set_state("0005", admin.LINK, admin.PILOT).link_state == admin.PILOT
