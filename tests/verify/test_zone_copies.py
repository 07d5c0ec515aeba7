"""The cluster-level check that a test index holds one copy per data zone: its verdict from
``_cat/shards`` and the nodes' zone attributes (pure), its place in the plan, and the calls the
suite makes for it (a stand-in for the hosts: create, read, delete, in that order)."""

from __future__ import annotations

import json
import shlex

import pytest

from esdr.verify import evaluate as ev
from esdr.verify.plan import ZONE_TEST_INDEX, Check, build_plan
from tests.unit import project_factory as pf

ZONES = ["az1", "az2"]
NODES = {"nodes": {"a": {"name": "d1", "attributes": {"zone": "az1"}},
                   "b": {"name": "d2", "attributes": {"zone": "az2"}},
                   "c": {"name": "d3", "attributes": {"zone": "az1"}},
                   "d": {"name": "m1", "attributes": {}}}}


def _row(node, prirep="r", state="STARTED", shard="0"):
    return {"shard": shard, "prirep": prirep, "state": state, "node": node}


def test_one_started_copy_in_each_data_zone_passes():
    zone_of = ev.node_zones(NODES, "zone")
    assert zone_of == {"d1": "az1", "d2": "az2", "d3": "az1", "m1": None}
    shards = [_row("d1", "p"), _row("d2")]
    assert ev.zone_copies_problem(shards, zone_of, ZONES) is None


def test_two_copies_in_one_zone_and_none_in_another_fails_naming_both():
    zone_of = ev.node_zones(NODES, "zone")
    assert ev.zone_copies_problem([_row("d1", "p"), _row("d3")], zone_of, ZONES) == (
        "shard 0: no copy in az2; shard 0: 2 copies in az1 (d1, d3)")


def test_an_unassigned_copy_fails_saying_so():
    zone_of = ev.node_zones(NODES, "zone")
    shards = [_row("d1", "p"), _row(None, state="UNASSIGNED")]
    assert ev.zone_copies_problem(shards, zone_of, ZONES) == (
        "shard 0: a replica is UNASSIGNED; shard 0: no copy in az2")


def test_a_copy_on_a_node_without_a_zone_or_outside_the_data_zones_fails():
    zone_of = {**ev.node_zones(NODES, "zone"), "x1": "az9"}
    assert ev.zone_copies_problem([_row("d1", "p"), _row("m1")], zone_of, ZONES) == (
        "shard 0: a copy on m1, which has no zone attribute; shard 0: no copy in az2")
    assert ev.zone_copies_problem([_row("d1", "p"), _row("d2"), _row("x1")], zone_of,
                                  ZONES) == "shard 0: a copy in az9, not a data zone (x1)"


def test_a_relocating_copy_counts_where_it_is():
    zone_of = ev.node_zones(NODES, "zone")
    shards = [_row("d1", "p"), _row("d2 -> 10.0.0.3 abc d3", state="RELOCATING")]
    assert ev.zone_copies_problem(shards, zone_of, ZONES) is None


def test_no_answer_is_a_problem_not_a_pass():
    assert ev.zone_copies_problem([], {}, ZONES).startswith("the test index has no shard")
    assert ev.zone_copies_problem(None, {}, ZONES) is not None
    assert ev.node_zones(None, "zone") == {}


def test_the_test_index_has_one_copy_per_zone():
    assert ev.zone_test_index(3)["settings"]["index.number_of_replicas"] == 2
    assert ev.zone_test_index(1)["settings"]["index.number_of_replicas"] == 0
    assert ev.zone_test_index(2)["settings"]["index.number_of_shards"] == 1


def test_the_creation_answer():
    assert ev.index_created_problem("i", 200, {"acknowledged": True}) is None
    assert ev.index_created_problem("i", 0, None) == (
        "creating the test index i: the node's API gave no answer")
    assert ev.index_created_problem(
        "i", 403, {"error": {"type": "security_exception", "reason": "no"}}) == (
        "the test index i could not be created (HTTP 403: security_exception: no)")
    already = {"error": {"type": "resource_already_exists_exception", "reason": "exists"}}
    assert ev.index_created_problem("i", 400, already) is None


def test_the_plan_runs_it_once_for_the_clusters_data_zones(tmp_path, monkeypatch):
    from esdr.project import load_valid_project

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    hosts, data, estate = pf.valid()
    project = load_valid_project(pf.write(tmp_path, hosts, data, estate))[0]
    plan = build_plan(project.topology, project.tier,
                      {h.name: h.data.dict() for h in project.inventory})
    found = [c for c in plan.checks if c.kind == "zone-copies"]
    assert len(found) == 1
    check = found[0]
    zones = list(project.topology.cluster.data_zones)
    assert check.host == "cluster t1" and check.via == ("m1", "m2", "tb", "d1", "d2")
    assert check.name == f"one copy per data zone ({', '.join(zones)}) of a test index"
    assert (check.expected["index"], check.expected["zones"], check.expected["attribute"]) == (
        ZONE_TEST_INDEX, zones, "zone")


class _Result:
    def __init__(self, status: int, body):
        self.stdout = f"{json.dumps(body) if body is not None else ''}\n{status}"


class _Hosts:
    """Answers the suite's curl calls as a two-zone cluster would; records them."""

    def __init__(self, shards):
        self.calls: list[tuple[str, str]] = []
        self.shards = shards

    def remember(self, name, key, read):
        return read()

    def run(self, host, command):
        words = shlex.split(command.removesuffix(" || true"))
        method = words[words.index("-X") + 1]
        path = words[-1].split(":9200/", 1)[1]
        assert words[words.index("-K") + 1] == "/etc/esdr/es-api.curlrc"
        self.calls.append((method, path.split("?")[0]))
        if method == "PUT":
            assert json.loads(words[words.index("-d") + 1]) == ev.zone_test_index(2)
            return _Result(200, {"acknowledged": True, "shards_acknowledged": True})
        if method == "DELETE":
            return _Result(200, {"acknowledged": True})
        if path.startswith("_cat/shards"):
            return _Result(200, self.shards)
        if path.startswith("_nodes"):
            return _Result(200, NODES)
        return _Result(200, {"status": "green"})


@pytest.mark.parametrize("shards,problem", [
    ([_row("d1", "p"), _row("d2")], None),
    ([_row("d1", "p"), _row("d3")], "shard 0: no copy in az2; shard 0: 2 copies in az1 (d1, d3)"),
])
def test_the_suite_creates_reads_and_deletes_the_test_index(shards, problem):
    pytest.importorskip("testinfra")
    from esdr.verify import suite

    api = {"port": 9200, "scheme": "https", "curl_config": "/etc/esdr/es-api.curlrc",
           "addresses": {"d1": "10.20.0.21"}}
    check = Check("cluster t1", "one copy per data zone", "zone-copies",
                  {**api, "index": ZONE_TEST_INDEX, "zones": ZONES, "attribute": "zone"},
                  via=("d1",))
    hosts = _Hosts(shards)
    assert suite.CHECKS["zone-copies"](check, hosts) == problem
    assert hosts.calls == [("DELETE", ZONE_TEST_INDEX), ("PUT", ZONE_TEST_INDEX),
                           ("GET", f"_cluster/health/{ZONE_TEST_INDEX}"),
                           ("GET", f"_cat/shards/{ZONE_TEST_INDEX}"), ("GET", "_nodes"),
                           ("DELETE", ZONE_TEST_INDEX)]
