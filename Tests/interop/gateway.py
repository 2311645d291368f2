"""Starts a real `bankgw serve --demo` on ephemeral ports for interop tests, and stops it."""
import atexit
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time


class Gateway:
    def __init__(self, bankgw_bin, state_dir=None, grace_seconds=10, extra_args=()):
        self.bankgw_bin = bankgw_bin
        if state_dir is None:
            # Tests may read the state after stopping the gateway (audit verify, ledger verify): remove it at exit.
            state_dir = tempfile.mkdtemp(prefix="bankgw-test-")
            atexit.register(shutil.rmtree, state_dir, True)
        self.state_dir = state_dir
        self.ready_file = os.path.join(self.state_dir, "ready.json")
        self.grace_seconds = grace_seconds
        self.extra_args = list(extra_args)
        self.process = None
        self.ports = None

    def start(self, timeout=30):
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        self.log = open(os.path.join(self.state_dir, "gateway.log"), "ab")
        self.process = subprocess.Popen(
            [self.bankgw_bin, "serve", "--demo", "--state-dir", self.state_dir, "--tls-port", "0", "--probe-port", "0",
             "--metrics-port", "0", "--console-port", "0", "--shutdown-grace-seconds", str(self.grace_seconds), "--ready-file", self.ready_file,
             *self.extra_args],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_file) and os.path.getsize(self.ready_file) > 0:
                self.ports = json.loads(pathlib.Path(self.ready_file).read_text())
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.process.returncode}: {self.log_text()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway did not become ready: " + self.log_text())

    def log_text(self):
        return pathlib.Path(self.state_dir, "gateway.log").read_text(errors="replace")[-4000:]

    def full_log(self):
        return pathlib.Path(self.state_dir, "gateway.log").read_text(errors="replace")

    def metrics_text(self):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=10) as response:
            return response.read().decode()

    def pki(self, name):
        return pathlib.Path(self.state_dir, "pki", name).read_bytes()

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def secure_channel(self, bank="9900"):
        import grpc
        if bank.startswith("operator"):
            # "operator" (demo) or "operator2" (demo2, the second pair of eyes of SPEC §8).
            cert, key = self.pki(f"{bank}.pem"), self.pki(f"{bank}.key")
        else:
            cert, key = self.pki(f"banks/{bank}.pem"), self.pki(f"banks/{bank}.key")
        credentials = grpc.ssl_channel_credentials(root_certificates=self.pki("ca.pem"), private_key=key,
                                                   certificate_chain=cert)
        return grpc.secure_channel(f"localhost:{self.ports['tls']}", credentials)

    def probe_channel(self):
        import grpc
        return grpc.insecure_channel(f"127.0.0.1:{self.ports['probe']}")
