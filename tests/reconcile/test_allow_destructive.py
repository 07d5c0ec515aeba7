"""Destructive changes need a switch, on the command line and in the deploy, and are recorded.

``esdr apply INVENTORY [--allow-destructive]`` and the deploy's ``--data allow_destructive=true``
run against the stateful fake cluster (``fake_cluster.py``): a follower whose leader changed
must be unfollowed and recreated, which cannot be undone. Without the switch it is listed and
skipped (``esdr apply`` exits 3); with it, it is made, printed, listed in ``--json`` and kept in
the cluster's ``esdr-managed`` registry.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from pyinfra.api.exceptions import OperationValueError

from esdr.cli import apply as apply_command
from esdr.cli.main import cli
from esdr.reconcile import registry, run
from esdr.tasks import post_deploy
from tests.reconcile.conftest import ES_ESTATE, topology
from tests.reconcile.test_plan_apply import converged, kind_of

INVENTORY = "inventories/t_dc2.py"
RECREATE = ["POST /orders/_ccr/pause_follow", "POST /orders/_close", "POST /orders/_ccr/unfollow",
            "DELETE /orders", "PUT /orders/_ccr/follow"]


def _moved_leader():
    """The estate after the follower ``orders`` was pointed at another leader index."""
    moved = copy.deepcopy(ES_ESTATE)
    moved["followers"][0]["leader_index"] = "orders-v2"
    return topology(moved)


@pytest.fixture
def leader_moved(wire, monkeypatch):
    """DC2 converged on the estate, then the estate moves the follower's leader."""
    _, cluster = converged(wire)
    moved = _moved_leader()
    monkeypatch.setattr(apply_command, "topology_of", lambda inventory: moved)
    return moved, cluster


def _apply(*args: str):
    result = CliRunner().invoke(cli, ["--json", "apply", INVENTORY, *args])
    return result.exit_code, json.loads(result.output)


def _follow_writes(cluster) -> list[str]:
    return [str(r) for r in cluster.writes() if not r.path.startswith("/esdr-managed")]


def test_apply_lists_and_skips_a_destructive_change_without_the_switch_exit_3(leader_moved):
    _, cluster = leader_moved
    code, out = _apply()
    assert code == 3
    assert out["destructive_pending"] == ["follower_index orders: changed"]
    assert out["destructive_skipped"] == ["follower_index orders"]
    assert out["applied"] == [] and out["destructive_applied"] == []
    assert any("DESTRUCTIVE: needs --allow-destructive" in m for m in out["messages"])
    assert any("rerun with --allow-destructive" in e for e in out["errors"])
    assert _follow_writes(cluster) == []
    assert cluster.indices["orders"].follow["leader_index"] == "orders"
    assert registry.DESTRUCTIVE not in cluster.registry()


def test_apply_with_allow_destructive_makes_the_change_and_records_it(leader_moved):
    _, cluster = leader_moved
    code, out = _apply("--allow-destructive")
    assert code == 0, out
    assert _follow_writes(cluster) == RECREATE
    assert cluster.indices["orders"].follow["leader_index"] == "orders-v2"
    assert out["destructive_applied"] == ["follower_index orders: changed"]
    assert out["destructive_skipped"] == []
    assert any("DESTRUCTIVE, allowed by --allow-destructive" in m for m in out["messages"])
    (entry,) = cluster.registry()[registry.DESTRUCTIVE]
    assert {k: entry[k] for k in ("kind", "name", "action", "by")} == {
        "kind": "follower_index", "name": "orders", "action": "changed",
        "by": "esdr apply --allow-destructive"}
    assert entry["at"]
    # the record is not drift: the next plan is empty and a second apply has nothing to do
    assert run.plan_cluster(_moved_leader()).needs_write is False
    code, out = _apply("--allow-destructive")
    assert code == 0 and out["applied"] == [] and out["destructive_pending"] == []


def test_apply_on_a_converged_cluster_exits_0_and_writes_nothing(wire, monkeypatch):
    topo, cluster = converged(wire)
    monkeypatch.setattr(apply_command, "topology_of", lambda inventory: topo)
    code, out = _apply()
    assert code == 0 and out["applied"] == []
    assert any("nothing to apply" in m for m in out["messages"])
    assert cluster.writes() == []


@pytest.mark.parametrize("data, allowed", [({}, False), ({"allow_destructive": False}, False),
                                           ({"allow_destructive": True}, True)])
def test_the_deploy_reads_allow_destructive_from_pyinfra_data(monkeypatch, data, allowed):
    monkeypatch.setattr(post_deploy, "host", SimpleNamespace(data=data))
    assert post_deploy.destructive_switch() is allowed


def test_the_deploy_refuses_an_allow_destructive_that_is_not_a_boolean(monkeypatch):
    monkeypatch.setattr(post_deploy, "host", SimpleNamespace(data={"allow_destructive": "yes"}))
    with pytest.raises(OperationValueError, match="allow_destructive must be true or false"):
        post_deploy.destructive_switch()


def _deploy_apply(topo, allow: bool, capsys) -> tuple[bool, list[str]]:
    ok = post_deploy._apply(None, None, topo, run.plan_cluster(topo), allow)
    return ok, capsys.readouterr().err.splitlines()


def test_the_deploy_without_the_switch_skips_and_says_how_to_allow(leader_moved, capsys):
    moved, cluster = leader_moved
    ok, lines = _deploy_apply(moved, False, capsys)
    assert ok is True
    assert _follow_writes(cluster) == []
    assert any("rerun the deploy with --data allow_destructive=true" in line for line in lines)


def test_the_deploy_with_the_switch_makes_and_records_the_change(leader_moved, capsys):
    moved, cluster = leader_moved
    ok, lines = _deploy_apply(moved, True, capsys)
    assert ok is True
    assert _follow_writes(cluster) == RECREATE
    assert any("follower_index orders changed (DESTRUCTIVE, allowed by allow_destructive=true"
               in line for line in lines)
    (entry,) = cluster.registry()[registry.DESTRUCTIVE]
    assert entry["by"] == "deploy --data allow_destructive=true"


# --- deleting what esdr created: a link, its followers, an auto-follow rule, an SLM policy ------
def _unlinked():
    """The estate after DC2's link to DC1 left it, with everything that used the link: the
    follower ``orders``, the auto-follow rule, the bidirectional pair ``events`` (its follower
    ``events-dc1`` and alias) and the SLM policy."""
    smaller = copy.deepcopy(ES_ESTATE)
    smaller["links"] = [{"from": "dc1", "to": "dc2"}]
    smaller["followers"], smaller["bidirectional"] = [], {}
    smaller["auto_follow"], smaller["slm"] = {}, {}
    return topology(smaller)


UNLINKED = ["alias events: deleted", "auto_follow logs-from-dc1: deleted",
            "follower_index events-dc1: deleted", "follower_index orders: deleted",
            "remote_cluster dc1: deleted", "slm_policy nightly: deleted"]


@pytest.fixture
def unlinked(wire, monkeypatch):
    """DC2 converged on the estate, then the estate drops its link to DC1 and what used it."""
    _, cluster = converged(wire)
    smaller = _unlinked()
    monkeypatch.setattr(apply_command, "topology_of", lambda inventory: smaller)
    return smaller, cluster


def test_removing_a_link_and_its_users_deletes_nothing_without_the_switch(unlinked):
    smaller, cluster = unlinked
    before = copy.deepcopy((cluster.persistent, cluster.slm, cluster.auto_follow,
                            cluster.registry()))
    plan = run.plan_cluster(smaller)
    assert sorted(f"{c.kind} {c.name}: {c.action}" for c in plan.drift) == UNLINKED
    assert all(c.destructive for c in plan.drift)
    code, out = _apply()
    assert code == 3
    assert sorted(out["destructive_pending"]) == UNLINKED
    assert out["applied"] == [] and out["destructive_applied"] == []
    assert cluster.writes() == []  # no DELETE, no remote nulled, no alias removed, no registry
    assert (cluster.persistent, cluster.slm, cluster.auto_follow, cluster.registry()) == before
    assert cluster.remotes() == {"dc1"}
    assert cluster.indices["orders"].follow["remote_cluster"] == "dc1"


def test_removing_a_link_and_its_users_with_the_switch_removes_the_followers_before_it(unlinked):
    smaller, cluster = unlinked
    code, out = _apply("--allow-destructive")
    assert code == 0, out
    assert sorted(out["destructive_applied"]) == UNLINKED
    # unfollowing is pause_follow, close, unfollow, open: all the follower's
    writes = [kind_of(r) if not r.path.endswith(("/_close", "/_open")) else "follower_index"
              for r in cluster.writes()]
    assert [k for i, k in enumerate(writes) if i == 0 or writes[i - 1] != k] == [
        "alias", "auto_follow", "follower_index", "slm_policy", "remote_cluster", "registry"]
    last_user = max(i for i, k in enumerate(writes) if k in ("follower_index", "auto_follow"))
    assert last_user < writes.index("remote_cluster")
    assert cluster.remotes() == set() and not cluster.auto_follow and not cluster.slm
    assert cluster.indices["orders"].follow is None and cluster.indices["events-dc1"].follow is None


def test_a_remote_still_used_by_a_rule_esdr_does_not_remove_is_kept_with_a_note(unlinked):
    smaller, cluster = unlinked
    cluster.auto_follow["theirs"] = {"active": True, "remote_cluster": "dc1",
                                     "leader_index_patterns": ["t-*"],
                                     "leader_index_exclusion_patterns": [],
                                     "follow_index_pattern": "{{leader_index}}"}
    plan = run.plan_cluster(smaller)
    assert "remote_cluster dc1: deleted" not in [f"{c.kind} {c.name}: {c.action}"
                                                 for c in plan.drift]
    (note,) = [n for n in plan.notes if n.kind == "remote_cluster"]
    assert note.blocking and "not deleted: still used by auto-follow rule theirs" in note.message
    run.apply_plan(smaller, plan, allow_destructive=True)
    assert cluster.remotes() == {"dc1"} and "theirs" in cluster.auto_follow
    assert "dc1" in cluster.registry()["remote_cluster"]  # still esdr's: deleted once unused
