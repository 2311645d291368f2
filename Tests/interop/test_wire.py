"""The Swift codec (protobuf-c) against Python's protobuf package, a third-party implementation generated from the
same Protos/: bytes encoded by one decode to the same values in the other, both ways."""
import json

import pytest
from google.protobuf import json_format

from conftest import run_bankgw


def samples(pb):
    v1, admin = pb.v1, pb.admin
    header = v1.RequestHeader(bank_code="9900", request_id="req-1.a_B", sent_at_unix_ms=1764000000123)
    auth = v1.CustomerAuth(method=v1.SMS_OTP, authenticated_at_unix_ms=1764000000000, auth_reference="otp-1")
    profile = admin.BankProfile(
        max_charge_yen=300000, max_daily_yen_per_wallet=500000, charge_requires_customer_auth=True,
        required_ekyc_methods=[admin.HE_IC_CHIP_AND_SELFIE, admin.WA_JPKI], pinned_spki_sha256=bytes(range(32)),
    )
    return [
        ("bankgw.v1.LinkAccountRequest", v1.LinkAccountRequest(
            header=header, wallet_account_id="W0000001", link_code="K7Q2-M9XA", bank_account_token="tok_abc123",
            account_holder_kana="ﾔﾏﾀﾞ ﾊﾅｺ", customer_auth=auth)),
        ("bankgw.v1.ChargeRequest", v1.ChargeRequest(header=header, link_id="L-42", amount_yen=9223372036854775807,
                                                     customer_auth=auth)),
        ("bankgw.v1.ChargeResponse", v1.ChargeResponse(decision=v1.HELD, charge_id="C-1", processed_at_unix_ms=5,
                                                       receipt_signature=b"\x00\xff" * 36)),
        ("bankgw.v1.GetChargeRequest", v1.GetChargeRequest(header=header, original_request_id="req-0")),
        ("bankgw.v1.UnlinkRequest", v1.UnlinkRequest(header=header, link_id="L-42", reason="FRAUD: 不正利用の疑い")),
        ("bankgw.v1.LinkAccountResponse", v1.LinkAccountResponse(decision=v1.DECLINED, decline_reason=v1.NOT_IN_PILOT)),
        ("bankgw.admin.v1.SetBankProfileRequest", admin.SetBankProfileRequest(bank_code="0005", profile=profile,
                                                                             reason="limits")),
        ("bankgw.admin.v1.ListBanksResponse", admin.ListBanksResponse(banks=[
            admin.Bank(bank_code="0001", name="みずほ銀行", link_state=admin.PILOT, pilot_wallet_ids=["W0000002"],
                       profile=profile, settlement_balance_yen=-5)] * 3)),
    ]


@pytest.mark.parametrize("index", range(8))
def test_python_encoded_bytes_decode_in_swift_to_the_same_values(bankgw_bin, pb, index):
    name, message = samples(pb)[index]
    result = run_bankgw(bankgw_bin, "wire", "decode", name, stdin=message.SerializeToString())
    assert result.returncode == 0, result.stderr.decode()
    parsed = json_format.Parse(result.stdout, type(message)())
    assert parsed == message


@pytest.mark.parametrize("index", range(8))
def test_swift_encoded_bytes_decode_in_python_to_the_same_values(bankgw_bin, pb, index):
    name, message = samples(pb)[index]
    as_json = json_format.MessageToJson(message)
    result = run_bankgw(bankgw_bin, "wire", "encode", name, stdin=as_json.encode())
    assert result.returncode == 0, result.stderr.decode()
    decoded = type(message)()
    decoded.ParseFromString(result.stdout)
    assert decoded == message
    # protobuf-c writes fields in number order with proto3 defaults omitted, as Python does: byte-identical.
    assert result.stdout == message.SerializeToString()


def test_bad_bytes_exit_65_naming_the_field(bankgw_bin, pb):
    request = pb.v1.ChargeRequest(header=pb.v1.RequestHeader(bank_code="9900", request_id="r", sent_at_unix_ms=1),
                                  link_id="L", amount_yen=0)
    result = run_bankgw(bankgw_bin, "wire", "decode", "bankgw.v1.ChargeRequest", stdin=request.SerializeToString())
    assert result.returncode == 65
    assert b"amount_yen" in result.stderr
    truncated = run_bankgw(bankgw_bin, "wire", "decode", "bankgw.v1.ChargeRequest", stdin=b"\x18\x80")
    assert truncated.returncode == 65 and b"truncated varint" in truncated.stderr


def test_unknown_type_is_a_usage_error(bankgw_bin):
    result = run_bankgw(bankgw_bin, "wire", "decode", "bankgw.v1.Nope")
    assert result.returncode == 64
    assert b"unknown message type" in result.stderr


def test_bad_json_exits_65(bankgw_bin):
    result = run_bankgw(bankgw_bin, "wire", "encode", "bankgw.v1.ChargeRequest", stdin=b'{"amountYen": true}')
    assert result.returncode == 65
    assert b"amount_yen" in result.stderr
