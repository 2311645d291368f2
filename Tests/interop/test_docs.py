"""The docs stand alone: the README names no contract outside the repository, the integration guide covers every
RPC, decline reason and status a bank can get (each RPC with a grpcurl and a Python example), and the runbook
answers every alert rule and documents every metric the gateway exports."""
import re

from conftest import ROOT

DOCS = ROOT / "docs"
ALERT_RULES = ["link.locked", "unlink.fraud", "idempotency.conflict", "account.many_wallets",
               "wallet.many_accounts", "wallet.velocity", "link.then_drain", "bank.decline_burst", "tls.refusals",
               "hold.overdue", "blocklist.hit"]
STATUSES = ["INVALID_ARGUMENT", "PERMISSION_DENIED", "FAILED_PRECONDITION", "ALREADY_EXISTS", "ABORTED",
            "NOT_FOUND", "OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "UNIMPLEMENTED", "DEADLINE_EXCEEDED", "UNAVAILABLE"]


def test_readme_keeps_its_contract_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "SPEC.md" not in readme
    for linked in re.findall(r"\]\(([^)#]+)", readme):
        if not linked.startswith("http"):
            assert (ROOT / linked).exists(), f"README links a missing file: {linked}"


def test_integration_guide_covers_every_rpc_reason_and_status():
    guide = (DOCS / "INTEGRATION.md").read_text()
    proto = (ROOT / "Protos/bankgw/v1/bankgw.proto").read_text()
    service = proto[proto.index("service BankGateway"):]
    rpcs = re.findall(r"rpc (\w+)\(", service[:service.index("}")])
    assert rpcs
    for rpc in rpcs:
        assert f"### {rpc}" in guide, f"{rpc} has no section"
        section = guide[guide.index(f"### {rpc}"):]
        section = section[:section.index("\n### ", 4) if "\n### " in section[4:] else len(section)]
        assert f"bankgw.v1.BankGateway/{rpc}" in section, f"{rpc}: no grpcurl example"
        assert "```python" in section, f"{rpc}: no Python example"
    reasons = re.findall(r"\b([A-Z_]+) = \d+;", proto[proto.index("enum DeclineReason"):])
    for reason in reasons:
        if reason != "DECLINE_REASON_UNSPECIFIED":
            assert f"`{reason}`" in guide, f"decline reason {reason} undocumented"
    for status in STATUSES:
        assert f"`{status}`" in guide, f"status {status} undocumented"
    for topic in ("```go", "receipt_key_id", "traceparent", "spiffe://bankgw.partners/bank/", "openssl x509"):
        assert topic in guide


def test_runbook_answers_every_alert_rule_and_lists_every_metric():
    runbook = (DOCS / "RUNBOOK.md").read_text()
    for rule in ALERT_RULES:
        assert f"| `{rule}` |" in runbook, f"alert rule {rule} has no response"
    names = re.findall(r'public static let \w+ = "(bankgw_[a-z_]+)"',
                       (ROOT / "Sources/GatewayService/GatewayMetrics.swift").read_text())
    assert len(names) >= 17
    for name in names:
        assert f"`{name}" in runbook, f"metric {name} undocumented"
    for topic in ("SIGTERM", "SIGHUP", "set-state", "set-profile", "rotate", "audit verify", "ledger verify"):
        assert topic in runbook
