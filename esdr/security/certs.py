"""Certificates: one CA per estate, one certificate per node, reused while valid.

The decisions are pure (``wanted_sans``, ``renewal_reason`` in ``esdr.security.sans``); issuing
uses ``cryptography`` on the controller and keeps everything in the secrets directory
(``esdr.security.store``). A node certificate is reissued when it is missing, when its SANs
differ from what the model wants, when it was signed by another CA, or when it expires within
``es_cert_renew_days``. A reissued certificate changes a file on the node, which the deploy
treats like any config change: a health-gated rolling restart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esdr.errors import BadInput, EsdrError
from esdr.model import Node, Topology
from esdr.paths import confined
from esdr.security import store
from esdr.security.sans import (
    CertInfo,
    Sans,
    renewal_reason,
    san_problems,
    sans_of,
    wanted_sans,
)

CA_KEY_BITS = 3072
NODE_KEY_BITS = 2048


# --- reading and issuing (cryptography) --------------------------------------------------------


def cert_info(pem: bytes) -> CertInfo:
    cert = x509.load_pem_x509_certificate(pem)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*ext.get_values_for_type(x509.DNSName)] + [
            str(ip) for ip in ext.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        names = []
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        issuer = aki.key_identifier
    except x509.ExtensionNotFound:
        issuer = None
    return CertInfo(
        sans_of(names), cert.not_valid_after_utc, issuer, cert.serial_number,
        cert.subject.rfc4514_string(),
    )


def subject_name(common_name: str, dn_suffix: str = "") -> x509.Name:
    """``CN=<name>`` plus ``dn_suffix`` (e.g. ``OU=nodes,O=esdr``), in RFC 4514 reading order."""
    if not dn_suffix:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return x509.Name.from_rfc4514_string(f"CN={common_name},{dn_suffix}")


def node_subject(topology_engine: str, common_name: str) -> str:
    """The DN a node certificate carries: OpenSearch's security plugin tells nodes by it."""
    from esdr.security.config import NODE_DN_SUFFIX

    suffix = NODE_DN_SUFFIX if topology_engine == "opensearch" else ""
    return subject_name(common_name, suffix).rfc4514_string()


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    pem: bytes

    @property
    def key_id(self) -> bytes:
        return x509.SubjectKeyIdentifier.from_public_key(self.cert.public_key()).digest

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    # Unencrypted PKCS#8: Elasticsearch reads it without a keystore passphrase; its protection
    # is the file mode (0600 here, 0640 root:elasticsearch on the node).
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(common_name: str, days: int, now: dt.datetime | None = None) -> tuple[bytes, bytes]:
    """A self-signed CA: (cert PEM, key PEM)."""
    now = now or _now()
    key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def load_ca(cert_pem: bytes, key_pem: bytes, where: str) -> Ca:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise EsdrError(f"{where}: not a PEM CA certificate and unencrypted key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != cert.public_key():
        raise EsdrError(f"{where}: the CA key is not an RSA key matching the CA certificate")
    return Ca(cert, key, cert_pem)


def issue_node_cert(
    ca: Ca, common_name: str, sans: Sans, days: int, now: dt.datetime | None = None,
    *, dn_suffix: str = "",
) -> tuple[bytes, bytes]:
    """A node certificate for TLS server and client use (transport needs both): (cert, key).

    ``sans`` empty gives a client-only identity (the OpenSearch admin certificate)."""
    now = now or _now()
    key = rsa.generate_private_key(public_exponent=65537, key_size=NODE_KEY_BITS)
    general = [x509.DNSName(d) for d in sorted(sans.dns)] + [
        x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(sans.ips)
    ]
    not_after = min(now + dt.timedelta(days=days), ca.not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name(common_name, dn_suffix))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    cert = (
        builder
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


# --- the estate's store: CA and node certificates on the controller ----------------------------


@dataclass(frozen=True)
class NodeCert:
    node: str
    cert_pem: bytes
    key_pem: bytes
    info: CertInfo
    issued: str | None  # why it was (re)issued in this call; None when reused


@dataclass(frozen=True)
class Certificates:
    directory: Path
    ca_pem: bytes  # what nodes trust: the signing CA, during a rotation old + new
    ca_not_after: dt.datetime  # the signing CA's
    nodes: dict[str, NodeCert]


def _node_paths(directory: Path, cluster_name: str, node: str) -> tuple[Path, Path]:
    """nodes/<cluster>/<node>.crt and .key, refused when a name would lead out of nodes/."""
    what = f"certificate of node {node!r} (cluster {cluster_name!r})"
    nodes = directory / "nodes"
    cert = confined(nodes, cluster_name, f"{node}.crt", what=what, follow_links=False)
    key = confined(nodes, cluster_name, f"{node}.key", what=what, follow_links=False)
    return cert, key


def load_estate_ca(
    topology: Topology,
    *,
    create: bool,
    now: dt.datetime | None = None,
    staged: store.Staged | None = None,
) -> Ca | None:
    """The CA from ``es_ca`` (bring your own) or the store; created there when ``create``
    (or, with ``staged``, kept there for ``store.write_staged``)."""
    cluster = topology.cluster
    byo = cluster.settings.get("es_ca")
    if byo:
        where = f"es_ca of cluster {cluster.name}"
        try:
            return load_ca(Path(byo["cert"]).read_bytes(), Path(byo["key"]).read_bytes(), where)
        except OSError as exc:
            raise EsdrError(f"{where}: {exc.filename}: {exc.strerror}") from None
    directory = store.secrets_dir(cluster)
    cert_path, key_path = signing_ca_paths(directory)
    cert_pem = store.read_staged(cert_path, staged)
    key_pem = store.read_staged(key_path, staged)
    if cert_pem and key_pem:
        return load_ca(cert_pem, key_pem, str(directory))
    if not create or cert_path.name != "ca.crt":
        if cert_path.name != "ca.crt":
            raise EsdrError(f"{directory}: the CA rotation's new CA ({cert_path.name}) is missing",
                            hint="restore it from a backup: nodes already trust it")
        return None
    cert_pem, key_pem = create_ca(
        f"esdr estate CA {store.estate_name(cluster)}", int(cluster["es_ca_days"]), now
    )
    store.write_or_stage(directory / "ca.key", key_pem, staged, root=directory)
    store.write_or_stage(directory / "ca.crt", cert_pem, staged, root=directory)
    return load_ca(cert_pem, key_pem, str(directory))


def ca_pem_path(topology: Topology) -> Path:
    """Where clients on the controller find the CA certificate to verify nodes: while a CA
    rotation runs, a bundle of the old and the new CA (nodes move from one to the other)."""
    byo = topology.cluster.settings.get("es_ca")
    if byo:
        return Path(byo["cert"])
    directory = store.secrets_dir(topology.cluster)
    bundle = directory / CA_BUNDLE
    if store.read_rotation(directory) is not None and bundle.is_file():
        return bundle
    return directory / "ca.crt"


# --- the CA's own expiry and its rotation (esdr certs rotate-ca) ----------------------------------

# Phases of a CA rotation, each carried out by one deploy of every cluster of the estate (a
# rolling restart): nodes trust old + new; node certificates are signed by the new CA; nodes
# trust the new CA only. No moment exists in which two nodes cannot verify each other.
PHASES = ("trust", "reissue", "drop")
NEXT_CA = ("ca-next.crt", "ca-next.key")
CA_BUNDLE = "ca-bundle.crt"


def rotation_phase(directory: Path) -> str | None:
    state = store.read_rotation(directory)
    if state is None:
        return None
    if state["phase"] not in PHASES:
        raise EsdrError(f"{directory / store.ROTATION_STATE}: unknown phase {state['phase']!r} "
                        f"(phases: {', '.join(PHASES)})")
    return str(state["phase"])


def signing_ca_paths(directory: Path) -> tuple[Path, Path]:
    """The CA that signs node certificates: the new one from the rotation's reissue phase on."""
    if rotation_phase(directory) in ("reissue", "drop"):
        return directory / NEXT_CA[0], directory / NEXT_CA[1]
    return directory / "ca.crt", directory / "ca.key"


def trusted_ca_pem(topology: Topology, signing: Ca) -> bytes:
    """What nodes trust (their ``ca.crt``): the signing CA, plus during a rotation's trust and
    reissue phases the other one. One PEM file holding several certificates is a valid
    ``certificate_authorities`` / ``pemtrustedcas_filepath`` for both engines."""
    if topology.cluster.settings.get("es_ca"):
        return signing.pem
    directory = store.secrets_dir(topology.cluster)
    phase = rotation_phase(directory)
    if phase == "trust":
        extra = store.read_private(directory / NEXT_CA[0])
    elif phase == "reissue":
        extra = store.read_private(directory / "ca.crt")
    else:
        extra = None
    if phase in ("trust", "reissue") and not extra:
        raise EsdrError(f"{directory}: the CA rotation ({phase}) lacks a CA certificate",
                        hint="restore ca.crt and ca-next.crt from a backup")
    return signing.pem + extra if extra else signing.pem


def _where(topology: Topology) -> tuple[str, str]:
    """(which CA, how to fix it once expired) for messages."""
    cluster = topology.cluster
    if cluster.settings.get("es_ca"):
        return (f"the CA of es_ca ({cluster.settings['es_ca']['cert']}) of cluster {cluster.name}",
                "replace es_ca with a valid CA; every node certificate is then reissued")
    directory = store.secrets_dir(cluster)
    return (f"the estate CA in {directory}",
            "TLS between nodes no longer verifies: move ca.crt and ca.key aside so the next "
            "deploy creates a new CA and reissues every certificate; next time rotate it before "
            "it expires with esdr certs rotate-ca INVENTORY")


def refuse_expired(topology: Topology, ca: Ca, now: dt.datetime) -> None:
    """An expired CA signs nothing: one message (BadInput when it is the user's es_ca)."""
    if ca.not_after > now:
        return
    what, fix = _where(topology)
    error = BadInput if topology.cluster.settings.get("es_ca") else EsdrError
    raise error(f"{what} expired on {ca.not_after:%Y-%m-%d %H:%M} UTC", hint=fix)


@dataclass(frozen=True)
class CaStatus:
    subject: str
    not_after: dt.datetime
    days_left: float
    action: str  # "ok", "rotate soon: ...", "EXPIRED ..."
    rotation: str | None  # the rotation's phase, when one is under way


def ca_status(topology: Topology, now: dt.datetime | None = None) -> CaStatus | None:
    """Read-only: the signing CA's own expiry, warned inside ``es_cert_renew_days``."""
    cluster = topology.cluster
    now = now or _now()
    ca = load_estate_ca(topology, create=False)
    if ca is None:
        return None
    byo = bool(cluster.settings.get("es_ca"))
    rotation = None if byo else rotation_phase(store.secrets_dir(cluster))
    left = (ca.not_after - now).total_seconds() / 86400
    window = int(cluster["es_cert_renew_days"])
    fix = "replace es_ca" if byo else "esdr certs rotate-ca INVENTORY"
    if left <= 0:
        action = f"EXPIRED on {ca.not_after:%Y-%m-%d}: {_where(topology)[1]}"
    elif left <= window and rotation is None:
        action = (f"rotate soon: {left:.0f} days left, inside the renewal window ({window} days); "
                  f"node certificates cannot outlive it: {fix}")
    else:
        action = "ok"
    return CaStatus(ca.cert.subject.rfc4514_string(), ca.not_after, left, action, rotation)


def _kept(info: CertInfo | None, ca: Ca | None) -> str:
    if info is not None and ca is not None and info.not_after >= ca.not_after:
        return "ok (ends with the CA: rotate the CA to go further)"
    return "ok"


def refuse_bad_sans(topology: Topology) -> None:
    """Every node's SANs checked before anything is issued or written: a name cryptography
    refuses (a non-ASCII one) would otherwise stop the run after the CA and some certificates."""
    problems = [f"{node.name}: {problem}" for node in topology.cluster.nodes
                for problem in san_problems(node)]
    if problems:
        raise BadInput(
            f"cluster {topology.cluster.name}: no certificate can name " + "; ".join(problems),
            hint="fix es_cert_sans (or the node's name or address) in the inventory; nothing "
            "was issued or written (esdr validate shows the same)",
        )


def ensure_certificates(
    topology: Topology,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    only: Iterable[str] | None = None,
    staged: store.Staged | None = None,
) -> Certificates:
    """Every node's certificate, issuing what ``renewal_reason`` asks for (or all, ``force``).

    ``only`` limits forced reissue to these node names. Idempotent: a second call with the same
    model returns the same bytes. With ``staged``, nothing is written: what would be is kept
    there (the deploy writes it when it executes, so ``--dry`` leaves the directory alone).
    Without it, everything is issued first and written at the end, under the secrets
    directory's lock: a second run waits, then signs with the CA the first one created.
    """
    refuse_bad_sans(topology)
    if staged is None:
        with store.locked(store.secrets_dir(topology.cluster), "issuing certificates"):
            local = store.Staged()
            result = ensure_certificates(topology, now=now, force=force, only=only, staged=local)
            store.write_staged(local)
        return result
    cluster = topology.cluster
    now = now or _now()
    ca = load_estate_ca(topology, create=True, now=now, staged=staged)
    assert ca is not None
    refuse_expired(topology, ca, now)
    directory = store.secrets_dir(cluster)
    forced = set(only) if only is not None else None
    out: dict[str, NodeCert] = {}
    for node in cluster.nodes:
        cert_path, key_path = _node_paths(directory, str(cluster.name), node.name)
        cert_pem = store.read_staged(cert_path, staged)
        key_pem = store.read_staged(key_path, staged)
        info = cert_info(cert_pem) if cert_pem and key_pem else None
        wanted = wanted_sans(node)
        reason = renewal_reason(wanted, info, ca.key_id, now, int(cluster["es_cert_renew_days"]),
                                ca_not_after=ca.not_after)
        subject = node_subject(cluster.engine.name, node.name)
        if not reason and info is not None and info.subject != subject:
            reason = f"subject changed ({info.subject} -> {subject})"
        if force and (forced is None or node.name in forced):
            reason = reason or "renewal requested"
        if reason:
            cert_pem, key_pem = issue_node_cert(
                ca, node.name, wanted, int(cluster["es_cert_days"]), now,
                dn_suffix=subject.split(",", 1)[1] if "," in subject else "",
            )
            store.write_or_stage(key_path, key_pem, staged, root=directory)
            store.write_or_stage(cert_path, cert_pem, staged, root=directory)
            info = cert_info(cert_pem)
        assert cert_pem and key_pem and info
        out[node.name] = NodeCert(node.name, cert_pem, key_pem, info, reason)
    return Certificates(directory, trusted_ca_pem(topology, ca), ca.not_after, out)


def ensure_admin_certificate(
    topology: Topology, *, now: dt.datetime | None = None, staged: store.Staged | None = None
) -> tuple[bytes, bytes, str | None]:
    """OpenSearch's admin identity (``config.ADMIN_DN``): (cert, key, why issued or None).

    Only the deploy uses it, to load the security plugin's configuration with securityadmin;
    one per estate, beside the CA, reissued on the same rules as node certificates."""
    from esdr.security.config import ADMIN_DN

    if staged is None:
        with store.locked(store.secrets_dir(topology.cluster), "issuing the admin certificate"):
            local = store.Staged()
            result = ensure_admin_certificate(topology, now=now, staged=local)
            store.write_staged(local)
        return result
    cluster = topology.cluster
    now = now or _now()
    ca = load_estate_ca(topology, create=True, now=now, staged=staged)
    assert ca is not None
    refuse_expired(topology, ca, now)
    directory = store.secrets_dir(cluster)
    cert_path, key_path = directory / "admin.crt", directory / "admin.key"
    cert_pem = store.read_staged(cert_path, staged)
    key_pem = store.read_staged(key_path, staged)
    info = cert_info(cert_pem) if cert_pem and key_pem else None
    reason = renewal_reason(sans_of([]), info, ca.key_id, now, int(cluster["es_cert_renew_days"]),
                            ca_not_after=ca.not_after)
    if not reason and info is not None and info.subject != ADMIN_DN:
        reason = "subject changed"
    if reason:
        common_name, suffix = ADMIN_DN.split(",", 1)
        cert_pem, key_pem = issue_node_cert(
            ca, common_name.removeprefix("CN="), sans_of([]), int(cluster["es_cert_days"]), now,
            dn_suffix=suffix,
        )
        store.write_or_stage(key_path, key_pem, staged, root=directory)
        store.write_or_stage(cert_path, cert_pem, staged, root=directory)
    assert cert_pem and key_pem
    return cert_pem, key_pem, reason


@dataclass(frozen=True)
class StatusRow:
    node: str
    not_after: dt.datetime | None
    days_left: float | None
    sans: str
    action: str  # "ok" or why the next deploy / renew reissues it


def certificate_status(topology: Topology, now: dt.datetime | None = None) -> list[StatusRow]:
    """Read-only: each node's certificate expiry and what the next deploy would do."""
    cluster = topology.cluster
    now = now or _now()
    ca = load_estate_ca(topology, create=False)
    directory = store.secrets_dir(cluster)
    rows = []
    for node in cluster.nodes:
        cert_path, _ = _node_paths(directory, str(cluster.name), node.name)
        pem = store.read_private(cert_path)
        info = cert_info(pem) if pem else None
        reason = renewal_reason(
            wanted_sans(node), info, ca.key_id if ca else None, now,
            int(cluster["es_cert_renew_days"]), ca_not_after=ca.not_after if ca else None,
        )
        rows.append(
            StatusRow(
                node.name,
                info.not_after if info else None,
                info.days_left(now) if info else None,
                str(info.sans) if info else "-",
                f"reissue: {reason}" if reason else _kept(info, ca),
            )
        )
    return rows


# --- the gateway tier's TLS certificates (the gateway entries, the Nginx front door) -----------


def ensure_gateway_certificate(
    topology: Topology,
    host: str,
    names: Iterable[str],
    *,
    role: str = "entry",
    now: dt.datetime | None = None,
    staged: store.Staged | None = None,
) -> tuple[bytes, bytes, bytes, str | None]:
    """A TLS server certificate for gateway-tier host ``host`` naming ``names`` (its address,
    the floating IP, ...: ``esdr.gateway.model.entry_sans``), from the estate CA of
    ``topology``: (cert, key, the CA PEM clients trust, why issued or None). Kept in
    ``gateways/<host>.crt`` and ``.key`` of the secrets directory, reissued on the node
    certificates' rules (``renewal_reason``). ``role``: "entry" (kept as ``gateways/<host>``) or
    another, e.g. "nginx" (``gateways/<host>-nginx``), for a host carrying both."""
    if staged is None:
        with store.locked(store.secrets_dir(topology.cluster), "issuing a gateway certificate"):
            local = store.Staged()
            result = ensure_gateway_certificate(topology, host, names, role=role, now=now,
                                                staged=local)
            store.write_staged(local)
        return result
    cluster = topology.cluster
    now = now or _now()
    wanted = sans_of(names)
    ca = load_estate_ca(topology, create=True, now=now, staged=staged)
    assert ca is not None
    refuse_expired(topology, ca, now)
    directory = store.secrets_dir(cluster)
    what = f"{role} certificate of gateway host {host!r}"
    stem = host if role == "entry" else f"{host}-{role}"
    cert_path = confined(directory / "gateways", f"{stem}.crt", what=what, follow_links=False)
    key_path = confined(directory / "gateways", f"{stem}.key", what=what, follow_links=False)
    cert_pem = store.read_staged(cert_path, staged)
    key_pem = store.read_staged(key_path, staged)
    info = cert_info(cert_pem) if cert_pem and key_pem else None
    reason = renewal_reason(wanted, info, ca.key_id, now, int(cluster["es_cert_renew_days"]),
                            ca_not_after=ca.not_after)
    if reason:
        cert_pem, key_pem = issue_node_cert(ca, host, wanted, int(cluster["es_cert_days"]), now)
        store.write_or_stage(key_path, key_pem, staged, root=directory)
        store.write_or_stage(cert_path, cert_pem, staged, root=directory)
    assert cert_pem and key_pem
    return cert_pem, key_pem, trusted_ca_pem(topology, ca), reason
