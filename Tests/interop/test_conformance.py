"""SPEC §4 per-bank enablement, end to end: `bankgw conformance` against a real `bankgw serve --demo`, and the
Admin gate that lets a PENDING bank move to ENABLED only after a passing run. The operator side is Python grpcio
with the demo operator certificate; the JUnit file is parsed with the standard library's XML parser."""
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import grpc
import pytest

from gateway import Gateway
from test_bank_service import approve_as_second_operator


def run_conformance(bankgw_bin, gw, bank, *extra, probe=None):
    probe = probe or f"127.0.0.1:{gw.ports['probe']}"
    return subprocess.run(
        [bankgw_bin, "conformance", "--state-dir", gw.state_dir, "--target", f"127.0.0.1:{gw.ports['tls']}",
         "--probe", probe, "--bank", bank, *extra],
        capture_output=True, text=True, timeout=50)


def case_rows(stdout):
    """The table rows of the printed report: (case, result)."""
    rows = []
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[-2] in ("PASS", "FAIL") and cells[-1].isdigit():
            rows.append((cells[0], cells[-2]))
    return rows


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()
    shutil.rmtree(gateway.state_dir, ignore_errors=True)


class Operator:
    def __init__(self, gw, pb):
        self.pb = pb
        self.channel = gw.secure_channel("operator")
        self.stub = pb.admin_grpc.AdminStub(self.channel)

    def set_state(self, bank, operation, state):
        admin = self.pb.admin
        return self.stub.SetBankState(admin.SetBankStateRequest(
            bank_code=bank, operation=operation, state=state, reason="conformance gate test"), timeout=10)

    def bank(self, code):
        return self.stub.GetBank(self.pb.admin.GetBankRequest(bank_code=code), timeout=10)

    def balances(self, wallets):
        admin = self.pb.admin
        return {w: self.stub.GetWallet(admin.GetWalletRequest(wallet_account_id=w), timeout=10).balance_yen
                for w in wallets}


def test_suite_passes_for_the_enabled_bank_9900_and_exits_0(bankgw_bin, gw):
    result = run_conformance(bankgw_bin, gw, "9900")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = case_rows(result.stdout)
    assert len(rows) >= 25 and all(r == "PASS" for _, r in rows), result.stdout
    assert "PASSED:" in result.stdout


def test_pending_bank_0005_is_enabled_only_after_a_passing_run(bankgw_bin, gw, pb):
    admin, v1 = pb.admin, pb.v1
    op = Operator(gw, pb)
    demo_wallets = ["W0000001", "W0000002", "W0000003", "W0000004"]
    balances_before = op.balances(demo_wallets)

    # Before any run: the gate refuses.
    with pytest.raises(grpc.RpcError) as refused:
        op.set_state("0005", admin.LINK, admin.ENABLED)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value.details()

    # A failing run (probe port unreachable): exit 1, names the failed case, leaves the bank PENDING.
    failed_junit = f"{gw.state_dir}/conformance-0005-failed.xml"
    failing = run_conformance(bankgw_bin, gw, "0005", "--junit", failed_junit, probe=f"127.0.0.1:{closed_port()}")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    failed = {t.get("name"): t.find("failure") for t in ET.parse(failed_junit).getroot().findall("testcase")}
    assert [name for name, failure in failed.items() if failure is not None] == ["health.probe_port"]
    assert "expected SERVING over h2c" in failed["health.probe_port"].get("message")
    assert ("health.probe_port", "FAIL") in case_rows(failing.stdout)
    assert "FAILED:" in failing.stdout and "health.probe_port" in failing.stdout.splitlines()[-2]
    bank = op.bank("0005")
    assert bank.link_state == admin.PENDING and bank.charge_state == admin.PENDING
    with pytest.raises(grpc.RpcError) as still_refused:
        op.set_state("0005", admin.CHARGE, admin.ENABLED)
    assert still_refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    # A passing run for the PENDING bank, with JUnit.
    junit = f"{gw.state_dir}/conformance-0005.xml"
    passing = run_conformance(bankgw_bin, gw, "0005", "--junit", junit)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    rows = case_rows(passing.stdout)
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    testcases = suite.findall("testcase")
    assert [t.get("name") for t in testcases] == [name for name, _ in rows]
    assert int(suite.get("tests")) == len(testcases) >= 25
    assert suite.get("failures") == "0"
    assert list(suite.iter("failure")) == []
    assert op.balances(demo_wallets) == balances_before, "the suite touches only its own test wallets"

    # Now the gate opens, and a real (non-test) wallet can be linked and charged by 0005.
    # Four eyes (SPEC §8): ENABLED takes effect when a second operator approves.
    assert op.set_state("0005", admin.LINK, admin.ENABLED).link_state == admin.PENDING
    approve_as_second_operator(gw, pb, "0005/link")
    assert op.bank("0005").link_state == admin.ENABLED
    assert op.set_state("0005", admin.CHARGE, admin.ENABLED).charge_state == admin.PENDING
    approve_as_second_operator(gw, pb, "0005/charge")
    assert op.bank("0005").charge_state == admin.ENABLED
    stub = pb.v1_grpc.BankGatewayStub(gw.secure_channel("0005"))
    now = lambda: int(time.time() * 1000)
    header = lambda rid: v1.RequestHeader(bank_code="0005", request_id=rid, sent_at_unix_ms=now())
    code = op.stub.IssueLinkCode(admin.IssueLinkCodeRequest(wallet_account_id="W0000001"), timeout=10).link_code
    linked = stub.LinkAccount(v1.LinkAccountRequest(
        header=header("gate-link-1"), wallet_account_id="W0000001", link_code=code,
        bank_account_token="tok-0005-gate", account_holder_kana="ヤマダ ハナコ",
        customer_auth=v1.CustomerAuth(method=v1.SMS_OTP, authenticated_at_unix_ms=now(), auth_reference="otp")),
        timeout=10)
    assert linked.decision == v1.APPROVED, linked
    charged = stub.Charge(v1.ChargeRequest(header=header("gate-charge-1"), link_id=linked.link_id, amount_yen=1_000),
                          timeout=10)
    assert charged.decision == v1.APPROVED, charged
    assert op.balances(["W0000001"])["W0000001"] == balances_before["W0000001"] + 1_000


def test_unreachable_gateway_exits_69(bankgw_bin, gw):
    result = subprocess.run(
        [bankgw_bin, "conformance", "--state-dir", gw.state_dir, "--target", f"127.0.0.1:{closed_port()}",
         "--bank", "9900"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 69, result.stdout + result.stderr
    assert "unreachable" in result.stderr


def test_missing_certificates_without_state_dir_is_a_usage_error_64(bankgw_bin):
    result = subprocess.run([bankgw_bin, "conformance", "--target", "127.0.0.1:8443", "--bank", "9900"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64, result.stdout + result.stderr
    assert "--ca" in result.stderr


def test_help_names_every_option_of_spec_7(bankgw_bin):
    result = subprocess.run([bankgw_bin, "conformance", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    for option in ["--state-dir", "--target", "--probe", "--ca", "--bank-cert", "--bank-key", "--operator-cert",
                   "--operator-key", "--operator2-cert", "--operator2-key", "--receipt-key", "--bank", "--junit"]:
        assert option in result.stdout, option


def test_explicit_target_and_certificates_work_without_a_state_dir(bankgw_bin, gw):
    pki = f"{gw.state_dir}/pki"
    result = subprocess.run(
        [bankgw_bin, "conformance", "--target", f"localhost:{gw.ports['tls']}", "--probe",
         f"127.0.0.1:{gw.ports['probe']}", "--ca", f"{pki}/ca.pem", "--bank-cert", f"{pki}/banks/9900.pem",
         "--bank-key", f"{pki}/banks/9900.key", "--operator-cert", f"{pki}/operator.pem", "--operator-key",
         f"{pki}/operator.key", "--operator2-cert", f"{pki}/operator2.pem", "--operator2-key",
         f"{pki}/operator2.key", "--receipt-key", f"{pki}/receipt.pub.pem", "--bank", "9900"],
        capture_output=True, text=True, timeout=50)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified localhost, ALPN h2" in result.stdout
