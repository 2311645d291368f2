"""Crash test of the wallet core (issue 5): SIGKILL at random points under concurrent load, 20 times.

A child process (`bankgw ledger load`) charges under concurrent load and prints one line per answer the moment it
has it. The parent kills it with SIGKILL at a random moment, then checks, after every restart:
  - every charge whose answer the child had reported is in the database exactly once, with the reported charge id
    and decision, and an approved one has exactly one transfer;
  - a retry of reported requests after the restart gets the same answer (idempotency across crashes);
  - nothing unreported is half-written: `bankgw ledger verify` passes (balances recomputed from transfers, one
    transfer per approved charge, one idempotency record per charge, totals match) and every charge row has its
    idempotency record (its own digest, or a HELD charge's row in `idempotency`).
Deterministic seed, bounded in time (each child stops by itself after --max-seconds), temp dirs cleaned by pytest.
"""

import os
import queue
import random
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

BIN = os.environ.get("BANKGW_BIN", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "bankgw"))
KILLS = 20
DECISIONS = {"approved": 1, "held": 2, "declined": 3}


def _reader(stream, lines):
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode().rstrip("\n"))
    lines.put(None)


def _run_child(state_dir, run, replay_path, kill_after_s):
    """Starts a child, waits for READY, lets it work `kill_after_s`, SIGKILLs it; returns every line it printed."""
    args = [BIN, "ledger", "load", "--state-dir", state_dir, "--run", str(run), "--concurrency", "32",
            "--wallets", "20", "--max-seconds", "20"]
    if replay_path:
        args += ["--replay", replay_path]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = queue.Queue()
    threading.Thread(target=_reader, args=(child.stdout, lines), daemon=True).start()
    printed = []
    try:
        deadline = time.monotonic() + 30
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"child exited before READY: {child.wait()} {child.stderr.read().decode()}"
            printed.append(line)
            if line == "READY":
                break
        time.sleep(kill_after_s)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        # Everything written before the kill is still in the pipe; drain it to EOF.
        while True:
            line = lines.get(timeout=10)
            if line is None:
                break
            printed.append(line)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"child ended by itself ({child.returncode}), not by the kill"
    return printed


def _verify(state_dir):
    result = subprocess.run([BIN, "ledger", "verify", "--state-dir", state_dir], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"ledger verify failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.skipif(not os.path.exists(BIN), reason="bankgw is not built")
def test_wallet_core_keeps_every_reported_charge_exactly_once_across_twenty_sigkills(tmp_path):
    rng = random.Random(5)
    state_dir = str(tmp_path / "state")
    reported = {}  # request_id -> (link_index, decision, charge_id)
    started = time.monotonic()

    for run in range(KILLS):
        replay_path = None
        if reported:
            replay_path = str(tmp_path / f"replay-{run}.txt")
            sample = rng.sample(sorted(reported), min(40, len(reported)))
            with open(replay_path, "w") as f:
                f.writelines(f"{rid} {reported[rid][0]}\n" for rid in sample)

        printed = _run_child(state_dir, run, replay_path, rng.uniform(0.02, 0.5))

        for line in printed:
            parts = line.split()
            if parts[0] == "REPLAY":
                _, rid, decision, charge_id = parts
                assert (decision, charge_id) == reported[rid][1:], f"retry of {rid} after restart got another answer"
            elif parts[0] == "ANSWER":
                _, rid, link_index, decision, charge_id = parts
                assert rid not in reported, f"{rid} answered twice"
                reported[rid] = (link_index, decision, charge_id)

        # The gateway's own open (WAL recovery) and invariant check come first, then direct reads.
        _verify(state_dir)
        db = sqlite3.connect(os.path.join(state_dir, "wallet.sqlite"))
        try:
            rows = {rid: (cid, dec) for rid, cid, dec in db.execute(
                "SELECT request_id, id, decision FROM charge WHERE bank_code = '9900' AND request_id LIKE 'r%'")}
            transfers = dict(db.execute(
                "SELECT charge_id, count(*) FROM transfer WHERE kind = 'charge' GROUP BY charge_id"))
            for rid, (_, decision, charge_id) in reported.items():
                assert rid in rows, f"reported charge {rid} is missing after the crash of run {run}"
                assert rows[rid][0] == charge_id, f"{rid}: stored charge id differs from the reported one"
                stored_decision = rows[rid][1]
                if decision == "held":
                    assert stored_decision == DECISIONS["held"]
                else:
                    assert stored_decision == DECISIONS[decision], f"{rid}: stored decision differs"
                assert transfers.get(charge_id, 0) == (1 if decision == "approved" else 0), \
                    f"{rid}: {transfers.get(charge_id, 0)} transfers for a {decision} charge"
            orphans = db.execute("""
                SELECT count(*) FROM charge c WHERE c.body_sha256 IS NULL AND NOT EXISTS (
                    SELECT 1 FROM idempotency i WHERE i.bank_code = c.bank_code AND i.request_id = c.request_id)
                """).fetchone()[0]
            assert orphans == 0, "a charge row without its idempotency record: a half-written request"
        finally:
            db.close()

    print(f"wallet crash test: {len(reported)} answers over {KILLS} SIGKILLs, all present exactly once")
    assert len(reported) > 100, f"the load was too light to mean anything ({len(reported)} answers)"
    assert time.monotonic() - started < 150
