"""The monitoring console (SPEC §8, port 8444) in a real browser: Debian's chromium driven by Playwright for Python,
the operator certificate through the context's client_certificates and the demo CA trusted through
NODE_EXTRA_CA_CERTS. Screenshots of every page go to $BANKGW_TEST_OUTPUT/console (default .test-output/console)."""
import http.client
import os
import pathlib
import re
import ssl

import pytest

from conftest import ROOT
from gateway import Gateway
from test_bank_service import Bank, Operator

CHROMIUM = "/usr/bin/chromium"
OUTPUT = pathlib.Path(os.environ.get("BANKGW_TEST_OUTPUT", ROOT / ".test-output")) / "console"

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian chromium not installed (make setup)")


@pytest.fixture(scope="module")
def gw(bankgw_bin):
    gateway = Gateway(bankgw_bin).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def browser(gw):
    from playwright.sync_api import sync_playwright
    os.environ["NODE_EXTRA_CA_CERTS"] = str(pathlib.Path(gw.state_dir, "pki", "ca.pem"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # --no-sandbox: the test may run as root (CI containers), where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def origin(gw):
    return f"https://localhost:{gw.ports['console']}"


def context_with(browser, gw, cert=None, key=None):
    certificates = []
    if cert:
        certificates = [{"origin": origin(gw), "certPath": str(pathlib.Path(gw.state_dir, "pki", cert)),
                         "keyPath": str(pathlib.Path(gw.state_dir, "pki", key))}]
    return browser.new_context(client_certificates=certificates, viewport={"width": 1400, "height": 900})


def shot(page, name):
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def test_the_desk_in_a_browser(gw, pb, browser):
    op, bank = Operator(gw, pb), Bank(gw, pb, "9900")
    wallet = op.test_wallet("コンソール ハナコ")
    link_id = bank.link(wallet, op.link_code(wallet), "コンソール ハナコ").link_id
    assert bank.charge(link_id, 1_000).decision == pb.v1.APPROVED
    held = bank.charge(link_id, 45_000)
    assert held.decision == pb.v1.HELD

    context = context_with(browser, gw, "operator.pem", "operator.key")
    page = context.new_page()

    # Overview: every demo bank with its states and a chart of the last hour's decisions.
    page.goto(origin(gw) + "/")
    for code, name in [("9900", "ゆうちょ銀行"), ("0001", "みずほ銀行"), ("0005", "三菱UFJ銀行"), ("0009", "三井住友銀行")]:
        assert name in page.inner_text(f"#bank-{code}")
    chart = page.locator('#bank-9900 svg.chart')
    assert chart.count() == 1 and int(chart.get_attribute("data-decisions")) >= 3, "link + two charges"
    assert page.locator('#bank-9900 svg.chart rect').count() > 1
    assert page.inner_text("#operator") == "operator/demo"
    shot(page, "overview")

    # Alerts: a new alert appears without a reload.
    page.goto(origin(gw) + "/alerts")
    marker = page.evaluate("() => { window.__noReload = 42; return window.__noReload; }")
    frozen = op.test_wallet("ライブ タロウ")
    frozen_link = bank.link(frozen, op.link_code(frozen), "ライブ タロウ").link_id
    bank.stub.Unlink(pb.v1.UnlinkRequest(header=bank.header(), link_id=frozen_link, reason="FRAUD reported"),
                     timeout=10)
    row = page.wait_for_selector(f'tr[data-rule="unlink.fraud"]:has-text("{frozen}")', timeout=5_000)
    assert "HIGH" in row.inner_text()
    assert page.evaluate("() => window.__noReload") == marker, "the page was not reloaded"
    shot(page, "alerts")

    # Holds: release with a reason; the ledger shows the credit.
    page.goto(origin(gw) + "/holds")
    hold_row = page.locator(f"#hold-{held.charge_id}")
    assert "45,000 円" in hold_row.inner_text()
    shot(page, "holds")
    hold_row.locator('form[action$="/release"] input[name="reason"]').fill("customer confirmed by phone")
    hold_row.locator('form[action$="/release"] button').click()
    page.wait_for_selector("#msg")
    assert "released" in page.inner_text("#msg")
    assert op.balance(wallet) == 46_000, "the release credited the wallet"
    hold = [h for h in op.stub.ListHolds(pb.admin.ListHoldsRequest(include_resolved=True), timeout=10).holds
            if h.charge_id == held.charge_id][0]
    assert hold.state == pb.admin.Hold.RELEASED and hold.resolved_by == "operator/demo", "audited as the operator"

    page.goto(origin(gw) + f"/wallets/{wallet}")
    assert page.inner_text("#balance") == "46,000 円"
    assert page.inner_text("#wallet-name") == "コンソール ハナコ"
    shot(page, "wallet")
    page.goto(origin(gw) + "/approvals")
    shot(page, "approvals")
    page.goto(origin(gw) + "/banks/9900")
    assert page.inner_text("#bank-title") == "9900 ゆうちょ銀行"
    shot(page, "bank")
    context.close()


@pytest.mark.parametrize("cert,key", [("banks/9900.pem", "banks/9900.key"), (None, None)])
def test_a_bank_certificate_and_no_certificate_are_refused(gw, browser, cert, key):
    from playwright.sync_api import Error
    context = context_with(browser, gw, cert, key)
    page = context.new_page()
    with pytest.raises(Error):
        page.goto(origin(gw) + "/", timeout=10_000)
    context.close()


def operator_connection(gw):
    tls = ssl.create_default_context(cafile=str(pathlib.Path(gw.state_dir, "pki", "ca.pem")))
    tls.load_cert_chain(str(pathlib.Path(gw.state_dir, "pki", "operator.pem")),
                        str(pathlib.Path(gw.state_dir, "pki", "operator.key")))
    tls.set_alpn_protocols(["http/1.1"])
    return http.client.HTTPSConnection("localhost", gw.ports["console"], context=tls, timeout=10)


def test_a_cross_site_post_is_refused_and_get_changes_nothing(gw, pb):
    op, bank = Operator(gw, pb), Bank(gw, pb, "9900")
    wallet = op.test_wallet("クロス サイト")
    link_id = bank.link(wallet, op.link_code(wallet), "クロス サイト").link_id
    held = bank.charge(link_id, 45_000)
    def request(method, path, body=None, headers=None):
        connection = operator_connection(gw)  # one per request: an error answer may close the connection
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    connection = operator_connection(gw)
    connection.request("GET", "/holds")
    page = connection.getresponse().read().decode()
    connection.close()
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)

    def post(origin_header, csrf):
        body = f"csrf={csrf}&back=/holds&reason=evil"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin_header:
            headers["Origin"] = origin_header
        return request("POST", f"/holds/{held.charge_id}/reject", body, headers).status

    assert post("https://evil.example", token) == 403, "another origin, even with the token"
    assert post(None, token) == 403, "no Origin"
    assert post(f"https://localhost:{gw.ports['console']}", "0" * 64) == 403, "a wrong token"
    assert request("GET", f"/holds/{held.charge_id}/reject").status in (404, 405), "GET never acts"
    still = [h for h in op.stub.ListHolds(pb.admin.ListHoldsRequest(), timeout=10).holds if h.charge_id == held.charge_id]
    assert still and still[0].state == pb.admin.Hold.OPEN
    assert post(f"https://localhost:{gw.ports['console']}", token) == 303, "same origin + token: the act"
    rejected = [h for h in op.stub.ListHolds(pb.admin.ListHoldsRequest(include_resolved=True), timeout=10).holds
                if h.charge_id == held.charge_id][0]
    assert rejected.state == pb.admin.Hold.REJECTED and rejected.resolved_by == "operator/demo"


def test_confirming_a_proposed_suspension_and_four_eyes_in_the_browser(gw, pb, browser):
    op, attacker = Operator(gw, pb), Bank(gw, pb, "0001")
    for attempt in range(60):  # the 2020 pattern: wrong codes and names through 0001
        assert attacker.link("W0000002", f"BAD-{attempt}", "ニセ タロウ").decision == pb.v1.DECLINED
    operator1 = context_with(browser, gw, "operator.pem", "operator.key")
    page = operator1.new_page()
    page.goto(origin(gw) + "/banks/0001")
    assert "suspend bank 0001" in page.inner_text("main")
    shot(page, "bank-proposed-suspension")
    form = page.locator('form[action$="/confirm-suspension"]')
    form.locator('input[name="reason"]').fill("credential stuffing through 0001")
    form.locator("button").click()
    page.wait_for_selector("#msg")
    assert page.inner_text("#link-state") == "SUSPENDED" and page.inner_text("#charge-state") == "SUSPENDED"

    # Four eyes: operator 1 asks for 0009 charge ENABLED... it has no conformance run, so 9900 instead.
    op.stub.SetBankState(pb.admin.SetBankStateRequest(bank_code="9900", operation=pb.admin.LINK,
                                                      state=pb.admin.SUSPENDED, reason="drill"), timeout=10)
    page.goto(origin(gw) + "/banks/9900")
    state_form = page.locator('form[action$="/state"]')
    state_form.locator('select[name="operation"]').select_option("link")
    state_form.locator('select[name="state"]').select_option("ENABLED")
    state_form.locator('input[name="reason"]').fill("drill over")
    state_form.locator("button").click()
    page.wait_for_selector("#msg")
    assert "second operator" in page.inner_text("#msg") and page.inner_text("#link-state") == "SUSPENDED"
    page.goto(origin(gw) + "/approvals")
    assert "your request" in page.inner_text("main"), "the requester gets no Approve button"
    operator1.close()

    operator2 = context_with(browser, gw, "operator2.pem", "operator2.key")
    page = operator2.new_page()
    page.goto(origin(gw) + "/approvals")
    assert page.inner_text("#operator") == "operator/demo2"
    row = page.locator("tr", has_text="9900 link")
    shot(page, "approvals-second-operator")
    row.locator('form[action$="/approve"] input[name="reason"]').fill("checked")
    row.locator('form[action$="/approve"] button').click()
    page.wait_for_selector("#msg")
    assert "ENABLED" in page.inner_text("#msg")
    assert op.stub.GetBank(pb.admin.GetBankRequest(bank_code="9900"), timeout=10).link_state == pb.admin.ENABLED
    operator2.close()
