"""`esdr plan` and `esdr status` with a bi-directional pair (Elastic's recipe,
https://www.elastic.co/guide/en/elasticsearch/reference/8.17/
ccr-disaster-recovery-bi-directional-tutorial.html):
the plan names the pair without an active side, and a DC's loss is no blocking note for its
own index followed here (OpenSearch's ``_status`` cannot answer without the leader: nothing for
the user to do, it catches up on the DC's return); status shows and probes its followers."""

from __future__ import annotations

import pytest

from esdr.reconcile import run
from tests.reconcile.conftest import OS_ESTATE, no_network, topology, wire  # noqa: F401
from tests.reconcile.fake_cluster import FakeCluster, Index, error


class LostLeader(FakeCluster):
    """OpenSearch: ``_status`` of a follower whose leader's DC is unreachable answers 500
    "failed to fetch replication status" (the plugin asks the leader)."""

    def os_replication(self, method, s, body):
        if len(s) == 2 and s[1] == "_status":
            index = self.indices.get(s[0])
            if index and index.follow and index.follow["remote_cluster"] in self.unreachable:
                raise error(500, "replication_exception", "failed to fetch replication status")
        return super().os_replication(method, s, body)


def _deployed(wire):  # noqa: F811
    t1, t2 = topology(OS_ESTATE, "opensearch", dc="dc1", host="m"), topology(OS_ESTATE,
                                                                             "opensearch")
    dc1 = wire.add(FakeCluster(engine="opensearch", name="t-dc1"), t1)
    dc2 = wire.add(LostLeader(engine="opensearch", name="t-dc2"), t2)
    dc1.indices["orders"] = Index(aliases={"orders-write": {"is_write_index": True}})
    for topo in (t1, t2):
        run.apply_plan(topo, run.plan_cluster(topo))
        run.apply_plan(topo, run.plan_cluster(topo))
    return t1, dc1, t2, dc2


def test_the_plan_names_the_bidirectional_pair(wire):  # noqa: F811
    _, _, t2, _ = _deployed(wire)
    plan = run.plan_cluster(t2)
    assert plan.drift == [] and not plan.has_drift
    assert ("  bi-directional events: both DCs write, each its own index (no active side)"
            in run.plan_lines(plan))


def test_a_lost_dc_is_no_blocking_note_for_its_own_index_followed_here(wire):  # noqa: F811
    _, _, t2, dc2 = _deployed(wire)
    dc2.unreachable.add("dc1")
    plan = run.plan_cluster(t2)
    notes = {n.name: n for n in plan.notes if n.kind == "follower_index"}
    assert notes["events-dc1"].message == ("dc1 unreachable: dc1's own index in the "
                                           "bi-directional pair events; it catches up when dc1 "
                                           "returns")
    assert not notes["events-dc1"].blocking
    assert notes["orders"].blocking  # a uni-directional pair: promote or wait, the user decides
    assert plan.drift == []


def test_status_shows_the_bidirectional_followers_apart(wire):  # noqa: F811
    from esdr.cli import status as status_cli
    from esdr.cli.prints import Printer

    _, _, t2, _ = _deployed(wire)
    printer = Printer(as_json=True)
    status_cli._pairs(printer, "inventories/t_dc2.py", t2)
    assert [p["pair"] for p in printer.data["pairs"]] == ["dc1:orders>dc2:orders"]
    shown = {p["pair"]: p for p in printer.data["bidirectional"]}
    assert set(shown) == {"dc1:events-dc1>dc2:events-dc1", "dc2:events-dc2>dc1:events-dc2"}
    assert shown["dc1:events-dc1>dc2:events-dc1"]["follower_state"].startswith("active")
