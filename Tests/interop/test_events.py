"""SPEC §9 and §2 WatchEvents with Python grpcio (C-core) against a real `bankgw serve --demo`: the fraud scenario
(reversals approved by a second operator, the compensation account paying the shortfall, the report, `ledger
verify`), the reversal refusals naming their rule, and the bank's event stream (resume, the 4-watch bound, one
bank never seeing another's events, and exactly-once delivery across 20 SIGKILLs of the gateway)."""
import itertools
import os
import queue
import random
import signal
import sqlite3
import subprocess
import threading
import time

import grpc
import pytest

from gateway import Gateway
from test_bank_service import Bank, Operator, expect_status, now_ms

counter = itertools.count()


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


class Desk:
    """The two demo operators: `op` requests, `op2` approves (SPEC §8 four eyes)."""

    def __init__(self, gw, pb):
        self.pb = pb
        self.op = Operator(gw, pb)
        self.op2 = pb.admin_grpc.AdminStub(gw.secure_channel("operator2"))

    def reverse(self, charge_id, amount, reason="fraud: victim's account", keep_open=False):
        """Requested by operator/demo, approved (executed) by operator/demo2; returns the approved Approval."""
        admin = self.pb.admin
        request = self.op.stub.ReverseCharge(admin.ReverseChargeRequest(
            charge_id=charge_id, amount_yen=amount, reason=reason, keep_charges_open=keep_open), timeout=10)
        assert request.state == admin.APPROVAL_STATE_PENDING and request.requested_by == "operator/demo"
        approved = self.op2.Approve(admin.ApproveRequest(approval_id=request.approval_id, reason="checked"),
                                    timeout=10)
        assert approved.state == admin.APPROVAL_STATE_APPROVED and approved.decided_by == "operator/demo2"
        return approved

    def settlement(self, bank):
        return self.op.stub.GetBank(self.pb.admin.GetBankRequest(bank_code=bank), timeout=10).settlement_balance_yen


class Watch:
    """A WatchEvents stream read by a thread into a queue."""

    def __init__(self, bank, after=0, timeout=120):
        self.events, self.error = queue.Queue(), None
        request = bank.pb.v1.WatchEventsRequest(header=bank.header(), after_sequence=after)
        self.call = bank.stub.WatchEvents(request, timeout=timeout)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for event in self.call:
                self.events.put(event)
        except grpc.RpcError as error:
            self.error = error
        self.events.put(None)

    def next(self, timeout=10):
        event = self.events.get(timeout=timeout)
        assert event is not None, f"the stream ended: {self.error and (self.error.code(), self.error.details())}"
        return event

    def until(self, predicate, timeout=20):
        seen, deadline = [], time.monotonic() + timeout
        while True:
            event = self.next(max(0.1, deadline - time.monotonic()))
            seen.append(event)
            if predicate(event):
                return seen

    def cancel(self):
        self.call.cancel()
        self.thread.join(timeout=10)


def fresh_link(bank, op, kana="テスト タロウ"):
    wallet = op.test_wallet(kana)
    token = f"tok-ev-{bank.code}-{next(counter)}-{now_ms()}"
    linked = bank.link(wallet, op.link_code(wallet), kana, token=token)
    assert linked.decision == bank.pb.v1.APPROVED
    return wallet, token, linked.link_id


def last_sequence(bank):
    """The bank's current last sequence, learnt the way a bank would: an act of its own and its event."""
    wallet, _, link_id = fresh_link(bank, Operator(bank.gw, bank.pb))
    watch = Watch(bank)
    try:
        return watch.until(lambda e: e.type == bank.pb.v1.LINK_CREATED and e.link_id == link_id)[-1].sequence
    finally:
        watch.cancel()


def test_fraud_scenario_reversals_with_a_second_operator_make_the_bank_whole(gw, pb, bankgw_bin):
    v1, admin = pb.v1, pb.admin
    desk, bank = Desk(gw, pb), Bank(gw, pb, "9900")
    after = last_sequence(bank)
    watch = Watch(bank, after=after)
    settlement_before = desk.settlement("9900")

    # The criminal's wallet is linked to the victim's account at 9900, charged three times, and spends most of it.
    criminal, token, link_id = fresh_link(bank, desk.op, "ハンニン タロウ")
    charges = [bank.charge(link_id, amount) for amount in (30_000, 35_000, 25_000)]
    assert [c.decision for c in charges] == [v1.APPROVED] * 3
    assert desk.settlement("9900") == settlement_before - 90_000
    merchant = f"M{next(counter)}x{now_ms() % 100000}"
    desk.op.stub.RegisterMerchant(admin.RegisterMerchantRequest(merchant_id=merchant, name="家電店", reason="shop"),
                                  timeout=10)
    paid = desk.op.stub.PayFromWallet(admin.PayFromWalletRequest(
        wallet_account_id=criminal, merchant_id=merchant, amount_yen=80_000, reference="order-1", reason="purchase"),
        timeout=10)
    assert paid.wallet_balance_yen == 10_000

    # The operator opens a case; each reversal is requested by one operator and executed by another.
    case = desk.op.stub.OpenCompensationCase(admin.OpenCompensationCaseRequest(
        bank_code="9900", bank_account_token=token, charge_ids=[c.charge_id for c in charges],
        reason="victim reported three charges"), timeout=10)
    assert case.state == admin.CompensationCase.OPEN and case.charged_yen == 90_000
    own = desk.op.stub.ReverseCharge(admin.ReverseChargeRequest(
        charge_id=charges[0].charge_id, amount_yen=30_000, reason="fraud"), timeout=10)
    expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: desk.op.stub.Approve(
        admin.ApproveRequest(approval_id=own.approval_id, reason="me"), timeout=10), contains="four-eyes")
    desk.op2.Decline(admin.DeclineRequest(approval_id=own.approval_id, reason="use the case"), timeout=10)
    results = [desk.reverse(c.charge_id, amount) for c, amount in zip(charges, (30_000, 35_000, 25_000))]
    assert "from wallet 10000, from compensation 20000" in results[0].result
    assert "from wallet 0, from compensation 35000" in results[1].result
    pay = desk.op.stub.PayCompensation(admin.PayCompensationRequest(case_id=case.case_id, reason="victim whole"),
                                       timeout=10)
    desk.op2.Approve(admin.ApproveRequest(approval_id=pay.approval_id, reason="ok"), timeout=10)

    assert desk.settlement("9900") == settlement_before, "the bank's settlement account is made whole"
    wallet = desk.op.stub.GetWallet(admin.GetWalletRequest(wallet_account_id=criminal), timeout=10)
    assert wallet.balance_yen == 0 and wallet.charge_frozen, "the wallet ends at 0 with its charges frozen"
    cases = {c.case_id: c for c in desk.op.stub.ListCompensationCases(admin.ListCompensationCasesRequest(),
                                                                       timeout=10).cases}
    paid_case = cases[case.case_id]
    assert paid_case.state == admin.CompensationCase.PAID
    assert (paid_case.charged_yen, paid_case.reversed_from_wallets_yen, paid_case.paid_from_compensation_yen) == \
        (90_000, 10_000, 80_000)
    assert len(paid_case.reversals) == 3 and paid_case.paid_at_unix_ms > 0

    # The bank saw every act, in order, with the amounts moved.
    seen = watch.until(lambda e: e.type == v1.COMPENSATION_PAID and e.charge_id == charges[2].charge_id)
    watch.cancel()
    assert [e.sequence for e in seen] == list(range(after + 1, after + 1 + len(seen))), "gap-free, in order"
    moved = [(e.type, e.charge_id, e.amount_yen) for e in seen if e.type in (v1.CHARGE_REVERSED, v1.COMPENSATION_PAID)]
    assert moved == [
        (v1.CHARGE_REVERSED, charges[0].charge_id, 30_000), (v1.COMPENSATION_PAID, charges[0].charge_id, 20_000),
        (v1.CHARGE_REVERSED, charges[1].charge_id, 35_000), (v1.COMPENSATION_PAID, charges[1].charge_id, 35_000),
        (v1.CHARGE_REVERSED, charges[2].charge_id, 25_000), (v1.COMPENSATION_PAID, charges[2].charge_id, 25_000)]
    frozen = [e for e in seen if e.type == v1.WALLET_FROZEN]
    assert [e.link_id for e in frozen] == [link_id], "the first reversal froze the wallet, once"
    assert all(e.request_id for e in seen if e.type == v1.CHARGE_REVERSED)

    # The report for the bank and the regulator, as CSV; then the ledger's invariants.
    pki = os.path.join(gw.state_dir, "pki")
    report = subprocess.run(
        [bankgw_bin, "admin", "--state-dir", gw.state_dir, "--target", f"127.0.0.1:{gw.ports['tls']}",
         "compensation", "report", "--csv"], capture_output=True, text=True, timeout=30)
    assert report.returncode == 0, report.stderr
    header, *rows = report.stdout.strip().splitlines()
    assert header.startswith("CASE,BANK,ACCOUNT TOKEN,STATE,CHARGES,CHARGED YEN,REVERSED FROM WALLETS YEN")
    row = next(r for r in rows if r.startswith(case.case_id))
    assert f",9900,{token},PAID,3,90000,10000,80000," in row
    assert os.path.exists(os.path.join(pki, "operator2.pem"))
    verify = subprocess.run([bankgw_bin, "ledger", "verify", "--state-dir", gw.state_dir], capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for check in ("reversed-at-most-credited", "compensation-balance-is-minus-paid", "events-match-transfers"):
        assert f"ok   {check}" in verify.stdout


def test_reversals_are_refused_naming_the_rule(gw, pb):
    v1, admin = pb.v1, pb.admin
    desk, bank = Desk(gw, pb), Bank(gw, pb, "0005")
    _, _, link_id = fresh_link(bank, desk.op)
    credited = bank.charge(link_id, 30_000)
    declined = bank.charge(link_id, 50_001)
    held = bank.charge(link_id, 45_000)
    assert (credited.decision, declined.decision, held.decision) == (v1.APPROVED, v1.DECLINED, v1.HELD)

    def request(charge_id, amount):
        return desk.op.stub.ReverseCharge(admin.ReverseChargeRequest(
            charge_id=charge_id, amount_yen=amount, reason="test", keep_charges_open=True), timeout=10)

    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: request(credited.charge_id, 30_001),
                  contains="reversal.at-most-credited")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: request(declined.charge_id, 1),
                  contains="reversal.credited-only")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: request(held.charge_id, 1),
                  contains="held")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, lambda: request(credited.charge_id, 0), contains="amount_yen")
    expect_status(grpc.StatusCode.NOT_FOUND, lambda: request("ch_nosuchcharge", 1))

    # Two requests that fit alone but not together: the second is refused when it is approved, and stays pending.
    first, second = request(credited.charge_id, 20_000), request(credited.charge_id, 20_000)
    desk.op2.Approve(admin.ApproveRequest(approval_id=first.approval_id, reason="ok"), timeout=10)
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: desk.op2.Approve(
        admin.ApproveRequest(approval_id=second.approval_id, reason="ok"), timeout=10),
        contains="unreversed 10000 yen")
    pending = {a.approval_id for a in desk.op.stub.ListApprovals(admin.ListApprovalsRequest(), timeout=10).approvals}
    assert second.approval_id in pending and first.approval_id not in pending
    desk.reverse(credited.charge_id, 10_000, keep_open=True)
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: request(credited.charge_id, 1),
                  contains="already fully reversed")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, lambda: desk.op2.Approve(
        admin.ApproveRequest(approval_id=first.approval_id, reason="again"), timeout=10), contains="already approved")
    # keep_charges_open: reversed, and the wallet still takes charges.
    assert bank.charge(link_id, 1_000).decision == v1.APPROVED


def test_a_watch_resumed_from_n_starts_at_n_plus_1_and_sees_nothing_twice(gw, pb):
    v1 = pb.v1
    desk, bank = Desk(gw, pb), Bank(gw, pb, "0005")
    _, _, link_id = fresh_link(bank, desk.op)
    holds = [bank.charge(link_id, 45_000), bank.charge(link_id, 42_000)]
    assert all(h.decision == v1.HELD for h in holds)
    first = Watch(bank, after=0)
    everything = first.until(lambda e: e.type == v1.CHARGE_HELD and e.charge_id == holds[1].charge_id)
    first.cancel()
    assert [e.sequence for e in everything] == list(range(1, len(everything) + 1))
    n = everything[-2].sequence
    resumed = Watch(bank, after=n)
    assert resumed.next().sequence == n + 1
    desk.op.stub.ReleaseHold(pb.admin.ReleaseHoldRequest(charge_id=holds[0].charge_id, reason="customer ok"),
                             timeout=10)
    desk.op.stub.RejectHold(pb.admin.RejectHoldRequest(charge_id=holds[1].charge_id, reason="fraud"), timeout=10)
    live = [resumed.next(), resumed.next()]
    resumed.cancel()
    assert [(e.type, e.charge_id, e.amount_yen) for e in live] == [
        (v1.CHARGE_RELEASED, holds[0].charge_id, 45_000), (v1.CHARGE_REJECTED, holds[1].charge_id, 42_000)]
    assert [e.sequence for e in live] == [n + 2, n + 3] and live[0].reason == "customer ok"
    ahead = Watch(bank, after=n + 1000)
    with pytest.raises(AssertionError):
        ahead.next()
    assert ahead.error.code() == grpc.StatusCode.OUT_OF_RANGE and "never issued" in ahead.error.details()


def test_a_fifth_concurrent_watch_is_resource_exhausted(gw, pb):
    admin = pb.admin
    # 0009 (SUSPENDED) is this test's alone: one state change gives it an event, so each open watch proves it is
    # registered by receiving it.
    Operator(gw, pb).stub.SetBankState(admin.SetBankStateRequest(
        bank_code="0009", operation=admin.CHARGE, state=admin.PENDING, reason="watch bound test"), timeout=10)
    bank = Bank(gw, pb, "0009")
    watches = [Watch(bank, after=0) for _ in range(4)]
    for watch in watches:
        event = watch.next()
        assert (event.sequence, event.type) == (1, pb.v1.BANK_STATE_CHANGED)
        assert "SUSPENDED" in event.reason.upper() and "watch bound test" in event.reason
    fifth = Watch(bank, after=0)
    with pytest.raises(AssertionError):
        fifth.next()
    assert fifth.error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "4" in fifth.error.details()
    other = Watch(Bank(gw, pb, "0005"), after=0)  # the bound is per bank
    assert other.next().sequence == 1
    watches[0].cancel()
    deadline = time.monotonic() + 10
    while True:  # the cancelled stream's slot frees once the server has seen the RST_STREAM
        again = Watch(bank, after=0)
        event = again.events.get(timeout=10)
        if event is not None:
            break
        assert again.error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
        time.sleep(0.1)
    again.cancel()
    for watch in watches[1:] + [other]:
        watch.cancel()


def test_a_bank_never_sees_another_banks_events(gw, pb):
    v1 = pb.v1
    op, b9900, b0005 = Operator(gw, pb), Bank(gw, pb, "9900"), Bank(gw, pb, "0005")
    _, _, link_9900 = fresh_link(b9900, op)
    held_9900 = b9900.charge(link_9900, 45_000)
    _, _, link_0005 = fresh_link(b0005, op)
    watch = Watch(b0005, after=0)
    seen = watch.until(lambda e: e.link_id == link_0005)
    watch.cancel()
    assert all(e.link_id != link_9900 and e.charge_id != held_9900.charge_id for e in seen)
    expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: next(iter(b0005.stub.WatchEvents(
        v1.WatchEventsRequest(header=b0005.header(bank_code="9900")), timeout=10))), contains="bank_code")
    operator_as_bank = pb.v1_grpc.BankGatewayStub(gw.secure_channel("operator"))
    expect_status(grpc.StatusCode.PERMISSION_DENIED, lambda: next(iter(operator_as_bank.WatchEvents(
        v1.WatchEventsRequest(header=b0005.header()), timeout=10))))


KILLS = 20


def test_events_are_exactly_once_in_order_across_twenty_sigkills(bankgw_bin, pb, tmp_path):
    """A stream of holds, releases, rejections and reversals while the gateway is SIGKILLed 20 times: after each
    restart a watcher from 0 sees every committed act exactly once, in order, and what a live watcher saw before
    the kill is exactly the same events (it was never sent anything that did not commit)."""
    v1, admin = pb.v1, pb.admin
    rng = random.Random(13)
    os.makedirs(tmp_path / "state")
    gw = Gateway(bankgw_bin, state_dir=str(tmp_path / "state"))
    acknowledged = []  # (type, charge_id) of every act whose answer reached us
    live_seen = {}  # sequence -> (type, charge_id, amount) as a live watcher got it before a kill
    for run in range(KILLS):
        gw.start()
        desk, bank = Desk(gw, pb), Bank(gw, pb, "0005")
        _, _, link_id = fresh_link(bank, desk.op, "クラッシュ テスト")
        live = Watch(bank, after=0, timeout=60)
        stop = threading.Event()

        def load():
            try:
                while not stop.is_set():
                    held = bank.charge(link_id, 45_000)
                    if held.decision != v1.HELD:
                        return
                    acknowledged.append((v1.CHARGE_HELD, held.charge_id))
                    if rng.random() < 0.3:
                        desk.op.stub.RejectHold(admin.RejectHoldRequest(charge_id=held.charge_id, reason="r"),
                                                timeout=5)
                        acknowledged.append((v1.CHARGE_REJECTED, held.charge_id))
                        continue
                    desk.op.stub.ReleaseHold(admin.ReleaseHoldRequest(charge_id=held.charge_id, reason="ok"),
                                             timeout=5)
                    acknowledged.append((v1.CHARGE_RELEASED, held.charge_id))
                    desk.reverse(held.charge_id, 45_000, reason="crash test", keep_open=True)
                    acknowledged.append((v1.CHARGE_REVERSED, held.charge_id))
            except grpc.RpcError:
                pass  # the kill: whatever was in flight may or may not have committed

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        time.sleep(rng.uniform(0.3, 1.5))
        gw.process.send_signal(signal.SIGKILL)
        gw.process.wait(timeout=10)
        gw.log.close()
        stop.set()
        worker.join(timeout=20)
        live.thread.join(timeout=20)
        while True:
            event = live.events.get(timeout=5)
            if event is None:
                break
            got = (event.type, event.charge_id, event.amount_yen)
            assert live_seen.setdefault(event.sequence, got) == got, "a live watcher saw two versions of one event"

    gw.start()
    try:
        bank = Bank(gw, pb, "0005")
        marker_wallet, _, marker = fresh_link(bank, Operator(gw, pb), "マーカー")
        watch = Watch(bank, after=0)
        events = watch.until(lambda e: e.type == v1.LINK_CREATED and e.link_id == marker, timeout=60)
        watch.cancel()
    finally:
        gw.stop()
    assert [e.sequence for e in events] == list(range(1, len(events) + 1)), "gap-free, in order, once each"
    assert len(live_seen) > 20, "the live watchers saw too little for the comparison to mean anything"
    after = {e.sequence: (e.type, e.charge_id, e.amount_yen) for e in events}
    for sequence, got in live_seen.items():
        assert after.get(sequence) == got, f"event {sequence} was sent live but is not what committed"
    acts = [(e.type, e.charge_id) for e in events if e.type in (v1.CHARGE_HELD, v1.CHARGE_RELEASED,
                                                                 v1.CHARGE_REJECTED, v1.CHARGE_REVERSED)]
    assert len(acts) == len(set(acts)), "an act reported twice"
    missing = [a for a in acknowledged if a not in set(acts)]
    assert not missing, f"acknowledged acts without their event: {missing[:5]}"

    # Every committed act in the database has its event, and every event its act: nothing uncommitted was written.
    db = sqlite3.connect(os.path.join(gw.state_dir, "wallet.sqlite"))
    try:
        committed = set()
        for charge_id, hold_state in db.execute("SELECT id, hold_state FROM charge WHERE bank_code = '0005' "
                                                "AND hold_state <> 0"):
            committed.add((v1.CHARGE_HELD, charge_id))
            if hold_state == 2:
                committed.add((v1.CHARGE_RELEASED, charge_id))
            if hold_state == 3:
                committed.add((v1.CHARGE_REJECTED, charge_id))
        for (charge_id,) in db.execute("SELECT r.charge_id FROM reversal r JOIN charge c ON c.id = r.charge_id "
                                       "WHERE c.bank_code = '0005'"):
            committed.add((v1.CHARGE_REVERSED, charge_id))
    finally:
        db.close()
    assert committed == set(acts)
    verify = subprocess.run([bankgw_bin, "ledger", "verify", "--state-dir", gw.state_dir], capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(f"events crash test: {len(events)} events, {len(acknowledged)} acknowledged acts over {KILLS} SIGKILLs")
    assert len(acknowledged) > 40, f"the load was too light to mean anything ({len(acknowledged)} acts)"


def test_the_cli_reverses_with_a_second_operator_and_runs_a_case(gw, pb, bankgw_bin):
    """`bankgw admin reverse`, `approval list|approve` (`--as operator2`), `merchant register`, `wallet pay`,
    `compensation open|pay|list|close|report` against the demo gateway."""
    v1 = pb.v1
    bank, op = Bank(gw, pb, "9900"), Operator(gw, pb)
    wallet, token, link_id = fresh_link(bank, op, "シーエルアイ テスト")
    charges = [bank.charge(link_id, amount) for amount in (20_000, 15_000)]
    assert all(c.decision == v1.APPROVED for c in charges)

    def admin(*args, as_operator=None):
        extra = ["--as", as_operator] if as_operator else []
        return subprocess.run([bankgw_bin, "admin", "--state-dir", gw.state_dir, "--target",
                               f"127.0.0.1:{gw.ports['tls']}", *args, *extra], capture_output=True, text=True,
                              timeout=30)

    merchant = f"CLI{next(counter)}"
    assert admin("merchant", "register", merchant, "--name", "書店", "--reason", "shop").returncode == 0
    paid = admin("wallet", "pay", wallet, "--merchant", merchant, "--amount", "30000", "--reason", "buy", "--json")
    assert paid.returncode == 0, paid.stderr
    assert '"walletBalanceYen":"5000"' in paid.stdout.replace(" ", "")
    over = admin("wallet", "pay", wallet, "--merchant", merchant, "--amount", "5001", "--reason", "buy")
    assert over.returncode == 1 and "payment.within-balance" in over.stderr

    requested = admin("reverse", charges[0].charge_id, "--amount", "20000", "--reason", "fraud", "--json")
    assert requested.returncode == 0, requested.stderr
    approval_id = requested.stdout.split('"approvalId":"')[1].split('"')[0]
    listed = admin("approval", "list")
    assert approval_id in listed.stdout and "PENDING" in listed.stdout
    own = admin("approval", "approve", approval_id, "--reason", "me")
    assert own.returncode == 1 and "PERMISSION_DENIED" in own.stderr and "four-eyes" in own.stderr
    approved = admin("approval", "approve", approval_id, "--reason", "checked", as_operator="operator2")
    assert approved.returncode == 0, approved.stderr
    assert "from wallet 5000, from compensation 15000" in approved.stdout
    twice = admin("reverse", charges[0].charge_id, "--amount", "1", "--reason", "again")
    assert twice.returncode == 1 and "already fully reversed" in twice.stderr

    opened = admin("compensation", "open", "--bank", "9900", "--token", token, "--charge", charges[0].charge_id,
                   "--charge", charges[1].charge_id, "--reason", "victim", "--json")
    assert opened.returncode == 0, opened.stderr
    case_id = opened.stdout.split('"caseId":"')[1].split('"')[0]
    pay = admin("compensation", "pay", case_id, "--reason", "make whole", "--json")
    pay_id = pay.stdout.split('"approvalId":"')[1].split('"')[0]
    assert admin("approval", "approve", pay_id, "--reason", "ok", as_operator="operator2").returncode == 0
    assert admin("compensation", "close", case_id, "--reason", "bank confirmed").returncode == 0
    report = admin("compensation", "report", "--csv")
    row = next(r for r in report.stdout.splitlines() if r.startswith(case_id))
    assert f",9900,{token},CLOSED,2,35000,5000,30000," in row
    assert op.balance(wallet) == 0
    help_text = subprocess.run([bankgw_bin, "admin", "reverse", "--help"], capture_output=True, text=True).stdout
    for option in ("--amount", "--reason", "--keep-charges-open"):
        assert option in help_text
