"""The TLS files of a Kafka process and of its clients, built from certificates the estate CA
issued. Pure: PEM bytes and passwords in, PKCS12 / PEM / properties bytes out; no file, no
network.

Issuing stays where esdr issues every certificate (``esdr.security.certs.issue_node_cert``, with
``renewal_reason``): the deploy (``esdr.tasks.kafka``) calls it with the names ``node_sans``
gives, and keeps the result in the controller's secrets directory. This module cannot call it
itself: ``esdr.security.certs`` sits above the Kafka core in the layers, and the secrets store
under it opens sockets (its lock records the host name), which the Kafka core may not import
(``pyproject.toml``, import-linter contracts).

What Kafka reads (https://kafka.apache.org/44/security/encryption-and-authentication-using-ssl/):

- ``<tls.dir>/<host>.p12``: the keystore, ``ssl.keystore.type=PKCS12``: the node's key, its
  certificate (SANs: the address it listens on and its host name: Kafka's clients verify the
  name they connected to, ``ssl.endpoint.identification.algorithm=https``) and the CA chain;
- ``<tls.dir>/truststore.p12``: the estate CA as a trusted certificate entry;
- ``<tls.dir>/passwords.properties``: both stores' passwords, read by Kafka's
  FileConfigProvider, so ``server.properties`` names them without holding them
  (https://kafka.apache.org/44/configuration/configuration-providers/).

Encryption: ``BestAvailableEncryption``, which cryptography writes as PBES2 (PBKDF2-HMAC-SHA256,
AES-256-CBC) with an HMAC-SHA256 MAC
(https://cryptography.io/en/latest/hazmat/primitives/asymmetric/serialization/#pkcs12).
Java's PKCS12 keystore reads PBES2/AES since JDK 8u301 / 11.0.12 and writes it by default from
JDK 17 on ("Upgrade the default PKCS12 encryption/MAC algorithms",
https://bugs.openjdk.org/browse/JDK-8153005); Kafka 4 needs Java 17 for brokers
(https://kafka.apache.org/44/operations/java-version/). tests/kafka_io/test_tls_on_a_broker.py
starts a real broker on these stores.

A trust store needs more than a certificate bag: Java's PKCS12 keystore makes a trusted entry
only of a certificate carrying Oracle's trusted-key-usage attribute, and an OpenSSL-style
certificate-only PKCS12 loads as an empty trust store ("the trustAnchors parameter must be
non-empty"). ``serialize_java_truststore`` writes that attribute
(https://cryptography.io/en/latest/hazmat/primitives/asymmetric/serialization/#cryptography.hazmat.primitives.serialization.pkcs12.serialize_java_truststore).

PKCS12 output is not reproducible (a random salt and IV each time): the deploy keeps the stores
it built and builds new ones only when ``store_is_current`` says the old one no longer holds
the wanted certificate or opens with the wanted password, so a rerun changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from esdr.kafka.model import KafkaCluster
from esdr.kafka.render import PASSWORDS_FILE, TRUSTSTORE_FILE, keystore_path, truststore_path
from esdr.security.sans import Sans, sans_of

KEYSTORE_PASSWORD = "keystore.password"  # the keys server.properties reads (render._tls_lines)
TRUSTSTORE_PASSWORD = "truststore.password"
CA_ALIAS = b"esdr-estate-ca"


def node_sans(cluster: KafkaCluster, host: str) -> Sans:
    """What a node's certificate names: the address in its listeners (what the others and the
    clients connect to) and its host name."""
    return sans_of([cluster.address(host), host])


def passwords_path(cluster: KafkaCluster) -> str:
    return f"{cluster.tls.dir}/{PASSWORDS_FILE}"


def passwords_properties(keystore_password: str, truststore_password: str) -> str:
    """``passwords.properties``: one ``key=value`` a line, as FileConfigProvider reads it (Java
    ``Properties``). The generated passwords are URL-safe base64, nothing Properties escapes."""
    for value in (keystore_password, truststore_password):
        if not value or not value.isascii() or any(c in value for c in "\\\n\r=:#! \t"):
            raise ValueError("a store password must be plain printable ASCII without "
                             "Properties' special characters")
    return (
        "# esdr: the Kafka stores' passwords, read through FileConfigProvider; mode 0600.\n"
        f"{KEYSTORE_PASSWORD}={keystore_password}\n"
        f"{TRUSTSTORE_PASSWORD}={truststore_password}\n"
    )


def _certs(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def _key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the node key is not an RSA key")
    return key


def keystore(host: str, cert_pem: bytes, key_pem: bytes, ca_pem: bytes, password: str) -> bytes:
    """The node's PKCS12 keystore: key + certificate (alias ``host``) and the CA chain."""
    cert = _certs(cert_pem)[0]
    key = _key(key_pem)
    if key.public_key() != cert.public_key():
        raise ValueError(f"the key of {host} does not match its certificate")
    return pkcs12.serialize_key_and_certificates(
        host.encode(), key, cert, _certs(ca_pem),
        serialization.BestAvailableEncryption(password.encode()),
    )


def truststore(ca_pem: bytes, password: str) -> bytes:
    """The PKCS12 trust store: every certificate of ``ca_pem`` (two during a CA rotation) as a
    trusted entry Java reads."""
    certs = _certs(ca_pem)
    entries = [pkcs12.PKCS12Certificate(cert, CA_ALIAS if len(certs) == 1
                                        else CA_ALIAS + b"-%d" % index)
               for index, cert in enumerate(certs)]
    return pkcs12.serialize_java_truststore(
        entries, serialization.BestAvailableEncryption(password.encode()))


@dataclass(frozen=True)
class StoreContent:
    key_pem: bytes | None
    certs_pem: tuple[bytes, ...]  # the key's certificate first, then the others


def open_store(data: bytes, password: str) -> StoreContent | None:
    """What a PKCS12 store holds, ``None`` when the password does not open it (or it is not
    PKCS12)."""
    try:
        loaded = pkcs12.load_pkcs12(data, password.encode())
    except ValueError:
        return None
    key_pem = None
    if loaded.key is not None:
        key_pem = loaded.key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
    certs = ([loaded.cert.certificate] if loaded.cert is not None else []) + [
        c.certificate for c in loaded.additional_certs]
    return StoreContent(key_pem, tuple(c.public_bytes(serialization.Encoding.PEM)
                                       for c in certs))


def _normal(pem: bytes) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(serialization.Encoding.PEM) for c in _certs(pem))


def store_is_current(data: bytes | None, password: str, *, cert_pem: bytes | None = None,
                     key_pem: bytes | None = None, ca_pem: bytes) -> bool:
    """Whether a kept store still holds what is wanted (the keystore: this key and certificate
    and the CA chain; the trust store: the CA certificates) and opens with ``password``."""
    if not data:
        return False
    content = open_store(data, password)
    if content is None:
        return False
    wanted_certs = (_normal(cert_pem) if cert_pem else ()) + _normal(ca_pem)
    if content.certs_pem != wanted_certs:
        return False
    if key_pem is None:
        return content.key_pem is None
    return content.key_pem is not None and _key(content.key_pem).private_numbers() == \
        _key(key_pem).private_numbers()


def cluster_id(seed: str) -> str:
    """A Kafka cluster id (``Uuid`` as Kafka prints it: 16 bytes, URL-safe base64 without
    padding) derived from ``seed`` (the estate and cluster names), so every host formats its
    storage with the same id without one being stored anywhere. Kafka refuses an id starting
    with '-' on its command line and reserves the all-zero and the metadata topic's ids
    (org.apache.kafka.common.Uuid); neither comes out of SHA-256 but a '-' may, so it rehashes."""
    digest = hashlib.sha256(seed.encode()).digest()
    while True:
        text = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
        if not text.startswith("-") and int.from_bytes(digest[:16], "big") > 1:
            return text
        digest = hashlib.sha256(digest).digest()


def directory_ids(cluster_name: str, cluster: KafkaCluster, seed: str) -> dict[str, str]:
    """A directory id per controller for the dynamic quorum's initial voter set (``StorageTool
    format --initial-controllers``, https://kafka.apache.org/44/operations/kraft/#provisioning-nodes):
    the same on every host, derived like ``cluster_id``."""
    return {host: cluster_id(f"{seed}/{cluster_name}/{host}/metadata-dir")
            for host in sorted(cluster.controllers)}


@dataclass(frozen=True)
class NodeStores:
    """What one host of a Kafka cluster gets, at the paths ``server.properties`` names."""

    keystore_path: str
    keystore: bytes
    truststore_path: str
    truststore: bytes
    passwords_path: str
    passwords: str  # passwords.properties text

    def __repr__(self) -> str:  # pyinfra prints operation arguments: never the passwords
        return f"NodeStores({self.keystore_path}, {self.truststore_path}, {self.passwords_path})"


def node_stores(cluster: KafkaCluster, host: str, keystore_bytes: bytes, truststore_bytes: bytes,
                keystore_password: str, truststore_password: str) -> NodeStores:
    return NodeStores(
        keystore_path(cluster, host), keystore_bytes, truststore_path(cluster), truststore_bytes,
        passwords_path(cluster), passwords_properties(keystore_password, truststore_password))


__all__ = [
    "CA_ALIAS", "KEYSTORE_PASSWORD", "TRUSTSTORE_FILE", "TRUSTSTORE_PASSWORD", "NodeStores",
    "StoreContent", "cluster_id", "directory_ids", "keystore", "node_sans", "node_stores",
    "open_store", "passwords_path", "passwords_properties", "store_is_current", "truststore",
]
