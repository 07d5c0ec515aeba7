"""esdr diagram: what the Mermaid picture shows, from small topologies and the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.crossdc.estate import parse_estate
from esdr.diagram import Site, diagram
from tests.unit.topo_factory import build, shape_a, shape_c

REPO = Path(__file__).resolve().parents[2]


def test_zones_roles_and_the_hidden_tie_breaker_zone():
    text = diagram([Site(build(*shape_a()), "dc1")])
    assert 'subgraph dc_dc1["dc1: cluster search-t1 (elasticsearch 8.19.21)"]' in text
    assert 'subgraph dc_dc1_zone_az3["zone az3 (hidden tie-breaker)"]' in text
    assert 'dc_dc1_node_tb["tb<br/>master, voting_only"]' in text
    assert 'dc_dc1_node_d1["d1<br/>data"]' in text
    assert '"zone az1 (hidden' not in text


def test_a_compact_cluster_has_no_hidden_zone():
    text = diagram([Site(build(*shape_c()), "dc1")])
    assert "hidden" not in text
    assert "master, data" in text


def test_followers_are_drawn_from_leader_to_follower():
    estate = parse_estate({
        "clusters": {"dc1": {"cluster_name": "search-t1"}, "dc2": {"cluster_name": "search-t2"}},
        "links": [{"from": "dc2", "to": "dc1"}],
        "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                       "leader_index": "orders"}],
    })
    text = diagram([Site(build(*shape_a()), "dc1")], estate)
    # dc2 has no inventory here: a plain node stands for it
    assert 'dc_dc2["dc2: cluster search-t2"]' in text
    assert 'dc_dc2 -. "remote cluster dc1 (sniff)" .-> dc_dc1' in text
    assert 'dc_dc1 == "CCR orders to orders" ==> dc_dc2' in text


def test_the_cli_draws_an_inventory_and_its_estate_file_alike():
    runner = CliRunner()
    by_inventory = runner.invoke(cli, ["diagram", str(REPO / "inventories/lab.py")])
    by_estate = runner.invoke(cli, ["diagram", str(REPO / "group_data/estates/lab.yml")])
    assert by_inventory.exit_code == 0, by_inventory.output
    assert by_inventory.output == by_estate.output
    assert "dc_dc2" in by_inventory.output  # the estate brings DC2's inventory


def test_the_cli_refuses_what_is_neither_with_exit_2():
    done = CliRunner().invoke(cli, ["diagram", str(REPO / "README.md")])
    assert done.exit_code == 2
    assert "not an inventory (.py) or an estate file (.yml)" in done.output
