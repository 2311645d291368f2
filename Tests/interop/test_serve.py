"""`bankgw serve --demo` against stock clients: grpcio-health-checking's client and plain grpc.health.v1 stubs on
both ports, the metrics endpoint, and graceful shutdown on SIGTERM."""
import threading
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway import Gateway


@pytest.fixture(scope="module")
def gateway(bankgw_bin):
    gw = Gateway(bankgw_bin).start()
    yield gw
    gw.stop()


def check(channel, service):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)


@pytest.mark.parametrize("service", ["", "bankgw.v1.BankGateway"])
def test_health_check_serving_on_the_plaintext_probe_port(gateway, service):
    with gateway.probe_channel() as channel:
        assert check(channel, service).status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("service", ["", "bankgw.v1.BankGateway"])
def test_health_check_serving_on_the_tls_port_with_a_bank_certificate(gateway, service):
    with gateway.secure_channel("9900") as channel:
        assert check(channel, service).status == health_pb2.HealthCheckResponse.SERVING


def test_health_check_of_an_unknown_service_is_not_found(gateway):
    with gateway.probe_channel() as channel:
        with pytest.raises(grpc.RpcError) as failure:
            check(channel, "no.such.Service")
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND
        assert "no.such.Service" in failure.value.details()


def test_watch_of_an_unknown_service_says_service_unknown_and_stays_open(gateway):
    with gateway.probe_channel() as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="nope"), timeout=1.5)
        first = next(stream)
        assert first.status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        with pytest.raises(grpc.RpcError) as failure:
            next(stream)
        # The stream stayed open until the client's own deadline ended it.
        assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_probe_port_serves_only_health(gateway, pb):
    with gateway.probe_channel() as channel:
        call = channel.unary_unary("/bankgw.v1.BankGateway/Charge")
        with pytest.raises(grpc.RpcError) as failure:
            call(b"", timeout=5)
        assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_malformed_health_request_is_invalid_argument(gateway):
    with gateway.probe_channel() as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check")
        with pytest.raises(grpc.RpcError) as failure:
            call(b"\x0a\x05ab", timeout=5)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "service" in failure.value.details()


def test_grpcio_health_checking_client_sees_serving(gateway):
    # The stock client library's own stub and message classes, nothing of ours.
    from grpc_health.v1 import health
    assert health.SERVICE_NAME == "grpc.health.v1.Health"
    with gateway.secure_channel("0001") as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_metrics_endpoint_speaks_prometheus_text(gateway):
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.ports['metrics']}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(f"http://127.0.0.1:{gateway.ports['metrics']}/other", timeout=5)
    assert failure.value.code == 404


def test_sigterm_turns_watch_not_serving_and_exits_zero(bankgw_bin, tmp_path):
    gw = Gateway(bankgw_bin, state_dir=str(tmp_path), grace_seconds=2).start()
    seen = []
    with gw.probe_channel() as channel:
        stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=20)
        seen.append(next(stream).status)
        gw.terminate()
        try:
            for response in stream:
                seen.append(response.status)
        except grpc.RpcError:
            pass
    assert seen[0] == health_pb2.HealthCheckResponse.SERVING
    assert health_pb2.HealthCheckResponse.NOT_SERVING in seen[1:], seen
    assert gw.stop() == 0
