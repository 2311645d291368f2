"""SPEC §8 with grpcio against the real gateway: every monitoring rule fired by a scenario a bank or attacker could
produce (severity, subject, the hold where §8 says so), deduplication, the alert lifecycle, block lists, four eyes,
WatchAlerts, and the 2020 attack end to end."""
import json
import queue
import socket
import ssl
import threading
import time

import grpc
import pytest

from gateway import Gateway
from test_bank_service import Bank, Operator, expect_status, now_ms

# Thresholds the scenarios can reach in seconds; every other threshold keeps its SPEC default.
MONITORING = {
    "walletVelocityMinYen": 60_000,
    "linkThenDrainPercentOfDailyLimit": 8,   # 40,000 of the default 500,000 daily limit
    "holdOverdueAfterMs": 1_500,
    "holdOverdueHighAfterMs": 4_000,
    "holdSweepIntervalMs": 300,
    "fourEyesMinHoldReleaseYen": 30_000,
}


def start(bankgw_bin, tmp_path_factory, **overrides):
    path = tmp_path_factory.mktemp("monitoring") / "monitoring.json"
    path.write_text(json.dumps({**MONITORING, **overrides}))
    return Gateway(bankgw_bin, extra_args=["--monitoring", str(path)]).start()


@pytest.fixture(scope="module")
def gw(bankgw_bin, tmp_path_factory):
    gateway = start(bankgw_bin, tmp_path_factory)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def op(gw, pb):
    return Operator(gw, pb)


@pytest.fixture(scope="module")
def op2(gw, pb):
    return pb.admin_grpc.AdminStub(gw.secure_channel("operator2"))


def alerts(op, pb, **filters):
    return list(op.stub.ListAlerts(pb.admin.ListAlertsRequest(**filters), timeout=10).alerts)


def one_alert(op, pb, rule, subject, wait_s=0.0):
    deadline = time.monotonic() + wait_s
    while True:
        found = [a for a in alerts(op, pb, rule=rule) if a.subject == subject]
        if found or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    assert len(found) == 1, f"one unresolved {rule} alert on {subject}, got {found}"
    return found[0]


def linked_wallet(op, bank, kana="カンシ タロウ", token=None):
    wallet = op.test_wallet(kana)
    response = bank.link(wallet, op.link_code(wallet), kana, token=token)
    assert response.decision == bank.pb.v1.APPROVED, response
    return wallet, response.link_id


def test_link_locked_after_five_declines_is_a_high_alert_on_the_wallet(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    wallet = op.test_wallet("ロック タロウ")
    for _ in range(5):
        assert bank.link(wallet, op.link_code(wallet), "ベツジン ジロウ").decline_reason == pb.v1.NAME_MISMATCH
    alert = one_alert(op, pb, "link.locked", wallet)
    assert (alert.severity, alert.subject_kind, alert.state) == (
        pb.admin.ALERT_SEVERITY_HIGH, pb.admin.ALERT_SUBJECT_KIND_WALLET, pb.admin.ALERT_STATE_OPEN)
    assert alert.wallet_account_id == wallet and alert.bank_code == "9900" and alert.count == 1


def test_fraud_unlink_is_a_high_alert_and_resolving_needs_a_note(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    wallet, link_id = linked_wallet(op, bank)
    bank.stub.Unlink(pb.v1.UnlinkRequest(header=bank.header(), link_id=link_id, reason="fraud: stolen card"),
                     timeout=10)
    alert = one_alert(op, pb, "unlink.fraud", wallet)
    assert alert.severity == pb.admin.ALERT_SEVERITY_HIGH
    expect_status(grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: op.stub.ResolveAlert(pb.admin.ResolveAlertRequest(alert_id=alert.alert_id, note=" "),
                                               timeout=10), "note")
    acked = op.stub.AcknowledgeAlert(pb.admin.AcknowledgeAlertRequest(alert_id=alert.alert_id, note="calling bank"),
                                     timeout=10)
    assert (acked.state, acked.assignee) == (pb.admin.ALERT_STATE_ACKNOWLEDGED, "operator/demo")
    resolved = op.stub.ResolveAlert(pb.admin.ResolveAlertRequest(alert_id=alert.alert_id,
                                                                 note="bank confirmed card fraud; wallet stays frozen"),
                                    timeout=10)
    assert resolved.state == pb.admin.ALERT_STATE_RESOLVED
    assert [n.text for n in resolved.notes][-1].startswith("bank confirmed")
    assert all(n.operator == "operator/demo" for n in resolved.notes)
    assert not [a for a in alerts(op, pb, rule="unlink.fraud") if a.subject == wallet], "resolved leaves the list"
    assert [a for a in alerts(op, pb, rule="unlink.fraud", state=pb.admin.ALERT_STATE_RESOLVED) if a.subject == wallet]


def test_idempotency_conflict_is_medium_and_a_second_firing_raises_the_count(gw, pb, op):
    bank = Bank(gw, pb, "0005")  # its own subject: nothing else in this module conflicts through 0005
    wallet, link_id = linked_wallet(op, bank)
    bank.charge(link_id, 1_000, request_id="dup-1")
    expect_status(grpc.StatusCode.ALREADY_EXISTS, lambda: bank.charge(link_id, 2_000, request_id="dup-1"))
    first = one_alert(op, pb, "idempotency.conflict", "0005")
    assert (first.severity, first.count) == (pb.admin.ALERT_SEVERITY_MEDIUM, 1)
    expect_status(grpc.StatusCode.ALREADY_EXISTS, lambda: bank.charge(link_id, 3_000, request_id="dup-1"))
    second = one_alert(op, pb, "idempotency.conflict", "0005")
    assert second.alert_id == first.alert_id and second.count == 2
    assert second.last_seen_unix_ms >= first.last_seen_unix_ms


def test_one_token_tried_for_three_wallets_is_account_many_wallets(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    token = f"tok-shopped-{now_ms()}"
    linked_wallet(op, bank, token=token)
    for _ in range(2):
        other = op.test_wallet("カンシ タロウ")
        assert bank.link(other, op.link_code(other), "カンシ タロウ", token=token).decision == pb.v1.DECLINED
    found = [a for a in alerts(op, pb, rule="account.many_wallets")]
    assert len(found) == 1 and found[0].subject.startswith("9900:")
    assert token not in found[0].subject, "tokens are shown only as keyed hashes"
    assert (found[0].severity, found[0].subject_kind) == (pb.admin.ALERT_SEVERITY_HIGH,
                                                         pb.admin.ALERT_SUBJECT_KIND_ACCOUNT_TOKEN)


def test_wallet_with_three_accounts_in_a_day_has_its_charges_held_until_resolved(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    kana = "タコウザ ハナコ"
    wallet, first_link = linked_wallet(op, bank, kana)
    for _ in range(2):
        assert bank.link(wallet, op.link_code(wallet), kana).decision == pb.v1.APPROVED
    alert = one_alert(op, pb, "wallet.many_accounts", wallet)
    assert alert.severity == pb.admin.ALERT_SEVERITY_HIGH
    held = bank.charge(first_link, 1_000)
    assert held.decision == pb.v1.HELD
    alert = one_alert(op, pb, "wallet.many_accounts", wallet)
    assert held.charge_id in alert.hold_ids
    hold = [h for h in op.stub.ListHolds(pb.admin.ListHoldsRequest(), timeout=10).holds if h.charge_id == held.charge_id]
    assert hold and hold[0].rule == "wallet.many_accounts"
    op.stub.ResolveAlert(pb.admin.ResolveAlertRequest(alert_id=alert.alert_id, note="customer has three banks"),
                         timeout=10)
    assert bank.charge(first_link, 1_000).decision == pb.v1.APPROVED


def test_wallet_velocity_holds_the_charge_that_crosses_it(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    kana = "ハヤイ サブロウ"
    wallet, link_a = linked_wallet(op, bank, kana)
    link_b = bank.link(wallet, op.link_code(wallet), kana).link_id
    assert bank.charge(link_a, 39_000).decision == pb.v1.APPROVED
    crossing = bank.charge(link_b, 39_000)
    assert crossing.decision == pb.v1.HELD
    alert = one_alert(op, pb, "wallet.velocity", wallet)
    assert alert.severity == pb.admin.ALERT_SEVERITY_HIGH and crossing.charge_id in alert.hold_ids


def test_link_then_drain_holds_a_charge_soon_after_linking(gw, pb, op):
    bank = Bank(gw, pb, "9900")
    wallet, link_id = linked_wallet(op, bank, "ドレイン シロウ")
    assert bank.charge(link_id, 39_000).decision == pb.v1.APPROVED
    drained = bank.charge(link_id, 2_000)
    assert drained.decision == pb.v1.HELD
    alert = one_alert(op, pb, "link.then_drain", link_id)
    assert (alert.severity, alert.subject_kind, alert.wallet_account_id) == (
        pb.admin.ALERT_SEVERITY_MEDIUM, pb.admin.ALERT_SUBJECT_KIND_LINK, wallet)
    assert drained.charge_id in alert.hold_ids


def test_hold_overdue_is_medium_then_high(gw, pb, op):
    bank = Bank(gw, pb, "0005")
    wallet, link_id = linked_wallet(op, bank, "オソイ ゴロウ")
    held = bank.charge(link_id, 45_000)
    assert held.decision == pb.v1.HELD
    deadline = time.monotonic() + 8
    seen = set()
    while time.monotonic() < deadline:
        for alert in alerts(op, pb, rule="hold.overdue", bank_code="0005"):
            if held.charge_id in alert.hold_ids:
                seen.add(alert.severity)
        if pb.admin.ALERT_SEVERITY_HIGH in seen:
            break
        time.sleep(0.2)
    assert seen >= {pb.admin.ALERT_SEVERITY_MEDIUM, pb.admin.ALERT_SEVERITY_HIGH}, seen


def test_tls_refusals_from_one_address_raise_an_alert(gw, pb, op):
    context = ssl.create_default_context(cafile=str(gw.state_dir) + "/pki/ca.pem")
    context.set_alpn_protocols(["h2"])
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", gw.ports["tls"]), timeout=5) as raw:
            try:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.recv(1)  # TLS 1.3: the refusal of the missing certificate arrives after the client's Finished
            except (ssl.SSLError, ConnectionError, OSError):
                pass
    alert = one_alert(op, pb, "tls.refusals", "127.0.0.1", wait_s=3)
    assert (alert.severity, alert.subject_kind) == (pb.admin.ALERT_SEVERITY_MEDIUM,
                                                   pb.admin.ALERT_SUBJECT_KIND_CLIENT_ADDRESS)


def test_block_lists_decline_the_very_next_request_with_an_alert(gw, pb, op):
    admin, bank = pb.admin, Bank(gw, pb, "9900")
    kana = "ブロック タロウ"
    wallet, link_id = linked_wallet(op, bank, kana)
    # A wallet: the next link is declined FRAUD_SUSPECTED.
    op.stub.Block(admin.BlockRequest(kind=admin.BLOCK_KIND_WALLET, value=wallet, reason="mule account"), timeout=10)
    assert bank.link(wallet, op.link_code(wallet), kana).decline_reason == pb.v1.FRAUD_SUSPECTED
    assert bank.charge(link_id, 1_000).decline_reason == pb.v1.FRAUD_SUSPECTED
    assert one_alert(op, pb, "blocklist.hit", wallet).severity == admin.ALERT_SEVERITY_HIGH
    op.stub.Unblock(admin.UnblockRequest(kind=admin.BLOCK_KIND_WALLET, value=wallet, reason="cleared"), timeout=10)
    assert bank.charge(link_id, 1_000).decision == pb.v1.APPROVED

    # An account token: kept only as a keyed hash; the next charge on its link is declined.
    token = f"tok-blocked-{now_ms()}"
    wallet2, link2 = linked_wallet(op, bank, kana, token=token)
    entry = op.stub.Block(admin.BlockRequest(kind=admin.BLOCK_KIND_ACCOUNT_TOKEN, value=token, bank_code="9900",
                                             reason="reported stolen"), timeout=10)
    assert token not in entry.value and entry.value.startswith("9900:")
    listed = op.stub.ListBlocked(admin.ListBlockedRequest(), timeout=10).entries
    assert all(token not in e.value for e in listed) and entry.value in {e.value for e in listed}
    assert bank.charge(link2, 1_000).decline_reason == pb.v1.FRAUD_SUSPECTED
    assert one_alert(op, pb, "blocklist.hit", entry.value).subject_kind == admin.ALERT_SUBJECT_KIND_ACCOUNT_TOKEN

    # A client address (every test here comes from 127.0.0.1: unblock at once).
    op.stub.Block(admin.BlockRequest(kind=admin.BLOCK_KIND_CLIENT_ADDRESS, value="127.0.0.1", reason="botnet"),
                  timeout=10)
    try:
        assert bank.charge(link_id, 1_000).decline_reason == pb.v1.FRAUD_SUSPECTED
    finally:
        op.stub.Unblock(admin.UnblockRequest(kind=admin.BLOCK_KIND_CLIENT_ADDRESS, value="127.0.0.1", reason="done"),
                        timeout=10)
    assert one_alert(op, pb, "blocklist.hit", "127.0.0.1").subject_kind == admin.ALERT_SUBJECT_KIND_CLIENT_ADDRESS
    expect_status(grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: op.stub.Block(admin.BlockRequest(kind=admin.BLOCK_KIND_ACCOUNT_TOKEN, value="t",
                                                           reason="no bank"), timeout=10), "bank_code")


def test_four_eyes_hold_release_needs_a_different_operator(gw, pb, op, op2):
    admin, bank = pb.admin, Bank(gw, pb, "9900")
    wallet, link_id = linked_wallet(op, bank, "ヨツメ ハナコ")
    held = bank.charge(link_id, 45_000)  # new link, ≥ 80 % of 50,000: held; ≥ the four-eyes threshold (30,000)
    assert held.decision == pb.v1.HELD
    still = op.stub.ReleaseHold(admin.ReleaseHoldRequest(charge_id=held.charge_id, reason="customer called"),
                                timeout=10)
    assert still.state == admin.Hold.OPEN and op.balance(wallet) == 0, "one operator alone releases nothing"
    pending = [a for a in op.stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals
               if a.subject == held.charge_id]
    assert len(pending) == 1 and pending[0].kind == "hold.release" and pending[0].requested_by == "operator/demo"
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: op.stub.Approve(admin.ApproveRequest(approval_id=pending[0].approval_id, reason="me"),
                                          timeout=10), "four eyes")
    assert op.balance(wallet) == 0
    approved = op2.Approve(admin.ApproveRequest(approval_id=pending[0].approval_id, reason="checked the call"),
                           timeout=10)
    assert approved.state == admin.APPROVAL_STATE_APPROVED and approved.decided_by == "operator/demo2"
    assert op.balance(wallet) == 45_000, "the approved release credits the ledger"
    hold = [h for h in op.stub.ListHolds(admin.ListHoldsRequest(include_resolved=True), timeout=10).holds
            if h.charge_id == held.charge_id][0]
    assert hold.state == admin.Hold.RELEASED and hold.resolved_by == "operator/demo2"


def test_four_eyes_moving_a_bank_to_enabled(gw, pb, op, op2):
    admin = pb.admin
    op.stub.SetBankState(admin.SetBankStateRequest(bank_code="9900", operation=admin.CHARGE, state=admin.SUSPENDED,
                                                   reason="drill"), timeout=10)
    bank = op.stub.SetBankState(admin.SetBankStateRequest(bank_code="9900", operation=admin.CHARGE,
                                                          state=admin.ENABLED, reason="drill over"), timeout=10)
    assert bank.charge_state == admin.SUSPENDED, "ENABLED waits for a second operator"
    approval = [a for a in op.stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals
                if a.subject == "9900/charge"][0]
    declined = op2.Decline(admin.DeclineRequest(approval_id=approval.approval_id, reason="not yet"), timeout=10)
    assert declined.state == admin.APPROVAL_STATE_DECLINED
    assert op.stub.GetBank(admin.GetBankRequest(bank_code="9900"), timeout=10).charge_state == admin.SUSPENDED
    op.stub.SetBankState(admin.SetBankStateRequest(bank_code="9900", operation=admin.CHARGE, state=admin.ENABLED,
                                                   reason="drill over"), timeout=10)
    approval = [a for a in op.stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals
                if a.subject == "9900/charge"][0]
    op2.Approve(admin.ApproveRequest(approval_id=approval.approval_id, reason="ok"), timeout=10)
    assert op.stub.GetBank(admin.GetBankRequest(bank_code="9900"), timeout=10).charge_state == admin.ENABLED


def test_watch_alerts_sees_a_new_alert_within_one_second(gw, pb, op):
    admin, bank = pb.admin, Bank(gw, pb, "9900")
    wallet, link_id = linked_wallet(op, bank, "ウォッチ タロウ")
    received = queue.Queue()
    stream = op.stub.WatchAlerts(admin.WatchAlertsRequest(), timeout=30)

    def consume():
        try:
            for alert in stream:
                received.put((time.monotonic(), alert))
        except grpc.RpcError:
            pass

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(1.0)  # the unresolved alerts come first
    while not received.empty():
        received.get()
    bank.stub.Unlink(pb.v1.UnlinkRequest(header=bank.header(), link_id=link_id, reason="FRAUD reported"), timeout=10)
    decided = time.monotonic()
    try:
        while True:
            at, alert = received.get(timeout=1.0)
            if alert.rule == "unlink.fraud" and alert.subject == wallet:
                break
        assert at - decided < 1.0, f"seen {at - decided:.3f} s after the decision"
    finally:
        stream.cancel()


def test_the_2020_attack_through_0001_proposes_a_suspension_one_operator_confirms(gw, pb, op):
    admin, attacker, honest = pb.admin, Bank(gw, pb, "0001"), Bank(gw, pb, "9900")
    honest_wallet, honest_link = linked_wallet(op, honest, "セイジツ タロウ")
    victims = ["W0000001", "W0000002", "W0000003", "W0000004"]
    for attempt in range(200):
        wallet = victims[attempt % len(victims)]
        try:
            response = attacker.link(wallet, f"WRNG-{attempt:04d}", "ニセモノ タロウ",
                                     token=f"stolen-{attempt}")
            assert response.decision == pb.v1.DECLINED
        except grpc.RpcError as error:
            # Once confirmed (below) nothing more is judged; before that every attempt is a decision.
            pytest.fail(f"attempt {attempt}: {error.code()} {error.details()}")
        if attempt % 40 == 0:
            # Served (judged): the rapid-charge rule may hold the later ones, never refuse them.
            assert honest.charge(honest_link, 1_000).decision in (pb.v1.APPROVED, pb.v1.HELD), "9900 served"
    burst = one_alert(op, pb, "bank.decline_burst", "0001")
    assert (burst.severity, burst.subject_kind, burst.bank_code) == (
        admin.ALERT_SEVERITY_CRITICAL, admin.ALERT_SUBJECT_KIND_BANK, "0001")
    assert burst.proposed_action == "suspend bank 0001" and not burst.proposal_confirmed
    assert burst.count > 1, "every further decline in the burst raises the count"
    assert op.stub.GetBank(admin.GetBankRequest(bank_code="0001"), timeout=10).link_state == admin.PILOT, \
        "proposed only: nothing changes before an operator confirms"
    expect_status(grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: op.stub.ConfirmSuspension(admin.ConfirmSuspensionRequest(alert_id=burst.alert_id),
                                                    timeout=10), "reason")
    bank = op.stub.ConfirmSuspension(admin.ConfirmSuspensionRequest(alert_id=burst.alert_id,
                                                                    reason="credential stuffing through 0001"),
                                     timeout=10)
    assert (bank.link_state, bank.charge_state) == (admin.SUSPENDED, admin.SUSPENDED)
    expect_status(grpc.StatusCode.PERMISSION_DENIED,
                  lambda: attacker.link("W0000002", "WRNG-LAST", "ニセモノ タロウ"), "SUSPENDED")
    assert honest.charge(honest_link, 1_000).decision in (pb.v1.APPROVED, pb.v1.HELD), "9900 is served throughout"
    confirmed = one_alert(op, pb, "bank.decline_burst", "0001")
    assert confirmed.proposal_confirmed and confirmed.state == admin.ALERT_STATE_ACKNOWLEDGED


def test_a_lapsed_approval_does_nothing(bankgw_bin, tmp_path_factory, pb):
    gateway = start(bankgw_bin, tmp_path_factory, approvalLapseMs=1_000)
    try:
        admin, op = pb.admin, Operator(gateway, pb)
        op2 = pb.admin_grpc.AdminStub(gateway.secure_channel("operator2"))
        bank = Bank(gateway, pb, "9900")
        wallet, link_id = linked_wallet(op, bank, "ジカンギレ タロウ")
        held = bank.charge(link_id, 45_000)
        op.stub.ReleaseHold(admin.ReleaseHoldRequest(charge_id=held.charge_id, reason="customer called"), timeout=10)
        approval = [a for a in op.stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals
                    if a.subject == held.charge_id][0]
        time.sleep(1.5)
        expect_status(grpc.StatusCode.FAILED_PRECONDITION,
                      lambda: op2.Approve(admin.ApproveRequest(approval_id=approval.approval_id, reason="late"),
                                          timeout=10), "lapsed")
        assert op.balance(wallet) == 0
        hold = [h for h in op.stub.ListHolds(admin.ListHoldsRequest(), timeout=10).holds
                if h.charge_id == held.charge_id]
        assert hold and hold[0].state == admin.Hold.OPEN
        everything = op.stub.ListApprovals(admin.ListApprovalsRequest(include_decided=True), timeout=10).approvals
        assert [a.state for a in everything if a.approval_id == approval.approval_id] == [admin.APPROVAL_STATE_LAPSED]
    finally:
        gateway.stop()


def test_cli_alert_block_and_approval_commands_with_japanese_columns_aligned(gw, pb, op, bankgw_bin):
    import unicodedata
    from conftest import run_bankgw

    base = ["admin", "--state-dir", gw.state_dir, "--target", f"127.0.0.1:{gw.ports['tls']}"]

    def cli(*args):
        result = run_bankgw(bankgw_bin, *base, *args)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    def cells(text):
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    table = cli("bank", "list").splitlines()
    starts = {cells(line[:line.index(state)]) for line in table[1:] for state in ("PILOT", "PENDING", "SUSPENDED",
                                                                                   "ENABLED") if state in line[:40]}
    assert len(starts) == 1 and cells(table[0][:table[0].index("LINK")]) in starts, table

    listed = json.loads(cli("--json", "alert", "list", "--rule", "idempotency.conflict"))["alerts"]
    assert listed and listed[0]["rule"] == "idempotency.conflict"
    assert "idempotency.conflict" in cli("alert", "list", "--severity", "MEDIUM")
    alert_id = listed[0]["alertId"]
    assert json.loads(cli("--json", "alert", "ack", alert_id, "--note", "looking"))["state"] == "ALERT_STATE_ACKNOWLEDGED"
    refused = run_bankgw(bankgw_bin, *base, "alert", "resolve", alert_id, "--note", " ")
    assert refused.returncode == 64, "resolving needs a note"
    assert json.loads(cli("--json", "alert", "resolve", alert_id, "--note", "bank retried with a new body"))[
        "state"] == "ALERT_STATE_RESOLVED"

    cli("block", "add", "address", "192.0.2.99", "--reason", "scanner")
    assert "192.0.2.99" in cli("block", "list", "address")
    cli("block", "remove", "address", "192.0.2.99", "--reason", "done")
    assert "192.0.2.99" not in cli("block", "list")
    assert "APPROVAL" in cli("approval", "list", "--all")
