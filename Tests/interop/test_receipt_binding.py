"""SPEC §2/§5 receipts bind the request: ChargeResponse fields 6-9 (request_id, bank_code, link_id, amount_yen) and
10 (receipt_key_id, the first 16 hex of the SHA-256 of the key's SubjectPublicKeyInfo) are covered by the
signature, checked with Python's `cryptography` and `bankgw receipt verify`. `bankgw pki rotate-receipt-key`
replaces the key and receipts signed before still verify; in config mode a published public key that is not the
private key's half stops the start."""
import hashlib
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import run_bankgw
from gateway import Gateway
from test_bank_service import Bank, Operator
from test_config import write_config


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def key_id(public_pem):
    key = serialization.load_pem_public_key(public_pem)
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()[:16]


def verify_with_cryptography(pb, response, public_pem):
    unsigned = pb.v1.ChargeResponse()
    unsigned.CopyFrom(response)
    unsigned.ClearField("receipt_signature")
    serialization.load_pem_public_key(public_pem).verify(
        response.receipt_signature, unsigned.SerializeToString(), ec.ECDSA(hashes.SHA256()))


def cli_verify(bankgw_bin, response, *args):
    return run_bankgw(bankgw_bin, "receipt", "verify", *args, stdin=response.SerializeToString())


def linked(gw, pb):
    op, bank = Operator(gw, pb), Bank(gw, pb, "9900")
    link = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    assert link.decision == pb.v1.APPROVED
    return bank, link.link_id


def test_the_receipt_names_the_request_the_amount_and_the_key(bankgw_bin, gw, pb):
    bank, link = linked(gw, pb)
    response = bank.charge(link, 1_500, request_id="bind-1")
    assert response.decision == pb.v1.APPROVED
    assert (response.request_id, response.bank_code, response.link_id, response.amount_yen) == \
        ("bind-1", "9900", link, 1_500)
    assert response.receipt_key_id == key_id(gw.pki("receipt.pub.pem"))
    verify_with_cryptography(pb, response, gw.pki("receipt.pub.pem"))
    assert gw.pki(f"receipts/{response.receipt_key_id}.pub.pem") == gw.pki("receipt.pub.pem")
    result = cli_verify(bankgw_bin, response, "--state-dir", gw.state_dir, "--print-fields")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().splitlines() == [
        "valid", f"request_id=bind-1 bank_code=9900 link_id={link} amount_yen=1500 "
        f"receipt_key_id={response.receipt_key_id}"]
    # GetCharge and a retry return the same sealed receipt.
    get = bank.stub.GetCharge(pb.v1.GetChargeRequest(header=bank.header(), original_request_id="bind-1"), timeout=10)
    assert get.SerializeToString() == response.SerializeToString()


@pytest.mark.parametrize("field,value", [("request_id", "bind-2x"), ("bank_code", "0001"), ("link_id", "L-other"),
                                         ("amount_yen", 150_000), ("receipt_key_id", "0000000000000000")])
def test_a_receipt_claiming_another_request_or_amount_is_invalid(bankgw_bin, gw, pb, field, value):
    bank, link = linked(gw, pb)
    response = bank.charge(link, 1_500, request_id="bind-2")
    tampered = pb.v1.ChargeResponse()
    tampered.CopyFrom(response)
    setattr(tampered, field, value)
    result = cli_verify(bankgw_bin, tampered, "--state-dir", gw.state_dir)
    assert (result.returncode, result.stdout) == (1, b"invalid\n"), result.stderr.decode()
    assert cli_verify(bankgw_bin, response, "--state-dir", gw.state_dir).returncode == 0


def test_receipts_signed_before_a_key_rotation_still_verify(bankgw_bin, gw, pb):
    bank, link = linked(gw, pb)
    first_header = bank.header(request_id="rot-1")
    before = bank.charge(link, 1_000, header=first_header)
    old_public = gw.pki("receipt.pub.pem")
    assert gw.stop() == 0
    result = run_bankgw(bankgw_bin, "pki", "rotate-receipt-key", "--state-dir", gw.state_dir)
    assert result.returncode == 0, result.stderr.decode()
    new_public = gw.pki("receipt.pub.pem")
    assert new_public != old_public
    assert gw.pki(f"receipts/{key_id(old_public)}.pub.pem") == old_public
    assert gw.pki(f"receipts/{key_id(new_public)}.pub.pem") == new_public
    gw.start()

    bank = Bank(gw, pb, "9900")
    after = bank.charge(link, 1_000, request_id="rot-2")
    assert (before.receipt_key_id, after.receipt_key_id) == (key_id(old_public), key_id(new_public))
    verify_with_cryptography(pb, after, new_public)
    verify_with_cryptography(pb, before, gw.pki(f"receipts/{before.receipt_key_id}.pub.pem"))
    for response in (before, after):
        assert cli_verify(bankgw_bin, response, "--state-dir", gw.state_dir).returncode == 0
    # Only the current key: the old receipt names a key it does not have.
    assert cli_verify(bankgw_bin, before, "--key", f"{gw.state_dir}/pki/receipt.pub.pem").returncode == 1
    # The stored answer still comes back as first signed, with the old key's id.
    again = bank.charge(link, 1_000, header=first_header)
    assert again.SerializeToString() == before.SerializeToString()


def test_config_mode_refuses_a_published_key_that_is_not_the_receipt_keys(bankgw_bin, tmp_path):
    assert run_bankgw(bankgw_bin, "pki", "init", str(tmp_path)).returncode == 0
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    published = tmp_path / "published.pub.pem"
    published.write_bytes(other)
    config = write_config(tmp_path, receiptPublicKey=str(published))
    result = subprocess.run([bankgw_bin, "serve", "--config", str(config)], capture_output=True, timeout=60)
    assert result.returncode == 65, result.stderr.decode()
    assert b"receiptPublicKey" in result.stderr and b"not the public half" in result.stderr
    # The right key is accepted (the process gets as far as serving; stopped by timeout here).
    published.write_bytes((tmp_path / "pki" / "receipt.pub.pem").read_bytes())
    process = subprocess.Popen([bankgw_bin, "serve", "--config", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=3)
    finally:
        process.terminate()
        process.wait(timeout=30)
