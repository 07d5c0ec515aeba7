"""The state machine of a replicated pair through promote, failback and switchover: the plan
and the deploy converge toward the active side recorded in ``esdr-managed``
(esdr.crossdc.active_side), never undo a failover, and need no edit of the estate.

DC1 and DC2 of ``ES_ESTATE`` (DC2's ``orders`` follows DC1's, write alias ``orders-write``), each
a stateful fake cluster; the runbooks' effects are set on the fakes as the runbooks leave them."""

from __future__ import annotations

from esdr.reconcile import registry, run
from tests.reconcile.conftest import ES_ESTATE, OS_ESTATE, topology
from tests.reconcile.fake_cluster import FakeCluster, Index

PAIR = "dc1:orders>dc2:orders"
AT = "2026-12-05T17:20:03Z"


def topology_dc1(estate: dict = ES_ESTATE, engine: str = "elasticsearch"):
    return topology(estate, engine, dc="dc1", host="m")


def record(leader: str, generation: int, by: str) -> dict:
    return {"leader": leader, "since": AT, "by": by, "generation": generation}


def both(wire, estate=ES_ESTATE, engine="elasticsearch"):
    """Both DCs deployed as designed: DC1 leads ``orders`` (writes through ``orders-write``),
    DC2 follows it."""
    t1, t2 = topology_dc1(estate, engine), topology(estate, engine)
    dc1 = wire.add(FakeCluster(engine=engine, name="t-dc1"), t1)
    dc2 = wire.add(FakeCluster(engine=engine, name="t-dc2"), t2)
    dc1.indices["orders"] = Index(aliases={"orders-write": {"is_write_index": True}})
    for topo in (t1, t2):
        run.apply_plan(topo, run.plan_cluster(topo))
        run.apply_plan(topo, run.plan_cluster(topo))  # remotes created above connect now
    for topo in (t1, t2):
        assert run.plan_cluster(topo).drift == []
    dc1.requests.clear()
    dc2.requests.clear()
    return t1, dc1, t2, dc2


def set_registry(cluster: FakeCluster, **entries) -> None:
    reg = cluster.registry()
    cluster.indices["esdr-managed"].docs["registry"] = {**reg, **entries}


def promote(dc2: FakeCluster, with_record: bool = True) -> None:
    """What `esdr promote` leaves on the survivor: a regular index taking the writes."""
    dc2.indices["orders"].follow = None
    dc2.indices["orders"].aliases = {"orders-write": {"is_write_index": True}}
    entries = {"promoted": {"orders": {"remote": "dc1", "leader_index": "orders",
                                       "write_alias": "orders-write"}},
               "alias": sorted(registry.managed(dc2.registry(), "alias") | {"orders-write"})}
    if with_record:
        entries[registry.ACTIVE] = {PAIR: record("dc2", 1, "promote")}
    set_registry(dc2, **entries)


def failback_reverse(dc1: FakeCluster, dc2: FakeCluster) -> None:
    """What `esdr failback --direction reverse` leaves: DC1's orders follows DC2's, the
    promotion forgotten, the record on both sides."""
    promote(dc2)
    dc1.indices["orders"] = Index(follow={"remote_cluster": "dc2", "leader_index": "orders",
                                          "status": "active"})
    done = {PAIR: record("dc2", 2, "failback")}
    set_registry(dc2, promoted={}, **{registry.ACTIVE: done})
    set_registry(dc1, **{registry.ACTIVE: done})


def quiet(plan) -> bool:
    return plan.drift == [] and not plan.has_drift


def writes_besides_registry(cluster: FakeCluster) -> list[str]:
    return [str(r) for r in cluster.writes() if not r.path.startswith("/esdr-managed")]


def test_as_designed_the_plan_names_the_designed_leader(wire):
    t1, _, t2, _ = both(wire)
    for topo in (t1, t2):
        plan = run.plan_cluster(topo)
        assert [s.leader for s in plan.sides] == ["dc1"]
        assert "  active side: orders → dc1 (as the estate designs; nothing recorded)" in (
            run.plan_lines(plan))


def test_promoted_survivor_leads_without_drift_or_hold(wire):
    _, _, t2, dc2 = both(wire)
    promote(dc2)
    plan = run.plan_cluster(t2)
    assert quiet(plan)
    assert [s.leader for s in plan.sides] == ["dc2"]
    assert ("  active side: orders → dc2 (recorded by promote at 2026-12-05T17:20:03Z; the "
            "estate designs dc1)") in run.plan_lines(plan)
    assert not any("held" in n.message for n in plan.notes)  # the record decides, not the hold
    assert {(c.kind, c.name, c.action) for c in plan.changes} >= {
        ("alias", "orders-write", "unchanged")}
    assert not plan.needs_write, run.plan_lines(plan)  # not even the registry
    run.apply_plan(t2, plan)
    assert writes_besides_registry(dc2) == []


def test_promotion_recorded_by_an_older_esdr_is_still_held(wire):
    _, _, t2, dc2 = both(wire)
    promote(dc2, with_record=False)
    plan = run.plan_cluster(t2)
    assert quiet(plan)
    held = {(n.kind, n.name) for n in plan.notes if "held until `esdr failback`" in n.message}
    assert held == {("follower_index", "orders"), ("alias", "orders-write")}
    run.apply_plan(t2, plan)
    assert writes_besides_registry(dc2) == []


def test_returning_old_leader_is_told_to_fail_back_not_drift(wire):
    t1, dc1, t2, dc2 = both(wire)
    promote(dc2)  # DC1 was lost: only DC2 holds the record
    others = [registry.active_records(dc2.registry())]
    plan = run.plan_cluster(t1, others=others)
    assert quiet(plan)
    assert [s.leader for s in plan.sides] == ["dc2"]
    (note,) = [n for n in plan.notes if n.name == "orders"]
    assert not note.blocking
    assert note.message == (f"dc2 leads orders since {AT} (promote): run `esdr failback` to "
                            "follow it")
    run.apply_plan(t1, plan)
    assert writes_besides_registry(dc1) == []  # nothing deleted, nothing turned into a follower
    assert dc1.indices["orders"].follow is None


def test_returning_old_leader_without_the_others_records_plans_as_designed(wire):
    t1, dc1, _, dc2 = both(wire)
    promote(dc2)
    plan = run.plan_cluster(t1)  # DC2's registry could not be read
    assert quiet(plan) and [s.leader for s in plan.sides] == ["dc1"]


def test_after_failback_reverse_neither_side_drifts_and_a_deploy_changes_nothing(wire):
    t1, dc1, t2, dc2 = both(wire)
    failback_reverse(dc1, dc2)
    for topo, cluster in ((t1, dc1), (t2, dc2)):
        plan = run.plan_cluster(topo)
        assert quiet(plan), run.plan_lines(plan)
        assert [s.leader for s in plan.sides] == ["dc2"]
        assert not any(n.blocking for n in plan.notes)
        run.apply_plan(topo, plan)
        assert writes_besides_registry(cluster) == []
    assert dc1.indices["orders"].follow["remote_cluster"] == "dc2"
    assert dc2.indices["orders"].aliases == {"orders-write": {"is_write_index": True}}


def test_without_records_failback_reverse_is_what_the_user_reported(wire):
    """The plan before the records: DC2 wants to follow again (a blocking note)."""
    t1, dc1, t2, dc2 = both(wire)
    failback_reverse(dc1, dc2)
    set_registry(dc2, **{registry.ACTIVE: {}})
    set_registry(dc1, **{registry.ACTIVE: {}})
    plan = run.plan_cluster(t2)
    assert plan.drift == [] and any(n.blocking for n in plan.notes)


def test_failback_original_or_switchover_back_is_the_design_again(wire):
    t1, dc1, t2, dc2 = both(wire)
    back = {PAIR: record("dc1", 3, "switchover")}
    set_registry(dc1, **{registry.ACTIVE: back})
    set_registry(dc2, **{registry.ACTIVE: back})
    for topo, cluster in ((t1, dc1), (t2, dc2)):
        plan = run.plan_cluster(topo)
        assert quiet(plan) and [s.leader for s in plan.sides] == ["dc1"]
        run.apply_plan(topo, plan)
        assert writes_besides_registry(cluster) == []
    assert dc2.indices["orders"].follow["remote_cluster"] == "dc1"


def test_the_newest_generation_across_registries_wins(wire):
    t1, dc1, t2, dc2 = both(wire)
    failback_reverse(dc1, dc2)
    # DC2 missed the switchover back to DC1's design: DC1's record is newer
    set_registry(dc1, **{registry.ACTIVE: {PAIR: record("dc1", 3, "switchover")}})
    dc1.indices["orders"].follow = None
    dc1.indices["orders"].aliases = {"orders-write": {"is_write_index": True}}
    plan = run.plan_cluster(t1, others=[registry.active_records(dc2.registry())])
    assert quiet(plan) and [s.leader for s in plan.sides] == ["dc1"]


def test_opensearch_after_failback_reverse_no_drift(wire):
    t1, dc1, t2, dc2 = both(wire, OS_ESTATE, "opensearch")
    failback_reverse(dc1, dc2)
    for topo in (t1, t2):
        plan = run.plan_cluster(topo)
        assert quiet(plan), run.plan_lines(plan)
        assert [s.leader for s in plan.sides] == ["dc2"]


def test_a_link_promote_detached_is_held_until_failback(wire):
    _, _, t2, dc2 = both(wire, OS_ESTATE, "opensearch")
    promote(dc2)
    link = {k: v for k, v in dc2.persistent.items() if k.startswith("cluster.remote.dc1.")}
    for key in link:
        del dc2.persistent[key]
    reg = dc2.registry()
    reg["promoted"]["orders"]["detached_link"] = link
    plan = run.plan_cluster(t2)
    assert not [c for c in plan.drift if c.kind == "remote_cluster"], run.plan_lines(plan)
    assert ("remote_cluster", "dc1") in {(n.kind, n.name) for n in plan.notes
                                         if "held until `esdr failback`" in n.message}
    dc2.persistent.update(link)  # failback put it back: planned as usual again
    plan = run.plan_cluster(t2)
    assert ("remote_cluster", "dc1", "unchanged") in {(c.kind, c.name, c.action)
                                                      for c in plan.changes}


def test_other_followers_of_an_unlinked_leader_do_not_block_the_plan_after_promote(wire):
    """Seen on the OpenSearch lab: once promote detached DC2's link to the lost DC1, the
    plugin's ``_status`` of DC2's follower of DC1's own index (a bi-directional pair) answers
    as for a regular index. Nothing can be done before the link is back: the plan names it,
    without drift or a blocking note (`esdr plan` exits 0)."""
    _, _, t2, dc2 = both(wire, OS_ESTATE, "opensearch")
    assert dc2.indices["events-dc1"].follow is not None  # deployed as a follower of DC1
    promote(dc2)
    link = {k: v for k, v in dc2.persistent.items() if k.startswith("cluster.remote.dc1.")}
    for key in link:
        del dc2.persistent[key]
    dc2.registry()["promoted"]["orders"]["detached_link"] = link
    dc2.indices["events-dc1"].follow = None  # "REPLICATION NOT IN PROGRESS" without the link
    plan = run.plan_cluster(t2)
    assert not plan.has_drift, run.plan_lines(plan)
    (note,) = [n for n in plan.notes if n.name == "events-dc1"]
    assert not note.blocking and "until `esdr failback` restores the link" in note.message
    assert plan.drift == []


def test_status_names_the_active_side_and_the_followers_state(wire, capsys):
    from esdr.cli import status as status_cli
    from esdr.cli.prints import Printer

    t1, dc1, t2, dc2 = both(wire)
    printer = Printer(as_json=True)
    status_cli._pairs(printer, "inventories/t_dc2.py", t2)
    (pair,) = printer.data["pairs"]
    assert (pair["leader"], pair["follower"], pair["follower_state"]) == ("dc1", "dc2", "active")
    failback_reverse(dc1, dc2)
    printer = Printer(as_json=True)
    code = status_cli._pairs(printer, "inventories/t_dc2.py", t2)
    (pair,) = printer.data["pairs"]
    # DC1 follows now; the estate names no inventory for it here, so its state is unknown
    assert (pair["leader"], pair["follower"], pair["by"]) == ("dc2", "dc1", "failback")
    assert pair["follower_state"].startswith("unknown") and code == 3
