"""SPEC §10 end to end against a real `bankgw serve --demo --log-format json`: a SPEC walk with grpcio, then
`/metrics` read by the reference Prometheus parser (prometheus_client), the JSON log read line by line, and the
trace id of a `traceparent` found in the log lines and in `bankgw audit show` for its charge."""
import collections
import itertools
import json
import re
import ssl
import socket
import time

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import run_bankgw
from gateway import Gateway

SPEC_METRICS = {
    "bankgw_requests_total": "counter", "bankgw_decisions_total": "counter",
    "bankgw_request_duration_seconds": "histogram", "bankgw_tls_handshake_failures_total": "counter",
    "bankgw_connections": "gauge", "bankgw_rate_limited_total": "counter",
    "bankgw_ledger_commit_seconds": "histogram", "bankgw_ledger_batch_size": "histogram",
    "bankgw_alerts_open": "gauge", "bankgw_holds_open": "gauge",
}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
counter = itertools.count()


def now_ms():
    return int(time.time() * 1000)


class Walk:
    """The SPEC walk: every decision it provokes is tallied as (bank, operation, decision, reason)."""

    def __init__(self, gw, pb):
        self.gw, self.pb = gw, pb
        self.decisions = collections.Counter()
        self.ok_calls = collections.Counter()
        self.operator = pb.admin_grpc.AdminStub(gw.secure_channel("operator"))
        self.stubs = {}
        self.secrets = set()  # link codes and account tokens sent: must never reach a log line

    def stub(self, bank):
        if bank not in self.stubs:
            self.stubs[bank] = self.pb.v1_grpc.BankGatewayStub(self.gw.secure_channel(bank))
        return self.stubs[bank]

    def header(self, bank, request_id=None):
        return self.pb.v1.RequestHeader(bank_code=bank, request_id=request_id or f"obs-{next(counter)}",
                                        sent_at_unix_ms=now_ms())

    def link_code(self, wallet):
        code = self.operator.IssueLinkCode(self.pb.admin.IssueLinkCodeRequest(wallet_account_id=wallet),
                                           timeout=10).link_code
        self.secrets.add(code)
        return code

    def tally(self, bank, operation, response):
        v1 = self.pb.v1
        decision = v1.Decision.Name(response.decision)
        reason = "none" if response.decline_reason == 0 else v1.DeclineReason.Name(response.decline_reason)
        self.decisions[(bank, operation, decision, reason)] += 1

    def link(self, bank, wallet, kana, metadata=()):
        token = f"tok-obs-{next(counter)}-{now_ms()}"
        self.secrets.add(token)
        v1 = self.pb.v1
        request = v1.LinkAccountRequest(
            header=self.header(bank), wallet_account_id=wallet, link_code=self.link_code(wallet),
            bank_account_token=token, account_holder_kana=kana,
            customer_auth=v1.CustomerAuth(method=v1.SMS_OTP, authenticated_at_unix_ms=now_ms()))
        response = self.stub(bank).LinkAccount(request, timeout=10, metadata=metadata)
        self.tally(bank, "link", response)
        self.ok_calls["LinkAccount"] += 1
        return response

    def charge(self, bank, link_id, amount, header=None, metadata=(), replay=False):
        request = self.pb.v1.ChargeRequest(header=header or self.header(bank), link_id=link_id, amount_yen=amount)
        response = self.stub(bank).Charge(request, timeout=10, metadata=metadata)
        if not replay:
            self.tally(bank, "charge", response)
        self.ok_calls["Charge"] += 1
        return request, response


@pytest.fixture(scope="module")
def walked(bankgw_bin, pb):
    gw = Gateway(bankgw_bin, extra_args=["--log-format", "json"]).start()
    walk = Walk(gw, pb)
    v1 = pb.v1
    traceparent = (("traceparent", f"00-{TRACE_ID}-b7ad6b7169203331-01"),)
    linked = walk.link("9900", "W0000001", "ヤマダ ハナコ", metadata=traceparent)
    assert linked.decision == v1.APPROVED
    request, traced = walk.charge("9900", linked.link_id, 10_000, metadata=traceparent)
    assert traced.decision == v1.APPROVED
    walk.charge("9900", linked.link_id, 10_000, header=request.header, replay=True)
    _, held = walk.charge("9900", linked.link_id, 45_000)  # ≥ 80% of the new-link caution limit
    assert held.decision == v1.HELD
    _, over = walk.charge("9900", linked.link_id, 400_000)
    assert over.decision == v1.DECLINED
    mismatch = walk.link("9900", "W0000002", "ヤマダ タロウ")
    assert mismatch.decline_reason == v1.NAME_MISMATCH
    pilot = walk.link("0001", "W0000001", "ヤマダ ハナコ")
    assert pilot.decline_reason == v1.NOT_IN_PILOT
    unverified = walk.link("9900", "W0000004", "タナカ ジロウ")
    assert unverified.decline_reason == v1.WALLET_PHONE_UNVERIFIED
    # Refused requests are statuses, not decisions.
    with pytest.raises(grpc.RpcError) as suspended:
        walk.charge("0009", linked.link_id, 1_000)
    assert suspended.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as wrong_bank:
        walk.stub("9900").GetCharge(v1.GetChargeRequest(header=walk.header("0001"), original_request_id="x"),
                                    timeout=10)
    assert wrong_bank.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A handshake without a client certificate is refused and counted.
    context = ssl.create_default_context(cafile=str(gw.state_dir) + "/pki/ca.pem")
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", gw.ports["tls"]), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.recv(1)
        except (ssl.SSLError, ConnectionError, OSError):
            pass
    time.sleep(0.2)
    metrics = gw.metrics_text()
    code = gw.stop()
    assert code == 0, gw.log_text()
    yield gw, walk, metrics, traced


def families(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_every_spec_metric_is_exported_with_its_type(walked):
    _, _, metrics, _ = walked
    found = families(metrics)
    for name, kind in SPEC_METRICS.items():
        # The parser names counter families without `_total`.
        family = found.get(name) or found.get(name.removesuffix("_total"))
        assert family is not None, f"{name} missing from /metrics"
        assert family.type == kind, f"{name} is a {family.type}, SPEC §10 says {kind}"
        assert family.samples, f"{name} has no samples"


def test_decision_counters_equal_the_decisions_the_walk_made(walked):
    _, walk, metrics, _ = walked
    exported = collections.Counter()
    for sample in families(metrics)["bankgw_decisions"].samples:
        if sample.name != "bankgw_decisions_total":
            continue
        labels = sample.labels
        exported[(labels["bank"], labels["operation"], labels["decision"], labels["reason"])] = int(sample.value)
    assert exported == walk.decisions


def test_request_counters_and_bounded_labels(walked):
    _, walk, metrics, _ = walked
    found = families(metrics)
    ok = {s.labels["method"]: s.value for s in found["bankgw_requests"].samples
          if s.name == "bankgw_requests_total" and s.labels["code"] == "OK"}
    assert ok["/bankgw.v1.BankGateway/Charge"] == walk.ok_calls["Charge"]
    assert ok["/bankgw.v1.BankGateway/LinkAccount"] == walk.ok_calls["LinkAccount"]
    denied = {s.labels["method"]: s.value for s in found["bankgw_requests"].samples
              if s.name == "bankgw_requests_total" and s.labels["code"] == "PERMISSION_DENIED"}
    assert denied["/bankgw.v1.BankGateway/Charge"] == 1 and denied["/bankgw.v1.BankGateway/GetCharge"] == 1
    failures = {s.labels["reason"]: s.value for s in found["bankgw_tls_handshake_failures"].samples
                if s.name == "bankgw_tls_handshake_failures_total"}
    assert sum(failures.values()) >= 1 and failures.get("no_client_certificate", 0) >= 1, failures
    holds = [s.value for s in found["bankgw_holds_open"].samples]
    assert holds == [1.0]
    # No label anywhere carries a request id, wallet, link, token or code.
    for secret in walk.secrets | {"W0000001", "W0000002", "obs-"}:
        assert secret not in metrics


def test_histogram_buckets_are_monotone(walked):
    _, _, metrics, _ = walked
    checked = 0
    for family in families(metrics).values():
        if family.type != "histogram":
            continue
        series = collections.defaultdict(list)
        counts = {}
        for sample in family.samples:
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            if sample.name.endswith("_bucket"):
                series[key].append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                counts[key] = sample.value
        for key, buckets in series.items():
            buckets.sort()
            values = [v for _, v in buckets]
            assert values == sorted(values), f"{family.name}{key}: buckets not monotone: {buckets}"
            assert buckets[-1][0] == float("inf") and buckets[-1][1] == counts[key]
            checked += 1
    assert checked >= 4


def test_json_logs_parse_line_by_line_and_hold_no_secrets(walked, pb):
    gw, walk, _, traced = walked
    lines = [line for line in gw.full_log().splitlines() if line.strip()]
    assert len(lines) > 5
    objects = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        for key in ("time", "level", "message", "bank", "request_id", "trace_id"):
            assert key in entry, f"{key} missing: {line}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), entry["time"]
        objects.append(entry)
    traced_lines = [o for o in objects if o["trace_id"] == TRACE_ID]
    assert any(o["message"] == "charge decided" and o.get("charge_id") == traced.charge_id for o in traced_lines)
    assert any(o["message"] == "link decided" for o in traced_lines)
    decided = [o for o in objects if o["message"] == "charge decided"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", o["trace_id"]) for o in decided), "every request has a trace id"
    text = gw.full_log()
    forbidden = walk.secrets | {"ヤマダ", "ﾔﾏﾀﾞ", "スズキ", "タナカ", "ハナコ", "BEGIN", "PRIVATE KEY"}
    for secret in forbidden:
        assert secret not in text, f"{secret!r} appears in the log"
    for name in ("server.key", "operator.key", "banks/9900.key"):
        body = b"".join(gw.pki(name).splitlines()[1:-1]).decode()
        assert body[:40] not in text


def test_audit_show_prints_the_trace_id_of_its_charge(walked, bankgw_bin):
    gw, _, _, traced = walked
    shown = run_bankgw(bankgw_bin, "audit", "show", "--state-dir", gw.state_dir, "--charge", traced.charge_id)
    assert shown.returncode == 0, shown.stderr
    assert f"trace_id: {TRACE_ID}" in shown.stdout.decode(), shown.stdout.decode()
    verified = run_bankgw(bankgw_bin, "audit", "verify", "--state-dir", gw.state_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
