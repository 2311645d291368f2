"""SPEC §7 `bankgw admin …` against a real `bankgw serve --demo`: the CLI is the Admin service's client over
mutual TLS with the operator certificate; its acts take effect on the very next bank request (grpcio)."""
import json
import re
import socket

import grpc
import pytest

from conftest import run_bankgw
from gateway import Gateway
from test_bank_service import Bank, expect_status


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


class AdminCLI:
    """`bankgw admin --state-dir DIR --target 127.0.0.1:PORT …` (the demo files, the ephemeral TLS port)."""

    def __init__(self, bankgw_bin, gw):
        self.bankgw_bin, self.gw = bankgw_bin, gw
        self.connection = ["--state-dir", gw.state_dir, "--target", f"127.0.0.1:{gw.ports['tls']}"]

    def run(self, *args, connection=None):
        return run_bankgw(self.bankgw_bin, "admin", *(self.connection if connection is None else connection), *args)

    def ok(self, *args):
        result = self.run(*args)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def link_code(self, wallet):
        return self.ok("wallet", "link-code", wallet).strip()


@pytest.fixture(scope="module")
def cli(bankgw_bin, gw):
    return AdminCLI(bankgw_bin, gw)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_link_code_prints_one_code_line_that_links_the_wallet(gw, pb, cli):
    stdout = cli.ok("wallet", "link-code", "W0000001")
    lines = stdout.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", lines[0]), stdout
    response = Bank(gw, pb, "9900").link("W0000001", lines[0], "ヤマダ ハナコ")
    assert response.decision == pb.v1.APPROVED


def test_suspending_9900_charges_denies_the_very_next_charge_naming_suspended(gw, pb, cli):
    bank = Bank(gw, pb, "9900")
    link = bank.link("W0000001", cli.link_code("W0000001"), "ヤマダ ハナコ")
    assert link.decision == pb.v1.APPROVED
    assert bank.charge(link.link_id, 1_000).decision == pb.v1.APPROVED
    try:
        shown = cli.json("bank", "set-state", "9900", "charge", "SUSPENDED", "--reason", "incident 42")
        assert shown["chargeState"] == "SUSPENDED" and shown["linkState"] == "ENABLED"
        expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: bank.charge(link.link_id, 1_000), "SUSPENDED")
    finally:
        # Four eyes (SPEC §8): ENABLED waits for the second operator (`--as operator2`); the first can't approve.
        restored = cli.run("bank", "set-state", "9900", "charge", "ENABLED", "--reason", "incident 42 resolved")
        assert restored.returncode == 0 and "bankgw admin approval approve" in restored.stderr.decode()
        pending = [a for a in cli.json("approval", "list")["approvals"] if a["subject"] == "9900/charge"]
        assert len(pending) == 1 and pending[0]["requestedBy"] == "operator/demo"
        own = cli.run("approval", "approve", pending[0]["approvalId"], "--reason", "mine")
        assert own.returncode == 1 and "PERMISSION_DENIED" in own.stderr.decode()
        approved = cli.json("--as", "operator2", "approval", "approve", pending[0]["approvalId"], "--reason", "ok")
        assert approved["state"] == "APPROVAL_STATE_APPROVED" and approved["decidedBy"] == "operator/demo2"
    assert bank.charge(link.link_id, 1_000).decision == pb.v1.APPROVED


def test_enabling_0005_without_a_conformance_record_is_refused_saying_why(cli):
    result = cli.run("bank", "set-state", "0005", "charge", "ENABLED", "--reason", "go live")
    assert result.returncode == 1
    error = result.stderr.decode()
    assert error.count("\n") == 1 and "FAILED_PRECONDITION" in error and "conformance" in error, error
    assert cli.json("bank", "show", "0005")["chargeState"] == "PENDING"


def test_bank_list_shows_the_demo_registry(cli):
    table = cli.ok("bank", "list")
    for code, link, charge in [("9900", "ENABLED", "ENABLED"), ("0001", "PILOT", "PILOT"),
                               ("0005", "PENDING", "PENDING"), ("0009", "SUSPENDED", "SUSPENDED")]:
        assert re.search(rf"^{code}\s+\S+\s+{link}\s+{charge}\b", table, re.M), table
    banks = {bank["bankCode"]: bank for bank in cli.json("bank", "list")["banks"]}
    assert banks["0001"]["pilotWalletIds"] == ["W0000002"]


def test_wallet_register_ekyc_phone_and_pilot_list_through_the_cli(gw, pb, cli):
    wallet = "W7000001"
    cli.ok("wallet", "register", wallet, "--reason", "onboarding")
    shown = cli.json("wallet", "ekyc", wallet, "--status", "VERIFIED", "--method", "HE", "--name", "サトウ ユキ",
                     "--reason", "eKYC vendor result")
    assert shown["ekycStatus"] == "VERIFIED" and shown["ekycNameKana"] == "サトウ ユキ"
    assert cli.json("wallet", "phone-verified", wallet, "--reason", "sms")["phoneVerified"] is True
    bank = Bank(gw, pb, "0001")
    declined = bank.link(wallet, cli.link_code(wallet), "サトウ ユキ")
    assert declined.decline_reason == pb.v1.NOT_IN_PILOT
    pilot = cli.json("bank", "set-pilot", "0001", "W0000002", wallet, "--reason", "pilot wave 2")
    assert sorted(pilot["pilotWalletIds"]) == ["W0000002", wallet]
    assert bank.link(wallet, cli.link_code(wallet), "サトウ ユキ").decision == pb.v1.APPROVED


def test_a_held_charge_released_twice_credits_once_and_a_rejected_one_credits_nothing(gw, pb, cli):
    wallet = "W7000002"
    cli.ok("wallet", "register", wallet, "--reason", "onboarding")
    cli.ok("wallet", "ekyc", wallet, "--status", "VERIFIED", "--method", "WA", "--name", "キムラ タク",
           "--reason", "kyc")
    cli.ok("wallet", "phone-verified", wallet, "--reason", "sms")
    bank = Bank(gw, pb, "9900")
    link = bank.link(wallet, cli.link_code(wallet), "キムラ タク")
    held = bank.charge(link.link_id, 40_000)  # ≥ 80 % of the 50,000 new-link limit: HELD
    assert held.decision == pb.v1.HELD
    open_holds = {hold["chargeId"]: hold for hold in cli.json("hold", "list").get("holds", [])}
    assert open_holds[held.charge_id]["amountYen"] == "40000"
    assert held.charge_id in cli.ok("hold", "list")

    first = cli.json("hold", "release", held.charge_id, "--reason", "customer confirmed")
    second = cli.json("hold", "release", held.charge_id, "--reason", "customer confirmed")
    assert first["state"] == second["state"] == "RELEASED"
    assert cli.json("wallet", "show", wallet)["balanceYen"] == "40000"
    assert held.charge_id not in {hold["chargeId"] for hold in cli.json("hold", "list").get("holds", [])}
    assert held.charge_id in {hold["chargeId"] for hold in cli.json("hold", "list", "--all")["holds"]}

    other = bank.charge(link.link_id, 45_000)
    assert other.decision == pb.v1.HELD
    assert cli.json("hold", "reject", other.charge_id, "--reason", "mule pattern")["state"] == "REJECTED"
    refused = cli.run("hold", "release", other.charge_id, "--reason", "changed my mind")
    assert refused.returncode == 1 and "FAILED_PRECONDITION" in refused.stderr.decode()
    assert cli.json("wallet", "show", wallet)["balanceYen"] == "40000"


@pytest.mark.parametrize("path", [
    [], ["bank"], ["bank", "list"], ["bank", "show"], ["bank", "set-state"], ["bank", "set-pilot"],
    ["wallet"], ["wallet", "register"], ["wallet", "show"], ["wallet", "ekyc"], ["wallet", "phone-verified"],
    ["wallet", "link-code"], ["wallet", "unlock"], ["wallet", "unfreeze"],
    ["hold"], ["hold", "list"], ["hold", "release"], ["hold", "reject"],
])
def test_every_admin_subcommand_has_help_that_exits_0(bankgw_bin, path):
    result = run_bankgw(bankgw_bin, "admin", *path, "--help")
    assert result.returncode == 0, result.stderr.decode()
    assert b"USAGE: bankgw admin" in result.stdout


@pytest.mark.parametrize("args", [
    ["bank", "set-state", "9900", "charge", "BOGUS", "--reason", "x"],
    ["bank", "set-state", "9900", "charge", "ENABLED"],  # no --reason
    ["bank", "set-state", "9900", "sideways", "ENABLED", "--reason", "x"],
    ["wallet", "ekyc", "W0000001", "--status", "VERIFIED", "--reason", "x"],  # VERIFIED needs method and name
    ["bank", "explode"],
    ["--target", "127.0.0.1:8443", "bank", "list"],  # --target alone: --cert, --key, --ca missing
    ["--target", "nonsense", "--cert", "a", "--key", "b", "--ca", "c", "bank", "list"],
    ["--state-dir", "x", "--cert", "a", "bank", "list"],
])
def test_wrong_arguments_exit_64_with_a_usage_line(bankgw_bin, args):
    result = run_bankgw(bankgw_bin, "admin", *args)
    assert result.returncode == 64, (result.returncode, result.stderr.decode())
    assert b"Usage: bankgw admin" in result.stderr, result.stderr.decode()


def test_an_unreachable_gateway_exits_69_with_one_line(cli, gw):
    result = cli.run("bank", "list", connection=["--state-dir", gw.state_dir, "--target", f"127.0.0.1:{closed_port()}"])
    assert result.returncode == 69, result.stderr.decode()
    assert result.stderr.decode().count("\n") == 1 and "unreachable" in result.stderr.decode()


def test_a_bank_certificate_is_permission_denied_and_exits_1(cli, gw):
    pki = f"{gw.state_dir}/pki"
    result = cli.run("bank", "list", connection=[
        "--target", f"127.0.0.1:{gw.ports['tls']}", "--cert", f"{pki}/banks/9900.pem",
        "--key", f"{pki}/banks/9900.key", "--ca", f"{pki}/ca.pem"])
    assert result.returncode == 1
    assert "PERMISSION_DENIED" in result.stderr.decode(), result.stderr.decode()
    assert result.stdout == b""
