"""CLI polish: `bankgw admin bank set-profile` (every profile field, validated by the CLI and by the gateway),
shell completions from swift-argument-parser, and admin tables aligned by display width for Japanese text."""
import hashlib
import re
import unicodedata

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import run_bankgw
from gateway import Gateway
from test_admin_cli import AdminCLI


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def cli(bankgw_bin, gw):
    return AdminCLI(bankgw_bin, gw)


def display_width(text):
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def column_starts(line):
    """Display column where each cell (separated by 2+ spaces) starts."""
    starts = []
    for match in re.finditer(r"\S+(?: \S+)*", line):
        starts.append(display_width(line[:match.start()]))
    return starts


def test_bank_list_columns_align_for_japanese_names(cli):
    out = cli.ok("bank", "list")
    lines = out.rstrip("\n").split("\n")
    assert any("ゆうちょ銀行" in line for line in lines) and any("三菱UFJ銀行" in line for line in lines)
    header = column_starts(lines[0])
    for line in lines[1:]:
        assert column_starts(line) == header, f"misaligned:\n{out}"
    assert all(line == line.rstrip() for line in lines), "no trailing spaces"


def test_set_profile_changes_only_the_fields_given_and_is_audited(cli, gw, pb):
    before = cli.json("bank", "show", "0001")["profile"]
    out = cli.ok("bank", "set-profile", "0001", "--max-charge-yen", "200000", "--new-link-max-charge-yen", "40000",
                 "--charge-requires-customer-auth", "true", "--required-ekyc-methods", "HE,WA",
                 "--max-requests-per-second", "250", "--new-link-caution-ms", "3600000", "--reason", "contract v2")
    assert re.search(r"^max_charge_yen\s+200000$", out, re.M), out
    after = cli.json("bank", "show", "0001")["profile"]
    assert after["maxChargeYen"] == "200000" and after["newLinkMaxChargeYen"] == "40000"
    assert after["chargeRequiresCustomerAuth"] is True and after["maxRequestsPerSecond"] == "250"
    assert sorted(after["requiredEkycMethods"]) == ["HE_IC_CHIP_AND_SELFIE", "WA_JPKI"]
    assert after["newLinkCautionMs"] == "3600000"
    assert after["maxDailyYenPerWallet"] == before["maxDailyYenPerWallet"], "fields not given are kept"
    audit = run_bankgw(cli.bankgw_bin, "audit", "show", "--state-dir", gw.state_dir, "--subject", "0001")
    assert "bank.set_profile" in audit.stdout.decode() and "contract v2" in audit.stdout.decode()


def test_set_profile_pins_a_certificate_key_and_clears_it(cli, gw):
    pem = gw.pki("banks/0005.pem")
    spki = x509.load_pem_x509_certificate(pem).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = hashlib.sha256(spki).hexdigest()
    out = cli.ok("bank", "set-profile", "0005", "--pin-certificate", f"{gw.state_dir}/pki/banks/0005.pem",
                 "--reason", "pin")
    assert f"pinned_spki_sha256             {expected}" in out or expected in out, out
    cli.ok("bank", "set-profile", "0005", "--pin-spki-sha256", expected.upper(), "--reason", "same pin, hex case")
    out = cli.ok("bank", "set-profile", "0005", "--clear-pin", "--reason", "unpin")
    assert re.search(r"^pinned_spki_sha256\s+-$", out, re.M), out


@pytest.mark.parametrize("args, names", [
    (["--max-charge-yen", "0"], "max_charge_yen"),
    (["--max-requests-per-second", "0"], "max_requests_per_second"),
    (["--new-link-caution-ms=-1"], "new_link_caution_ms"),
    (["--max-daily-yen-per-wallet", "1000"], "max_daily_yen_per_wallet"),
    (["--new-link-max-charge-yen", "900000"], "new_link_max_charge_yen"),
    (["--pin-spki-sha256", "abcd"], "--pin-spki-sha256"),
    (["--required-ekyc-methods", "HE,XX"], "XX"),
    (["--clear-pin", "--pin-spki-sha256", "00" * 32], "at most one"),
    (["--charge-requires-customer-auth", "maybe"], "charge-requires-customer-auth"),
])
def test_set_profile_refuses_bad_values_naming_the_field(cli, args, names):
    before = cli.json("bank", "show", "9900")["profile"]
    result = cli.run("bank", "set-profile", "9900", *args, "--reason", "bad")
    assert result.returncode == 64, result.stdout + result.stderr
    assert names in result.stderr.decode(), result.stderr.decode()
    assert cli.json("bank", "show", "9900")["profile"] == before, "nothing changed"


def test_the_gateway_refuses_an_incoherent_profile_itself(gw, pb):
    stub = pb.admin_grpc.AdminStub(gw.secure_channel("operator"))
    profile = pb.admin.BankProfile(max_charge_yen=500_000, max_daily_yen_per_wallet=100_000)
    with pytest.raises(grpc.RpcError) as refused:
        stub.SetBankProfile(pb.admin.SetBankProfileRequest(bank_code="9900", profile=profile, reason="x"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_daily_yen_per_wallet" in refused.value.details()


@pytest.mark.parametrize("shell, marker", [("bash", "_bankgw"), ("zsh", "#compdef bankgw"), ("fish", "bankgw")])
def test_shell_completions_cover_the_commands(bankgw_bin, shell, marker):
    result = run_bankgw(bankgw_bin, "--generate-completion-script", shell)
    assert result.returncode == 0, result.stderr
    script = result.stdout.decode()
    assert marker in script
    for word in ("serve", "admin", "set-profile", "log-format", "audit"):
        assert word in script, f"{word} missing from the {shell} completion"
