"""SPEC §5 receipts checked by `bankgw receipt verify` (and Python's `cryptography`), and the wallet core's
tamper-evident audit chain checked by `bankgw audit verify` after real links and charges through a real gateway."""
import re
import sqlite3

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import run_bankgw
from gateway import Gateway
from test_bank_service import Bank, Operator


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def charged(gw, pb):
    """W0000001 linked at 9900 with one approved and one held charge."""
    op = Operator(gw, pb)
    bank = Bank(gw, pb, "9900")
    link = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    assert link.decision == pb.v1.APPROVED
    approved = bank.charge(link.link_id, 1_500)
    held = bank.charge(link.link_id, 42_000)
    assert (approved.decision, held.decision) == (pb.v1.APPROVED, pb.v1.HELD)
    return approved, held


def verify(bankgw_bin, response_bytes, key_path):
    return run_bankgw(bankgw_bin, "receipt", "verify", "--key", str(key_path), stdin=response_bytes)


def test_a_genuine_receipt_verifies_with_the_cli_and_with_cryptography(bankgw_bin, gw, pb, charged):
    approved, held = charged
    key_path = f"{gw.state_dir}/pki/receipt.pub.pem"
    for response in (approved, held):
        result = verify(bankgw_bin, response.SerializeToString(), key_path)
        assert (result.returncode, result.stdout) == (0, b"valid\n"), result.stderr.decode()
        key = serialization.load_pem_public_key(gw.pki("receipt.pub.pem"))
        unsigned = pb.v1.ChargeResponse()
        unsigned.CopyFrom(response)
        unsigned.ClearField("receipt_signature")
        key.verify(response.receipt_signature, unsigned.SerializeToString(), ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("field", ["receipt_signature", "processed_at_unix_ms", "charge_id", "decision"])
def test_one_flipped_bit_makes_the_receipt_invalid(bankgw_bin, gw, pb, charged, field):
    tampered = pb.v1.ChargeResponse()
    tampered.CopyFrom(charged[0])
    if field == "receipt_signature":
        signature = bytearray(tampered.receipt_signature)
        signature[len(signature) // 2] ^= 0x01
        tampered.receipt_signature = bytes(signature)
    elif field == "charge_id":
        tampered.charge_id = tampered.charge_id[:-1] + chr(ord(tampered.charge_id[-1]) ^ 0x01)
    else:
        setattr(tampered, field, getattr(tampered, field) ^ (0x02 if field == "decision" else 0x01))
    result = verify(bankgw_bin, tampered.SerializeToString(), f"{gw.state_dir}/pki/receipt.pub.pem")
    assert (result.returncode, result.stdout) == (1, b"invalid\n"), result.stderr.decode()


def test_a_receipt_checked_with_another_key_is_invalid(bankgw_bin, charged, tmp_path):
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    key_path = tmp_path / "other.pub.pem"
    key_path.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    result = verify(bankgw_bin, charged[0].SerializeToString(), key_path)
    assert (result.returncode, result.stdout) == (1, b"invalid\n")


def test_bytes_that_are_not_a_charge_response_exit_65(bankgw_bin, gw):
    result = verify(bankgw_bin, b"\xff\xff\xff", f"{gw.state_dir}/pki/receipt.pub.pem")
    assert result.returncode == 65 and b"ChargeResponse" in result.stderr


def test_the_audit_chain_holds_and_breaks_at_the_row_edited_behind_the_gateway(bankgw_bin, gw, pb, charged):
    approved, held = charged
    # Every decision names its rule: the held charge's entry says which monitoring rule held it.
    shown = run_bankgw(bankgw_bin, "audit", "show", "--state-dir", gw.state_dir, "--charge", held.charge_id)
    assert shown.returncode == 0, shown.stderr.decode()
    assert "charge.held" in shown.stdout.decode() and "bank/9900" in shown.stdout.decode()

    assert gw.stop() == 0
    intact = run_bankgw(bankgw_bin, "audit", "verify", "--state-dir", gw.state_dir)
    assert intact.returncode == 0, intact.stderr.decode()
    entries = int(re.search(r"(\d+) entries, chain intact", intact.stdout.decode()).group(1))

    with sqlite3.connect(f"{gw.state_dir}/wallet.sqlite") as db:
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == entries
        (row_id,) = db.execute("SELECT id FROM audit WHERE subject = ? AND action = 'charge.approved'",
                               (approved.charge_id,)).fetchone()
        # The append-only trigger stops accidents, not someone with the file: drop it and edit.
        db.execute("DROP TRIGGER audit_is_append_only_update")
        db.execute("UPDATE audit SET detail = replace(detail, 'amount_yen=1500', 'amount_yen=150') WHERE id = ?",
                   (row_id,))
        assert db.total_changes == 1
    broken = run_bankgw(bankgw_bin, "audit", "verify", "--state-dir", gw.state_dir)
    assert broken.returncode == 1
    assert f"chain broken at entry {row_id}:" in broken.stderr.decode(), broken.stderr.decode()
