"""`bankgw ledger bench`, the in-process wallet benchmark behind issue 14's wallet figures: its `--request-ids`
choice reaches the load (random UUIDs land each idempotency insert at a random key, as banks' ids do) and every
charge of the short run is durable and APPROVED; a wrong choice is refused by name."""
import re
import subprocess


def run_bench(bankgw_bin, tmp_path, *extra):
    return subprocess.run(
        [bankgw_bin, "ledger", "bench", "--state-dir", str(tmp_path / "bench"), "--seconds", "0.5",
         "--concurrency", "4", "--wallets", "4", "--signer", "stand-in", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def test_uuid_request_ids_are_measured_and_tagged(bankgw_bin, tmp_path):
    result = run_bench(bankgw_bin, tmp_path, "--request-ids", "uuid")
    assert result.returncode == 0, result.stdout
    rate = re.search(r"^wallet charges/s signer=stand-in callers=4 request_ids=uuid: (\d+)$", result.stdout, re.M)
    assert rate and int(rate.group(1)) > 0, result.stdout
    assert re.search(r"^wallet writer_cpu_us_per_charge signer=stand-in callers=4 request_ids=uuid: [\d.]+$",
                     result.stdout, re.M), result.stdout
    # The state directory was the bench's own: nothing is left behind.
    assert not (tmp_path / "bench").exists()


def test_sequential_request_ids_stay_the_default_and_untagged(bankgw_bin, tmp_path):
    result = run_bench(bankgw_bin, tmp_path)
    assert result.returncode == 0, result.stdout
    assert re.search(r"^wallet charges/s signer=stand-in callers=4: \d+$", result.stdout, re.M), result.stdout
    assert "request_ids" not in result.stdout


def test_an_unknown_request_id_scheme_is_refused_by_name(bankgw_bin, tmp_path):
    result = run_bench(bankgw_bin, tmp_path, "--request-ids", "random")
    assert result.returncode == 64, result.stdout
    assert "--request-ids" in result.stdout and "random" in result.stdout, result.stdout
