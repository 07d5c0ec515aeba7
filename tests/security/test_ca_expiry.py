"""The CA's own expiry: node certificates capped at it without a reissue loop, shown by
``certs status``, warned inside the renewal window, refused cleanly once it has passed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdr.errors import BadInput, EsdrError
from esdr.security import certs
from tests.unit.topo_factory import build, shape_a

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _topology(tmp_path: Path, **cluster):
    hosts, base = shape_a()
    return build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets"), **cluster})


def _issued(result: certs.Certificates) -> dict[str, str]:
    return {n: c.issued for n, c in result.nodes.items() if c.issued}


def test_a_ca_inside_the_renewal_window_does_not_reissue_on_every_deploy(tmp_path) -> None:
    topology = _topology(tmp_path, es_ca_days=40, es_cert_days=730, es_cert_renew_days=30)
    first = certs.ensure_certificates(topology, now=NOW)
    assert {c.info.not_after for c in first.nodes.values()} == {first.ca_not_after}
    # 25 days left on the CA, and so on every node certificate: a new one could not last longer
    for day in (15, 16, 30):
        again = certs.ensure_certificates(topology, now=NOW + day * DAY)
        assert _issued(again) == {}, day
    assert certs.certificate_status(topology, now=NOW + 16 * DAY)[0].action.startswith("ok")


def test_a_certificate_short_of_the_ca_is_reissued_once_up_to_the_ca(tmp_path) -> None:
    topology = _topology(tmp_path, es_ca_days=80, es_cert_days=60, es_cert_renew_days=30)
    certs.ensure_certificates(topology, now=NOW)
    renewed = certs.ensure_certificates(topology, now=NOW + 35 * DAY)
    assert set(_issued(renewed)) == {n.name for n in topology.cluster.nodes}
    assert {c.info.not_after for c in renewed.nodes.values()} == {renewed.ca_not_after}
    assert _issued(certs.ensure_certificates(topology, now=NOW + 36 * DAY)) == {}


def test_status_shows_the_ca_expiry_and_warns_inside_the_window(tmp_path) -> None:
    topology = _topology(tmp_path, es_ca_days=100, es_cert_renew_days=30)
    certs.ensure_certificates(topology, now=NOW)
    far = certs.ca_status(topology, now=NOW + DAY)
    assert far is not None and far.action == "ok" and round(far.days_left) == 99
    near = certs.ca_status(topology, now=NOW + 80 * DAY)
    assert near.action.startswith("rotate soon") and "esdr certs rotate-ca" in near.action
    gone = certs.ca_status(topology, now=NOW + 101 * DAY)
    assert gone.action.startswith("EXPIRED")


def _expired_byo(tmp_path: Path) -> dict[str, str]:
    cert_pem, key_pem = certs.create_ca("corp CA", 30, now=dt.datetime.now(dt.timezone.utc) - 60 * DAY)
    (tmp_path / "ca.crt").write_bytes(cert_pem)
    (tmp_path / "ca.key").write_bytes(key_pem)
    os.chmod(tmp_path / "ca.key", 0o600)
    return {"cert": str(tmp_path / "ca.crt"), "key": str(tmp_path / "ca.key")}


def test_an_expired_byo_ca_is_refused_as_bad_input_not_a_traceback(tmp_path) -> None:
    topology = _topology(tmp_path, es_ca=_expired_byo(tmp_path))
    with pytest.raises(BadInput, match="expired on .*replace es_ca"):
        certs.ensure_certificates(topology, force=True)
    assert not (tmp_path / "secrets" / "nodes").exists()


def test_an_expired_estate_ca_is_refused_with_the_rotation_hint(tmp_path) -> None:
    topology = _topology(tmp_path, es_ca_days=10)
    certs.ensure_certificates(topology, now=NOW)
    with pytest.raises(EsdrError, match="expired on .*esdr certs rotate-ca"):
        certs.ensure_certificates(topology, now=NOW + 11 * DAY, force=True)


def _inventory(tmp_path: Path, ca: dict[str, str]) -> Path:
    """A project of three master-eligible nodes in three zones, with the given es_ca."""
    (tmp_path / "inventories").mkdir()
    (tmp_path / "group_data").mkdir()
    inventory = tmp_path / "inventories" / "inv.py"
    inventory.write_text(
        "es_master = [\n"
        + "".join(f"    ('h{i}', {{'ssh_hostname': '10.0.0.{i}', 'zone': 'az{i}'}}),\n"
                  for i in (1, 2, 3))
        + "]\n"
    )
    (tmp_path / "group_data" / "inv.py").write_text(
        "es_cluster_name = 'c1'\nes_version = '8.19.21'\n"
        "es_archive_url = 'https://example.invalid/es.tar.gz'\n"
        "es_elastic_password = {'env': 'NO_SUCH_ESDR_VAR'}\n"
        f"es_secrets_dir = {str(tmp_path / 'secrets')!r}\n"
        f"es_ca = {ca!r}\n"
    )
    return inventory


def test_certs_renew_with_an_expired_byo_ca_exits_2_with_one_line(tmp_path) -> None:
    from esdr.cli.main import cli

    inventory = _inventory(tmp_path, _expired_byo(tmp_path))
    result = CliRunner().invoke(cli, ["certs", "renew", str(inventory)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert "expired" in result.output and "Traceback" not in result.output


def test_certs_status_shows_the_ca_line_and_exits_3_inside_the_window(tmp_path) -> None:
    from esdr.cli.main import cli

    near = certs.create_ca("corp CA", 10)
    (tmp_path / "ca.crt").write_bytes(near[0])
    (tmp_path / "ca.key").write_bytes(near[1])
    os.chmod(tmp_path / "ca.key", 0o600)
    inventory = _inventory(tmp_path, {"cert": str(tmp_path / "ca.crt"),
                                      "key": str(tmp_path / "ca.key")})
    result = CliRunner().invoke(cli, ["certs", "status", str(inventory)])
    ca_line = next(line for line in result.output.splitlines() if line.startswith("CA "))
    assert "rotate soon" in ca_line and "replace es_ca" in ca_line, result.output
    assert result.exit_code == 3, result.output
