"""Bi-directional pairs (Elastic's recipe, https://www.elastic.co/guide/en/elasticsearch/reference/
8.17/ccr-disaster-recovery-bi-directional-tutorial.html): each DC writes its own index and
follows the other's, the alias reads both. On the loss of a DC there is nothing to promote
(its writers go to the surviving DC's own index), and its followers catch up on its return.

So: `esdr promote --all` keeps their followers as followers and says what is at risk (the
writes the lost DC acknowledged into its own index after the follower was last in sync);
naming one is refused unless --break-bidirectional; `esdr switchover` refuses them;
`esdr failback --direction reverse` refuses one promoted all the same; `esdr plan` and the
deploy neither undo nor report drift for them across a DC's loss and return, a promotion or a
failback of another pair (CCR on stateful fake clusters, tests/reconcile/fake_cluster.py).
"""

from __future__ import annotations

import pytest

from esdr.cli import switchover as switchover_cli
from esdr.crossdc import active_side
from esdr.crossdc.estate import Follower, parse_estate
from esdr.errors import BadInput, EsdrError
from esdr.reconcile import registry, run
from esdr.runbooks import failback
from tests.reconcile.conftest import ES_ESTATE, no_network, topology, wire  # noqa: F401
from tests.reconcile.fake_cluster import FakeCluster, Index

ESTATE = parse_estate({
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1"}, "dc2": {"cluster_name": "t-dc2"}},
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "write_alias": "orders-write"}],
    "bidirectional": {"logs": {"dc1": "logs-dc1", "dc2": "logs-dc2"}},
})
ORDERS = Follower("dc2", "orders", "dc1", "orders", "orders-write")
LOGS_DC1 = Follower("dc2", "logs-dc1", "dc1", "logs-dc1")


# --- what is a bi-directional follower (pure) --------------------------------------------------
def test_the_followers_of_a_bidirectional_pair_are_the_other_dcs_own_indices():
    assert active_side.bidirectional_followers(ESTATE, "dc2") == {
        "logs-dc1": active_side.BidiFollower("logs", "dc2", "logs-dc1", "dc1", "logs-dc2")}
    assert set(active_side.bidirectional_followers(ESTATE, "dc1")) == {"logs-dc2"}
    assert active_side.bidirectional_of(ESTATE, "dc2", "logs-dc1") == "logs"
    assert active_side.bidirectional_of(ESTATE, "dc2", "logs-dc2") == "logs"
    assert active_side.bidirectional_of(ESTATE, "dc2", "orders") is None
    # never a pair with an active side to record: no runbook writes one for it
    assert active_side.key_for(ESTATE, "dc2", "logs-dc1") is None


def test_promote_all_keeps_bidirectional_followers_and_promotes_the_rest():
    chosen, kept = active_side.split_bidirectional([LOGS_DC1, ORDERS], ESTATE, "dc2")
    assert chosen == [ORDERS]
    assert [k.index for k in kept] == ["logs-dc1"]


def test_naming_a_bidirectional_follower_is_refused_unless_asked_to_break_the_pair():
    with pytest.raises(BadInput, match="logs-dc1 \\(dc1's own index in logs\\): a follower of "
                                       "a bi-directional pair; there is nothing to promote"):
        active_side.split_bidirectional([LOGS_DC1], ESTATE, "dc2", named=["logs-dc1"])
    chosen, kept = active_side.split_bidirectional([LOGS_DC1, ORDERS], ESTATE, "dc2",
                                                   named=["logs-dc1", "orders"], allow=True)
    assert chosen == [LOGS_DC1, ORDERS] and kept == []


def test_the_kept_line_says_what_is_at_risk_and_where_it_is():
    (kept,) = active_side.bidirectional_followers(ESTATE, "dc2").values()
    line = kept.kept_line("lag unknown (leader dc1 unreachable); writes acknowledged by dc1 "
                          "after 12:42:07 UTC (9.1 s before promote) may be missing: esdr last "
                          "saw the follower in sync then")
    assert line == (
        "logs-dc1: not promoted: dc1's own write index in the bi-directional pair logs, "
        "nothing to promote (dc2's writers write its own logs-dc2; the alias logs reads both); "
        "data at risk in logs-dc1 only: lag unknown (leader dc1 unreachable); writes "
        "acknowledged by dc1 after 12:42:07 UTC (9.1 s before promote) may be missing: esdr "
        "last saw the follower in sync then; those writes stay on dc1's disks and reach this "
        "follower when dc1 returns")


def test_status_and_plan_see_each_bidirectional_follower_without_an_active_side():
    sides = active_side.bidirectional_sides(ESTATE, "dc2")
    assert [(s.leader, s.index, s.follower, s.follower_index) for s in sides] == [
        ("dc1", "logs-dc1", "dc2", "logs-dc1"), ("dc2", "logs-dc2", "dc1", "logs-dc2")]
    assert sides[0].line() == ("bi-directional logs: logs-dc1 written by dc1 (no active side "
                               "to move)")
    assert sides[0].summary()["bidirectional"] == "logs" and sides[0].record is None
    assert active_side.bidirectional_lines(ESTATE, "dc1") == [
        "bi-directional logs: dc1 writes logs-dc1, dc2 writes logs-dc2; each follows the "
        "others' (no active side: a lost DC's follower catches up when it returns)"]
    # the records of a uni-directional pair never turn a bi-directional one
    turned = active_side.directed(ESTATE, {"dc1:orders>dc2:orders": {
        "leader": "dc2", "since": "x", "by": "promote", "generation": 1}})
    assert turned.bidirectional == ESTATE.bidirectional
    assert [s.key for s in active_side.sides(ESTATE, {})] == ["dc1:orders>dc2:orders"]


# --- switchover and failback refuse them --------------------------------------------------------
@pytest.mark.parametrize("index,what", [
    ("logs-dc1", "dc2:logs-dc1 is dc1's own write index, followed here, in the bi-directional "
                 "pair logs"),
    ("logs-dc2", "dc2:logs-dc2 is dc2's own write index in the bi-directional pair logs"),
])
def test_switchover_of_a_bidirectional_index_is_refused(index, what):
    with pytest.raises(BadInput) as refused:
        switchover_cli.refuse_bidirectional(ESTATE, "dc2", index)
    assert what in str(refused.value) and "no active side to move" in str(refused.value)
    switchover_cli.refuse_bidirectional(ESTATE, "dc2", "orders")  # a pair: allowed


def test_the_switchover_command_refuses_before_reading_anything(monkeypatch):
    from click.testing import CliRunner

    from esdr import replication
    from esdr.cli.main import cli
    from esdr.runbooks import switchover as runbook

    topo = topology(ES_ESTATE)
    monkeypatch.setattr(switchover_cli, "topology_of", lambda inventory: topo)

    class Here:
        es = object()

        def follower(self, index):  # pragma: no cover - must not be asked
            raise AssertionError("read the follower")

    monkeypatch.setattr(replication, "adapter_for", lambda t, es=None, replicator=None: Here())
    monkeypatch.setattr(runbook, "in_flight", lambda es: None)
    result = CliRunner().invoke(cli, ["switchover", "inventories/dc2.py", "--index",
                                      "events-dc1"])
    assert result.exit_code == 2, result.output
    assert "bi-directional pair events" in result.output


def test_failback_reverse_of_a_promoted_bidirectional_follower_is_refused():
    promoted = failback.Promoted.from_registry(
        "dc2", "logs-dc1", {"remote": "dc1", "leader_index": "logs-dc1",
                            "bidirectional": "logs"})
    assert promoted.bidirectional == "logs"
    with pytest.raises(EsdrError, match="would make dc1's own index a follower; nothing was "
                                        "changed") as refused:
        failback.failback({}, [promoted], "reverse", allow_delete=True, dry=False,
                          say=lambda _: None)
    assert "--direction original" in refused.value.hint
    # original: the copy here follows dc1's own index again, as the recipe has it
    assert [s.line() for s in failback.failback_steps(promoted, "original")] == [
        "[dc2] delete logs-dc1",
        "[dc2] follow logs-dc1 (leader_index=logs-dc1 remote_cluster=dc1)"]
    # the caller's knowledge of the estate counts as much as the record's
    plain = failback.Promoted.from_registry("dc2", "logs-dc1", {
        "remote": "dc1", "leader_index": "logs-dc1"}, bidirectional="logs")
    assert plain.bidirectional == "logs"


# --- plan and deploy across a DC's loss and return (CCR, stateful fakes) -------------------------
def _both(wire):  # noqa: F811
    """Both DCs of ES_ESTATE deployed: ``events`` bi-directional (dc1 writes events-dc1, dc2
    events-dc2, each follows the other's), ``orders`` led by dc1."""
    t1, t2 = topology(ES_ESTATE, dc="dc1", host="m"), topology(ES_ESTATE)
    dc1 = wire.add(FakeCluster(name="t-dc1"), t1)
    dc2 = wire.add(FakeCluster(name="t-dc2"), t2)
    dc1.indices["orders"] = Index(aliases={"orders-write": {"is_write_index": True}})
    for topo in (t1, t2):
        run.apply_plan(topo, run.plan_cluster(topo))
        run.apply_plan(topo, run.plan_cluster(topo))
    assert dc2.indices["events-dc1"].follow["remote_cluster"] == "dc1"
    assert dc1.indices["events-dc2"].follow["remote_cluster"] == "dc2"
    for cluster in (dc1, dc2):
        cluster.requests.clear()
    return t1, dc1, t2, dc2


def _events(plan) -> list:
    return [c for c in plan.changes if c.name.startswith("events")]


def _writes(cluster: FakeCluster) -> list[str]:
    return [str(r) for r in cluster.writes() if not r.path.startswith("/esdr-managed")]


def test_a_lost_dc_changes_nothing_in_the_survivors_bidirectional_plan(wire):  # noqa: F811
    _, _, t2, dc2 = _both(wire)
    dc2.unreachable.add("dc1")  # DC1 lost: CCR keeps its follow task (status active), retrying
    plan = run.plan_cluster(t2)
    assert plan.drift == [], run.plan_lines(plan)
    events = {(c.kind, c.name): c.action for c in _events(plan)}
    assert events[("follower_index", "events-dc1")] == "unchanged"
    assert events[("alias", "events")] == "unchanged"
    assert set(events.values()) == {"unchanged"}
    assert not [n for n in plan.notes if n.name.startswith("events")]
    run.apply_plan(t2, plan)
    assert _writes(dc2) == []


def test_after_promote_of_the_other_pair_and_the_dcs_return_nothing_drifts(wire):  # noqa: F811
    """`esdr promote --all` on dc2 promotes orders (the record moves it) and keeps events-dc1
    following; dc1 returns: neither plan drifts nor writes, events-dc2 on dc1 catches up."""
    t1, dc1, t2, dc2 = _both(wire)
    dc2.unreachable.add("dc1")
    dc2.indices["orders"].follow = None
    dc2.indices["orders"].aliases = {"orders-write": {"is_write_index": True}}
    record = {"dc1:orders>dc2:orders": {"leader": "dc2", "since": "2026-12-05T17:20:03Z",
                                        "by": "promote", "generation": 1}}
    reg = dc2.registry()
    dc2.indices["esdr-managed"].docs["registry"] = {
        **reg, registry.ACTIVE: record,
        "promoted": {"orders": {"remote": "dc1", "leader_index": "orders",
                                "write_alias": "orders-write"}}}
    dc2.unreachable.discard("dc1")  # dc1 is back
    for topo, cluster, others in ((t2, dc2, []), (t1, dc1, [record])):
        plan = run.plan_cluster(topo, others=others)
        assert plan.drift == [], run.plan_lines(plan)
        assert {c.action for c in _events(plan)} == {"unchanged"}
        assert not [n for n in plan.notes if n.name.startswith("events")]
        run.apply_plan(topo, plan)
        assert _writes(cluster) == []
    assert dc2.indices["events-dc1"].follow["status"] == "active"
    assert dc1.indices["events-dc2"].follow["status"] == "active"


def test_a_bidirectional_follower_promoted_on_request_is_held_not_undone(wire):  # noqa: F811
    """--break-bidirectional made events-dc1 writable on dc2: the plan holds it (no record
    of an active side exists for the pair) until `esdr failback --direction original`."""
    t1, dc1, t2, dc2 = _both(wire)
    dc2.indices["events-dc1"].follow = None
    reg = dc2.registry()
    dc2.indices["esdr-managed"].docs["registry"] = {**reg, "promoted": {"events-dc1": {
        "remote": "dc1", "leader_index": "events-dc1", "bidirectional": "events"}}}
    plan = run.plan_cluster(t2)
    assert plan.drift == [], run.plan_lines(plan)
    held = [n for n in plan.notes if n.name == "events-dc1"]
    assert [n.message for n in held] == ["promoted by `esdr promote`: held until `esdr "
                                         "failback`"]
    run.apply_plan(t2, plan)
    assert _writes(dc2) == []
    plan = run.plan_cluster(t1)  # dc1's own events-dc1 is its write index, as designed
    assert plan.drift == [] and {c.action for c in _events(plan)} == {"unchanged"}
