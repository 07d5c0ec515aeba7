"""Names that hold '../' or '/' never move a write out of its directory: ``esdr render``'s output
and the certificates in the secrets directory. Input loading refuses such names first; these
tests build the model past it, to test the writers' own line of defence."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from esdr.cli import inventory as cli_inventory
from esdr.cli.main import cli
from esdr.errors import BadInput
from esdr.model import Topology
from esdr.paths import confined
from esdr.security import store
from esdr.security.certs import ensure_certificates
from tests.unit.topo_factory import topology


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


class _Inventory:
    """pyinfra's inventory as ``esdr render`` reads it: each host's data (none set here)."""

    def get_host(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(name=name, data=SimpleNamespace(dict=dict))


def _loads(monkeypatch: pytest.MonkeyPatch, topo: Topology) -> None:
    """``esdr render`` gets ``topo`` as if loaded and validated."""
    project = SimpleNamespace(topology=topo, tier=None, inventory=_Inventory())
    monkeypatch.setattr(cli_inventory, "load_valid_project", lambda _: (project, []))


def _with_node_host(topo: Topology, name: str, host: str) -> Topology:
    nodes = tuple(
        dataclasses.replace(n, host=host, name=host) if n.name == name else n
        for n in topo.cluster.nodes
    )
    return dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, nodes=nodes))


@pytest.mark.parametrize("host", ["../../escaped", "<absolute>", "..", "."])
def test_render_writes_nothing_outside_out_for_a_host_name_that_leaves_it(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if host == "<absolute>":
        host = str(tmp_path / "absolute")
    _loads(monkeypatch, _with_node_host(topology(), "d1", host))
    out = tmp_path / "a" / "out"
    before = _files_under(tmp_path)

    result = CliRunner().invoke(cli, ["render", "inventories/x.py", "--out", str(out)])

    assert result.exit_code == 2, result.output
    assert "esdr render: host" in result.output and "outside" in result.output
    assert _files_under(tmp_path) == before  # nothing at all: every path is checked first


def test_render_refuses_a_target_path_that_leaves_the_host_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topo = topology()
    topo = dataclasses.replace(topo, cluster=dataclasses.replace(
        topo.cluster, settings={**topo.cluster.settings, "es_conf_dir": "/../../../../escaped"}))
    _loads(monkeypatch, topo)
    out = tmp_path / "out"

    result = CliRunner().invoke(cli, ["render", "inventories/x.py", "--out", str(out)])

    assert result.exit_code == 2, result.output
    assert _files_under(tmp_path) == set()


def test_render_refuses_a_symlink_that_leads_out(tmp_path: Path, monkeypatch) -> None:
    topo = topology()
    _loads(monkeypatch, topo)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "d1")

    result = CliRunner().invoke(cli, ["render", "inventories/x.py", "--out", str(out)])

    assert result.exit_code == 2, result.output
    assert _files_under(elsewhere) == set()


def test_certificates_stay_in_the_nodes_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ESDR_T1_ELASTIC_PASSWORD", "not-used-here")
    secrets = tmp_path / "secrets"
    topo = topology(es_secrets_dir=str(secrets))
    topo = _with_node_host(topo, "d1", "../../../escaped")

    with pytest.raises(BadInput, match="outside"):
        ensure_certificates(topo)

    assert not (tmp_path / "escaped.crt").exists()
    assert not (tmp_path / "escaped.key").exists()
    written = [p for p in _files_under(tmp_path) if p.endswith((".crt", ".key"))]
    assert written == [], written  # issued in full before anything is written: nothing here


def test_a_cluster_name_cannot_move_the_default_secrets_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    topo = topology(es_cluster_name="../../../escaped")
    with pytest.raises(BadInput, match="outside"):
        store.secrets_dir(topo.cluster)


@pytest.mark.parametrize("parts", [("a",), ("a", "b.crt"), ("a/../b",)])
def test_confined_keeps_paths_below_the_root(parts: tuple[str, ...], tmp_path: Path) -> None:
    assert confined(tmp_path, *parts, what="x") == tmp_path.joinpath(*parts)


@pytest.mark.parametrize("parts", [("..",), ("a", "../.."), ("/etc",), ("",), ("a\x00b",)])
def test_confined_refuses_anything_else(parts: tuple[str, ...], tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="what-it-was"):
        confined(tmp_path, *parts, what="what-it-was")


def test_without_following_links_a_linked_directory_is_kept(tmp_path: Path) -> None:
    """A secrets directory the user linked elsewhere on purpose still works."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", root / "linked")
    assert confined(root, "linked", "a.crt", what="x", follow_links=False) == root / "linked/a.crt"
    with pytest.raises(BadInput):
        confined(root, "linked", "a.crt", what="x")
    with pytest.raises(BadInput):
        confined(root, "..", "a.crt", what="x", follow_links=False)
