"""Certificates issued with ``staged`` write nothing until ``write_staged``: what lets
``pyinfra --dry`` show a reissue while the controller's secrets directory stays as it was."""

from __future__ import annotations

from esdr.security import certs, store
from tests.unit.topo_factory import topology


def _topology(directory):
    return topology(es_secrets_dir=str(directory))


def _snapshot(directory) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_staged_issue_writes_nothing_then_writes_exactly_that(tmp_path) -> None:
    directory = tmp_path / "secrets"
    t = _topology(directory)
    staged = store.Staged()
    planned = certs.ensure_certificates(t, staged=staged)
    key = store.marker_key(directory, staged)
    assert not directory.exists()
    assert {c.issued for c in planned.nodes.values()} == {"missing"}
    assert "PRIVATE" not in repr(staged) and str(directory / "ca.key") in repr(staged)

    store.write_staged(staged)
    written = _snapshot(directory)
    again = certs.ensure_certificates(t)
    assert all(c.issued is None for c in again.nodes.values())
    assert {n: c.cert_pem for n, c in again.nodes.items()} == {
        n: c.cert_pem for n, c in planned.nodes.items()}
    assert store.marker_key(directory) == key
    assert _snapshot(directory) == written
    assert {"ca.crt", "ca.key", "marker.key"} <= set(written)


def test_nothing_staged_once_everything_is_stored(tmp_path) -> None:
    directory = tmp_path / "secrets"
    t = _topology(directory)
    certs.ensure_certificates(t)
    store.marker_key(directory)
    before = _snapshot(directory)
    staged = store.Staged()
    certs.ensure_certificates(t, staged=staged)
    store.marker_key(directory, staged)
    assert not staged and _snapshot(directory) == before


def test_nodes_and_gateway_tier_share_one_staging_and_one_ca(tmp_path) -> None:
    """A first deploy of an inventory with both nodes and gateways: the run's one staging
    (``esdr.tasks.context.staged_secrets``) makes the CA once; the nodes' store (a copy taken
    before the gateway certificates were staged) and the gateway tier's store (all of it)
    both succeed, and every certificate verifies against the one CA stored."""
    directory = tmp_path / "secrets"
    t = _topology(directory)
    staged = store.Staged()
    nodes = certs.ensure_certificates(t, staged=staged)
    nodes_copy = store.Staged(staged)  # as the nodes' secrets_stored took it when prepared
    cert, _, ca_pem, issued = certs.ensure_gateway_certificate(
        t, "gw1", ["10.88.0.21"], staged=staged)
    assert issued == "missing" and ca_pem == nodes.ca_pem
    store.write_staged(nodes_copy)
    store.write_staged(store.Staged(staged))  # the CA and node files already hold these bytes
    assert (directory / "ca.crt").read_bytes() == nodes.ca_pem
    assert (directory / "gateways" / "gw1.crt").read_bytes() == cert
    again = certs.ensure_gateway_certificate(t, "gw1", ["10.88.0.21"])
    assert again[3] is None and again[0] == cert
