"""SPEC §1 CRLs against `bankgw serve --demo`: the demo reads `pki/crl.pem` at start and on every SIGHUP (so a CRL
added later applies), every certificate of a client's chain is checked (a revoked intermediate refuses what it
issued), and a failed reload is loud (logged at error, counted in bankgw_tls_reloads_total{result="failed"}) while
the previous CRL stays in force. Certificates and CRLs are made with `cryptography`, clients are grpcio."""
import datetime
import signal
import subprocess
import time
import urllib.request

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway import Gateway
from test_bank_service import now_ms


@pytest.fixture
def gw(bankgw_bin, tmp_path):
    gateway = Gateway(bankgw_bin, state_dir=str(tmp_path)).start()
    yield gateway
    gateway.stop()


def ca_key(gw):
    return serialization.load_pem_private_key(gw.pki("ca.key"), password=None)


def ca_cert(gw):
    return x509.load_pem_x509_certificate(gw.pki("ca.pem"))


def crl(issuer_cert, issuer_key, revoked_serials=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
               .last_update(now - datetime.timedelta(minutes=1)).next_update(now + datetime.timedelta(days=1)))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    return builder.sign(issuer_key, hashes.SHA256())


def issue(subject_cn, issuer_cert, issuer_key, ca=False, uri=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
               .issuer_name(issuer_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder.add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]),
                                         critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256()), key


def pem(*objects):
    return b"".join(o.public_bytes(serialization.Encoding.PEM) for o in objects)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def reload_count(gw, result):
    text = urllib.request.urlopen(f"http://127.0.0.1:{gw.ports['metrics']}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("bankgw_tls_reloads_total") and f'result="{result}"' in line:
            return int(float(line.split()[-1]))
    return 0


def write_crl_and_hangup(gw, data, result="ok"):
    before = reload_count(gw, result)
    with open(gw.state_dir + "/pki/crl.pem", "wb") as file:
        file.write(data)
    gw.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while reload_count(gw, result) <= before:
        assert time.monotonic() < deadline, f"no {result} reload counted: {gw.log_text()}"
        time.sleep(0.05)


def get_charge(gw, pb, cert_chain, key, bank="9900"):
    """The grpc status code of a GetCharge for an unknown id: NOT_FOUND when the handshake passed."""
    credentials = grpc.ssl_channel_credentials(root_certificates=gw.pki("ca.pem"), private_key=key,
                                               certificate_chain=cert_chain)
    with grpc.secure_channel(f"localhost:{gw.ports['tls']}", credentials) as channel:
        stub = pb.v1_grpc.BankGatewayStub(channel)
        header = pb.v1.RequestHeader(bank_code=bank, request_id=f"crl-{time.monotonic_ns()}", sent_at_unix_ms=now_ms())
        try:
            stub.GetCharge(pb.v1.GetChargeRequest(header=header, original_request_id="nope"), timeout=10)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def demo_bank(gw, code):
    return gw.pki(f"banks/{code}.pem"), gw.pki(f"banks/{code}.key")


def test_demo_picks_up_a_crl_added_after_start_on_sighup(gw, pb):
    assert get_charge(gw, pb, *demo_bank(gw, "9900")) == grpc.StatusCode.NOT_FOUND
    revoked = x509.load_pem_x509_certificate(gw.pki("banks/9900.pem")).serial_number
    write_crl_and_hangup(gw, pem(crl(ca_cert(gw), ca_key(gw), [revoked])))
    assert get_charge(gw, pb, *demo_bank(gw, "9900")) == grpc.StatusCode.UNAVAILABLE
    assert get_charge(gw, pb, *demo_bank(gw, "0001"), bank="0001") == grpc.StatusCode.NOT_FOUND


def self_signed_root(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def test_a_revoked_intermediate_refuses_the_certificates_it_issued(gw, pb):
    # The demo CA allows no intermediates (pathlen 0): a second partner root that does joins the trust file.
    demo, demo_key = ca_cert(gw), ca_key(gw)
    root, root_key = self_signed_root("BankGateway test partner root")
    with open(gw.state_dir + "/pki/ca.pem", "wb") as file:
        file.write(pem(demo, root))
    intermediate, intermediate_key = issue("BankGateway test intermediate", root, root_key, ca=True)
    leaf, leaf_key = issue("bank 9900 via intermediate", intermediate, intermediate_key,
                           uri="spiffe://bankgw.partners/bank/9900")
    chain = pem(leaf, intermediate)
    # Each CA of every chain has its CRL; nothing revoked yet: the chain is accepted.
    write_crl_and_hangup(gw, pem(crl(demo, demo_key), crl(root, root_key), crl(intermediate, intermediate_key)))
    assert get_charge(gw, pb, chain, key_pem(leaf_key)) == grpc.StatusCode.NOT_FOUND
    # The root revokes the intermediate: its leaf (not itself on any list) is refused.
    write_crl_and_hangup(gw, pem(crl(demo, demo_key), crl(root, root_key, [intermediate.serial_number]),
                                 crl(intermediate, intermediate_key)))
    assert get_charge(gw, pb, chain, key_pem(leaf_key)) == grpc.StatusCode.UNAVAILABLE
    assert get_charge(gw, pb, *demo_bank(gw, "9900")) == grpc.StatusCode.NOT_FOUND, "a direct leaf still passes"


def test_a_failed_reload_is_logged_counted_and_keeps_the_previous_crl(gw, pb):
    revoked = x509.load_pem_x509_certificate(gw.pki("banks/9900.pem")).serial_number
    write_crl_and_hangup(gw, pem(crl(ca_cert(gw), ca_key(gw), [revoked])))
    assert reload_count(gw, "failed") == 0
    write_crl_and_hangup(gw, b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n", result="failed")
    assert "error" in gw.log_text() and "TLS reload failed" in gw.log_text()
    assert get_charge(gw, pb, *demo_bank(gw, "9900")) == grpc.StatusCode.UNAVAILABLE, "the old CRL stays in force"
    assert get_charge(gw, pb, *demo_bank(gw, "0001"), bank="0001") == grpc.StatusCode.NOT_FOUND


def test_serve_refuses_to_start_with_an_unreadable_crl(bankgw_bin, tmp_path):
    subprocess.run([bankgw_bin, "pki", "init", str(tmp_path)], check=True, capture_output=True, timeout=60)
    (tmp_path / "pki" / "crl.pem").write_bytes(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    result = subprocess.run([bankgw_bin, "serve", "--demo", "--state-dir", str(tmp_path), "--tls-port", "0",
                             "--probe-port", "0", "--metrics-port", "0"], capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"crl.pem" in result.stderr, result.stderr[-2000:]
