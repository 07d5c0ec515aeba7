"""``esdr certs rotate-ca``: the phases (trust old + new, reissue, drop the old), what each makes
the deploy put on the nodes, and a rerun after an interruption continuing where it stopped.
The deploys themselves are the lab's business (tests/security_lab/test_rotation_lab.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from esdr.errors import BadInput, EsdrError
from esdr.security import certs, rotation, store
from tests.security.test_ca_expiry import _inventory
from tests.unit.topo_factory import build, shape_a


def _topology(tmp_path: Path, **cluster):
    hosts, base = shape_a()
    return build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets"), **cluster})


def _cas(pem: bytes) -> list[str]:
    return [c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(pem)]


def _issuer(cert_pem: bytes) -> str:
    return x509.load_pem_x509_certificate(cert_pem).issuer.rfc4514_string()


def test_each_phase_changes_trust_or_certificates_and_never_both(tmp_path) -> None:
    topology = _topology(tmp_path)
    before = certs.ensure_certificates(topology)
    old = _cas(before.ca_pem)
    state = rotation.start(topology)
    new = _cas((tmp_path / "secrets" / certs.NEXT_CA[0]).read_bytes())
    assert old != new and state.phase == "trust"

    trust = certs.ensure_certificates(topology)
    assert _cas(trust.ca_pem) == old + new
    assert all(c.issued is None for c in trust.nodes.values())
    assert certs.ca_pem_path(topology).name == certs.CA_BUNDLE
    assert _cas(certs.ca_pem_path(topology).read_bytes()) == old + new

    assert rotation.advance(state) == "reissue"
    reissue = certs.ensure_certificates(topology)
    assert {c.issued for c in reissue.nodes.values()} == {"signed by another CA"}
    assert {_issuer(c.cert_pem) for c in reissue.nodes.values()} == set(new)
    assert _cas(reissue.ca_pem) == new + old
    assert all(c.issued is None for c in certs.ensure_certificates(topology).nodes.values())

    assert rotation.advance(state) == "drop"
    drop = certs.ensure_certificates(topology)
    assert _cas(drop.ca_pem) == new
    assert all(c.issued is None for c in drop.nodes.values())

    assert rotation.advance(state) is None
    after = certs.ensure_certificates(topology)
    assert _cas(after.ca_pem) == new and all(c.issued is None for c in after.nodes.values())
    directory = tmp_path / "secrets"
    assert certs.ca_pem_path(topology) == directory / "ca.crt"
    assert not any((directory / n).exists()
                   for n in (store.ROTATION_STATE, *certs.NEXT_CA, certs.CA_BUNDLE))


def test_the_state_is_private_and_read_back(tmp_path) -> None:
    topology = _topology(tmp_path)
    certs.ensure_certificates(topology)
    state = rotation.start(topology)
    rotation.phase_done(state, "inventories/a.py", 12.5)
    path = tmp_path / "secrets" / store.ROTATION_STATE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = rotation.current(tmp_path / "secrets")
    assert again is not None and again.phase == "trust" and again.done == ["inventories/a.py"]
    assert again.seconds == {"trust inventories/a.py": 12.5}


def test_an_unknown_phase_is_refused_in_one_line(tmp_path) -> None:
    topology = _topology(tmp_path)
    certs.ensure_certificates(topology)
    store.write_rotation(tmp_path / "secrets", {"phase": "halfway"})
    with pytest.raises(EsdrError, match="unknown phase 'halfway'"):
        certs.ensure_certificates(topology)


def test_a_byo_ca_is_not_rotated(tmp_path) -> None:
    cert_pem, key_pem = certs.create_ca("corp CA", 365)
    (tmp_path / "ca.crt").write_bytes(cert_pem)
    (tmp_path / "ca.key").write_bytes(key_pem)
    (tmp_path / "ca.key").chmod(0o600)
    topology = _topology(tmp_path, es_ca={"cert": str(tmp_path / "ca.crt"),
                                          "key": str(tmp_path / "ca.key")})
    with pytest.raises(BadInput, match="es_ca brings your own CA"):
        rotation.start(topology)


def _project(tmp_path: Path) -> Path:
    from esdr.cli.main import cli

    inventory = _inventory(tmp_path, {})
    group = tmp_path / "group_data" / "inv.py"
    group.write_text(group.read_text().replace("es_ca = {}\n", ""))
    assert CliRunner().invoke(cli, ["certs", "renew", str(inventory)]).exit_code == 0
    return inventory


def test_rotate_ca_runs_one_deploy_per_phase_and_a_rerun_continues(tmp_path, monkeypatch) -> None:
    from esdr.cli import certs as command
    from esdr.cli.main import cli

    inventory = _project(tmp_path)
    deploys: list[str] = []

    def deploy(inv: str, root: Path, phase: str) -> float:
        deploys.append(phase)
        if phase == "reissue" and deploys.count("reissue") == 1:
            raise EsdrError("phase reissue: the deploy failed (exit 1)")
        return 1.0

    monkeypatch.setattr(command, "_deploy", deploy)
    dry = CliRunner().invoke(cli, ["certs", "rotate-ca", "--dry", str(inventory)])
    assert dry.exit_code == 0 and "a new CA would be created" in dry.output
    assert deploys == [] and not (tmp_path / "secrets" / store.ROTATION_STATE).exists()

    first = CliRunner().invoke(cli, ["certs", "rotate-ca", str(inventory)])
    assert first.exit_code == 1 and "phase reissue" in first.output
    assert rotation.current(tmp_path / "secrets").phase == "reissue"

    dry = CliRunner().invoke(cli, ["certs", "rotate-ca", "--dry", str(inventory)])
    assert "phase reissue" in dry.output and "phase trust" not in dry.output

    second = CliRunner().invoke(cli, ["certs", "rotate-ca", str(inventory)])
    assert second.exit_code == 0, second.output
    assert deploys == ["trust", "reissue", "reissue", "drop"]
    assert "rotation finished" in second.output
    assert rotation.current(tmp_path / "secrets") is None


def test_one_phase_stops_and_names_the_next(tmp_path, monkeypatch) -> None:
    from esdr.cli import certs as command
    from esdr.cli.main import cli

    inventory = _project(tmp_path)
    monkeypatch.setattr(command, "_deploy", lambda inv, root, phase: 1.0)
    result = CliRunner().invoke(cli, ["certs", "rotate-ca", "--one-phase", str(inventory)])
    assert result.exit_code == 0 and "next: phase reissue" in result.output
    status = CliRunner().invoke(cli, ["certs", "status", str(inventory)])
    assert "phase reissue" in status.output and status.exit_code == 3


def test_rotating_part_of_an_estate_is_refused(tmp_path, monkeypatch) -> None:
    from esdr.cli.main import cli

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["certs", "rotate-ca", "--dry",
                                      str(root / "inventories" / "prod.py")])
    assert result.exit_code == 2, result.output
    assert "is not named" in result.output and "dc2" in result.output
    assert not list(tmp_path.rglob("ca*"))
