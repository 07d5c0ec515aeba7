"""One project load: the inventory read once, the estate parsed once on the topology, the
awareness values computed in one place for both of their encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from esdr import desired as desired_state
from esdr.checks import validate
from esdr.crossdc.estate import Estate
from esdr.errors import BadInput, InvalidProject
from esdr.project import load_project, load_valid_project
from esdr.reconcile.run import desired_of
from esdr.render import node_settings

from .topo_factory import shape_a, topology

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "inventories" / "prod.py"


@pytest.fixture(scope="module")
def prod():
    return load_project(PROD)


def test_one_load_holds_topology_estate_tier_and_hosts(prod) -> None:
    assert prod.topology.cluster.name == "search-dc1"
    assert isinstance(prod.topology.estate, Estate)
    assert prod.tier is not None and prod.tier.gateways
    assert {h.name for h in prod.inventory} >= {n.host for n in prod.topology.cluster.nodes}
    assert prod.root == ROOT and not prod.gateway_only


def test_the_estate_is_parsed_once_per_topology(prod) -> None:
    assert prod.topology.estate is prod.topology.estate
    assert desired_of(prod.topology).alias == prod.topology.estate.alias_of("search-dc1")


def test_a_missing_inventory_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        load_project(tmp_path / "nope.py")


def test_an_unreadable_estate_is_a_problem_not_a_crash() -> None:
    broken = topology(shape_a, es_estate={"clusters": "not a mapping"})
    problems = [p for p in validate(broken) if p.rule == "estate-unreadable"]
    assert len(problems) == 1


def test_load_valid_project_refuses_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "x.py").write_text('es_master = [("m1", {"zone": "az1"})]\n')
    with pytest.raises(InvalidProject) as refused:
        load_valid_project(tmp_path / "inventories" / "x.py")
    assert refused.value.problems


def test_awareness_is_computed_once_for_both_encodings() -> None:
    cluster = topology(shape_a).cluster
    key = f"cluster.routing.allocation.awareness.force.{cluster['es_awareness_attribute']}.values"
    rendered = dict(dict(node_settings(topology(shape_a), cluster.nodes[0],
                                       bootstrap=False))["zone awareness"])
    persistent = desired_state.awareness_settings(topology(shape_a))
    assert cluster.awareness[key] == ("az1", "az2")
    assert rendered[key] == ["az1", "az2"] and persistent[key] == "az1,az2"
