"""Interop and abuse tests of the gRPC transport (GatewayRPC) against `bankgw bench echo-server` over h2c.

The server is the real binary (BANKGW_BIN, default .build/debug/bankgw); clients are third-party stacks:
grpcio (C-core) for well-behaved calls, the `h2` package and hand-built frames for protocol abuse.
"""
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import grpc
import h2.config
import h2.connection
import h2.events
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("BANKGW_BIN", str(ROOT / ".build" / "debug" / "bankgw"))
MAX_MESSAGE = 64 * 1024
ENHANCE_YOUR_CALM = 0xB  # the GOAWAY code of swift-nio-http2's DoS limits


class EchoServer:
    """`bankgw bench echo-server` on an ephemeral 127.0.0.1 port."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen(
            [BIN, "bench", "echo-server", "--port", "0", "--threads", "2", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), f"server did not start: {line!r}"
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.target = f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def server():
    s = EchoServer("--max-request-receive-ms", "500")
    yield s
    s.stop()


def unary(channel, method):
    return channel.unary_unary(method)  # no serializers: raw bytes in, raw bytes out


# ---------------------------------------------------------------- well-behaved calls (grpcio)

def test_unary_echo_round_trips_bytes(server):
    with grpc.insecure_channel(server.target) as ch:
        assert unary(ch, "/test.Echo/Echo")(b"hello", timeout=10) == b"hello"
        assert unary(ch, "/test.Echo/EchoAsync")(b"\x00\x01\xff", timeout=10) == b"\x00\x01\xff"
        assert unary(ch, "/test.Echo/Echo")(b"", timeout=10) == b""


def test_every_status_reaches_the_client_with_code_and_percent_encoded_message(server):
    message = "stage 100% — ümlaut 口座\r\nline2"
    with grpc.insecure_channel(server.target) as ch:
        fail = unary(ch, "/test.Echo/Fail")
        for code in grpc.StatusCode:
            if code == grpc.StatusCode.OK:
                continue
            with pytest.raises(grpc.RpcError) as err:
                fail(f"{code.value[0]}:{message}".encode(), timeout=10)
            assert err.value.code() == code
            assert err.value.details() == message


def test_handler_crash_is_internal_without_detail_and_connection_survives(server):
    with grpc.insecure_channel(server.target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            unary(ch, "/test.Echo/Crash")(b"x", timeout=10)
        assert err.value.code() == grpc.StatusCode.INTERNAL
        assert "secret" not in err.value.details()
        assert unary(ch, "/test.Echo/Echo")(b"still here", timeout=10) == b"still here"


def test_one_millisecond_deadline_is_deadline_exceeded(server):
    with grpc.insecure_channel(server.target) as ch:
        unary(ch, "/test.Echo/Echo")(b"warm", timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            unary(ch, "/test.Echo/Sleep")(b"2000", timeout=0.001)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_message_of_64_kib_is_accepted_and_one_byte_more_is_resource_exhausted(server):
    with grpc.insecure_channel(server.target) as ch:
        echo = unary(ch, "/test.Echo/Echo")
        assert echo(b"a" * MAX_MESSAGE, timeout=10) == b"a" * MAX_MESSAGE
        with pytest.raises(grpc.RpcError) as err:
            echo(b"a" * (MAX_MESSAGE + 1), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert echo(b"after", timeout=10) == b"after"


def test_unknown_method_and_service_are_unimplemented(server):
    with grpc.insecure_channel(server.target) as ch:
        for method in ("/test.Echo/Nope", "/no.Such/Service"):
            with pytest.raises(grpc.RpcError) as err:
                unary(ch, method)(b"x", timeout=10)
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_encoding_other_than_identity_is_unimplemented(server):
    with grpc.insecure_channel(server.target, compression=grpc.Compression.Gzip) as ch:
        with pytest.raises(grpc.RpcError) as err:
            unary(ch, "/test.Echo/Echo")(b"x" * 100, timeout=10)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_server_streaming_delivers_every_message_then_ok(server):
    with grpc.insecure_channel(server.target) as ch:
        stream = ch.unary_stream("/test.Echo/Stream")
        assert [m for m in stream(b"5", timeout=10)] == [b"0", b"1", b"2", b"3", b"4"]


def test_server_streaming_stops_when_the_client_cancels(server):
    with grpc.insecure_channel(server.target) as ch:
        call = ch.unary_stream("/test.Echo/Stream")(b"0", timeout=10)
        got = [next(call) for _ in range(3)]
        call.cancel()
        assert got == [b"0", b"1", b"2"]
        assert unary(ch, "/test.Echo/Echo")(b"ok", timeout=10) == b"ok"


# ---------------------------------------------------------------- raw HTTP/2 (h2 package, hand-built frames)

class RawH2:
    """A client connection speaking HTTP/2 through the `h2` state machine, plus raw frames when abusing it."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
                                      normalize_outbound_headers=False))
        self.conn.initiate_connection()
        self.flush()
        self.closed = False
        self.terminated = None

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, body=None, extra=(), content_type="application/grpc", end_stream=True):
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                   ("content-type", content_type), ("te", "trailers"), *extra]
        self.conn.send_headers(sid, headers, end_stream=body is None and end_stream)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end_stream)
        self.flush()
        return sid

    def events_until(self, done, timeout=10):
        """Reads until done(events) or the connection closes; returns every event seen."""
        seen = []
        deadline = time.monotonic() + timeout
        while not done(seen) and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no outcome within {timeout}s; events: {seen[-5:]}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.closed = True
                break
            try:
                events = self.conn.receive_data(data)
            except Exception:  # our h2 state may disagree once we abused the protocol
                events = []
            for e in events:
                if isinstance(e, h2.events.ConnectionTerminated):
                    self.terminated = e
            seen.extend(events)
            try:
                self.flush()
            except OSError:
                self.closed = True
        return seen

    def response(self, sid, timeout=10):
        """(headers dict, trailers dict or None, data bytes, reset code or None) of stream sid."""
        def finished(evs):
            return any(getattr(e, "stream_id", None) == sid and isinstance(e, (h2.events.StreamEnded,
                       h2.events.StreamReset)) for e in evs)
        evs = self.events_until(finished, timeout)
        headers, trailers, data, reset = {}, None, b"", None
        for e in evs:
            if getattr(e, "stream_id", None) != sid:
                continue
            if isinstance(e, h2.events.ResponseReceived):
                headers = dict(e.headers)
            elif isinstance(e, h2.events.TrailersReceived):
                trailers = dict(e.headers)
            elif isinstance(e, h2.events.DataReceived):
                data += e.data
                self.conn.acknowledge_received_data(e.flow_controlled_length, sid)
            elif isinstance(e, h2.events.StreamReset):
                reset = e.error_code
        return headers, trailers, data, reset

    def send_raw(self, data):
        self.sock.sendall(data)

    def wait_closed(self, timeout=15):
        """True when the server closed the connection (GOAWAY and/or EOF) within timeout."""
        try:
            self.events_until(lambda evs: self.terminated is not None, timeout)
        except TimeoutError:
            return False
        except OSError:
            return True
        return self.closed or self.terminated is not None

    def close(self):
        self.sock.close()


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def grpc_message(body, compressed=0):
    return bytes([compressed]) + struct.pack(">I", len(body)) + body


def status_of(headers, trailers):
    block = trailers if trailers is not None else headers  # Trailers-Only puts it in the headers
    return int(block.get("grpc-status", -1)), block.get("grpc-message", "")


def test_wrong_content_type_is_http_415(server):
    c = RawH2(server.port)
    sid = c.request("/test.Echo/Echo", grpc_message(b"x"), content_type="application/json")
    headers, trailers, _, _ = c.response(sid)
    assert headers[":status"] == "415"
    c.close()


def test_compressed_flag_without_grpc_encoding_is_internal(server):
    c = RawH2(server.port)
    sid = c.request("/test.Echo/Echo", grpc_message(b"x", compressed=1))
    headers, trailers, _, _ = c.response(sid)
    assert headers[":status"] == "200"
    assert status_of(headers, trailers)[0] == grpc.StatusCode.INTERNAL.value[0]
    c.close()


def test_message_split_across_many_data_frames_is_reassembled(server):
    c = RawH2(server.port)
    body = grpc_message(b"0123456789" * 100)
    sid = c.request("/test.Echo/Echo", body=None, end_stream=False)
    for i in range(0, len(body), 7):  # 7-byte DATA frames: the prefix itself is split
        c.conn.send_data(sid, body[i:i + 7], end_stream=i + 7 >= len(body))
    c.flush()
    headers, trailers, data, _ = c.response(sid)
    assert status_of(headers, trailers)[0] == 0
    assert data == body
    c.close()


def test_oversized_message_is_refused_without_waiting_for_its_body(server):
    c = RawH2(server.port)
    sid = c.request("/test.Echo/Echo", body=None, end_stream=False)
    c.conn.send_data(sid, b"\x00" + struct.pack(">I", 10 * 1024 * 1024) + b"abc", end_stream=False)  # body never sent
    c.flush()
    headers, trailers, _, _ = c.response(sid)
    assert status_of(headers, trailers)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    c.close()


def test_two_messages_on_a_unary_call_are_internal(server):
    c = RawH2(server.port)
    sid = c.request("/test.Echo/Echo", grpc_message(b"a") + grpc_message(b"b"))
    headers, trailers, _, _ = c.response(sid)
    assert status_of(headers, trailers)[0] == grpc.StatusCode.INTERNAL.value[0]
    c.close()


def test_missing_te_trailers_is_refused(server):
    c = RawH2(server.port)
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Echo"),
                              (":authority", "x"), ("content-type", "application/grpc")])
    c.conn.send_data(sid, grpc_message(b"x"), end_stream=True)
    c.flush()
    headers, trailers, _, _ = c.response(sid)
    assert status_of(headers, trailers)[0] == grpc.StatusCode.INTERNAL.value[0]
    c.close()


def test_server_enforces_grpc_timeout_itself(server):
    c = RawH2(server.port)
    started = time.monotonic()
    sid = c.request("/test.Echo/Sleep", grpc_message(b"5000"), extra=[("grpc-timeout", "100m")])
    headers, trailers, _, _ = c.response(sid, timeout=5)
    assert status_of(headers, trailers)[0] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert time.monotonic() - started < 3
    c.close()


class Bystander:
    """A well-behaved grpcio client calling Echo in a loop while an attack runs on another connection."""

    def __init__(self, target):
        self.channel = grpc.insecure_channel(target)
        self.ok = 0
        self.failures = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        unary(self.channel, "/test.Echo/Echo")(b"warm", timeout=10)
        self.thread.start()

    def run(self):
        echo = unary(self.channel, "/test.Echo/Echo")
        while not self.stop.is_set():
            try:
                assert echo(b"ping", timeout=5) == b"ping"
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - recorded and asserted on
                self.failures.append(e)
            time.sleep(0.005)

    def finish(self):
        before = self.ok
        deadline = time.monotonic() + 5
        while self.ok < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop.set()
        self.thread.join(10)
        self.channel.close()
        assert not self.failures, f"well-behaved client failed: {self.failures[:3]}"
        assert self.ok >= before + 3, "well-behaved client got no answers after the attack"


def test_rapid_reset_flood_is_cut_off_while_others_are_served(server):
    bystander = Bystander(server.target)
    c = RawH2(server.port)
    enc = c.conn.encoder
    block = enc.encode([(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Sleep"),
                        (":authority", "x"), ("content-type", "application/grpc"), ("te", "trailers")])
    burst = b"".join(frame(0x1, 0x4, sid, block) + frame(0x3, 0, sid, struct.pack(">I", 8))
                     for sid in range(1, 2 * 5000, 2))
    try:
        c.send_raw(burst)
    except OSError:
        pass
    assert c.wait_closed(), "server kept serving a Rapid Reset flood"
    assert c.terminated is not None and c.terminated.error_code == ENHANCE_YOUR_CALM, c.terminated
    c.close()
    bystander.finish()


def test_continuation_flood_is_cut_off_while_others_are_served(server):
    bystander = Bystander(server.target)
    c = RawH2(server.port)
    block = c.conn.encoder.encode([(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Echo")])
    data = frame(0x1, 0x0, 1, block)  # HEADERS without END_HEADERS
    data += b"".join(frame(0x9, 0x0, 1, b"") for _ in range(10000))  # empty CONTINUATIONs, never ending
    try:
        c.send_raw(data)
    except OSError:
        pass
    assert c.wait_closed(), "server kept reading a CONTINUATION flood"
    assert c.terminated is not None and c.terminated.error_code == ENHANCE_YOUR_CALM, c.terminated
    c.close()
    bystander.finish()


def test_ping_flood_is_cut_off_while_others_are_served(server):
    bystander = Bystander(server.target)
    c = RawH2(server.port)
    try:
        c.send_raw(b"".join(frame(0x6, 0, 0, struct.pack(">Q", i)) for i in range(10000)))
    except OSError:
        pass
    assert c.wait_closed(), "server kept answering a PING flood"
    assert c.terminated is not None and c.terminated.error_code == ENHANCE_YOUR_CALM, c.terminated
    c.close()
    bystander.finish()


def test_oversized_header_block_is_refused_while_others_are_served(server):
    bystander = Bystander(server.target)
    c = RawH2(server.port)
    sid = c.request("/test.Echo/Echo", grpc_message(b"x"), extra=[("x-big", "v" * (20 * 1024))])
    try:
        headers, trailers, _, reset = c.response(sid, timeout=10)
        served = headers.get(":status") == "200" and status_of(headers, trailers)[0] == 0
    except (TimeoutError, OSError):
        served = False
    assert not served, "a 20 KiB header block was served"
    assert c.closed or c.terminated is not None or reset is not None
    c.close()
    bystander.finish()


def test_slowloris_streams_are_answered_and_closed_while_others_are_served(server):
    bystander = Bystander(server.target)
    c = RawH2(server.port)
    sids = [c.request("/test.Echo/Echo", body=None, end_stream=False) for _ in range(50)]  # never send a message
    started = time.monotonic()
    ended = set()

    def all_ended(evs):
        for e in evs:
            if isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended.add(e.stream_id)
        return ended >= set(sids)

    c.events_until(all_ended, timeout=15)
    assert ended >= set(sids) or c.closed
    assert time.monotonic() - started < 10
    c.close()
    bystander.finish()


# ---------------------------------------------------------------- graceful shutdown

def test_sigterm_during_200_calls_completes_or_refuses_each_call_never_cuts_one():
    s = EchoServer("--grace-ms", "5000")
    try:
        channels = [grpc.insecure_channel(s.target) for _ in range(4)]
        for ch in channels:
            unary(ch, "/test.Echo/Echo")(b"warm", timeout=10)
        futures = []
        for i in range(200):
            sleep = unary(channels[i % 4], "/test.Echo/Sleep")
            futures.append(sleep.future(b"400", timeout=20))
        time.sleep(0.15)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        late = [unary(channels[0], "/test.Echo/Echo").future(b"late", timeout=10) for _ in range(10)]
        outcomes = {}
        for f in futures + late:
            try:
                f.result()
                code = grpc.StatusCode.OK
            except grpc.RpcError as e:
                code = e.code()
            outcomes[code] = outcomes.get(code, 0) + 1
        assert set(outcomes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, outcomes
        assert outcomes.get(grpc.StatusCode.OK, 0) > 0, outcomes
        out, _ = s.proc.communicate(timeout=15)
        assert s.proc.returncode == 0
        assert "drained" in out
        for ch in channels:
            ch.close()
    finally:
        s.stop()
