#!/usr/bin/env python3
"""Issue 14's figures, printed honestly: medians of alternating runs, server CPU per call, references in the same run.

Environment:
  BANKGW_BIN          the gateway under test (default .build/release/bankgw)
  BASELINE_BIN        optional: a second gateway (e.g. main's release build); runs alternate baseline/new
  BENCH_RUNS          runs per binary (default 5; each figure is the median over them)
  BENCH_SECONDS       seconds per timed load phase (default 5)
  BENCH_LOAD_BIN      the load tool (`bankgw bench`, `bankgw bench-charge`; default .build/release/bankgw, which
                      must have --server-pid): the same client drives every server
  GRPC_REFERENCE_BIN  the grpc-swift-2 reference server (default: Benchmarks/GRPCSwiftReference's release build)
  BENCH_IDLE_CONNS    idle mutual-TLS connections for the memory figure (default 10000)
  BENCH_IDLE_RUNS     runs (per binary) that include the idle-connection figure (default 1: it is ~deterministic
                      and takes the longest; its median is over this many samples)
  BENCH_LINKS         the fewest links bench-charge prepares (default 12000; each link takes at most 3 charges;
                      each run prepares enough for its phases, from the last peak measured)
  BENCH_ONLY          optional comma list of sections: h2c,mtls,charge,wallet,idle (default all)

Server CPU per call = (utime+stime of the server process, from /proc/PID/stat, over the timed window) / completed calls
reported by the load tool. The window excludes start-up and preparation: `bankgw bench` and `bench-charge` sample
/proc themselves at the edges of their timed window (--server-pid); h2load gets an uncounted 1 s run first, then the
samples bracket the measured h2load process (4 h2c connections: its connecting costs the server next to nothing). Only the server's CPU counts, never the load tool's.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
NEW = os.path.abspath(os.environ.get("BANKGW_BIN") or os.path.join(ROOT, ".build/release/bankgw"))
BASE = os.environ.get("BASELINE_BIN") or None
BASE = os.path.abspath(BASE) if BASE else None
LOAD = os.path.abspath(os.environ.get("BENCH_LOAD_BIN") or os.path.join(ROOT, ".build/release/bankgw"))
REF = os.environ.get("GRPC_REFERENCE_BIN") or os.path.join(
    ROOT, "Benchmarks/GRPCSwiftReference/.build-reference/release/grpc-swift-reference")
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))
IDLE_RUNS = int(os.environ.get("BENCH_IDLE_RUNS", "1"))
LINKS = int(os.environ.get("BENCH_LINKS", "12000"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "h2c,mtls,charge,wallet,idle").split(",")))
CONNS, STREAMS = 4, 64          # h2load and `bankgw bench`: 4 connections × 64 streams, everywhere
CHARGE_CONNS, CHARGE_STREAMS = 4, 32
HEALTH = "/grpc.health.v1.Health/Check"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(message, flush=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(cmd, timeout=None):
    """Runs a load command; returns its stdout (stderr folded in), raising on a failed exit."""
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {result.returncode}:\n{result.stdout[-2000:]}")
    return result.stdout


def bench_lines(output):
    """`BENCH key=value ...` lines as dicts (numbers as floats)."""
    lines = []
    for line in output.splitlines():
        if line.startswith("BENCH "):
            fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
            lines.append({k: (float(v) if re.fullmatch(r"-?[\d.]+(e-?\d+)?", v) else v) for k, v in fields.items()})
    return lines


def has_option(binary, subcommand, option):
    try:
        out = subprocess.run([binary, *subcommand, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=30).stdout
    except Exception:  # noqa: BLE001
        return False
    return option in out


# MARK: loads

def h2load(port, pid, label):
    """h2load against HEALTH over h2c: req/s and the server's CPU per completed call."""
    body = os.path.join(WORK, "health.bin")
    with open(body, "wb") as f:
        f.write(b"\x00\x00\x00\x00\x00")  # one gRPC message: empty HealthCheckRequest
    cmd = ["h2load", "-D", str(max(1, round(SECONDS))), "-c", str(CONNS), "-m", str(STREAMS), "-t", "1", "-d", body,
           "-H", "content-type: application/grpc", "-H", "te: trailers", f"http://127.0.0.1:{port}{HEALTH}"]
    warmup = cmd[:1] + ["-D", "1"] + cmd[3:]  # 1 s not counted: lazy start-up work stays out of the window
    run(warmup, timeout=60)
    before = cpu_seconds(pid)
    out = run(cmd, timeout=SECONDS + 60)
    cpu = cpu_seconds(pid) - before
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    if not done or not rate:
        raise RuntimeError(f"h2load output not understood:\n{out}")
    calls, ok = int(done.group(1)), int(done.group(2))
    if codes and int(codes.group(1)) < ok * 0.99:
        log(f"  warning: {label}: only {codes.group(1)} of {ok} answers were 2xx")
    if calls == 0:
        raise RuntimeError(f"{label}: h2load completed no call in {SECONDS:g} s")
    result = {"req_per_s": float(rate.group(1)), "calls": calls, "cpu_us": cpu * 1e6 / calls}
    log(f"  {label}: h2load {result['req_per_s']:.0f} req/s, {calls} calls, server {result['cpu_us']:.1f} µs CPU/call")
    return result


def bench_mtls(pki, port, pid, label):
    out = run([LOAD, "bench", "--state-dir", pki, "--target", f"127.0.0.1:{port}", "--bank", "9900",
               "--connections", str(CONNS), "--streams", str(STREAMS), "--duration", str(SECONDS), "--warmup", "1",
               "--threads", "1", "--method", HEALTH, "--message-bytes", "0", "--server-pid", str(pid)],
              timeout=SECONDS + 60)
    line = bench_lines(out)[-1]
    result = {"req_per_s": line["req_per_s"], "calls": line["calls"], "cpu_us": line["server_cpu_us_per_call"],
              "p99_ms": line["p99_ms"]}
    log(f"  {label}: bankgw bench {result['req_per_s']:.0f} req/s, server {result['cpu_us']:.1f} µs CPU/call "
        f"(ok {line['ok']:.0f}/{line['calls']:.0f})")
    return result


# MARK: servers

def pki_init():
    pki = os.path.join(WORK, "pki")
    if not os.path.isdir(pki):
        run([LOAD, "pki", "init", pki])
    return pki


class Gateway:
    """`bankgw serve --demo` on ephemeral ports, in a fresh state directory."""

    def __init__(self, binary, name, extra=()):
        self.dir = tempfile.mkdtemp(prefix=f"gw-{name}-", dir=WORK)
        with open(os.path.join(self.dir, "monitoring.json"), "w") as f:
            # Every SPEC §8 rule runs, but the load's many links per wallet and its yen per minute must not trip
            # wallet.many_accounts / wallet.velocity (which would turn APPROVED into HELD): as in bench-gateway.sh.
            json.dump({"walletManyAccountsMinTokens": 1000, "walletVelocityMinYen": 1000000000}, f)
        ready = os.path.join(self.dir, "ready.json")
        self.log = open(os.path.join(self.dir, "gateway.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--demo", "--state-dir", self.dir, "--tls-port", "0", "--probe-port", "0",
             "--metrics-port", "0", "--console-port", "0", "--monitoring", os.path.join(self.dir, "monitoring.json"),
             "--ready-file", ready, *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"gateway did not start: {open(os.path.join(self.dir, 'gateway.log')).read()}")
            time.sleep(0.1)
        ports = json.load(open(ready))
        self.tls, self.probe, self.pid = ports["tls"], ports["probe"], self.proc.pid

    def stop(self):
        stop(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_reference(tls_dir=None):
    args = [REF, "--port", str(free_port())]
    if tls_dir:
        args += ["--tls-dir", tls_dir]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    match = re.search(r"listening on [\d.]+:(\d+)", line)
    if not match:
        stop(proc)
        raise RuntimeError(f"grpc-swift-2 reference did not start: {line}{proc.stdout.read()}")
    return proc, int(match.group(1))


def references(run_index):
    """nghttpd (static 7 bytes, h2c) and the grpc-swift-2 server (h2c, mTLS), loaded like the gateway."""
    figures = {}
    if "h2c" in ONLY:
        docroot = os.path.join(WORK, "nghttpd")
        os.makedirs(os.path.join(docroot, "grpc.health.v1.Health"), exist_ok=True)
        with open(os.path.join(docroot, "grpc.health.v1.Health", "Check"), "wb") as f:
            f.write(b"\x00\x00\x00\x00\x02\x08\x01")  # 7 bytes: the gRPC-framed SERVING answer
        port = free_port()
        ng = subprocess.Popen(["nghttpd", "--no-tls", "-d", docroot, str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            wait_port(port, ng)
            section(figures, "nghttpd", lambda: {"nghttpd_h2c": h2load(port, ng.pid, "nghttpd h2c (static 7 bytes)")})
        finally:
            stop(ng)
    if not os.path.exists(REF):
        if run_index == 0:
            log(f"  (no grpc-swift-2 reference at {REF}: scripts/bench/build-reference.sh builds it)")
        return figures
    if "h2c" in ONLY:
        proc, port = start_reference()
        try:
            section(figures, "grpc-swift-2 h2c", lambda: {"grpc_h2c": h2load(port, proc.pid, "grpc-swift-2 h2c")})
        finally:
            stop(proc)
    if "mtls" in ONLY:
        proc, port = start_reference(os.path.join(pki_init(), "pki"))
        try:
            section(figures, "grpc-swift-2 mTLS", lambda: {
                "grpc_mtls": bench_mtls(pki_init(), port, proc.pid, "grpc-swift-2 mTLS")})
        finally:
            stop(proc)
    return figures


def section(figures, label, function, *args):
    """One measurement; a failure is printed and leaves its figures n/a instead of ending the whole run."""
    try:
        figures.update(function(*args))
    except Exception as error:  # noqa: BLE001
        log(f"  ERROR {label}: {error}")


def gateway_figures(binary, name, run_index):
    figures = {}
    if ONLY & {"h2c", "mtls", "charge"}:
        try:
            gw = Gateway(binary, name)
        except Exception as error:  # noqa: BLE001
            log(f"  ERROR {name}: {error}")
            gw = None
        if gw:
            try:
                if "h2c" in ONLY:
                    section(figures, f"{name} h2c", lambda: {
                        "gw_h2c": h2load(gw.probe, gw.pid, f"{name} health h2c (probe port)")})
                if "mtls" in ONLY:
                    section(figures, f"{name} mTLS", lambda: {
                        "gw_mtls": bench_mtls(gw.dir, gw.tls, gw.pid, f"{name} health mTLS")})
                if "charge" in ONLY:
                    section(figures, f"{name} bench-charge", charge, gw, name)
            finally:
                gw.stop()
    if "wallet" in ONLY:
        section(figures, f"{name} wallet", wallet, binary, name)
    if "idle" in ONLY and run_index < IDLE_RUNS:
        section(figures, f"{name} idle", idle, binary, name)
    return figures


PEAK = {}  # binary label -> highest Charge peak measured (req/s), to size the next run's links
# A binary's first run has no peak of its own: size it from any binary's peak seen so far, else from this guess, above
# every peak measured on this box (≈10k/s), so no first run runs out of links and takes the HELD path.
FIRST_PEAK_GUESS_PER_S = 16_000


def links_for(name):
    """SPEC §4 holds a link's 4th charge within 10 minutes, so the links cover the peak phase and the half-rate one:
    1.5 × peak × phase length, ÷ 3, with 60% to spare (a run's peak has come in 30% above the one before)."""
    peak = PEAK.get(name) or max(PEAK.values(), default=0) or FIRST_PEAK_GUESS_PER_S
    return min(200_000, max(LINKS, int(peak * 1.6 * 1.5 * SECONDS / 3) + 100))


def charge(gw, name):
    links = links_for(name)
    out = run([LOAD, "bench-charge", "--state-dir", gw.dir, "--target", f"127.0.0.1:{gw.tls}",
               "--duration", str(SECONDS), "--connections", str(CHARGE_CONNS), "--streams", str(CHARGE_STREAMS),
               "--links", str(links), "--half-rate", "--server-pid", str(gw.pid)], timeout=600)
    phases = {line["phase"]: line for line in bench_lines(out) if line.get("tool") == "bench-charge"}
    health, peak, half = phases["health"], phases["charge"], phases["charge-half"]
    health_half = phases.get("health-half")  # binaries before stop 26 have no paced health phase
    PEAK[name] = max(PEAK.get(name, 0), peak["req_per_s"])
    # A Charge phase is a sample of the APPROVED path only if every answer was APPROVED (a HELD Charge costs ~250 µs
    # more and skips the money); one that is not is left out of the medians, so n= shows how many were kept.
    rejected = set()
    for key, p in phases.items():
        if key.startswith("charge") and p["approved"] < p["ok"]:
            rejected.add(key)
            log(f"  REJECTED {name} {key}: only {p['approved']:.0f} of {p['ok']:.0f} Charges APPROVED "
                f"(held {p['held']:.0f}, declined {p['declined']:.0f}; {links} links): not the APPROVED path")
        if p["errors"]:
            log(f"  warning: {name} {key}: {p['errors']:.0f} calls failed")
    log(f"  {name} bench-charge mTLS: health {health['req_per_s']:.0f}/s {health['server_cpu_us_per_call']:.1f} µs, "
        f"Charge {peak['req_per_s']:.0f}/s {peak['server_cpu_us_per_call']:.1f} µs "
        f"(APPROVED {peak['approved']:.0f}/{peak['ok']:.0f}), at half ({half['rate']:.0f}/s) p99 {half['p99_ms']:.2f} ms"
        + (f", health at that rate p99 {health_half['p99_ms']:.2f} ms" if health_half else ""))
    figures = {"cb_health": {"req_per_s": health["req_per_s"], "cpu_us": health["server_cpu_us_per_call"]},
               "cb_charge": {"req_per_s": peak["req_per_s"], "cpu_us": peak["server_cpu_us_per_call"],
                             "p99_ms": peak["p99_ms"]},
               "cb_half": {"req_per_s": half["req_per_s"], "p99_ms": half["p99_ms"], "rate": half["rate"]},
               "cb_health_half": {"p99_ms": health_half["p99_ms"]} if health_half else {}}
    for key, figure in (("charge", "cb_charge"), ("charge-half", "cb_half")):
        if key in rejected:
            del figures[figure]
    return figures


def wallet(binary, name):
    """`bankgw ledger bench` in-process: the new format (`wallet charges/s signer=X callers=N: V`, `--signer`) when
    the binary has it, else the old table (group-commit column at 256 callers; its signer is a stand-in)."""
    figures = {}
    state = tempfile.mkdtemp(prefix=".build-bench-wallet-", dir=ROOT)  # a real disk (fsync), git-ignored name
    try:
        has_signer = has_option(binary, ["ledger", "bench"], "--signer")
        has_concurrency = has_option(binary, ["ledger", "bench"], "--concurrency")
        has_monitoring = has_option(binary, ["ledger", "bench"], "--monitoring")
        has_request_ids = has_option(binary, ["ledger", "bench"], "--request-ids")
        # (signer, SPEC §8 rules on, random request ids): the §4 chain alone with both signers, then every rule with
        # the stand-in, then the stand-in with a random UUID per request (each idempotency insert at a random key,
        # as banks' ids land; the other cells name requests in order per caller).
        cells = [(s, False, False) for s in (["stand-in", "ecdsa"] if has_signer else [None])]
        if has_monitoring:
            cells.append(("stand-in", True, False))
        if has_request_ids:
            cells.append(("stand-in", False, True))
        for signer, monitoring, uuid_ids in cells:
            cmd = [binary, "ledger", "bench", "--state-dir", os.path.join(state, "db"), "--seconds", str(SECONDS)]
            if has_concurrency:
                cmd += ["--concurrency", "256"]
            if signer:
                cmd += ["--signer", signer]
            if monitoring:
                cmd += ["--monitoring"]
            if uuid_ids:
                cmd += ["--request-ids", "uuid"]
            suffix = ("-s8" if monitoring else "") + ("-uuid" if uuid_ids else "")
            out = run(cmd, timeout=600)
            rates = re.findall(r"wallet charges/s\s+signer=([\w-]+)(?:\s+callers=(\d+))?[^:\n]*:\s*([\d.,]+)", out)
            cpus = re.findall(r"wallet cpu_us_per_charge\s+signer=([\w-]+)[^:\n]*:\s*([\d.,]+)", out)
            writers = re.findall(r"wallet writer_cpu_us_per_charge\s+signer=([\w-]+)[^:\n]*:\s*([\d.,]+)", out)
            if rates:
                for s, callers, value in rates:
                    if not callers or callers == "256" or f"wallet_{s}{suffix}" not in figures:
                        figures[f"wallet_{s}{suffix}"] = {"per_s": float(value.replace(",", ""))}
                for s, value in cpus:
                    figures.setdefault(f"wallet_{s}{suffix}", {})["cpu_us"] = float(value.replace(",", ""))
                for s, value in writers:
                    figures.setdefault(f"wallet_{s}{suffix}", {})["writer_us"] = float(value.replace(",", ""))
            else:
                rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s", out, re.M)
                row = next((r for r in rows if r[0] == "256"), rows[-1] if rows else None)
                if not row:
                    raise RuntimeError(f"ledger bench output not understood:\n{out}")
                figures["wallet_stand-in"] = {"per_s": float(row[1])}
        log(f"  {name} wallet core: " + ", ".join(
            f"{k[7:]} {v.get('per_s', float('nan')):.0f}/s" + (f" {v['cpu_us']:.1f} µs" if "cpu_us" in v else "")
            for k, v in figures.items()))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return figures


def idle(binary, name):
    """RSS per idle mutual-TLS connection on a fresh gateway (no load before it)."""
    count = IDLE_CONNS
    extra = []
    if has_option(binary, ["serve"], "--max-connections"):
        extra = ["--max-connections", str(count + 100)]
    elif count > 900:
        log(f"  {name}: `serve` has no --max-connections (cap 1000): idle figure with 900 connections, not {count}")
        count = 900
    gw = Gateway(binary, name + "-idle", extra)
    try:
        time.sleep(1)
        out = run([sys.executable, os.path.join(ROOT, "scripts/bench/idle_conns.py"), "--port", str(gw.tls),
                   "--pid", str(gw.pid), "--ca", os.path.join(gw.dir, "pki/ca.pem"),
                   "--cert", os.path.join(gw.dir, "pki/banks/9900.pem"),
                   "--key", os.path.join(gw.dir, "pki/banks/9900.key"),
                   "--count", str(count)], timeout=900)
    finally:
        gw.stop()
    line = bench_lines(out)[-1]
    log(f"  {name} idle: {out.splitlines()[0]}")
    if line["established"] < count or line["alive"] < line["established"]:
        log(f"  warning: {name} idle: {line['established']:.0f} established, {line['alive']:.0f} alive of {count}")
    return {"idle": {"kib_per_conn": line["kib_per_conn"], "conns": line["established"]}}


# MARK: the table

def value(figures, key, field):
    f = figures.get(key)
    return f.get(field) if f else None


def ratio(a, b):
    return a / b if a is not None and b else None


# (figure, target text, predicate on the value, function of (gateway figures, reference figures of the same run))
ROWS = [
    ("mTLS CPU/call Charge ÷ health (bench-charge)", "≤ 2.5", lambda v: v <= 2.5,
     lambda g, r: ratio(value(g, "cb_charge", "cpu_us"), value(g, "cb_health", "cpu_us"))),
    ("mTLS throughput Charge ÷ health", "≥ 0.40", lambda v: v >= 0.40,
     lambda g, r: ratio(value(g, "cb_charge", "req_per_s"), value(g, "cb_health", "req_per_s"))),
    ("mTLS Charge p99 at half peak, ms", "≤ 2", lambda v: v <= 2,
     lambda g, r: value(g, "cb_half", "p99_ms")),
    ("wallet charges/s, stand-in signer", "≥ 50000", lambda v: v >= 50000,
     lambda g, r: value(g, "wallet_stand-in", "per_s")),
    ("wallet charges/s, ECDSA signer", "≥ 30000", lambda v: v >= 30000,
     lambda g, r: value(g, "wallet_ecdsa", "per_s")),
    ("h2c health CPU/call ÷ nghttpd 7-byte file", "≤ 5", lambda v: v <= 5,
     lambda g, r: ratio(value(g, "gw_h2c", "cpu_us"), value(r, "nghttpd_h2c", "cpu_us"))),
    ("h2c health CPU/call ÷ grpc-swift-2", "≤ 0.10", lambda v: v <= 0.10,
     lambda g, r: ratio(value(g, "gw_h2c", "cpu_us"), value(r, "grpc_h2c", "cpu_us"))),
    ("mTLS health CPU/call ÷ grpc-swift-2", "≤ 0.125", lambda v: v <= 0.125,
     lambda g, r: ratio(value(g, "gw_mtls", "cpu_us"), value(r, "grpc_mtls", "cpu_us"))),
    ("RSS per idle mTLS connection, KiB", "≤ 64", lambda v: v <= 64,
     lambda g, r: value(g, "idle", "kib_per_conn")),
]
# Raw figures behind the ratios (no target).
INFO = [
    ("  server µs CPU/call, mTLS health (bench-charge)", lambda g, r: value(g, "cb_health", "cpu_us")),
    ("  server µs CPU/call, mTLS Charge (bench-charge)", lambda g, r: value(g, "cb_charge", "cpu_us")),
    ("  req/s mTLS health (bench-charge)", lambda g, r: value(g, "cb_health", "req_per_s")),
    ("  req/s mTLS Charge peak (bench-charge)", lambda g, r: value(g, "cb_charge", "req_per_s")),
    ("  paced Charge rate (half peak), req/s", lambda g, r: value(g, "cb_half", "req_per_s")),
    ("  mTLS health p99 paced at that rate, ms", lambda g, r: value(g, "cb_health_half", "p99_ms")),
    ("  server µs CPU/call, h2c health (h2load)", lambda g, r: value(g, "gw_h2c", "cpu_us")),
    ("  req/s h2c health (h2load)", lambda g, r: value(g, "gw_h2c", "req_per_s")),
    ("  server µs CPU/call, mTLS health (bankgw bench)", lambda g, r: value(g, "gw_mtls", "cpu_us")),
    ("  req/s mTLS health (bankgw bench)", lambda g, r: value(g, "gw_mtls", "req_per_s")),
    ("  wallet µs CPU/charge, stand-in", lambda g, r: value(g, "wallet_stand-in", "cpu_us")),
    ("  wallet µs CPU/charge, ECDSA", lambda g, r: value(g, "wallet_ecdsa", "cpu_us")),
    ("  wallet writer µs CPU/charge, stand-in", lambda g, r: value(g, "wallet_stand-in", "writer_us")),
    ("  wallet charges/s, stand-in, SPEC §8 rules on", lambda g, r: value(g, "wallet_stand-in-s8", "per_s")),
    ("  wallet writer µs CPU/charge, stand-in, §8 on", lambda g, r: value(g, "wallet_stand-in-s8", "writer_us")),
    ("  wallet charges/s, stand-in, UUID request ids", lambda g, r: value(g, "wallet_stand-in-uuid", "per_s")),
    ("  wallet writer µs CPU/charge, stand-in, UUID ids", lambda g, r: value(g, "wallet_stand-in-uuid", "writer_us")),
    ("  idle connections established (memory figure)", lambda g, r: value(g, "idle", "conns")),
    ("  ref nghttpd h2c µs CPU/call", lambda g, r: value(r, "nghttpd_h2c", "cpu_us")),
    ("  ref grpc-swift-2 h2c µs CPU/call", lambda g, r: value(r, "grpc_h2c", "cpu_us")),
    ("  ref grpc-swift-2 mTLS µs CPU/call", lambda g, r: value(r, "grpc_mtls", "cpu_us")),
    ("  ref grpc-swift-2 h2c req/s", lambda g, r: value(r, "grpc_h2c", "req_per_s")),
]


def median_of(samples):
    values = [v for v in samples if v is not None]
    return (statistics.median(values), len(values)) if values else (None, 0)


def fmt(v, n):
    if v is None:
        return "n/a"
    text = f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return f"{text} (n={n})"


def table(results, labels):
    """results[label] = list of (gateway figures, reference figures) per run."""
    head = ["figure"] + [f"{label} median" for label in labels] + ["target", "met?"]
    rows = []
    for name, target, ok, compute in ROWS:
        cells, last = [], None
        for label in labels:
            last = median_of([compute(g, r) for g, r in results[label]])
            cells.append(fmt(*last))
        met = "n/a" if last[0] is None else ("yes" if ok(last[0]) else "NO")
        rows.append([name] + cells + [target, met])
    for name, compute in INFO:
        cells = [fmt(*median_of([compute(g, r) for g, r in results[label]])) for label in labels]
        if any(c != "n/a" for c in cells):
            rows.append([name] + cells + ["", ""])
    widths = [max(len(str(row[i])) for row in [head] + rows) for i in range(len(head))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(row) for row in rows]
    return "\n".join(out)


def main():
    global WORK
    for tool in ("h2load", "nghttpd"):
        if not shutil.which(tool):
            sys.exit(f"issue14: {tool} is missing (scripts/setup.sh installs nghttp2-client and nghttp2-server)")
    if not has_option(LOAD, ["bench-charge"], "--server-pid"):
        sys.exit(f"issue14: the load tool {LOAD} has no `bench-charge --server-pid` (build this tree: make bench)")
    binaries = [("baseline", BASE), ("new", NEW)] if BASE else [("new", NEW)]
    WORK = tempfile.mkdtemp(prefix="bankgw-issue14-")
    started = time.time()
    log(f"issue 14: {RUNS} run(s) per binary, {SECONDS:g} s per phase; "
        + ", ".join(f"{label} = {path}" for label, path in binaries) + f"; load tool {LOAD}")
    results = {label: [] for label, _ in binaries}
    try:
        for i in range(RUNS):
            order = binaries if i % 2 == 0 else list(reversed(binaries))
            log(f"== run {i + 1}/{RUNS}: references, then {' then '.join(label for label, _ in order)}")
            try:
                refs = references(i)
            except Exception as error:  # noqa: BLE001
                log(f"  ERROR references: {error}")
                refs = {}
            for label, binary in order:
                results[label].append((gateway_figures(binary, label, i), refs))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    labels = [label for label, _ in binaries]
    log(f"\n== issue 14 summary: medians over alternating runs ({RUNS} per binary, {SECONDS:g} s phases, "
        f"{time.time() - started:.0f} s in all); server CPU per call from /proc/PID/stat over each load window; "
        f"met? is for '{labels[-1]}'")
    log(table(results, labels))
    log("(ratios are per run against the references of the same run, then the median; the idle figure uses "
        f"{IDLE_CONNS} connections in {min(IDLE_RUNS, RUNS)} run(s) per binary)")


if __name__ == "__main__":
    main()
