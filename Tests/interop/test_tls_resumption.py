"""SPEC §1: a resumed TLS session passes the same checks as a full handshake. Python's ssl module (the system
OpenSSL as a client, not ours) keeps a session (TLS 1.3 ticket, TLS 1.2 ticket, TLS 1.2 session id), an operator
re-pins the bank through Admin SetBankProfile, and the saved session must no longer serve that bank's calls."""
import socket
import ssl
import struct
import time

import h2.config
import h2.connection
import h2.events
import pytest

from gateway import Gateway
from test_bank_limits import set_profile, spki_sha256
from test_bank_service import Operator, now_ms


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def client_context(gw, bank, version, tickets=True):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = version
    context.load_verify_locations(cadata=gw.pki("ca.pem").decode())
    pki = f"{gw.state_dir}/pki/banks/{bank}"
    context.load_cert_chain(f"{pki}.pem", f"{pki}.key")
    context.set_alpn_protocols(["h2"])
    if not tickets:
        context.options |= ssl.OP_NO_TICKET  # resume by session id only
    return context


def get_charge(gw, pb, context, bank, session=None):
    """One GetCharge over h2 on a fresh TLS connection offering `session`. Returns (grpc-status or None when the
    connection was refused or closed before any answer, the connection's session, whether it was resumed)."""
    raw = socket.create_connection(("127.0.0.1", gw.ports["tls"]), timeout=10)
    try:
        sock = context.wrap_socket(raw, server_hostname="localhost", session=session)
    except (ssl.SSLError, ConnectionError):
        raw.close()
        return None, None, False
    try:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        header = pb.v1.RequestHeader(bank_code=bank, request_id=f"resume-{time.monotonic_ns()}",
                                     sent_at_unix_ms=now_ms())
        request = pb.v1.GetChargeRequest(header=header, original_request_id="nope")
        body = request.SerializeToString()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "POST"), (":scheme", "https"),
                                (":path", "/bankgw.v1.BankGateway/GetCharge"), (":authority", "localhost"),
                                ("content-type", "application/grpc"), ("te", "trailers")])
        conn.send_data(sid, b"\x00" + struct.pack(">I", len(body)) + body, end_stream=True)
        sock.sendall(conn.data_to_send())
        status = None
        while status is None:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers = dict(event.headers)
                    if "grpc-status" in headers:
                        status = int(headers["grpc-status"])
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
        session, reused = sock.session, sock.session_reused
        try:
            sock.unwrap()  # close_notify: a cleanly closed session stays resumable on a server with a cache
        except (ssl.SSLError, OSError):
            pass
        return status, session, reused
    except (ssl.SSLError, ConnectionError, socket.timeout):
        return None, None, False
    finally:
        sock.close()


NOT_FOUND = 5
CASES = [
    pytest.param(ssl.TLSVersion.TLSv1_3, True, id="tls13-ticket"),
    pytest.param(ssl.TLSVersion.TLSv1_2, True, id="tls12-ticket"),
]


@pytest.mark.parametrize("version,tickets", CASES)
def test_a_saved_session_no_longer_serves_a_re_pinned_bank(gw, pb, version, tickets):
    op = Operator(gw, pb)
    context = client_context(gw, "0001", version, tickets)
    status, session, _ = get_charge(gw, pb, context, "0001")
    assert status == NOT_FOUND and session is not None
    # The control: before any change the saved session resumes (so the refusal below is the check, not a
    # session that never worked).
    status, session, reused = get_charge(gw, pb, context, "0001", session)
    assert (status, reused) == (NOT_FOUND, True)

    set_profile(op, pb, "0001", pinned_spki_sha256=spki_sha256(gw.pki("banks/9900.pem")))
    status, _, reused = get_charge(gw, pb, context, "0001", session)
    assert status is None, "the re-pinned bank's old session must not be served"
    # A fresh handshake with the old key is refused as well; another bank is unaffected.
    assert get_charge(gw, pb, context, "0001")[0] is None
    assert get_charge(gw, pb, client_context(gw, "9900", version), "9900")[0] == NOT_FOUND

    # Pinned back to its own key: full handshakes and resumption work again.
    set_profile(op, pb, "0001", pinned_spki_sha256=spki_sha256(gw.pki("banks/0001.pem")))
    status, session, _ = get_charge(gw, pb, context, "0001")
    assert status == NOT_FOUND
    assert get_charge(gw, pb, context, "0001", session)[::2] == (NOT_FOUND, True)


def test_a_tls12_session_id_is_never_resumed(gw, pb):
    """TLS 1.2 session ids: the gateway keeps no session cache (its hits would resume without a check), so a
    client without tickets always gets a full handshake, which checks the pin."""
    op = Operator(gw, pb)
    context = client_context(gw, "0001", ssl.TLSVersion.TLSv1_2, tickets=False)
    status, session, _ = get_charge(gw, pb, context, "0001")
    assert status == NOT_FOUND and session is not None
    status, _, reused = get_charge(gw, pb, context, "0001", session)
    assert (status, reused) == (NOT_FOUND, False)
    set_profile(op, pb, "0001", pinned_spki_sha256=spki_sha256(gw.pki("banks/9900.pem")))
    assert get_charge(gw, pb, context, "0001", session)[0] is None
