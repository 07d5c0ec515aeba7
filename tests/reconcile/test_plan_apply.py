"""plan_cluster / apply_plan against a stateful fake cluster (``fake_cluster.py``): the real
reconcilers, adapters and clients; only the HTTP answers are fake, and a write changes what the
next read returns. One named test per behaviour of ``esdr.reconcile.run``."""

from __future__ import annotations

import copy

import pytest

from esdr.errors import EsdrError
from esdr.reconcile import run
from tests.reconcile.conftest import ES_ESTATE, OS_ESTATE, cluster_for, topology
from tests.reconcile.fake_cluster import Request

# DC2 already links DC1, but to a stale seed: the remote is connected, so followers are planned
# in the same run (a remote created in this run is only connected on the next one).
STALE_REMOTE = {"cluster.remote.dc1.mode": "sniff", "cluster.remote.dc1.seeds": ["10.0.1.9:9300"],
                "cluster.remote.dc1.skip_unavailable": "true"}


def kind_of(r: Request) -> str:
    """Which ORDER kind a write request belongs to."""
    p = r.path
    if p.startswith("/esdr-managed"):
        return "registry"
    if p == "/_cluster/settings":
        keys = r.body["persistent"]
        return "remote_cluster" if any(k.startswith("cluster.remote.") for k in keys) \
            else "cluster_settings"
    if p.startswith("/_license"):
        return "licence"
    if p.startswith("/_snapshot"):
        return "snapshot_repository"
    if p.startswith("/_slm"):
        return "slm_policy"
    if p.startswith(("/_ccr/auto_follow", "/_plugins/_replication/_autofollow")):
        return "auto_follow"
    if "/_ccr/" in p or p.startswith("/_plugins/_replication/"):
        return "follower_index"
    if p == "/_aliases":
        return "alias"
    if r.method == "PUT" and p.count("/") == 1:
        return "index"
    return f"? {r}"


def kinds(requests: list[Request]) -> list[str]:
    out: list[str] = []
    for r in requests:
        if not out or out[-1] != kind_of(r):
            out.append(kind_of(r))
    return out


def es_dc2(wire, estate=ES_ESTATE, **fake):
    topo = topology(estate)
    cluster = cluster_for(wire, topo, **fake)
    cluster.persistent.update(STALE_REMOTE)
    return topo, cluster


def converged(wire, estate=ES_ESTATE, **fake):
    topo, cluster = es_dc2(wire, estate, **fake)
    run.apply_plan(topo, run.plan_cluster(topo))
    cluster.requests.clear()
    return topo, cluster


def without(estate: dict, **drop) -> dict:
    out = copy.deepcopy(estate)
    for key, names in drop.items():
        if isinstance(out[key], dict):
            for name in names:
                del out[key][name]
        else:
            out[key] = [e for e in out[key] if e["index"] not in names]
    return out


def test_plan_only_reads(wire):
    topo, cluster = es_dc2(wire)
    plan = run.plan_cluster(topo)
    # this estate has no kafka section, so no pipeline users (test_pipeline_users.py has them)
    assert {c.kind for c in plan.drift} == set(run.ORDER) - {"licence", "pipeline_user"}
    assert cluster.requests and cluster.writes() == []


def test_apply_runs_changes_in_order_whatever_order_the_plan_lists(wire):
    estate = {**ES_ESTATE, "licence": "trial"}
    topo, cluster = es_dc2(wire, estate, licence="basic")
    plan = run.plan_cluster(topo)
    plan.changes.reverse()  # the plan lists aliases first, the licence last
    assert plan.drift[0].kind == "alias" and plan.drift[-1].kind == "licence"
    cluster.requests.clear()
    run.apply_plan(topo, plan)
    # no kafka section here, so no pipeline users (test_pipeline_users.py has them)
    assert kinds(cluster.writes()) == [*(k for k in run.ORDER if k != "pipeline_user"),
                                       "registry"]
    assert cluster.licence == "trial"


def test_after_apply_the_plan_is_empty_and_a_second_plan_shows_no_drift(wire):
    topo, cluster = es_dc2(wire)
    applied, skipped, after = run.apply_plan(topo, run.plan_cluster(topo))
    assert applied and skipped == []
    assert after.drift == [] and not after.has_drift and not after.needs_write
    cluster.requests.clear()
    again = run.plan_cluster(topo)
    assert again.drift == [] and not again.has_drift and not again.needs_write
    assert cluster.writes() == []
    assert cluster.indices["orders"].follow == {"remote_cluster": "dc1", "leader_index": "orders",
                                                "status": "active"}


def test_a_follower_whose_leader_changed_is_skipped_without_allow_destructive(wire):
    topo, cluster = converged(wire)
    moved = copy.deepcopy(ES_ESTATE)
    moved["followers"][0]["leader_index"] = "orders-v2"
    topo = topology(moved)
    plan = run.plan_cluster(topo)
    (change,) = plan.drift
    assert (change.kind, change.name, change.destructive) == ("follower_index", "orders", True)
    cluster.requests.clear()
    applied, skipped, after = run.apply_plan(topo, plan)
    assert applied == [] and [(n.kind, n.name) for n in skipped] == [("follower_index", "orders")]
    assert "destructive" in skipped[0].message
    assert cluster.writes() == []
    assert cluster.indices["orders"].follow["leader_index"] == "orders"


def test_a_follower_whose_leader_changed_is_recreated_with_allow_destructive(wire):
    topo, cluster = converged(wire)
    moved = copy.deepcopy(ES_ESTATE)
    moved["followers"][0]["leader_index"] = "orders-v2"
    topo = topology(moved)
    applied, skipped, after = run.apply_plan(topo, run.plan_cluster(topo), allow_destructive=True)
    assert [(c.kind, c.name) for c in applied] == [("follower_index", "orders")] and not skipped
    assert [str(r) for r in cluster.writes()] == [
        "POST /orders/_ccr/pause_follow", "POST /orders/_close", "POST /orders/_ccr/unfollow",
        "DELETE /orders", "PUT /orders/_ccr/follow"]
    assert cluster.indices["orders"].follow["leader_index"] == "orders-v2"
    assert after.drift == []


def test_a_managed_follower_no_longer_wanted_is_unfollowed_only_with_allow_destructive(wire):
    topo, cluster = converged(wire)
    topo = topology(without(ES_ESTATE, followers=["orders"]))
    applied, skipped, _ = run.apply_plan(topo, run.plan_cluster(topo))
    assert [(n.kind, n.name) for n in skipped] == [("follower_index", "orders")]
    assert cluster.indices["orders"].follow is not None
    assert "orders" in cluster.registry()["follower_index"]  # still managed: not yet unfollowed
    applied, skipped, _ = run.apply_plan(topo, run.plan_cluster(topo), allow_destructive=True)
    assert [(c.name, c.action) for c in applied] == [("orders", "deleted")]
    assert cluster.indices["orders"].follow is None and not cluster.indices["orders"].closed
    assert "orders" not in cluster.registry()["follower_index"]


def test_the_registry_records_every_object_esdr_created(wire):
    topo, cluster = es_dc2(wire)
    assert cluster.registry() is None
    run.apply_plan(topo, run.plan_cluster(topo))
    assert cluster.indices["esdr-managed"].settings["index.hidden"] == "true"
    assert cluster.registry() == {
        "remote_cluster": ["dc1"], "snapshot_repository": ["dr-snapshots", "local"],
        "slm_policy": ["nightly"], "follower_index": ["events-dc1", "orders"],
        "auto_follow": ["logs-from-dc1"], "alias": ["events"], "pipeline_user": [],
        "promoted": {}}


def test_a_managed_object_that_leaves_the_estate_is_deleted(wire):
    topo, cluster = converged(wire)
    smaller = without(ES_ESTATE, slm=["nightly"], auto_follow=["logs-from-dc1"],
                      repositories=["local"])
    smaller["links"] = [{"from": "dc1", "to": "dc2"}]  # DC2 no longer links DC1
    smaller["followers"], smaller["bidirectional"] = [], {}
    topo = topology(smaller)
    applied, _, after = run.apply_plan(topo, run.plan_cluster(topo), allow_destructive=True)
    assert {(c.kind, c.name) for c in applied if c.action == "deleted"} == {
        ("slm_policy", "nightly"), ("auto_follow", "logs-from-dc1"),
        ("snapshot_repository", "local"), ("remote_cluster", "dc1"), ("alias", "events"),
        ("follower_index", "orders"), ("follower_index", "events-dc1")}
    assert not cluster.slm and not cluster.auto_follow and "local" not in cluster.repositories
    assert not cluster.remotes() and after.drift == []
    assert cluster.registry()["snapshot_repository"] == ["dr-snapshots"]


def test_a_foreign_object_is_reported_and_never_deleted(wire):
    topo, cluster = converged(wire)
    cluster.repositories["theirs"] = {"type": "fs", "settings": {"location": "/mnt/theirs"}}
    cluster.slm["theirs"] = {"schedule": "0 0 * * * ?", "name": "<t>", "repository": "theirs"}
    cluster.auto_follow["theirs"] = {"active": True, "remote_cluster": "dc1",
                                     "leader_index_patterns": ["t-*"],
                                     "leader_index_exclusion_patterns": [],
                                     "follow_index_pattern": "{{leader_index}}"}
    cluster.persistent.update({"cluster.remote.theirs.mode": "sniff",
                               "cluster.remote.theirs.seeds": ["10.9.9.9:9300"]})
    plan = run.plan_cluster(topo)
    assert {(n.kind, n.name) for n in plan.notes} >= {
        ("snapshot_repository", "theirs"), ("slm_policy", "theirs"), ("auto_follow", "theirs"),
        ("remote_cluster", "theirs")}
    assert all(c.action != "deleted" for c in plan.changes)
    run.apply_plan(topo, plan, allow_destructive=True)
    assert not [r for r in cluster.writes() if r.method == "DELETE"]
    assert "theirs" in cluster.repositories and "theirs" in cluster.slm
    assert "theirs" in cluster.auto_follow and "theirs" in cluster.remotes()
    assert "theirs" not in str(cluster.registry())


@pytest.mark.parametrize("method,path,named", [
    ("PUT", r"/_slm/policy/nightly", "slm_policy nightly created"),
    ("POST", r"/_aliases", "alias events created"),
    ("PUT", r"/orders/_ccr/follow", "follower_index orders created"),
])
def test_a_write_that_does_not_stick_is_still_drifting(wire, method, path, named):
    topo, cluster = es_dc2(wire)
    cluster.ignore.append((method, path))  # acknowledged, not done
    with pytest.raises(EsdrError, match="still drifting after apply") as raised:
        run.apply_plan(topo, run.plan_cluster(topo))
    drifting = str(raised.value).split("still drifting after apply: ")[1].split(" (fix:")[0]
    assert drifting == named  # that object, and only it


def test_a_write_reverted_by_another_writer_is_still_drifting(wire):
    topo, cluster = converged(wire)
    drifted = copy.deepcopy(ES_ESTATE)
    drifted["slm"]["nightly"]["schedule"] = "0 45 2 * * ?"
    topo = topology(drifted)
    plan = run.plan_cluster(topo)
    original = cluster.slm_api

    def revert(method, s, body):  # another writer puts the old policy back at once
        answer = original(method, s, body)
        if method == "PUT":
            cluster.slm["nightly"]["schedule"] = "0 30 1 * * ?"
        return answer

    cluster.slm_api = revert
    with pytest.raises(EsdrError, match="slm_policy nightly changed"):
        run.apply_plan(topo, plan)


def test_first_deploy_with_a_new_remote_and_followers_converges_in_one_apply(wire):
    topo = topology(ES_ESTATE)
    cluster_for(wire, topo)
    plan = run.plan_cluster(topo)  # followers wait: remote dc1 is not connected yet
    run.apply_plan(topo, plan)


# --- OpenSearch, through its replication adapter ---------------------------------------------
def os_dc2(wire, estate=OS_ESTATE):
    topo = topology(estate, engine="opensearch")
    cluster = cluster_for(wire, topo)
    cluster.persistent.update(STALE_REMOTE)
    return topo, cluster


def test_opensearch_apply_order_and_replan(wire):
    topo, cluster = os_dc2(wire)
    plan = run.plan_cluster(topo)
    assert cluster.writes() == []
    plan.changes.reverse()
    applied, _, after = run.apply_plan(topo, plan)
    assert kinds(cluster.writes()) == ["cluster_settings", "remote_cluster", "follower_index",
                                       "auto_follow", "index", "alias", "registry"]
    starts = [r for r in cluster.writes() if r.path.endswith("/_start")]
    assert [r.body["leader_alias"] for r in starts] == ["dc1", "dc1"]
    assert cluster.auto_follow == {"logs-from-dc1": {"remote_cluster": "dc1", "pattern": "logs-*"}}
    assert after.drift == []
    cluster.requests.clear()
    assert run.plan_cluster(topo).drift == [] and cluster.writes() == []
    assert cluster.registry()["follower_index"] == ["events-dc1", "orders"]


def test_opensearch_changed_rule_and_destructive_follower(wire):
    topo, cluster = os_dc2(wire)
    run.apply_plan(topo, run.plan_cluster(topo))
    moved = copy.deepcopy(OS_ESTATE)
    moved["followers"][0]["leader_index"] = "orders-v2"
    moved["auto_follow"]["logs-from-dc1"]["leader_index_patterns"] = ["logs2-*"]
    topo = topology(moved, engine="opensearch")
    cluster.requests.clear()
    applied, skipped, _ = run.apply_plan(topo, run.plan_cluster(topo))
    assert [n.name for n in skipped] == ["orders"]
    assert [str(r) for r in cluster.writes()] == ["DELETE /_plugins/_replication/_autofollow",
                                                  "POST /_plugins/_replication/_autofollow"]
    cluster.requests.clear()
    run.apply_plan(topo, run.plan_cluster(topo), allow_destructive=True)
    assert [str(r) for r in cluster.writes()] == [
        "POST /_plugins/_replication/orders/_stop", "DELETE /orders",
        "PUT /_plugins/_replication/orders/_start"]
    assert cluster.indices["orders"].follow["leader_index"] == "orders-v2"
