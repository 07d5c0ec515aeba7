"""DC1 of the lab, for real: lab hosts, the real deploy, real Elasticsearch 8.19 nodes.

The tests run in file order on the session's shared DC1 (``dc1_deployed``,
tests/lab_fixtures.py): formation, zones and awareness, idempotency, the loss of a whole data
zone. The health-gated rolling restart of a setting change is in test_setting_roll_lab.py.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO, run_deploy
from tests.integration.lab_dc1 import ADDRESS_OF

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
MASTERS = {"dc1-master-az1", "dc1-master-az2", "dc1-tiebreaker-az3"}
TIEBREAKER = "dc1-tiebreaker-az3"
ZONE_OF = {
    "dc1-master-az1": "az1",
    "dc1-data-az1": "az1",
    "dc1-master-az2": "az2",
    "dc1-data-az2": "az2",
    "dc1-tiebreaker-az3": "az3",
}


def client_for(*names: str):
    """A client to lab nodes only, built as esdr builds them: HTTPS, the estate CA, elastic."""
    from esdr.es.connect import client_for as esdr_client_for
    from esdr.project import load_project

    topology = load_project(REPO / INVENTORY).topology
    assert all(ADDRESS_OF[n].startswith("10.88.0.") for n in names)  # lab addresses only
    return esdr_client_for(
        topology, [topology.cluster.node(n) for n in names], request_timeout=20
    )


def wait_for(what: str, check, timeout: float = 240, interval: float = 2.0):
    """Bounded poll: returns check()'s truthy value or fails the test naming what it waited for."""
    deadline = time.monotonic() + timeout
    last_error = None
    for _ in range(int(timeout / interval) + 1):
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # a node that is restarting answers with errors
            last_error = error
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


@pytest.fixture(scope="module")
def lab(dc1_deployed):
    return {"api": dc1_deployed.api, "first_deploy": dc1_deployed.first_deploy}


@pytest.fixture(scope="module")
def es(lab):
    return client_for(*ADDRESS_OF)


def test_first_deploy_forms_cluster_and_prints_summary(lab, es):
    first = lab["first_deploy"]
    summary = "\n".join(first.esdr_lines())
    assert "cluster esdr-lab-dc1:" in summary
    for name in ADDRESS_OF:
        assert name in summary
    health = wait_for("green", lambda: es.cluster.health(wait_for_status="green", timeout="60s"))
    assert health["number_of_nodes"] == 5


def test_exactly_the_expected_masters_and_a_voting_only_tiebreaker(es):
    nodes = es.nodes.info(metric="settings")["nodes"].values()
    roles = {n["name"]: set(n["roles"]) for n in nodes}
    assert {name for name, r in roles.items() if "master" in r} == MASTERS
    assert roles[TIEBREAKER] == {"master", "voting_only"}
    assert not any("voting_only" in r for name, r in roles.items() if name != TIEBREAKER)
    elected = es.cat.master(format="json")[0]["node"]
    assert elected in MASTERS - {TIEBREAKER}


def test_zone_attributes_and_forced_awareness(es):
    for node in es.nodes.info(metric="settings")["nodes"].values():
        settings = node["settings"]
        assert node["attributes"]["zone"] == ZONE_OF[node["name"]]
        awareness = settings["cluster"]["routing"]["allocation"]["awareness"]
        assert awareness["attributes"] == "zone"
        assert sorted(awareness["force"]["zone"]["values"]) == ["az1", "az2"]


def test_bootstrap_setting_removed_after_formation(lab):
    api = lab["api"]
    for name in MASTERS:
        yml = api.ssh(name, "cat /etc/elasticsearch/elasticsearch.yml")
        assert yml.returncode == 0, yml.stderr
        assert "cluster.initial_master_nodes" not in yml.stdout
        marker = api.ssh(name, "cat /var/lib/elasticsearch/esdr-cluster-uuid")
        assert marker.returncode == 0 and marker.stdout.strip()


def _copies_by_zone(es, index: str) -> dict[str, Counter]:
    zone_of_node = {
        n["name"]: n["attributes"].get("zone")
        for n in es.nodes.info(metric="settings")["nodes"].values()
    }
    copies: dict[str, Counter] = {}
    for row in es.cat.shards(index=index, format="json", h="shard,prirep,state,node"):
        if row["state"] == "STARTED":
            copies.setdefault(row["shard"], Counter())[zone_of_node[row["node"]]] += 1
    return copies


def test_one_replica_puts_one_copy_in_each_data_zone(es):
    es.indices.create(
        index="zones", settings={"number_of_shards": 3, "number_of_replicas": 1}
    )
    wait_for("index green", lambda: es.cluster.health(index="zones")["status"] == "green")
    copies = _copies_by_zone(es, "zones")
    assert len(copies) == 3
    for shard, zones in copies.items():
        assert zones == Counter({"az1": 1, "az2": 1}), f"shard {shard}: {zones}"


def _project_with(tmp_path: Path, extra_group_data: str) -> Path:
    """A copy of the project's inventory and group data with a line added to group_data/lab.py."""
    (tmp_path / "inventories").mkdir()
    shutil.copy(REPO / INVENTORY, tmp_path / INVENTORY)
    shutil.copytree(REPO / "group_data", tmp_path / "group_data")
    with open(tmp_path / "group_data" / "lab.py", "a") as handle:
        handle.write(f"\n{extra_group_data}\n")
    return tmp_path


def test_bad_topology_is_refused_before_any_change(lab, tmp_path):
    project = _project_with(tmp_path, "es_index_replicas = 0")
    refused = run_deploy(INVENTORY, cwd=project)
    assert refused.returncode != 0
    assert "esdr refuses this topology" in refused.stderr
    assert "[replicas-below-zones]" in refused.stderr
    assert "Starting operation" not in refused.stderr


def test_a_node_stopped_by_hand_is_started_and_waited_on_until_it_rejoins(lab, es):
    """The rerun that starts a stopped node ends only when that node is back in the cluster
    (its record says the cluster formed long ago, so only this run's start says to wait).
    The next test's rerun then changes nothing."""
    stopped = "dc1-data-az2"
    lab["api"].ssh(stopped, "systemctl stop elasticsearch")
    wait_for("the stopped node to leave the cluster",
             lambda: es.cluster.health()["number_of_nodes"] == 4, timeout=60, interval=1)
    rerun = run_deploy(INVENTORY)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    nodes_at_the_end = es.cluster.health()["number_of_nodes"]  # no wait: the deploy's own
    changed = rerun.changed_operations()
    assert any("enabled and running" in op for op in changed[stopped]), changed[stopped]
    assert any("Cluster has formed" in op for op in changed[stopped]), changed[stopped]
    assert [h for h, ops in changed.items() if ops] == [stopped], changed
    assert nodes_at_the_end == 5


def test_second_run_changes_nothing(lab):
    second = run_deploy(INVENTORY)
    assert second.returncode == 0, second.stderr[-4000:]
    changed = second.changed_operations()
    assert set(changed) == set(ADDRESS_OF), changed.keys()
    assert all(ops == [] for ops in changed.values()), changed


def test_losing_the_masters_zone_silently_keeps_writes_and_loses_none(lab, es):
    """The zone holding the elected master loses its network in one moment (no RST, no FIN),
    then its power, under a writer of 20 writes/s to a data node of the other zone
    (esdr_lab/zone_loss.py). Writes resume, the other zone's master is elected (never the
    voting-only tie-breaker), forced awareness keeps the lost copies unassigned (yellow), and
    once the zone is back every acknowledged write is there. Prints what it measured; its
    medians are benchmarks/silent_zone_loss.py's."""
    from esdr.project import load_project
    from esdr_lab import zone_loss

    topology = load_project(REPO / INVENTORY).topology
    result = zone_loss.run(topology, lab["api"], say=print)
    print(f"[drill] silent zone loss: {result.line()}")
    assert result.acknowledged > 100
    assert result.lost == []
    assert result.master_after not in (result.master_before, TIEBREAKER)
    assert ZONE_OF[result.master_after] != result.zone
    # forced awareness keeps the lost zone's copies unassigned instead of piling them up
    assert result.status_during == "yellow"
    copies = _copies_by_zone(es, zone_loss.INDEX)
    assert all(z == Counter({"az1": 1, "az2": 1}) for z in copies.values())
