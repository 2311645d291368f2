"""deploy/: the systemd unit passes `systemd-analyze verify` and is sandboxed as promised; the Kubernetes manifests
parse and name the SPEC §1 ports; the gateway started exactly as the unit (and the Deployment) start it serves,
and SIGTERM drains it to exit 0 well within the stop timeout."""
import json
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import time

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import ROOT, run_bankgw

UNIT = ROOT / "deploy" / "systemd" / "bankgw.service"
MANIFESTS = ROOT / "deploy" / "kubernetes" / "bankgw.yaml"
SPEC_PORTS = {8443, 8081, 9464}


def unit_directives():
    directives = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            directives.setdefault(key, []).append(value)
    return directives


def manifests():
    return list(yaml.safe_load_all(MANIFESTS.read_text()))


def kind(docs, name):
    found = [d for d in docs if d["kind"] == name]
    assert found, f"no {name} in {MANIFESTS.name}"
    return found


def config_map_config():
    return json.loads(kind(manifests(), "ConfigMap")[0]["data"]["config.json"])


def test_systemd_analyze_verify_passes(bankgw_bin, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (scripts/setup.sh installs the systemd package)")
    # verify checks that ExecStart's binary exists: point it at the one under test, nothing else changed.
    unit = tmp_path / "bankgw.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/bankgw", bankgw_bin))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bankgw.service" not in result.stderr, f"warnings about the unit: {result.stderr}"


def test_unit_is_sandboxed_and_outlives_the_drain():
    d = unit_directives()
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "KillSignal": "SIGTERM",
                       "ReadWritePaths": "/var/lib/bankgw", "ExecReload": "/bin/kill -HUP $MAINPID",
                       "User": "bankgw"}.items():
        assert d.get(key) == [value], f"{key}={d.get(key)}"
    assert d["CapabilityBoundingSet"] == [""]
    grace_s = config_map_config()["shutdownGraceMs"] / 1000
    assert int(d["TimeoutStopSec"][0]) > grace_s + 5, "the stop timeout must outlast the drain"
    assert config_map_config()["stateDirectory"] == "/var/lib/bankgw"


def test_manifests_parse_and_name_the_spec_ports():
    docs = manifests()
    deployment = kind(docs, "Deployment")[0]
    assert deployment["spec"]["replicas"] == 1, "one writer per wallet database"
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == SPEC_PORTS
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == 8081, f"{probe} must use the h2c probe port"
    assert container["readinessProbe"]["grpc"]["service"] == "bankgw.v1.BankGateway"
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace_s = config_map_config()["shutdownGraceMs"] / 1000
    assert pod["terminationGracePeriodSeconds"] > pre_stop + grace_s, "SIGKILL must never cut the drain"
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert volumes["pki"]["secret"]["secretName"] == kind(docs, "Secret")[0]["metadata"]["name"]
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == \
        kind(docs, "PersistentVolumeClaim")[0]["metadata"]["name"]
    assert mounts["state"] == config_map_config()["stateDirectory"]
    listen = config_map_config()["listen"]
    assert {int(v.rsplit(":", 1)[1]) for v in listen.values()} == SPEC_PORTS
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9464"
    monitor = kind(docs, "ServiceMonitor")[0]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    services = {s["metadata"]["name"]: s for s in kind(docs, "Service")}
    assert [p["port"] for p in services["bankgw"]["spec"]["ports"]] == [8443]
    assert [p["port"] for p in services["bankgw-metrics"]["spec"]["ports"]] == [9464]


def local_config(tmp_path, bankgw_bin):
    """The ConfigMap's config.json with its paths moved under tmp_path and ephemeral ports."""
    assert run_bankgw(bankgw_bin, "pki", "init", str(tmp_path)).returncode == 0
    pki = tmp_path / "pki"
    shutil.copy(pki / "ca.pem", pki / "partner-ca.pem")
    text = json.dumps(config_map_config())
    text = text.replace("/etc/bankgw/pki", str(pki)).replace("/var/lib/bankgw", str(tmp_path / "state"))
    config = json.loads(text)
    del config["tls"]["crl"]  # the development PKI has no CRL
    config["listen"] = {"tls": "127.0.0.1:0", "probe": "127.0.0.1:0", "metrics": "127.0.0.1:0",
                        "console": "127.0.0.1:0"}
    config["shutdownGraceMs"] = 2000
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def serve_and_drain(argv, ready, log_path, stop_timeout_s):
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while not (ready.exists() and ready.stat().st_size > 0):
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "not ready in 30 s"
                time.sleep(0.05)
            ports = json.loads(ready.read_text())
            with grpc.insecure_channel(f"127.0.0.1:{ports['probe']}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                for service in ("", "bankgw.v1.BankGateway"):
                    status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
                    assert status == health_pb2.HealthCheckResponse.SERVING
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=stop_timeout_s)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert code == 0, log_path.read_text()
    assert any(m.startswith("draining") for m in messages) and messages[-1] == "BankGateway stopped", messages
    return took


def test_started_as_the_unit_starts_it_then_drained_by_sigterm(bankgw_bin, tmp_path):
    config = local_config(tmp_path, bankgw_bin)
    ready = tmp_path / "run" / "ready.json"
    ready.parent.mkdir()
    exec_start = unit_directives()["ExecStart"][0]
    argv = shlex.split(exec_start.replace("/etc/bankgw/config.json", str(config))
                       .replace("/run/bankgw/ready.json", str(ready)))
    assert argv[0] == "/usr/local/bin/bankgw"
    argv[0] = bankgw_bin
    timeout_stop = int(unit_directives()["TimeoutStopSec"][0])
    took = serve_and_drain(argv, ready, tmp_path / "unit.log", timeout_stop)
    assert took < timeout_stop


def test_started_as_the_deployment_starts_it(bankgw_bin, tmp_path):
    config = local_config(tmp_path, bankgw_bin)
    container = kind(manifests(), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    ready = tmp_path / "ready.json"
    args = [a.replace("/etc/bankgw/config.json", str(config)) for a in container["args"]]
    serve_and_drain([bankgw_bin, *args, "--ready-file", str(ready)], ready, tmp_path / "pod.log", 25)
