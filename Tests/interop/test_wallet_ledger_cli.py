"""`bankgw ledger verify` (SPEC §7) against real wallet databases: healthy, tampered, corrupt, missing."""

import hashlib
import os
import sqlite3
import subprocess

import pytest

BIN = os.environ.get("BANKGW_BIN", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "bankgw"))
pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason="bankgw is not built")


def _bankgw(*args, timeout=60):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def _loaded_state(tmp_path):
    """A state directory with a real ledger: the load child charges for a moment, then stops by itself."""
    state = str(tmp_path / "state")
    result = _bankgw("ledger", "load", "--state-dir", state, "--run", "0", "--concurrency", "4", "--wallets", "3",
                     "--max-seconds", "0.5")
    assert result.returncode == 0, result.stderr
    assert "ANSWER" in result.stdout
    return state


def test_verify_passes_on_a_healthy_ledger_and_says_what_it_checked(tmp_path):
    state = _loaded_state(tmp_path)
    result = _bankgw("ledger", "verify", "--state-dir", state)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ["database-integrity", "balances-match-transfers", "debits-equal-credits",
                 "wallet-balance-within-cap", "approved-charge-has-one-transfer", "transfer-matches-charge",
                 "charge-carries-its-links-wallet", "charge-has-one-idempotency-record", "charged-totals-match-transfers",
                 "holds-have-one-pending-transfer", "reservations-match-pending-transfers",
                 "wallet-balance-plus-reservations-within-cap", "one-active-link-per-token",
                 # SPEC §9 and the event outbox
                 "reversed-at-most-credited", "reversals-match-transfers", "compensation-balance-is-minus-paid",
                 "payments-match-transfers", "events-gap-free", "events-match-transfers"]:
        assert f"ok   {name}:" in result.stdout
    assert "all 19 invariants hold" in result.stdout


def test_verify_exits_nonzero_naming_a_balance_edited_behind_the_ledgers_back(tmp_path):
    state = _loaded_state(tmp_path)
    db = sqlite3.connect(os.path.join(state, "wallet.sqlite"))
    with db:
        db.execute("UPDATE ledger_account SET credits_posted_yen = credits_posted_yen + 5 "
                   "WHERE id = (SELECT max(id) FROM ledger_account WHERE kind = 'wallet' AND credits_posted_yen > 0)")
    db.close()
    result = _bankgw("ledger", "verify", "--state-dir", state)
    assert result.returncode == 1
    assert "FAIL balances-match-transfers" in result.stdout
    assert "broken invariant balances-match-transfers" in result.stderr


def test_verify_exits_nonzero_naming_a_charge_whose_idempotency_record_vanished(tmp_path):
    state = _loaded_state(tmp_path)
    db = sqlite3.connect(os.path.join(state, "wallet.sqlite"))
    with db:
        # An APPROVED charge is its own record (v12): a tamperer must drop the trigger that keeps it whole.
        db.execute("DROP TRIGGER charge_record_is_never_edited")
        cursor = db.execute("UPDATE charge SET body_sha256 = NULL WHERE id = "
                            "(SELECT min(id) FROM charge WHERE body_sha256 IS NOT NULL)")
        assert cursor.rowcount == 1
    db.close()
    result = _bankgw("ledger", "verify", "--state-dir", state)
    assert result.returncode == 1
    assert "broken invariant charge-has-one-idempotency-record" in result.stderr


def test_corrupt_database_is_refused_naming_the_file_and_left_untouched(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    path = state / "wallet.sqlite"
    path.write_bytes(os.urandom(16384))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (["ledger", "verify", "--state-dir", str(state)],
                 ["ledger", "load", "--state-dir", str(state), "--run", "0", "--max-seconds", "0.1"]):
        result = _bankgw(*args)
        assert result.returncode != 0
        assert str(path) in result.stderr, result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(state)) == ["wallet.sqlite"]


def test_verify_of_a_missing_database_fails_and_creates_nothing(tmp_path):
    result = _bankgw("ledger", "verify", "--state-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_unwritable_database_is_refused_naming_the_file_and_left_untouched(tmp_path):
    state = _loaded_state(tmp_path)
    path = os.path.join(state, "wallet.sqlite")
    # Root ignores file modes; the immutable attribute is what makes a file unwritable even for root.
    if subprocess.run(["chattr", "+i", path], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        before = hashlib.sha256(open(path, "rb").read()).hexdigest()
        result = _bankgw("ledger", "load", "--state-dir", state, "--run", "1", "--max-seconds", "0.1")
        assert result.returncode != 0
        assert path in result.stderr, result.stderr
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == before
    finally:
        subprocess.run(["chattr", "-i", path])
