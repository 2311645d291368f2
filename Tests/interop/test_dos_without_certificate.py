"""Denial of service without a certificate (issue 16 item 9) against `bankgw serve --demo`: each attack uses only
what needs no certificate (the h2c probe port, TCP to the TLS port, the metrics port), and each test shows a
bank is still served over mutual TLS with grpcio while it runs."""
import socket
import struct
import time
import urllib.request

import grpc
import h2.config
import h2.connection
import h2.events
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway import Gateway
from test_bank_service import now_ms

MAX_WATCHERS = 1_024  # HealthService.maxWatchers, per listener
HANDSHAKES_PER_ADDRESS = 32  # RPCServerLimits.maxHandshakingConnectionsPerAddress
METRICS_CONNECTIONS = 64  # MetricsEndpoint.maxConnections
METRICS_IDLE_SECONDS = 10  # MetricsEndpoint.idleTimeout


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def bank_is_served(gw, pb, bank="9900"):
    """A GetCharge for an unknown id over a fresh mutual-TLS connection: NOT_FOUND means served."""
    with gw.secure_channel(bank) as channel:
        header = pb.v1.RequestHeader(bank_code=bank, request_id=f"dos-{time.monotonic_ns()}", sent_at_unix_ms=now_ms())
        try:
            pb.v1_grpc.BankGatewayStub(channel).GetCharge(
                pb.v1.GetChargeRequest(header=header, original_request_id="nope"), timeout=10)
        except grpc.RpcError as error:
            return error.code() == grpc.StatusCode.NOT_FOUND
    return False


class ProbeWatches:
    """Health Watch streams held open on the plaintext probe port through the `h2` state machine."""

    def __init__(self, port):
        self.port = port
        self.connections = []

    def open(self, count, per_connection=100):
        body = health_pb2.HealthCheckRequest(service="").SerializeToString()
        message = b"\x00" + struct.pack(">I", len(body)) + body
        pending = []
        while count > 0:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
            conn.initiate_connection()
            streams = set()
            for _ in range(min(count, per_connection)):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                                        (":path", "/grpc.health.v1.Health/Watch"), (":authority", "localhost"),
                                        ("content-type", "application/grpc"), ("te", "trailers")])
                conn.send_data(sid, message, end_stream=True)
                streams.add(sid)
            sock.sendall(conn.data_to_send())
            self.connections.append(sock)
            pending.append((sock, conn, streams))
            count -= len(streams)
        # Every stream has its first status: the server holds each watcher now.
        for sock, conn, streams in pending:
            answered = set()
            while answered != streams:
                data = sock.recv(65536)
                assert data, "the probe port closed a watch connection"
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        answered.add(event.stream_id)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        raise AssertionError(f"watch stream {event.stream_id} ended: over the cap?")
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)

    def close(self):
        for sock in self.connections:
            sock.close()


def first_watch_status(channel):
    stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    try:
        return next(stream).status
    finally:
        stream.cancel()


def test_probe_port_watches_cannot_use_up_the_watch_budget_of_banks(gw, pb):
    watches = ProbeWatches(gw.ports["probe"])
    try:
        watches.open(MAX_WATCHERS)
        # The probe port's budget is spent ...
        with grpc.insecure_channel(f"127.0.0.1:{gw.ports['probe']}") as probe:
            with pytest.raises(grpc.RpcError) as refused:
                first_watch_status(probe)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # ... and a bank still watches on the TLS port, and is served.
        with gw.secure_channel("9900") as channel:
            assert first_watch_status(channel) == health_pb2.HealthCheckResponse.SERVING
        assert bank_is_served(gw, pb)
    finally:
        watches.close()


def test_sockets_stalled_in_the_handshake_do_not_lock_banks_out(gw, pb):
    # 1,100 TCP connections from one address that never send a ClientHello: more than the connection cap (1000).
    # Another loopback address (127.0.0.2) is the attacker, so the bank on 127.0.0.1 is a different client.
    attackers = []
    try:
        for _ in range(1_100):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", gw.ports["tls"]))
            attackers.append(sock)
        time.sleep(0.5)
        assert bank_is_served(gw, pb), "a bank must get a connection while unauthenticated sockets wait"
        assert bank_is_served(gw, pb, "0001")
        # Only a bounded number of the attacker's sockets is kept: the rest were closed at once.
        kept = 0
        for sock in attackers:
            sock.setblocking(False)
            try:
                kept += sock.recv(1) != b""
            except BlockingIOError:
                kept += 1
            except OSError:
                pass
        assert kept <= HANDSHAKES_PER_ADDRESS, kept
    finally:
        for sock in attackers:
            sock.close()


def scrape(gw):
    return urllib.request.urlopen(f"http://127.0.0.1:{gw.ports['metrics']}/metrics", timeout=10).status


def test_metrics_port_caps_connections_and_closes_idle_ones(gw, pb):
    idle = [socket.create_connection(("127.0.0.1", gw.ports["metrics"]), timeout=5) for _ in range(300)]
    try:
        time.sleep(0.5)
        open_now = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                open_now += sock.recv(1) != b""
            except BlockingIOError:
                open_now += 1
            except OSError:
                pass
        assert open_now <= METRICS_CONNECTIONS, open_now
        assert bank_is_served(gw, pb)
        # The idle ones are closed by the gateway after the idle timeout; then a scrape gets through again.
        deadline = time.monotonic() + METRICS_IDLE_SECONDS + 10
        for sock in idle:
            sock.setblocking(True)
            sock.settimeout(max(deadline - time.monotonic(), 0.1))
            try:
                assert sock.recv(1) == b"", "an idle metrics connection sent data"
            except (ConnectionResetError, OSError) as error:
                assert not isinstance(error, socket.timeout), "an idle metrics connection was never closed"
        assert scrape(gw) == 200
    finally:
        for sock in idle:
            sock.close()
