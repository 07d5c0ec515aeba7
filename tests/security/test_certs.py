"""Certificates: SANs from the model, reuse, the renewal window, reissue on a SAN change."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from esdr.security import certs, store
from esdr.security.sans import CertInfo, Sans, renewal_reason, sans_of, wanted_sans
from tests.unit.topo_factory import shape_a, build

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def _topology(tmp_path: Path, **cluster):
    hosts, base = shape_a()
    return build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets"), **cluster})


# --- pure -------------------------------------------------------------------------------------


def test_wanted_sans_are_node_name_host_name_and_address(tmp_path) -> None:
    node = _topology(tmp_path).cluster.node("d1")
    sans = wanted_sans(node)
    assert sans.dns == {"d1"}
    assert sans.ips == {"10.0.0.4"}
    assert sans.covers("10.0.0.4") and sans.covers("D1") and not sans.covers("10.0.0.5")


def test_es_cert_sans_and_node_name_add_to_the_sans(tmp_path) -> None:
    hosts, base = shape_a()
    hosts[3][2].update(es_node_name="data-1", es_cert_sans=["d1.example.internal", "fd00::4"])
    node = build(hosts, base).cluster.node("data-1")
    assert wanted_sans(node) == Sans(
        frozenset({"data-1", "d1", "d1.example.internal"}), frozenset({"10.0.0.4", "fd00::4"})
    )


def _info(sans: Sans, days_left: float, issuer: bytes | None = b"ca") -> CertInfo:
    return CertInfo(sans, NOW + dt.timedelta(days=days_left), issuer, 1)


WANT = sans_of(["d1", "10.0.0.4"])


@pytest.mark.parametrize(
    "current, ca, expected",
    {
        "missing": (None, b"ca", "missing"),
        "valid, same SANs": (_info(WANT, 400), b"ca", None),
        "inside the window": (_info(WANT, 29), b"ca", "expires in 29 days"),
        "at the window's edge": (_info(WANT, 30), b"ca", "expires in 30 days"),
        "just outside": (_info(WANT, 31), b"ca", None),
        "SAN added": (_info(sans_of(["d1"]), 400), b"ca", "SANs changed"),
        "SAN removed": (_info(sans_of(["d1", "10.0.0.4", "old"]), 400), b"ca", "SANs changed"),
        "another CA": (_info(WANT, 400, b"other"), b"ca", "signed by another CA"),
    }.values(),
    ids=["missing", "valid", "window", "edge", "outside", "san-added", "san-removed", "other-ca"],
)
def test_renewal_reason(current, ca, expected) -> None:
    reason = renewal_reason(WANT, current, ca, NOW, 30)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(expected), reason


# --- issuing through the store ------------------------------------------------------------------


def test_first_run_creates_ca_and_certs_0700_0600_and_second_run_reuses(tmp_path) -> None:
    topology = _topology(tmp_path)
    first = certs.ensure_certificates(topology)
    assert {c.issued for c in first.nodes.values()} == {"missing"}
    directory = tmp_path / "secrets"
    for path in [directory, *directory.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    second = certs.ensure_certificates(topology)
    assert all(c.issued is None for c in second.nodes.values())
    assert {n: c.cert_pem for n, c in second.nodes.items()} == {
        n: c.cert_pem for n, c in first.nodes.items()
    }
    assert second.ca_pem == first.ca_pem


def test_certificate_names_what_the_model_wants_and_chains_to_the_ca(tmp_path) -> None:
    from cryptography import x509

    result = certs.ensure_certificates(_topology(tmp_path))
    ca = x509.load_pem_x509_certificate(result.ca_pem)
    for name, cert in result.nodes.items():
        parsed = x509.load_pem_x509_certificate(cert.cert_pem)
        parsed.verify_directly_issued_by(ca)
        assert cert.info.sans == wanted_sans(_topology(tmp_path).cluster.node(name))
        usage = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert {u.dotted_string for u in usage} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}


def test_a_san_change_reissues_only_that_node(tmp_path) -> None:
    first = certs.ensure_certificates(_topology(tmp_path))
    hosts, base = shape_a()
    hosts[3][2]["es_cert_sans"] = ["d1.example.internal"]
    changed = build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})
    second = certs.ensure_certificates(changed)
    issued = {n: c.issued for n, c in second.nodes.items() if c.issued}
    assert list(issued) == ["d1"] and issued["d1"].startswith("SANs changed")
    assert second.nodes["d1"].cert_pem != first.nodes["d1"].cert_pem
    assert "d1.example.internal" in second.nodes["d1"].info.sans.dns


def test_expiry_inside_the_window_reissues(tmp_path) -> None:
    topology = _topology(tmp_path, es_cert_days=60, es_cert_renew_days=30)
    certs.ensure_certificates(topology, now=NOW)
    early = certs.ensure_certificates(topology, now=NOW + dt.timedelta(days=29))
    assert all(c.issued is None for c in early.nodes.values())
    later = certs.ensure_certificates(topology, now=NOW + dt.timedelta(days=31))
    assert all(c.issued and c.issued.startswith("expires in") for c in later.nodes.values())


def test_forced_renewal_of_one_node(tmp_path) -> None:
    topology = _topology(tmp_path)
    certs.ensure_certificates(topology)
    again = certs.ensure_certificates(topology, force=True, only=["m1"])
    assert {n for n, c in again.nodes.items() if c.issued} == {"m1"}


def test_status_reads_without_writing(tmp_path) -> None:
    topology = _topology(tmp_path)
    rows = certs.certificate_status(topology)
    assert {r.action for r in rows} == {"reissue: missing"}
    assert not (tmp_path / "secrets").exists()
    certs.ensure_certificates(topology, now=NOW)
    rows = certs.certificate_status(topology, now=NOW)
    assert {r.action for r in rows} == {"ok"} and {round(r.days_left) for r in rows} == {730}


def test_bring_your_own_ca(tmp_path) -> None:
    cert_pem, key_pem = certs.create_ca("corp CA", 365)
    (tmp_path / "ca.crt").write_bytes(cert_pem)
    (tmp_path / "ca.key").write_bytes(key_pem)
    os.chmod(tmp_path / "ca.key", 0o600)
    topology = _topology(
        tmp_path, es_ca={"cert": str(tmp_path / "ca.crt"), "key": str(tmp_path / "ca.key")}
    )
    result = certs.ensure_certificates(topology)
    assert result.ca_pem == cert_pem
    assert not (tmp_path / "secrets" / "ca.key").exists()
    assert certs.ca_pem_path(topology) == tmp_path / "ca.crt"
    # switching CA reissues everything
    own = _topology(tmp_path)
    assert {c.issued for c in certs.ensure_certificates(own).nodes.values()} == {
        "signed by another CA"
    }


def test_a_world_readable_key_is_refused(tmp_path) -> None:
    topology = _topology(tmp_path)
    certs.ensure_certificates(topology)
    key = tmp_path / "secrets" / "ca.key"
    os.chmod(key, 0o644)
    with pytest.raises(Exception, match="readable by others"):
        certs.ensure_certificates(topology)


def test_default_secrets_dir_is_per_estate_outside_the_repo(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    hosts, base = shape_a()
    plain = build(hosts, base)
    assert store.secrets_dir(plain.cluster) == tmp_path / "esdr" / "secrets" / "search-t1"
    estate = build(hosts, {**base, "es_estate": {"_source": "/x/group_data/estates/prod.yml"}})
    assert store.secrets_dir(estate.cluster) == tmp_path / "esdr" / "secrets" / "prod"
