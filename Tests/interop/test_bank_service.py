"""SPEC §3/§4 end to end: Python grpcio (C-core) over mutual TLS with the demo certificates against a real
`bankgw serve --demo`: the demo banks' states, the link and charge checks, idempotency, receipts."""
import itertools
import time

import grpc
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature

from gateway import Gateway

counter = itertools.count()


def now_ms():
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


class Bank:
    """A bank's client: the stub on a channel with that bank's certificate."""

    def __init__(self, gw, pb, code):
        self.gw, self.pb, self.code = gw, pb, code
        self.channel = gw.secure_channel(code)
        self.stub = pb.v1_grpc.BankGatewayStub(self.channel)

    def header(self, request_id=None, sent_at=None, bank_code=None):
        return self.pb.v1.RequestHeader(bank_code=bank_code or self.code,
                                        request_id=request_id or f"req-{self.code}-{next(counter)}-{now_ms()}",
                                        sent_at_unix_ms=sent_at if sent_at is not None else now_ms())

    def auth(self, method=None, at=None):
        v1 = self.pb.v1
        return v1.CustomerAuth(method=v1.SMS_OTP if method is None else method,
                               authenticated_at_unix_ms=at or now_ms(), auth_reference="otp")

    def link(self, wallet, code, kana, token=None, method=None, request_id=None):
        request = self.pb.v1.LinkAccountRequest(
            header=self.header(request_id), wallet_account_id=wallet, link_code=code,
            bank_account_token=token or f"tok-{self.code}-{next(counter)}", account_holder_kana=kana,
            customer_auth=self.auth(method))
        return self.stub.LinkAccount(request, timeout=10)

    def charge(self, link_id, amount, request_id=None, header=None):
        request = self.pb.v1.ChargeRequest(header=header or self.header(request_id), link_id=link_id,
                                           amount_yen=amount)
        return self.stub.Charge(request, timeout=10)


class Operator:
    def __init__(self, gw, pb):
        self.gw, self.pb = gw, pb
        self.stub = pb.admin_grpc.AdminStub(gw.secure_channel("operator"))

    def link_code(self, wallet):
        return self.stub.IssueLinkCode(self.pb.admin.IssueLinkCodeRequest(wallet_account_id=wallet), timeout=10).link_code

    def test_wallet(self, kana="テスト タロウ", phone=True):
        admin = self.pb.admin
        wallet = f"W9{next(counter) % 1000000:06d}"
        self.stub.RegisterWallet(admin.RegisterWalletRequest(wallet_account_id=wallet, test=True, reason="test"),
                                 timeout=10)
        self.stub.RecordEkyc(admin.RecordEkycRequest(wallet_account_id=wallet, status=admin.VERIFIED,
                                                     method=admin.HE_IC_CHIP_AND_SELFIE, name_kana=kana,
                                                     verified_at_unix_ms=now_ms(), reason="test"), timeout=10)
        if phone:
            self.stub.MarkPhoneVerified(admin.MarkPhoneVerifiedRequest(wallet_account_id=wallet, reason="sms"),
                                        timeout=10)
        return wallet

    def balance(self, wallet):
        return self.stub.GetWallet(self.pb.admin.GetWalletRequest(wallet_account_id=wallet), timeout=10).balance_yen


def approve_as_second_operator(gw, pb, subject):
    """Four eyes (SPEC §8): the demo's second operator approves the pending request on `subject`."""
    admin = pb.admin
    stub = pb.admin_grpc.AdminStub(gw.secure_channel("operator2"))
    pending = [a for a in stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals if a.subject == subject]
    assert len(pending) == 1, f"one pending approval on {subject}: {pending}"
    return stub.Approve(admin.ApproveRequest(approval_id=pending[0].approval_id, reason="second pair of eyes"),
                        timeout=10)


def expect_status(code, fn, contains=None):
    with pytest.raises(grpc.RpcError) as failure:
        fn()
    assert failure.value.code() == code, failure.value.details()
    if contains:
        assert contains in failure.value.details(), failure.value.details()
    return failure.value.details()


@pytest.fixture(scope="module")
def op(gw, pb):
    return Operator(gw, pb)


def test_9900_links_w0000001_and_charges_it_once_across_retries(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    v1 = pb.v1
    linked = bank.link("W0000001", op.link_code("W0000001"), "ﾔﾏﾀﾞ ﾊﾅｺ")
    assert linked.decision == v1.APPROVED and linked.link_id
    before = op.balance("W0000001")
    header = bank.header()
    first = bank.charge(linked.link_id, 10_000, header=header)
    assert first.decision == v1.APPROVED and first.charge_id
    again = bank.charge(linked.link_id, 10_000, header=header)
    assert again == first, "a retry returns the first response, byte for byte"
    assert op.balance("W0000001") == before + 10_000, "credited once"
    changed = pb.v1.ChargeRequest(header=header, link_id=linked.link_id, amount_yen=10_001)
    expect_status(grpc.StatusCode.ALREADY_EXISTS, lambda: bank.stub.Charge(changed, timeout=10))
    got = bank.stub.GetCharge(v1.GetChargeRequest(header=bank.header(), original_request_id=header.request_id),
                              timeout=10)
    assert got.charge_id == first.charge_id and got.decision == v1.APPROVED
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: bank.stub.GetCharge(
        v1.GetChargeRequest(header=bank.header(), original_request_id="never-sent"), timeout=10))

    # SPEC §5: the receipt verifies with the published key, over the encoding with field 5 empty.
    key = serialization.load_pem_public_key(gw.pki("receipt.pub.pem"))
    unsigned = v1.ChargeResponse()
    unsigned.CopyFrom(first)
    unsigned.ClearField("receipt_signature")
    key.verify(first.receipt_signature, unsigned.SerializeToString(), ec.ECDSA(hashes.SHA256()))
    flipped = bytearray(unsigned.SerializeToString())
    flipped[-1] ^= 1
    with pytest.raises(InvalidSignature):
        key.verify(first.receipt_signature, bytes(flipped), ec.ECDSA(hashes.SHA256()))


def test_0009_is_suspended(gw, pb, op):
    bank = Bank(gw, pb, "0009")
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ"), contains="SUSPENDED")


def test_0005_pending_is_denied_for_a_real_wallet_and_allowed_for_a_test_wallet(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ"), contains="PENDING")
    wallet = op.test_wallet("サトウ ケン")
    linked = bank.link(wallet, op.link_code(wallet), "ｻﾄｳ ｹﾝ")
    assert linked.decision == pb.v1.APPROVED
    assert bank.charge(linked.link_id, 1_000).decision == pb.v1.APPROVED
    assert op.balance(wallet) == 1_000


def test_0001_pilot_serves_only_its_pilot_list(gw, pb, op):
    bank = Bank(gw, pb, "0001")
    declined = bank.link("W0000001", op.link_code("W0000001"), "ヤマダ ハナコ")
    assert declined.decision == pb.v1.DECLINED and declined.decline_reason == pb.v1.NOT_IN_PILOT
    linked = bank.link("W0000002", op.link_code("W0000002"), "スズキ イチロウ")
    assert linked.decision == pb.v1.APPROVED


@pytest.mark.parametrize("wallet,reason", [("W0000003", "WALLET_KYC_INCOMPLETE"), ("W0000004", "WALLET_PHONE_UNVERIFIED")])
def test_unverified_wallets_are_declined(gw, pb, op, wallet, reason):
    bank = Bank(gw, pb, "9900")
    response = bank.link(wallet, op.link_code(wallet), "タナカ ジロウ")
    assert response.decision == pb.v1.DECLINED
    assert response.decline_reason == pb.v1.DeclineReason.Value(reason)


def test_weak_auth_name_mismatch_and_reused_code_are_declined(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    wallet = op.test_wallet("ヤマダ ハナコ")
    weak = bank.link(wallet, op.link_code(wallet), "ヤマダ ハナコ", method=pb.v1.PASSWORD_ONLY)
    assert weak.decline_reason == pb.v1.WEAK_CUSTOMER_AUTH
    mismatch = bank.link(wallet, op.link_code(wallet), "ヤマダ ハナエ")
    assert mismatch.decline_reason == pb.v1.NAME_MISMATCH
    code = op.link_code(wallet)
    assert bank.link(wallet, code, "ﾔﾏﾀﾞﾊﾅｺ").decision == pb.v1.APPROVED
    reused = bank.link(wallet, code, "ヤマダ ハナコ")
    assert reused.decision == pb.v1.DECLINED and reused.decline_reason == pb.v1.LINK_CODE_INVALID


def test_request_level_statuses(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    v1 = pb.v1
    stale = v1.GetChargeRequest(header=bank.header(sent_at=now_ms() - 301_000), original_request_id="x")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: bank.stub.GetCharge(stale, timeout=10),
                  contains="sent_at_unix_ms")
    other_bank = v1.GetChargeRequest(header=bank.header(bank_code="0001"), original_request_id="x")
    expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: bank.stub.GetCharge(other_bank, timeout=10),
                  contains="bank_code")
    operator_on_bank = pb.v1_grpc.BankGatewayStub(gw.secure_channel("operator"))
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: operator_on_bank.GetCharge(v1.GetChargeRequest(header=bank.header(), original_request_id="x"),
                                                     timeout=10))
    bank_on_admin = pb.admin_grpc.AdminStub(gw.secure_channel("9900"))
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: bank_on_admin.ListBanks(pb.admin.ListBanksRequest(), timeout=10))
    zero = v1.ChargeRequest(header=bank.header(), link_id="L-1", amount_yen=0)
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, lambda: bank.stub.Charge(zero, timeout=10), contains="amount_yen")
    raw = bank.channel.unary_unary("/bankgw.v1.BankGateway/Charge")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, lambda: raw(b"\x18\x80", timeout=10), contains="truncated varint")
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, lambda: raw(b"\x00" * (64 * 1024 + 1), timeout=10))
    unknown = bank.channel.unary_unary("/bankgw.v1.BankGateway/Refund")
    expect_status(grpc.StatusCode.UNIMPLEMENTED, lambda: unknown(b"", timeout=10))


def test_charge_limits_and_holds_on_a_new_link(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    v1 = pb.v1
    wallet = op.test_wallet("イトウ ミキ")
    link_id = bank.link(wallet, op.link_code(wallet), "イトウ ミキ").link_id
    over = bank.charge(link_id, 300_001)
    assert (over.decision, over.decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    caution = bank.charge(link_id, 50_001)
    assert (caution.decision, caution.decline_reason) == (v1.DECLINED, v1.LIMIT_EXCEEDED)
    held = bank.charge(link_id, 40_000)
    assert held.decision == v1.HELD
    assert op.balance(wallet) == 0, "a HELD charge credits nothing"
    assert bank.charge(link_id, 1_000).decision == v1.APPROVED
    assert bank.charge(link_id, 1_000).decision == v1.APPROVED
    fourth = bank.charge(link_id, 1_000)
    assert fourth.decision == v1.HELD, "the 4th charge on a link within 10 minutes is held"
    assert op.balance(wallet) == 2_000


def test_fraud_unlink_freezes_charges(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    v1 = pb.v1
    wallet = op.test_wallet("キムラ ユイ")
    first = bank.link(wallet, op.link_code(wallet), "キムラ ユイ", token="tok-fraud-1").link_id
    second = bank.link(wallet, op.link_code(wallet), "キムラ ユイ", token="tok-fraud-2").link_id
    unlinked = bank.stub.Unlink(v1.UnlinkRequest(header=bank.header(), link_id=first, reason="FRAUD: stolen PIN"),
                                timeout=10)
    assert unlinked.unlinked
    inactive = bank.charge(first, 1_000)
    assert inactive.decline_reason == v1.LINK_NOT_ACTIVE
    frozen = bank.charge(second, 1_000)
    assert (frozen.decision, frozen.decline_reason) == (v1.DECLINED, v1.FRAUD_SUSPECTED)


def test_account_token_linked_to_another_wallet_is_refused(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    a, b = op.test_wallet("ア イ"), op.test_wallet("ア イ")
    assert bank.link(a, op.link_code(a), "ア イ", token="tok-shared-1").decision == pb.v1.APPROVED
    second = bank.link(b, op.link_code(b), "ア イ", token="tok-shared-1")
    assert second.decline_reason == pb.v1.ACCOUNT_LINK_LIMIT
