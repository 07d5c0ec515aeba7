"""`esdr plan` names the active side of each pair and never says "drift in 0 object(s)" with a
command to converge it; `esdr status` reports each pair's follower honestly."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from esdr.changes import Change, Note
from esdr.cli import cluster
from esdr.cli import status as status_cli
from esdr.cli.guard import DRIFT, OK
from esdr.cli.main import cli
from esdr.crossdc import active_side
from esdr.crossdc.estate import parse_estate
from esdr.reconcile import registry, run
from esdr.upgrade import plan_upgrade
from esdr.replication.base import Lag
from tests.crossdc.fake_es import fake_topology

ESTATE = parse_estate({
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "inventory": "inventories/dc1.py"},
                 "dc2": {"cluster_name": "dc2-cluster", "inventory": "inventories/dc2.py"}},
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders", "write_alias": "orders-write"}],
})
PAIR = "dc1:orders>dc2:orders"
RECORD = {"leader": "dc2", "since": "2026-12-05T17:20:03Z", "by": "promote", "generation": 1}


@pytest.fixture
def planned(monkeypatch):
    result: dict = {}
    monkeypatch.setattr(cluster, "topology_of", lambda inventory: fake_topology())

    def fake_plan(topology, others=None):
        result["others"] = others
        return result["plan"]

    monkeypatch.setattr(run, "plan_cluster", fake_plan)
    # every node on es_version: no rolling upgrade (tests/unit/test_upgrade_wiring.py has them)
    monkeypatch.setattr(run, "plan_version", lambda topology: plan_upgrade(
        topology.cluster, {n.name: topology.cluster.version for n in topology.cluster.nodes}))
    return result


def _run(*args):
    result = CliRunner().invoke(cli, ["plan", "inventories/x.py", *args])
    return result.exit_code, result.output.splitlines()


def test_only_a_blocking_note_is_not_called_drift_in_0_objects(planned):
    planned["plan"] = run.ClusterPlan("c", "dc2", [Change("alias", "a", "unchanged")],
                                      [Note("follower_index", "orders", "in the way", True)])
    code, out = _run()
    assert code == DRIFT  # the plan's rule: something blocks that needs the user
    assert not any("drift in 0" in line or "converges it" in line for line in out)
    assert out[-1] == ("inventories/x.py: nothing a deploy converges, but 1 blocking note(s) "
                       "above need(s) you first")


def test_drift_is_named_with_its_count(planned):
    planned["plan"] = run.ClusterPlan("c", "dc2", [Change("alias", "a", "created", None, {})])
    code, out = _run()
    assert code == DRIFT and "drift in 1 object(s)" in out[-1] and "converges it" in out[-1]


def test_the_active_side_is_printed(planned):
    plan = run.ClusterPlan("c", "dc2")
    plan.sides = active_side.sides(ESTATE, {PAIR: RECORD})
    planned["plan"] = plan
    code, out = _run()
    assert code == OK and out[-1] == "inventories/x.py: no drift"
    assert ("  active side: orders → dc2 (recorded by promote at 2026-12-05T17:20:03Z; the "
            "estate designs dc1)") in out


def test_other_clusters_records_are_read_and_an_unreachable_one_is_named(monkeypatch):
    topo = fake_topology()
    monkeypatch.setattr(cluster, "remote_client", lambda inventory, estate, alias: "es-dc1")
    monkeypatch.setattr(registry, "read", lambda es: {registry.ACTIVE: {PAIR: RECORD}})
    assert cluster.other_records("inventories/dc2.py", _with_estate(topo)) == (
        [{PAIR: RECORD}], [])

    def refused(es):
        raise registry.client.API_ERRORS[-1]("connection refused")

    monkeypatch.setattr(registry, "read", refused)
    assert cluster.other_records("inventories/dc2.py", _with_estate(topo)) == ([], ["dc1"])
    monkeypatch.setattr(cluster, "remote_client", lambda inventory, estate, alias: None)
    assert cluster.other_records("inventories/dc2.py", _with_estate(topo)) == ([], ["dc1"])


def _with_estate(topo):
    topo.__dict__["estate"] = ESTATE  # Topology.estate is a cached_property over es_estate
    return topo


class FakeAdapter:
    def __init__(self, observed, lag):
        self.observed, self._lag, self.es = observed, lag, "es"

    def follower(self, index):
        return self.observed

    def lag(self, index):
        return self._lag


SIDE = active_side.sides(ESTATE, {})[0]


def test_status_never_prints_an_unmeasured_lag_as_zero():
    unknown = Lag("orders", None, note="leader unreachable")
    state, lag, in_sync, code = status_cli._follower_view(
        FakeAdapter({"remote_cluster": "dc1", "leader_index": "orders", "status": "active"},
                    unknown), SIDE, {registry.IN_SYNC: {"orders": {"at": "2026-12-05T17:00:00Z"}}})
    assert state == "active" and "lag unknown" in lag and "0" not in lag
    assert in_sync == "2026-12-05T17:00:00Z" and code == DRIFT


def test_status_does_not_take_a_live_reading_alone_as_in_sync():
    """OpenSearch's _status shows a shard the leader did not answer for as in sync: status
    trusts only the in-sync probe (both clusters' shard stats) or esdr's record."""
    live = Lag("orders", 0, live=True)
    state, lag, in_sync, code = status_cli._follower_view(
        FakeAdapter({"remote_cluster": "dc1", "leader_index": "orders", "status": "active"},
                    live), SIDE, {})
    assert (state, code) == ("active", OK) and "0 operation(s) behind" in lag
    assert in_sync == "unknown"


def test_an_active_opensearch_follower_with_its_reason_is_healthy():
    """OpenSearch's _status gives a reason even for a syncing follower ("User initiated")."""
    state, _, _, code = status_cli._follower_view(
        FakeAdapter({"remote_cluster": "dc1", "leader_index": "orders", "status": "active",
                     "reason": "User initiated"}, Lag("orders", 2, live=True)), SIDE, {})
    assert (state, code) == ("active (User initiated)", OK)


def test_status_of_a_regular_index_where_a_follower_should_be():
    state, lag, in_sync, code = status_cli._follower_view(FakeAdapter({}, None), SIDE, {})
    assert state == "a regular index, not following" and in_sync == "unknown" and code == DRIFT
    state, *_ = status_cli._follower_view(None, SIDE, None)
    assert state.startswith("unknown")
