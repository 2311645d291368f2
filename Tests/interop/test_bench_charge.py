"""`bankgw bench-charge`, behind issue 14's gateway figures, against a real demo gateway over mutual TLS: every
phase it reports is measured on the APPROVED path with the server's CPU per call, and `--half-rate` adds the paced
Charge phase and a paced health phase at the same rate (the tail any call gets, beside the Charge's own)."""
import json
import re
import subprocess

from gateway import Gateway


def test_half_rate_measures_a_paced_charge_and_a_paced_health_phase_at_one_rate(bankgw_bin, tmp_path):
    # Every SPEC §8 rule runs, but the load's many links per wallet and its yen per minute must not trip
    # wallet.many_accounts / wallet.velocity (HELD is not the path measured), as in scripts/bench/issue14.py.
    monitoring = tmp_path / "monitoring.json"
    monitoring.write_text(json.dumps({"walletManyAccountsMinTokens": 1000, "walletVelocityMinYen": 1000000000}))
    gw = Gateway(bankgw_bin, extra_args=["--monitoring", str(monitoring)]).start()
    try:
        result = subprocess.run(
            [bankgw_bin, "bench-charge", "--state-dir", gw.state_dir, "--target", f"127.0.0.1:{gw.ports['tls']}",
             "--duration", "0.5", "--connections", "1", "--streams", "4", "--links", "300", "--half-rate",
             "--server-pid", str(gw.process.pid)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    finally:
        gw.stop()
    assert result.returncode == 0, result.stdout
    phases = {}
    for line in result.stdout.splitlines():
        if line.startswith("BENCH tool=bench-charge "):
            fields = dict(field.split("=", 1) for field in line.split()[1:])
            phases[fields["phase"]] = fields
    assert set(phases) == {"health", "charge", "charge-half", "health-half"}, result.stdout
    for name, fields in phases.items():
        assert int(fields["ok"]) > 0 and int(fields["errors"]) == 0, (name, fields)
        assert float(fields["server_cpu_us_per_call"]) > 0, (name, fields)
    for name in ["charge", "charge-half"]:
        assert int(phases[name]["approved"]) == int(phases[name]["ok"]), (result.stdout, phases[name])
    # Both paced phases run at the one rate: half the measured Charge peak.
    assert phases["health-half"]["rate"] == phases["charge-half"]["rate"], phases
    half = float(phases["charge"]["req_per_s"]) / 2
    assert abs(float(phases["charge-half"]["rate"]) - half) <= 1, phases
    assert re.search(r"^health Check at the same rate \(\d+/s\): ", result.stdout, re.M), result.stdout
