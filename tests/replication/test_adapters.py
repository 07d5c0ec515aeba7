"""The engine adapters' pure parts, one named case per branch (table tests): the steps each
engine runs for a planned change, how OpenSearch's answers become the engine-neutral views, the
features each engine checks, and how run.py turns a feature check into a plan problem."""

from __future__ import annotations

import pytest

from esdr.desired import desired_for
from esdr.crossdc.estate import parse_estate
from esdr.reconcile import follower_index, run
from esdr.changes import Change
from esdr.replication import adapter_class, as_adapter
from esdr.replication.base import FeatureCheck
from esdr.replication.ccr import CcrReplication
from esdr.replication.opensearch import (
    OpenSearchReplication,
    auto_follows_from,
    follower_from_status,
    lag_from,
    plugin_problem,
    rule_remotes,
)
from tests.crossdc.fake_es import fake_client, fake_topology
from tests.replication.fake_os import ANY, fake_os_client, os_topology

AFTER = {"remote_cluster": "dc1", "leader_index": "orders", "status": "active"}
CHANGES = {
    "created": Change("follower_index", "orders", "created", None, AFTER),
    "deleted": Change("follower_index", "orders", "deleted", AFTER, None, destructive=True),
    "resume": Change("follower_index", "orders", "changed", {**AFTER, "status": "paused"}, AFTER),
    "recreate": Change("follower_index", "orders", "changed",
                       {**AFTER, "leader_index": "old"}, AFTER, destructive=True),
    "unchanged": Change("follower_index", "orders", "unchanged", AFTER, AFTER),
}
STEPS = {
    ("elasticsearch", "created"): ["follow"],
    ("elasticsearch", "deleted"): ["pause_follow", "close", "unfollow", "open"],
    ("elasticsearch", "resume"): ["resume_follow"],
    ("elasticsearch", "recreate"): ["pause_follow", "close", "unfollow", "delete", "follow"],
    ("elasticsearch", "unchanged"): [],
    ("opensearch", "created"): ["follow"],
    ("opensearch", "deleted"): ["stop"],
    ("opensearch", "resume"): ["resume"],
    ("opensearch", "recreate"): ["stop", "delete", "follow"],
    ("opensearch", "unchanged"): [],
}


@pytest.mark.parametrize("engine,case", sorted(STEPS))
def test_follow_steps_per_engine(engine, case):
    steps = follower_index.follow_steps(CHANGES[case], adapter_class(engine))
    assert [s for s, _ in steps] == STEPS[(engine, case)]
    assert all(index == "orders" for _, index in steps)


def test_every_step_an_adapter_plans_is_one_it_can_run():
    for cls in (CcrReplication, OpenSearchReplication):
        runnable = set(cls(object()).steps()) | {"follow", "close", "open", "delete"}
        planned = {s for c in CHANGES.values() for s, _ in cls.follow_steps(c)}
        assert planned | set(cls.WRITABLE) <= runnable, cls.engine


def test_a_failed_follower_is_recreated_destructively():
    failed = {**AFTER, "status": "failed"}
    from esdr.crossdc.estate import Follower

    (change,), _ = follower_index.plan_follower("orders", Follower("dc2", "orders", "dc1", "orders"),
                                                failed, set())
    assert change.action == "changed" and change.destructive


STATUS = {
    "SYNCING": ({"status": "SYNCING", "leader_alias": "dc1", "leader_index": "o"}, None, "active"),
    "BOOTSTRAPPING": ({"status": "BOOTSTRAPPING", "leader_alias": "dc1", "leader_index": "o"},
                      None, "active"),
    "PAUSED": ({"status": "PAUSED", "leader_alias": "dc1", "leader_index": "o"}, None, "paused"),
    "FAILED": ({"status": "FAILED", "leader_alias": "dc1", "leader_index": "o"}, None, "failed"),
    "not in progress, index there": ({"status": "REPLICATION NOT IN PROGRESS"}, True, {}),
    "not in progress, no index": ({"status": "REPLICATION NOT IN PROGRESS"}, False, None),
}


@pytest.mark.parametrize("case", sorted(STATUS))
def test_follower_from_status(case):
    status, exists, want = STATUS[case]
    view = follower_from_status(status, exists)
    if isinstance(want, str):
        assert (view["remote_cluster"], view["leader_index"], view["status"]) == ("dc1", "o", want)
    else:
        assert view == want


@pytest.mark.parametrize("case,status,stats,ops", [
    ("status wins", {"syncing_details": {"leader_checkpoint": 9, "follower_checkpoint": 4}},
     {"index_stats": {"o": {"leader_checkpoint": 4, "follower_checkpoint": 4}}}, 5),
    ("no syncing details -> follower_stats", {"status": "PAUSED"},
     {"index_stats": {"o": {"leader_checkpoint": 7, "follower_checkpoint": 4}}}, 3),
    ("never negative", {"syncing_details": {"leader_checkpoint": -1, "follower_checkpoint": 0}},
     None, 0),
    ("nothing known", None, {"index_stats": {}}, None),
])
def test_lag_from(case, status, stats, ops):
    assert lag_from("o", status, stats).operations == ops


def test_rules_get_their_leader_alias_from_the_persistent_task_id():
    state = {"metadata": {"persistent_tasks": {"tasks": [
        {"id": "autofollow:dc1:logs"}, {"id": "replication:index:orders"}]}}}
    assert rule_remotes(state) == {"logs": "dc1"}
    assert rule_remotes({}) == {}
    stats = {"autofollow_stats": [{"name": "logs", "pattern": "logs-*"},
                                  {"name": "lost", "pattern": "x-*"}]}
    rules = auto_follows_from(stats, rule_remotes(state))
    assert rules["logs"] == {"remote_cluster": "dc1", "leader_index_patterns": ["logs-*"],
                             "leader_index_exclusion_patterns": [],
                             "follow_index_pattern": "{{leader_index}}", "active": True}
    assert rules["lost"]["remote_cluster"] is None


@pytest.mark.parametrize("case,nodes,missing", [
    ("on every node", {"nodes": {"a": {"name": "n1", "plugins": [
        {"name": "opensearch-cross-cluster-replication"}]}}}, None),
    ("missing on one", {"nodes": {"a": {"name": "n1", "plugins": []}}}, "node(s) n1"),
    ("no answer", {}, "no node reported"),
])
def test_plugin_problem(case, nodes, missing):
    problem = plugin_problem(nodes, "os-dc1")
    assert (problem is None) if missing is None else (missing in problem and "os-dc1" in problem)


ESTATE = {
    "_source": "t.yml",
    "clusters": {"dc1": {"cluster_name": "os-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "os-dc2", "seeds": ["10.0.2.4:9300"]}},
    "links": [{"from": "dc2", "to": "dc1"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1"}],
}


def test_an_opensearch_leader_checks_the_plugin_too_elasticsearch_does_not():
    leader = desired_for(parse_estate(ESTATE), os_topology("os-dc1"))
    follower = desired_for(parse_estate(ESTATE), os_topology("os-dc2"))
    assert leader.leads and not leader.needs and not follower.leads
    assert OpenSearchReplication(object()).needs(leader.needs, leader.leads) == {"ccr"}
    assert CcrReplication(object()).needs(leader.needs, leader.leads) == set()


def test_adapter_is_chosen_by_the_client_kind():
    es, _ = fake_client([], fake_topology())
    api, _ = fake_os_client([])
    assert type(as_adapter(es)) is CcrReplication and type(as_adapter(api)) is OpenSearchReplication
    adapter = as_adapter(api)
    assert as_adapter(adapter) is adapter and adapter.replicator is api


class _Checks:
    def __init__(self, results: dict[str, FeatureCheck]):
        self.results = results

    def needs(self, wanted, leads):
        return set(wanted) | ({"ccr"} if leads else set())

    def check_feature(self, feature, cluster, licence_choice):
        return self.results[feature]


def test_plan_turns_a_failed_feature_check_into_one_problem_and_a_trial_into_a_change():
    desired = desired_for(parse_estate(ESTATE), os_topology("os-dc1"))
    plan = run.ClusterPlan("os-dc1", "dc1")
    missing = FeatureCheck("ccr", "cross-cluster replication is not available on cluster os-dc1")
    assert run._features(_Checks({"ccr": missing}), desired, {}, plan) == set()
    assert plan.problems == [missing.problem] and plan.changes == []
    plan = run.ClusterPlan("c", "dc1")
    trial = FeatureCheck("ccr", None, trial=True, licence_type="basic")
    assert run._features(_Checks({"ccr": trial}), desired, {}, plan) == {"ccr"}
    assert [(c.kind, c.name, c.before) for c in plan.changes] == [("licence", "trial",
                                                                   {"type": "basic"})]


def test_a_refusal_while_applying_is_one_line_naming_the_object():
    from esdr.errors import EsdrError

    api, wire = fake_os_client([
        ("PUT", "/_plugins/_replication/orders/_start", ANY, 400,
         {"error": {"type": "illegal_argument_exception",
                    "reason": "Cant use same index again for replication. Delete the index:orders"},
          "status": 400}),
    ])
    clients = run.Clients(api, (api,), as_adapter(api))
    change = Change("follower_index", "orders", "created", None, AFTER)
    with pytest.raises(EsdrError) as raised:
        run._apply_one(clients, change, "os-dc2")
    wire.done()
    text = str(raised.value)
    assert text.startswith("cluster os-dc2: follower_index orders created: refused by the cluster")
    assert "Cant use same index again" in text and "\n" not in text
