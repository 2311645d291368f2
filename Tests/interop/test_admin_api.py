"""bankgw.admin.v1.Admin with Python grpcio (C-core): every call with the operator certificate, and every call
refused with a bank certificate (PERMISSION_DENIED)."""
import grpc
import pytest

from gateway import Gateway
from test_bank_service import Bank, Operator, expect_status, now_ms


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


def test_every_admin_call_with_the_operator_certificate(gw, pb):
    op, admin = Operator(gw, pb), pb.admin
    stub = op.stub
    banks = stub.ListBanks(admin.ListBanksRequest(), timeout=10).banks
    assert {b.bank_code for b in banks} == {"9900", "0001", "0005", "0009"}
    bank = stub.GetBank(admin.GetBankRequest(bank_code="0001"), timeout=10)
    assert (bank.link_state, bank.charge_state, list(bank.pilot_wallet_ids)) == (admin.PILOT, admin.PILOT, ["W0000002"])
    piloted = stub.SetPilotList(admin.SetPilotListRequest(bank_code="0001", wallet_account_ids=["W0000002", "W0000001"],
                                                          reason="widen pilot"), timeout=10)
    assert sorted(piloted.pilot_wallet_ids) == ["W0000001", "W0000002"]
    profiled = stub.SetBankProfile(admin.SetBankProfileRequest(
        bank_code="0001", profile=admin.BankProfile(max_charge_yen=200_000), reason="lower per-charge"), timeout=10)
    assert profiled.profile.max_charge_yen == 200_000
    suspended = stub.SetBankState(admin.SetBankStateRequest(bank_code="0001", operation=admin.LINK,
                                                            state=admin.SUSPENDED, reason="drill"), timeout=10)
    assert suspended.link_state == admin.SUSPENDED

    wallet = op.test_wallet("アドミン テスト")
    shown = stub.GetWallet(admin.GetWalletRequest(wallet_account_id=wallet), timeout=10)
    assert (shown.test, shown.ekyc_status, shown.phone_verified) == (True, admin.VERIFIED, True)
    code = stub.IssueLinkCode(admin.IssueLinkCodeRequest(wallet_account_id=wallet), timeout=10)
    assert code.link_code and code.expires_at_unix_ms > now_ms()
    assert not stub.UnlockLinking(admin.WalletActionRequest(wallet_account_id=wallet, reason="review"),
                                  timeout=10).link_locked
    assert not stub.UnfreezeCharges(admin.WalletActionRequest(wallet_account_id=wallet, reason="review"),
                                    timeout=10).charge_frozen

    # Holds: a 40,000 yen charge on a new link is held; release credits once, reject credits nothing.
    bank0005 = Bank(gw, pb, "0005")
    link_id = bank0005.link(wallet, code.link_code, "アドミン テスト").link_id
    first, second = bank0005.charge(link_id, 40_000), bank0005.charge(link_id, 45_000)
    assert first.decision == second.decision == pb.v1.HELD
    held = {h.charge_id: h for h in stub.ListHolds(admin.ListHoldsRequest(), timeout=10).holds}
    assert {first.charge_id, second.charge_id} <= set(held)
    released = stub.ReleaseHold(admin.ReleaseHoldRequest(charge_id=first.charge_id, reason="customer confirmed"),
                                timeout=10)
    again = stub.ReleaseHold(admin.ReleaseHoldRequest(charge_id=first.charge_id, reason="twice"), timeout=10)
    assert released.state == again.state == admin.Hold.RELEASED
    rejected = stub.RejectHold(admin.RejectHoldRequest(charge_id=second.charge_id, reason="fraud"), timeout=10)
    assert rejected.state == admin.Hold.REJECTED
    assert op.balance(wallet) == 40_000, "released once, rejected never"
    everything = stub.ListHolds(admin.ListHoldsRequest(include_resolved=True), timeout=10).holds
    assert {first.charge_id, second.charge_id} <= {h.charge_id for h in everything}

    record = admin.ConformanceRecord(bank_code="0009", passed=False, cases_passed=28, cases_failed=2,
                                     report_sha256_hex="ab" * 32, failed_cases=["a", "b"])
    # SPEC §4: an operator's word alone records nothing (a run is recorded only when the gateway witnessed it;
    # test_conformance_witness.py). The call is served and answers which rule refused it.
    details = expect_status(grpc.StatusCode.FAILED_PRECONDITION,
                            lambda: stub.RecordConformance(admin.RecordConformanceRequest(record=record), timeout=10))
    assert "run_id" in details


ALL_CALLS = ["ListBanks", "GetBank", "SetBankState", "SetBankProfile", "SetPilotList", "RecordConformance",
             "RegisterWallet", "GetWallet", "RecordEkyc", "MarkPhoneVerified", "IssueLinkCode", "UnlockLinking",
             "UnfreezeCharges", "ListHolds", "ReleaseHold", "RejectHold",
             # SPEC §8
             "ListAlerts", "WatchAlerts", "AcknowledgeAlert", "ResolveAlert", "ConfirmSuspension", "ListBlocked",
             "Block", "Unblock", "ListApprovals", "Approve", "Decline", "FreezeCharges",
             # §9 reversals and compensation
             "ReverseCharge", "OpenCompensationCase", "PayCompensation", "CloseCompensationCase",
             "ListCompensationCases", "RegisterMerchant", "PayFromWallet"]


def test_the_admin_service_declares_exactly_these_calls(pb):
    assert sorted(m.name for m in pb.admin.DESCRIPTOR.services_by_name["Admin"].methods) == sorted(ALL_CALLS)


@pytest.mark.parametrize("method", ALL_CALLS)
def test_a_bank_certificate_is_refused_on_every_admin_call(gw, pb, method):
    descriptor = pb.admin.DESCRIPTOR.services_by_name["Admin"].methods_by_name[method]
    request_class = getattr(pb.admin, descriptor.input_type.name)
    stub = pb.admin_grpc.AdminStub(gw.secure_channel("9900"))
    call = getattr(stub, method)
    if descriptor.server_streaming:
        details = expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: next(call(request_class(), timeout=10)))
    else:
        details = expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: call(request_class(), timeout=10))
    assert "bank 9900" in details
