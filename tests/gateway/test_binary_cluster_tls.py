"""The gateway esdr deploys verifies its clusters' HTTPS certificates (docs/gateway-cluster-tls.md).

The real binary (tests/gateway/binary.py: the patched build of scripts/build-gateway) runs on
127.0.0.1 with the gateway.yml esdr renders for the test tier (tests/gateway/factory.py, HTTPS
endpoints) and the trust its rendered unit gives it: the unit's ``Environment=SSL_CERT_FILE=``,
pointed here at this test's estate CA. Its clusters are a stand-in serving HTTPS
(tests/gateway/fake_cluster.py):

- a certificate the estate CA did not sign (self-signed, or from another CA, both naming
  127.0.0.1): the gateway sends that cluster nothing (no health check, no write; the stand-in
  counts every request that reaches it) and a write through the entry is not acknowledged;
- a certificate the estate CA signed: the write is acknowledged and stored.

With the vendored, unpatched binary (``ESDR_GATEWAY_ARCHIVE=<vendor>/infini-gateway/dist/
gateway-1.0.0_SNAPSHOT-linux-amd64.tar.gz``) the refusal tests fail: it health-checks the
cluster behind any certificate and acknowledges the write (201).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shlex
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esdr.gateway.render import entry_tls_paths, gateway_unit, gateway_yml
from esdr.gateway.secrets import runtime_env_name
from tests.gateway.binary import Gateway, answer, loopback
from tests.gateway.factory import tier
from tests.gateway.fake_cluster import FakeCluster

INDEX = "esdr-cluster-tls"
ACKNOWLEDGED = (200, 201)
REFUSAL_WATCH = 12.0  # seconds: two of the rendered health checks (every 5 s) and writes
WRITE_LIMIT = 30.0  # seconds for a trusted cluster to take a write (its first health check)


# --- certificates ---------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
                 issuer_key: ec.EllipticCurvePrivateKey | None, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
    else:  # what a node's HTTP certificate names here: the address the gateway dials
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
        ]), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(directory: Path, stem: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey | None = None) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        key_path.chmod(0o600)
    return cert_path, key_path


def _issued(directory: Path, stem: str, ca_name: str) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key): a CA and a server certificate from it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_name, ca_key, None, None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(f"{stem}.cluster", key, ca.subject, ca_key, ca=False)
    ca_path, _ = _write(directory, f"{stem}-ca", ca)
    cert_path, key_path = _write(directory, stem, cert, key)
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | tuple[Path, Path]]:
    """The estate CA, and three cluster certificates: from it, from another CA, self-signed."""
    directory = tmp_path_factory.mktemp("cluster-tls-pki")
    estate_ca, good_cert, good_key = _issued(directory, "estate", "esdr test estate CA")
    _, other_cert, other_key = _issued(directory, "other", "some other CA")
    self_key = ec.generate_private_key(ec.SECP256R1())
    self_signed = _certificate("self-signed.cluster", self_key, None, None, ca=False)
    self_cert, self_key_path = _write(directory, "self-signed", self_signed, self_key)
    return {
        "estate-ca": estate_ca,
        "estate": (good_cert, good_key),
        "other-ca": (other_cert, other_key),
        "self-signed": (self_cert, self_key_path),
    }


# --- the gateway, as esdr renders it ----------------------------------------------------------


def _unit_environment(unit: str) -> dict[str, str]:
    """The ``Environment=`` assignments of a rendered unit."""
    out: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("Environment="):
            for word in shlex.split(line[len("Environment="):]):
                name, _, value = word.partition("=")
                out[name] = value
    return out


def _start(binary: Path, workdir: Path, cluster: FakeCluster, estate_ca: Path) -> Gateway:
    model = tier()
    host = model.host("gw1")
    doc, entry_port, api_port = loopback(yaml.safe_load(gateway_yml(model, host)), workdir,
                                         cluster.url)
    environment = _unit_environment(gateway_unit(model, host))
    # the unit points the gateway at the estate CA that the deploy puts beside gateway.yml
    assert environment.get("SSL_CERT_FILE") == entry_tls_paths(model).ca, environment
    env = {"SSL_CERT_FILE": str(estate_ca)}  # the same trust, with this test's estate CA
    env.update({runtime_env_name(c.name): "not-a-real-password" for c in model.clusters})
    gateway = Gateway(binary, workdir, doc, api_port, entry_port, env=env).start()
    assert gateway.came_up(), gateway.output()
    return gateway


def _write_once(gateway: Gateway, doc_id: str) -> tuple[int | None, str]:
    return answer(f"{gateway.entry}/{INDEX}/_doc/{doc_id}", method="PUT",
                  body=json.dumps({"via": "gateway"}).encode(), timeout=5.0)


@pytest.mark.parametrize("certificate", ["self-signed", "other-ca"])
def test_gateway_refuses_a_cluster_whose_certificate_the_estate_ca_did_not_sign(
        gateway_binary: Path, tmp_path: Path, pki: dict, certificate: str) -> None:
    cluster = FakeCluster("untrusted", tls=pki[certificate]).start()
    gateway = None
    try:
        gateway = _start(gateway_binary, tmp_path / "gw", cluster, pki["estate-ca"])
        answers = []
        deadline = time.monotonic() + REFUSAL_WATCH
        while time.monotonic() < deadline:
            answers.append(_write_once(gateway, f"doc-{len(answers)}"))
            time.sleep(1.0)
        output = gateway.output(200000)
        statuses = [status for status, _ in answers]
        assert not any(status in ACKNOWLEDGED for status in statuses), (answers, output[-3000:])
        assert cluster.ids(INDEX) == set(), "a write reached a cluster the gateway must not trust"
        assert cluster.seen == 0, (
            f"{cluster.seen} request(s) reached the untrusted cluster (health checks, writes): "
            "the gateway did not verify its certificate")
        # what the operator reads in the gateway's log and answers: Go's verification error
        assert "x509: certificate signed by unknown authority" in output + json.dumps(answers)
    finally:
        if gateway is not None:
            gateway.stop()
        cluster.stop()


def test_gateway_writes_to_a_cluster_certified_by_the_estate_ca(
        gateway_binary: Path, tmp_path: Path, pki: dict) -> None:
    cluster = FakeCluster("trusted", tls=pki["estate"]).start()
    gateway = None
    try:
        gateway = _start(gateway_binary, tmp_path / "gw", cluster, pki["estate-ca"])
        deadline = time.monotonic() + WRITE_LIMIT
        status, body = None, ""
        while time.monotonic() < deadline:
            status, body = _write_once(gateway, "doc-1")
            if status in ACKNOWLEDGED:
                break
            time.sleep(0.5)
        assert status in ACKNOWLEDGED, (status, body, gateway.output())
        assert "doc-1" in cluster.ids(INDEX)
        assert cluster.seen > 0
    finally:
        if gateway is not None:
            gateway.stop()
        cluster.stop()
