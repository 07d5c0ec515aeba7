"""The Kafka TLS stores: PKCS12 from certificates of the estate CA, read back with cryptography
(key, SANs, chain, PBES2/AES encryption, Java's trusted-certificate attribute), kept while
current, and the controller-side material of the deploy (issued once, the same bytes on a
rerun)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from esdr.kafka import tls
from esdr.security import certs, store
from tests.kafka.factory import estate
from tests.unit.topo_factory import build, shape_a

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
CLUSTER = estate().kafka_clusters["kafka-dc1"]


def _der_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER as DER (tag, length, base-128 arcs), to find it in a store."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(chunk)
    return bytes([0x06, len(body)]) + bytes(body)


PBES2 = _der_oid("1.2.840.113549.1.5.13")  # RFC 8018
AES_256_CBC = _der_oid("2.16.840.1.101.3.4.1.42")
HMAC_SHA256 = _der_oid("1.2.840.113549.2.9")  # PBKDF2's PRF


@pytest.fixture(scope="module")
def ca() -> certs.Ca:
    cert, key = certs.create_ca("esdr test estate CA", 3650, NOW)
    return certs.load_ca(cert, key, "test")


def _node(ca: certs.Ca, host: str) -> tuple[bytes, bytes]:
    return certs.issue_node_cert(ca, host, tls.node_sans(CLUSTER, host), 825, NOW)


def test_node_sans_are_the_listener_address_and_the_host_name() -> None:
    assert str(tls.node_sans(CLUSTER, "kc-az1")) == "kc-az1, 10.0.1.11"
    assert str(tls.node_sans(CLUSTER, "kb-az2")) == "kb-az2, kb-az2.dc1.example.internal"


def test_keystore_round_trip_key_sans_chain_and_encryption(ca: certs.Ca) -> None:
    cert_pem, key_pem = _node(ca, "kc-az1")
    data = tls.keystore("kc-az1", cert_pem, key_pem, ca.pem, "s3cret-pw")

    loaded = pkcs12.load_pkcs12(data, b"s3cret-pw")
    assert loaded.cert is not None and loaded.key is not None
    assert loaded.cert.friendly_name == b"kc-az1"
    assert loaded.key.public_key() == loaded.cert.certificate.public_key()
    sans = loaded.cert.certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["kc-az1"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.1.11"]
    assert [c.certificate for c in loaded.additional_certs] == [ca.cert]  # the chain
    loaded.cert.certificate.verify_directly_issued_by(ca.cert)
    # PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, what Java 17's PKCS12 keystore reads
    for oid in (PBES2, AES_256_CBC, HMAC_SHA256):
        assert oid in data
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(data, b"wrong")
    assert tls.open_store(data, "wrong") is None


def test_truststore_holds_the_ca_as_a_java_trusted_entry(ca: certs.Ca) -> None:
    data = tls.truststore(ca.pem, "trust-pw")
    loaded = pkcs12.load_pkcs12(data, b"trust-pw")
    assert loaded.key is None and loaded.cert is None
    assert [c.certificate for c in loaded.additional_certs] == [ca.cert]
    assert PBES2 in data and AES_256_CBC in data


def _keytool_list(tmp_path: Path, data: bytes, password: str) -> str:
    import shutil
    import subprocess

    if shutil.which("keytool") is None:
        pytest.skip("no keytool (a JDK) here to read the stores as Java does")
    path = tmp_path / "store.p12"
    path.write_bytes(data)
    done = subprocess.run(
        ["keytool", "-list", "-storetype", "PKCS12", "-keystore", str(path),
         "-storepass:env", "STOREPASS"],
        env={"STOREPASS": password, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_java_reads_the_stores_keystore_with_a_key_truststore_with_a_trusted_ca(
        ca: certs.Ca, tmp_path: Path) -> None:
    """Java's own reading (keytool of the JDK Kafka runs on): the trust store's certificate
    must be a trustedCertEntry (Oracle's trusted-key-usage attribute inside the encrypted bag),
    else Java sees an empty trust store."""
    trust = _keytool_list(tmp_path, tls.truststore(ca.pem, "trust-pw"), "trust-pw")
    assert "esdr-estate-ca, " in trust and "trustedCertEntry" in trust
    assert "contains 1 entry" in trust
    cert_pem, key_pem = _node(ca, "kc-az2")
    keys = _keytool_list(tmp_path, tls.keystore("kc-az2", cert_pem, key_pem, ca.pem, "ks-pw"),
                         "ks-pw")
    assert "kc-az2, " in keys and "PrivateKeyEntry" in keys


def test_a_kept_store_is_current_until_its_content_or_password_changes(ca: certs.Ca) -> None:
    cert_pem, key_pem = _node(ca, "kb-az1")
    data = tls.keystore("kb-az1", cert_pem, key_pem, ca.pem, "pw-1")
    assert data != tls.keystore("kb-az1", cert_pem, key_pem, ca.pem, "pw-1")  # random salt
    assert tls.store_is_current(data, "pw-1", cert_pem=cert_pem, key_pem=key_pem, ca_pem=ca.pem)
    assert not tls.store_is_current(data, "pw-2", cert_pem=cert_pem, key_pem=key_pem,
                                    ca_pem=ca.pem)
    new_cert, new_key = _node(ca, "kb-az1")
    assert not tls.store_is_current(data, "pw-1", cert_pem=new_cert, key_pem=new_key,
                                    ca_pem=ca.pem)
    assert not tls.store_is_current(None, "pw-1", ca_pem=ca.pem)
    trust = tls.truststore(ca.pem, "pw-1")
    assert tls.store_is_current(trust, "pw-1", ca_pem=ca.pem)
    other, _ = certs.create_ca("another CA", 10, NOW)
    assert not tls.store_is_current(trust, "pw-1", ca_pem=other)


def test_a_key_that_is_not_the_certificates_is_refused(ca: certs.Ca) -> None:
    cert_pem, _ = _node(ca, "kb-az1")
    _, other_key = _node(ca, "kb-az2")
    with pytest.raises(ValueError, match="does not match"):
        tls.keystore("kb-az1", cert_pem, other_key, ca.pem, "pw")


def test_passwords_properties_names_what_server_properties_reads() -> None:
    text = tls.passwords_properties("abc_DEF-1", "xyz")
    assert "keystore.password=abc_DEF-1\n" in text and "truststore.password=xyz\n" in text
    with pytest.raises(ValueError):
        tls.passwords_properties("a=b", "x")
    assert tls.passwords_path(CLUSTER) == "/etc/kafka/tls/passwords.properties"


def test_cluster_and_directory_ids_are_stable_kafka_uuids() -> None:
    first = tls.cluster_id("lab/kafka-dc1")
    assert first == tls.cluster_id("lab/kafka-dc1") != tls.cluster_id("prod/kafka-dc1")
    assert len(first) == 22 and not first.startswith("-")
    ids = tls.directory_ids("kafka-dc1", CLUSTER, "lab")
    assert sorted(ids) == ["kc-az1", "kc-az2", "kc-tb"] and len(set(ids.values())) == 3


# --- the deploy's controller side: issued once, kept, the same bytes on a rerun ------------------


def _topology(tmp_path: Path):
    hosts, base = shape_a()
    return build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})


def test_material_is_issued_once_and_the_same_on_a_rerun(tmp_path: Path) -> None:
    from esdr.tasks.kafka import kafka_material

    cluster = CLUSTER.model_copy(
        update={"tls": CLUSTER.tls.model_copy(update={"clients": ["orders-producer"]})})
    topology = _topology(tmp_path)
    staged = store.Staged()
    first = kafka_material(topology, "kafka-dc1", cluster, "kb-az1", staged=staged, now=NOW)
    assert "certificate of kb-az1: missing" in first.issued
    assert "keystore of kb-az1" in first.issued and "trust store" in first.issued
    assert "orders-producer" in first.clients
    passwords = [line.split("=", 1)[1] for line in first.stores.passwords.splitlines()
                 if "=" in line]
    assert len(passwords) == 2 and not any(p in repr(first) for p in passwords)
    store.write_staged(staged)
    secrets = tmp_path / "secrets" / "kafka" / "kafka-dc1"
    assert sorted(p.name for p in secrets.iterdir()) == [
        "clients", "kb-az1.crt", "kb-az1.key", "kb-az1.p12", "keystore-password",
        "truststore-password", "truststore.p12"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in secrets.iterdir() if p.is_file())

    again = kafka_material(topology, "kafka-dc1", cluster, "kb-az1", staged=store.Staged(),
                           now=NOW)
    assert again.issued == ()
    assert again.stores.keystore == first.stores.keystore
    assert again.stores.truststore == first.stores.truststore
    assert again.stores.passwords == first.stores.passwords
    content = tls.open_store(again.stores.keystore,
                             first.stores.passwords.split("keystore.password=")[1].split()[0])
    assert content is not None and content.key_pem is not None

    client_cert = x509.load_pem_x509_certificate(first.clients["orders-producer"][0])
    assert client_cert.subject.rfc4514_string() == "CN=orders-producer"
    # esdr's own identity for converging topics, issued without being named in tls.clients
    assert sorted(first.clients) == ["esdr-admin", "orders-producer"]
    admin_cert = x509.load_pem_x509_certificate(first.clients["esdr-admin"][0])
    assert admin_cert.subject.rfc4514_string() == "CN=esdr-admin"
    usages = admin_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usages
    assert (secrets / "clients" / "esdr-admin.key").stat().st_mode & 0o077 == 0
