"""SPEC §4 limits, holds, rate limits and the kill switch, end to end over mutual TLS with grpcio. Each test gets
its own gateway, because it changes bank profiles and states."""
import threading
import time

import grpc
import pytest

from gateway import Gateway
from test_bank_service import Bank, Operator, expect_status


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    # The SPEC §4 limits on their own: charging a whole daily limit minutes after linking is exactly what the §8
    # rules hold (link.then_drain, wallet.velocity); test_monitoring.py covers those.
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path), extra_args=["--monitoring-rules-off"]).start()
    yield gateway
    gateway.stop()


def set_profile(op, pb, bank, **fields):
    profile = pb.admin.BankProfile(**fields)
    op.stub.SetBankProfile(pb.admin.SetBankProfileRequest(bank_code=bank, profile=profile, reason="test"), timeout=10)


def test_daily_and_monthly_limits_per_wallet(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    set_profile(op, pb, "0005", max_daily_yen_per_wallet=30_000, max_monthly_yen_per_wallet=2_000_000)
    wallet = op.test_wallet("モリ アキ")
    link = bank.link(wallet, op.link_code(wallet), "モリ アキ").link_id
    assert bank.charge(link, 12_000).decision == v1.APPROVED
    assert bank.charge(link, 12_000).decision == v1.APPROVED
    daily = bank.charge(link, 12_000)
    assert (daily.decision, daily.decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    assert bank.charge(link, 6_000).decision == v1.APPROVED, "exactly at the daily limit is allowed"

    set_profile(op, pb, "0005", max_daily_yen_per_wallet=500_000, max_monthly_yen_per_wallet=20_000)
    other = op.test_wallet("モリ ユウ")
    link = bank.link(other, op.link_code(other), "モリ ユウ").link_id
    assert bank.charge(link, 12_000).decision == v1.APPROVED
    monthly = bank.charge(link, 12_000)
    assert (monthly.decision, monthly.decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    assert op.balance(other) == 12_000


def test_wallet_balance_cap(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    # An established link (caution window of 1 ms) and limits above the cap, so only the cap can decide.
    set_profile(op, pb, "0005", max_charge_yen=1_000_000, max_daily_yen_per_wallet=2_000_000,
                max_monthly_yen_per_wallet=5_000_000, new_link_caution_ms=1, new_link_max_charge_yen=1_000_000)
    wallet = op.test_wallet("ハヤシ ケイ")
    link = bank.link(wallet, op.link_code(wallet), "ハヤシ ケイ").link_id
    time.sleep(0.01)
    assert bank.charge(link, 700_000).decision == v1.APPROVED
    capped = bank.charge(link, 300_001)
    assert (capped.decision, capped.decline_reason) == (v1.DECLINED, v1.BALANCE_CAP_EXCEEDED)
    assert bank.charge(link, 300_000).decision == v1.APPROVED, "exactly at the cap is allowed"
    assert op.balance(wallet) == 1_000_000


def test_first_charge_after_the_token_moved_wallets_is_held(gw, pb):
    op, bank, v1 = Operator(gw, pb), Bank(gw, pb, "0005"), pb.v1
    a, b = op.test_wallet("ノダ ミオ"), op.test_wallet("ノダ ミオ")
    first = bank.link(a, op.link_code(a), "ノダ ミオ", token="tok-moving").link_id
    assert bank.stub.Unlink(v1.UnlinkRequest(header=bank.header(), link_id=first, reason="customer request"),
                            timeout=10).unlinked
    second = bank.link(b, op.link_code(b), "ノダ ミオ", token="tok-moving")
    assert second.decision == v1.APPROVED
    assert bank.charge(second.link_id, 1_000).decision == v1.HELD
    assert bank.charge(second.link_id, 1_000).decision == v1.APPROVED, "only the first charge is held"


def test_rate_limit_is_per_bank(gw, pb):
    op, slow, other = Operator(gw, pb), Bank(gw, pb, "9900"), Bank(gw, pb, "0001")
    set_profile(op, pb, "9900", max_requests_per_second=5)
    get = lambda bank: bank.stub.GetCharge(pb.v1.GetChargeRequest(header=bank.header(), original_request_id="nope"),
                                           timeout=10)
    codes = []
    for _ in range(30):
        try:
            get(slow)
        except grpc.RpcError as error:
            codes.append(error.code())
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 20, codes
    for _ in range(30):
        expect_status(grpc.StatusCode.NOT_FOUND, lambda: get(other))


def test_enabling_a_bank_needs_a_recent_passing_conformance_run(gw, pb):
    op = Operator(gw, pb)
    details = expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: op.stub.SetBankState(
        pb.admin.SetBankStateRequest(bank_code="0005", operation=pb.admin.CHARGE, state=pb.admin.ENABLED,
                                     reason="go live"), timeout=10))
    assert "conformance" in details
    suspended = op.stub.SetBankState(pb.admin.SetBankStateRequest(
        bank_code="0005", operation=pb.admin.CHARGE, state=pb.admin.SUSPENDED, reason="kill switch"), timeout=10)
    assert suspended.charge_state == pb.admin.SUSPENDED


def test_suspending_a_bank_under_load_denies_every_later_request(gw, pb):
    op, v1 = Operator(gw, pb), pb.v1
    wallets = ["W0000001"]
    loader = Bank(gw, pb, "9900")
    links = [loader.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ", token=f"tok-load-{i}").link_id
             for i in range(3)]
    outcomes = []  # (started, decision or status code)
    stop = threading.Event()

    def load(worker):
        bank = Bank(gw, pb, "9900")
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                outcome = bank.charge(links[(worker + n) % len(links)], 100).decision
            except grpc.RpcError as error:
                outcome = error.code()
            outcomes.append((started, outcome))
            n += 1

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    op.stub.SetBankState(pb.admin.SetBankStateRequest(bank_code="9900", operation=pb.admin.CHARGE,
                                                      state=pb.admin.SUSPENDED, reason="kill switch drill"), timeout=10)
    changed = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    before = [o for t, o in outcomes if t < changed]
    after = [o for t, o in outcomes if t > changed]
    assert any(o in (v1.APPROVED, v1.HELD) for o in before), "the load was being served before the change"
    assert after, "requests were sent after the change"
    assert all(o == grpc.StatusCode.PERMISSION_DENIED for o in after), set(after)


def spki_sha256(pem):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    certificate = x509.load_pem_x509_certificate(pem)
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return digest.finalize()


def test_a_pin_set_by_an_operator_applies_to_the_next_handshake(gw, pb):
    op = Operator(gw, pb)
    check = lambda bank: pb.v1_grpc.BankGatewayStub(gw.secure_channel(bank)).GetCharge(
        pb.v1.GetChargeRequest(header=Bank(gw, pb, bank).header(), original_request_id="nope"), timeout=10)
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: check("0001"))
    # Pin 0001 to another bank's key: 0001's own certificate no longer passes the handshake.
    set_profile(op, pb, "0001", pinned_spki_sha256=spki_sha256(gw.pki("banks/9900.pem")))
    expect_status(grpc.StatusCode.UNAVAILABLE, lambda: check("0001"))
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: check("9900"))
    # Pinned to its own key, it is accepted again.
    set_profile(op, pb, "0001", pinned_spki_sha256=spki_sha256(gw.pki("banks/0001.pem")))
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: check("0001"))
