"""esdr.checks.upgrade: what the model alone refuses about versions, before any host is touched."""

from __future__ import annotations

from typing import Any

from esdr.checks import validate_estate
from esdr.checks.upgrade import check_upgrade
from tests.unit.topo_factory import Host, build, shape_a

ESTATE: dict[str, Any] = {
    "_source": "group_data/estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "search-dc1", "inventory": "inventories/dc1.py",
                         "seeds": ["10.1.0.4:9300"]},
                 "dc2": {"cluster_name": "search-dc2", "inventory": "inventories/dc2.py"}},
    "links": [{"from": "dc2", "to": "dc1"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1"}],
    "auto_follow": {"logs-from-dc1": {"cluster": "dc2", "remote": "dc1",
                                      "leader_index_patterns": ["logs-*"],
                                      "leader_index_exclusion_patterns": ["logs-*-copy"],
                                      "follow_index_pattern": "{{leader_index}}-copy"}},
}


def _hosts(prefix: str, net: str) -> list[Host]:
    hosts, _ = shape_a()
    out = []
    for name, groups, data in hosts:
        if name.startswith("d"):  # the follower side needs remote_cluster_client data nodes
            groups = (*groups, "es_remote_cluster_client")
        out.append((f"{prefix}-{name}", groups,
                    {**data, "ssh_hostname": data["ssh_hostname"].replace("10.0.0", net)}))
    return out


def _dc(name: str, version: str, estate: dict[str, Any] = ESTATE, **extra: Any):
    _, cluster = shape_a()
    net = {"dc1": "10.1.0", "dc2": "10.2.0"}[name]
    return build(_hosts(name, net), {**cluster, "es_cluster_name": f"search-{name}",
                                     "es_version": version, "es_estate": estate, **extra},
                 datacentre=name, source=f"inventories/{name}.py")


def test_a_follower_with_an_older_es_version_than_its_leader_is_refused() -> None:
    problems = check_upgrade([_dc("dc1", "8.19.21"), _dc("dc2", "8.18.8")])
    assert [(p.rule, p.where, p.severity) for p in problems] == [
        ("upgrade-follower-older-than-leader", "cluster search-dc2", "error")]
    message = problems[0].message
    assert "follows search-dc1 (follower orders, auto-follow logs-from-dc1)" in message
    assert "would run 8.18.8, older than its leader's 8.19.21" in message
    assert "upgrade followers first" in message


def test_the_estate_validation_runs_it() -> None:
    problems = validate_estate([_dc("dc1", "8.19.21"), _dc("dc2", "8.18.8")])
    assert [(p.rule, p.where) for p in problems] == [
        ("upgrade-follower-older-than-leader", "cluster search-dc2")]


def test_same_or_newer_followers_pass() -> None:
    assert check_upgrade([_dc("dc1", "8.19.21"), _dc("dc2", "8.19.21")]) == []
    assert check_upgrade([_dc("dc1", "8.18.8"), _dc("dc2", "8.19.21")]) == []


def test_one_data_centre_alone_has_no_leader_to_compare_with() -> None:
    assert check_upgrade([_dc("dc2", "8.18.8")]) == []


def test_versions_the_nodes_run_are_judged_node_by_node() -> None:
    dc1 = _dc("dc1", "8.18.8")
    running = {"search-dc1": {n.name: "8.19.21" for n in dc1.cluster.nodes}}
    problems = check_upgrade([dc1], running)
    assert [(p.rule, p.where) for p in problems] == [
        ("upgrade-downgrade", "hosts dc1-d1, dc1-d2, dc1-m1, dc1-m2, dc1-tb")]


def test_a_skipped_major_against_what_runs_is_refused() -> None:
    dc1 = _dc("dc1", "9.1.0")
    running = {"search-dc1": {n.name: "7.17.29" for n in dc1.cluster.nodes}}
    assert [p.rule for p in check_upgrade([dc1], running)] == ["upgrade-skips-major"]


def test_an_upgrade_the_nodes_allow_passes() -> None:
    dc1 = _dc("dc1", "8.19.21")
    running = {"search-dc1": {n.name: "8.18.8" for n in dc1.cluster.nodes}}
    assert check_upgrade([dc1], running) == []


def test_an_unreadable_estate_is_left_to_its_own_check() -> None:
    broken = {"clusters": "not a mapping"}
    assert check_upgrade([_dc("dc1", "8.19.21", broken), _dc("dc2", "8.18.8", broken)]) == []
