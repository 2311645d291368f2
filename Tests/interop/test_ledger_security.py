"""Issue 16, ledger and policy holes (SPEC §3, §4 as amended), each reproduced as an attacker would with grpcio over
mutual TLS against a real `bankgw serve --demo`. Every scenario that moves money ends with `bankgw ledger verify`.
Each test gets its own gateway (they change profiles, bank states and wallet freezes)."""
import datetime
import hashlib
import hmac
import os
import sqlite3
import stat
import subprocess
import time

import grpc
import pytest

from gateway import Gateway
from test_bank_service import Bank, Operator, expect_status, now_ms
from test_bank_limits import set_profile


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def verify_ledger(gw):
    result = subprocess.run([gw.bankgw_bin, "ledger", "verify", "--state-dir", gw.state_dir], capture_output=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return result.stdout.decode()


def unlink(bank, link_id, reason, request_id=None):
    return bank.stub.Unlink(bank.pb.v1.UnlinkRequest(header=bank.header(request_id), link_id=link_id, reason=reason),
                            timeout=10)


def release(op, pb, charge_id):
    return op.stub.ReleaseHold(pb.admin.ReleaseHoldRequest(charge_id=charge_id, reason="reviewed"), timeout=10)


def open_holds(op, pb):
    return {h.charge_id for h in op.stub.ListHolds(pb.admin.ListHoldsRequest(), timeout=10).holds}


# MARK: item 2 — one FRAUD reason


@pytest.mark.parametrize("reason", ["  FRAUD: stolen PIN", "\tfraud stolen card", "\u3000Fraud（盗難）"])
def test_fraud_unlink_with_leading_white_space_freezes_charges_on_every_link(gw, pb, reason):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    wallet = op.test_wallet("キムラ ユイ")
    first = bank.link(wallet, op.link_code(wallet), "キムラ ユイ", token="tok-f1").link_id
    second = bank.link(wallet, op.link_code(wallet), "キムラ ユイ", token="tok-f2").link_id
    assert unlink(bank, first, reason).unlinked
    frozen = bank.charge(second, 1_000)
    assert (frozen.decision, frozen.decline_reason) == (v1.DECLINED, v1.FRAUD_SUSPECTED)
    assert op.balance(wallet) == 0
    assert op.stub.GetWallet(pb.admin.GetWalletRequest(wallet_account_id=wallet), timeout=10).charge_frozen
    verify_ledger(gw)


# MARK: item 3 — holds reserve, release re-runs the chain


def test_twelve_held_charges_cannot_credit_more_than_the_daily_limit(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    wallet = op.test_wallet("ホシ リク")
    link = bank.link(wallet, op.link_code(wallet), "ホシ リク").link_id
    answers = [bank.charge(link, 45_000) for _ in range(12)]
    held = [a.charge_id for a in answers if a.decision == v1.HELD]
    assert len(held) == 11, [(a.decision, a.decline_reason) for a in answers]
    assert (answers[-1].decision, answers[-1].decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    for charge_id in held:
        release(op, pb, charge_id)
    assert op.balance(wallet) == 11 * 45_000 <= 500_000
    verify_ledger(gw)


def test_a_held_charge_reserves_the_balance_cap(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    set_profile(op, pb, "0005", max_charge_yen=1_000_000, max_daily_yen_per_wallet=2_000_000,
                max_monthly_yen_per_wallet=5_000_000, new_link_caution_ms=1, new_link_max_charge_yen=1_000_000)
    wallet = op.test_wallet("ハヤシ ケイ")
    link = bank.link(wallet, op.link_code(wallet), "ハヤシ ケイ").link_id
    time.sleep(0.01)
    held = bank.charge(link, 800_000)
    assert held.decision == v1.HELD
    over = bank.charge(link, 300_000)
    assert (over.decision, over.decline_reason) == (v1.DECLINED, v1.BALANCE_CAP_EXCEEDED)
    assert bank.charge(link, 200_000).decision == v1.APPROVED, "exactly at the cap with the hold counted"
    release(op, pb, held.charge_id)
    assert op.balance(wallet) == 1_000_000
    verify_ledger(gw)


def test_rejecting_a_hold_frees_its_reservation(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    set_profile(op, pb, "0005", max_daily_yen_per_wallet=100_000)
    wallet = op.test_wallet("オカ ナミ")
    link = bank.link(wallet, op.link_code(wallet), "オカ ナミ").link_id
    first, second = bank.charge(link, 45_000), bank.charge(link, 45_000)
    assert (first.decision, second.decision) == (v1.HELD, v1.HELD)
    over = bank.charge(link, 20_000)
    assert (over.decision, over.decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    op.stub.RejectHold(pb.admin.RejectHoldRequest(charge_id=first.charge_id, reason="customer denies"), timeout=10)
    assert bank.charge(link, 20_000).decision == v1.APPROVED
    assert op.balance(wallet) == 20_000
    verify_ledger(gw)


def _held(op, bank, pb, kana, token):
    wallet = op.test_wallet(kana)
    link = bank.link(wallet, op.link_code(wallet), kana, token=token).link_id
    held = bank.charge(link, 45_000)
    assert held.decision == pb.v1.HELD
    return wallet, link, held.charge_id


def test_release_is_refused_after_a_fraud_freeze_an_unlink_or_a_suspension(gw, pb):
    op, bank = Operator(gw, pb), Bank(gw, pb, "0005")
    frozen_wallet, _, frozen_hold = _held(op, bank, pb, "イシ ダイ", "tok-r1")
    other = bank.link(frozen_wallet, op.link_code(frozen_wallet), "イシ ダイ", token="tok-r2").link_id
    unlink(bank, other, "FRAUD: account taken over")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: release(op, pb, frozen_hold),
                  contains="charge.wallet_not_frozen")

    unlinked_wallet, unlinked_link, unlinked_hold = _held(op, bank, pb, "イシ ミナ", "tok-r3")
    unlink(bank, unlinked_link, "customer request")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: release(op, pb, unlinked_hold),
                  contains="charge.link_active")

    suspended_wallet, _, suspended_hold = _held(op, bank, pb, "イシ ソラ", "tok-r4")
    op.stub.SetBankState(pb.admin.SetBankStateRequest(bank_code="0005", operation=pb.admin.CHARGE,
                                                      state=pb.admin.SUSPENDED, reason="kill switch"), timeout=10)
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: release(op, pb, suspended_hold), contains="SUSPENDED")

    assert {frozen_hold, unlinked_hold, suspended_hold} <= open_holds(op, pb), "a refused release leaves it open"
    for wallet in (frozen_wallet, unlinked_wallet, suspended_wallet):
        assert op.balance(wallet) == 0
    verify_ledger(gw)


# MARK: item 4 — one active link per token; the rapid-charge rule per (wallet, token)


def test_a_token_actively_linked_to_the_same_wallet_cannot_be_linked_again(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    wallet = op.test_wallet("ウエノ ハル")
    assert bank.link(wallet, op.link_code(wallet), "ウエノ ハル", token="tok-twice").decision == v1.APPROVED
    second = bank.link(wallet, op.link_code(wallet), "ウエノ ハル", token="tok-twice")
    assert (second.decision, second.decline_reason) == (v1.DECLINED, v1.ACCOUNT_LINK_LIMIT)


def test_rapid_charges_count_per_wallet_and_token_across_links(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    wallet = op.test_wallet("ウエノ アオ")
    first = bank.link(wallet, op.link_code(wallet), "ウエノ アオ", token="tok-rapid").link_id
    for _ in range(3):
        assert bank.charge(first, 1_000).decision == v1.APPROVED
    unlink(bank, first, "customer request")
    second = bank.link(wallet, op.link_code(wallet), "ウエノ アオ", token="tok-rapid")
    assert second.decision == v1.APPROVED
    fourth = bank.charge(second.link_id, 1_000)
    assert fourth.decision == v1.HELD, "the 4th charge from one token to one wallet within 10 minutes"
    assert op.balance(wallet) == 3_000
    verify_ledger(gw)


# MARK: item 5 — "the same body" leaves sent_at out; stored requests are answered whatever their sent_at


def test_a_restamped_retry_returns_the_first_answer_byte_for_byte(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "9900"), pb.v1
    linked = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    first_header = bank.header()
    first = bank.charge(linked.link_id, 7_000, header=first_header)
    assert first.decision == v1.APPROVED
    restamped = bank.header(request_id=first_header.request_id, sent_at=first_header.sent_at_unix_ms + 1_234)
    again = bank.charge(linked.link_id, 7_000, header=restamped)
    assert again.SerializeToString() == first.SerializeToString()
    assert op.balance("W0000001") == 7_000, "credited once"
    changed = bank.header(request_id=first_header.request_id, sent_at=now_ms())
    expect_status(grpc.StatusCode.ALREADY_EXISTS, lambda: bank.charge(linked.link_id, 7_001, header=changed))
    assert gw.log_text().count("FRAUD ALERT") == 1, "only the changed body raises the alert"

    link_header = bank.header()
    token = "tok-restamp-link"
    code = op.link_code("W0000002")
    request = v1.LinkAccountRequest(header=link_header, wallet_account_id="W0000002", link_code=code,
                                    bank_account_token=token, account_holder_kana="スズキ イチロウ",
                                    customer_auth=bank.auth())
    linked2 = bank.stub.LinkAccount(request, timeout=10)
    request.header.sent_at_unix_ms += 999
    assert bank.stub.LinkAccount(request, timeout=10).SerializeToString() == linked2.SerializeToString()

    unlink_request = v1.UnlinkRequest(header=bank.header(), link_id=linked2.link_id, reason="customer request")
    assert bank.stub.Unlink(unlink_request, timeout=10).unlinked
    unlink_request.header.sent_at_unix_ms += 999
    assert bank.stub.Unlink(unlink_request, timeout=10).unlinked, "the stored answer, not a second unlink"
    verify_ledger(gw)


def test_a_stored_request_is_answered_after_its_sent_at_left_the_window(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "9900"), pb.v1
    linked = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    header = bank.header(sent_at=now_ms() - 299_000)
    first = bank.charge(linked.link_id, 3_000, header=header)
    assert first.decision == v1.APPROVED
    time.sleep(2)
    again = bank.charge(linked.link_id, 3_000, header=header)
    assert again.SerializeToString() == first.SerializeToString()
    old = bank.header(request_id=header.request_id, sent_at=now_ms() - 3_600_000)
    assert bank.charge(linked.link_id, 3_000, header=old).SerializeToString() == first.SerializeToString()
    stale_new = bank.header(sent_at=now_ms() - 301_000)
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: bank.charge(linked.link_id, 3_000, header=stale_new),
                  contains="sent_at_unix_ms")
    assert op.balance("W0000001") == 3_000
    verify_ledger(gw)


# MARK: item 6 — the bank's own state does not lock wallets; inactive links are NOT_FOUND


def test_not_in_pilot_declines_do_not_lock_the_wallet_for_other_banks(gw, pb):
    op, pilot, enabled, v1 = Operator(gw, pb), Bank(gw, pb, "0001"), Bank(gw, pb, "9900"), pb.v1
    for _ in range(6):
        declined = pilot.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
        assert declined.decline_reason == v1.NOT_IN_PILOT
    linked = enabled.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    assert linked.decision == v1.APPROVED, linked
    assert not op.stub.GetWallet(pb.admin.GetWalletRequest(wallet_account_id="W0000001"), timeout=10).link_locked


def test_unlink_of_an_inactive_link_is_not_found_and_freezes_nothing(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    wallet = op.test_wallet("サカイ ジン")
    old = bank.link(wallet, op.link_code(wallet), "サカイ ジン", token="tok-old").link_id
    live = bank.link(wallet, op.link_code(wallet), "サカイ ジン", token="tok-live").link_id
    assert unlink(bank, old, "customer request").unlinked
    op.stub.SetBankState(pb.admin.SetBankStateRequest(bank_code="0005", operation=pb.admin.LINK,
                                                      state=pb.admin.SUSPENDED, reason="kill switch"), timeout=10)
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: unlink(bank, old, "FRAUD: revenge"))
    assert not op.stub.GetWallet(pb.admin.GetWalletRequest(wallet_account_id=wallet), timeout=10).charge_frozen
    assert bank.charge(live, 1_000).decision == v1.APPROVED
    verify_ledger(gw)


# MARK: item 11 — file modes, keyed link codes, unregistered banks


def test_wallet_database_and_its_wal_and_shm_are_owner_only(gw, pb):
    op = Operator(gw, pb)
    op.link_code("W0000001")  # a write, so the WAL exists
    for name in ("wallet.sqlite", "wallet.sqlite-wal", "wallet.sqlite-shm"):
        mode = stat.S_IMODE(os.stat(os.path.join(gw.state_dir, name)).st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"


def test_link_codes_are_stored_as_a_keyed_hmac(gw, pb):
    op = Operator(gw, pb)
    code = op.link_code("W0000001")
    key_path = os.path.join(gw.state_dir, "link-code.key")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = open(key_path, "rb").read()
    assert len(key) >= 32
    db = sqlite3.connect(f"file:{os.path.join(gw.state_dir, 'wallet.sqlite')}?mode=ro", uri=True)
    stored = {bytes(row[0]) for row in db.execute("SELECT code_mac FROM link_code")}
    db.close()
    assert hashlib.sha256(code.encode()).digest() not in stored
    assert hmac.new(key, code.encode(), hashlib.sha256).digest() in stored
    assert Bank(gw, pb, "9900").link("W0000001", code, "ヤマダ ハナコ").decision == pb.v1.APPROVED


def _unregistered_bank_channel(gw, code):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    ca_cert = x509.load_pem_x509_certificate(gw.pki("ca.pem"))
    ca_key = serialization.load_pem_private_key(gw.pki("ca.key"), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bank {code}")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"spiffe://bankgw.partners/bank/{code}")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=gw.pki("ca.pem"),
        private_key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
        certificate_chain=cert.public_bytes(serialization.Encoding.PEM))
    return grpc.secure_channel(f"localhost:{gw.ports['tls']}", credentials)


def test_an_unregistered_bank_code_is_rate_limited(gw, pb):
    channel = _unregistered_bank_channel(gw, "1234")
    stub = pb.v1_grpc.BankGatewayStub(channel)
    codes = []
    for n in range(40):
        header = pb.v1.RequestHeader(bank_code="1234", request_id=f"u-{n}", sent_at_unix_ms=now_ms())
        try:
            stub.GetCharge(pb.v1.GetChargeRequest(header=header, original_request_id="x"), timeout=10)
        except grpc.RpcError as error:
            codes.append(error.code())
    assert codes.count(grpc.StatusCode.PERMISSION_DENIED) >= 1
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 25, codes
    # A registered bank is still served.
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: Bank(gw, pb, "9900").stub.GetCharge(
        pb.v1.GetChargeRequest(header=Bank(gw, pb, "9900").header(), original_request_id="x"), timeout=10))


def test_store_unavailable_is_a_plain_message_for_the_bank_and_the_details_are_logged(gw, pb):
    import threading
    op, bank = Operator(gw, pb), Bank(gw, pb, "9900")
    linked = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    locked, release_lock = threading.Event(), threading.Event()

    def hold_the_write_lock():
        db = sqlite3.connect(os.path.join(gw.state_dir, "wallet.sqlite"), timeout=1, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the one writer lock: the gateway's writer waits 5 s, then gives up
        locked.set()
        release_lock.wait(20)
        db.execute("ROLLBACK")
        db.close()

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    try:
        assert locked.wait(10)
        details = expect_status(grpc.StatusCode.UNAVAILABLE, lambda: bank.charge(linked.link_id, 1_000))
    finally:
        release_lock.set()
        thread.join()
    for leak in ("SQLite", "sqlite", "locked", gw.state_dir):
        assert leak not in details, details
    assert "database is locked" in gw.log_text(), "the SQLite details are in the gateway's log"
    assert op.balance("W0000001") == 0
    verify_ledger(gw)
