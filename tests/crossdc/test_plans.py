"""Pure plan functions: one named case per branch (table tests)."""

from __future__ import annotations

import pytest

from esdr.desired import DesiredAlias
from esdr.crossdc.estate import Follower
from esdr.reconcile import alias, auto_follow, cluster_settings, follower_index, slm_policy
from esdr.reconcile import snapshot_repository as repo

SNIFF = {"mode": "sniff", "seeds": ["10.0.2.4:9300"], "skip_unavailable": True}
AS_STORED = {"cluster.remote.dc2.mode": "sniff", "cluster.remote.dc2.seeds": ["10.0.2.4:9300"],
             "cluster.remote.dc2.skip_unavailable": "true"}

REMOTE = {
    "absent, wanted -> created": ("dc2", SNIFF, {}, set(), ["created"], 0),
    "same as stored strings -> unchanged": ("dc2", SNIFF, AS_STORED, set(), ["unchanged"], 0),
    "seed changed by hand -> changed": (
        "dc2", SNIFF, {**AS_STORED, "cluster.remote.dc2.seeds": ["10.0.2.9:9300"]}, set(),
        ["changed"], 0),
    "managed, no longer wanted -> deleted": ("dc2", None, AS_STORED, {"dc2"}, ["deleted"], 0),
    "foreign alias -> note, untouched": ("dc2", None, AS_STORED, set(), [], 1),
    "absent and unwanted -> nothing": ("dc2", None, {}, {"dc2"}, [], 0),
}


@pytest.mark.parametrize("case", sorted(REMOTE))
def test_remote_cluster(case):
    alias_, desired, persistent, managed, actions, notes = REMOTE[case]
    changes, found = cluster_settings.plan_remote_cluster(alias_, desired, persistent, managed)
    assert [c.action for c in changes] == actions
    assert len(found) == notes


def test_remote_mode_switch_nulls_the_stale_keys():
    proxy = {"mode": "proxy", "proxy_address": "lb:9300", "skip_unavailable": True}
    (change,), _ = cluster_settings.plan_remote_cluster("dc2", proxy, AS_STORED, set())
    body = cluster_settings.settings_body(change)
    assert body["cluster.remote.dc2.seeds"] is None
    assert body["cluster.remote.dc2.proxy_address"] == "lb:9300"


def test_remote_deleted_sends_null_for_every_key():
    (change,), _ = cluster_settings.plan_remote_cluster("dc2", None, AS_STORED, {"dc2"})
    assert set(cluster_settings.settings_body(change).values()) == {None}


AWARE = {"cluster.routing.allocation.awareness.attributes": "zone",
         "cluster.routing.allocation.awareness.force.zone.values": "az1,az2"}


@pytest.mark.parametrize("case,persistent,action", [
    ("never set -> created", {}, "created"),
    ("as the model -> unchanged", dict(AWARE), "unchanged"),
    ("forced values altered -> changed",
     {**AWARE, "cluster.routing.allocation.awareness.force.zone.values": "az1"}, "changed"),
])
def test_awareness(case, persistent, action):
    assert [c.action for c in cluster_settings.plan_awareness(AWARE, persistent)] == [action]


WRITER = {"type": "fs", "settings": {"location": "/mnt/snap"}}
READER = {"type": "fs", "settings": {"location": "/mnt/snap", "readonly": True}}

REPOS = {
    "missing -> created": ("dr", WRITER, None, set(), ["created"], 0),
    "readonly as stored -> unchanged": (
        "dr", READER, {"type": "fs", "settings": {"location": "/mnt/snap", "readonly": "true"}},
        set(), ["unchanged"], 0),
    "readonly dropped by hand -> changed": ("dr", READER, WRITER, set(), ["changed"], 0),
    "managed, unwanted -> deleted": ("dr", None, WRITER, {"dr"}, ["deleted"], 0),
    "foreign -> note": ("backup", None, WRITER, set(), [], 1),
}


@pytest.mark.parametrize("case", sorted(REPOS))
def test_snapshot_repository(case):
    name, desired, observed, managed, actions, notes = REPOS[case]
    changes, found = repo.plan_snapshot_repository(name, desired, observed, managed)
    assert [c.action for c in changes] == actions and len(found) == notes


POLICY = {"schedule": "0 30 1 * * ?", "name": "<n-{now/d}>", "repository": "dr",
          "config": {"indices": ["*"]}, "retention": {}}

SLM = {
    "missing -> created": (POLICY, None, set(), ["created"], 0),
    "same -> unchanged": (POLICY, {k: v for k, v in POLICY.items() if v}, set(), ["unchanged"], 0),
    "schedule edited -> changed": (POLICY, {**POLICY, "schedule": "0 0 * * * ?"}, set(),
                                   ["changed"], 0),
    "managed, unwanted -> deleted": (None, POLICY, {"p"}, ["deleted"], 0),
    "foreign -> note": (None, POLICY, set(), [], 1),
}


@pytest.mark.parametrize("case", sorted(SLM))
def test_slm_policy(case):
    desired, observed, managed, actions, notes = SLM[case]
    changes, found = slm_policy.plan_slm_policy("p", desired, observed, managed)
    assert [c.action for c in changes] == actions and len(found) == notes


F = Follower("dc2", "orders", "dc1", "orders")
ACTIVE = {"follower_index": "orders", "remote_cluster": "dc1", "leader_index": "orders",
          "status": "active"}

FOLLOW = {
    "absent -> created (follow)": (F, None, set(), set(), True, ["created"], False, [("follow", "orders")]),
    "absent, remote down -> blocking note": (F, None, set(), set(), False, [], True, []),
    "active -> unchanged": (F, ACTIVE, set(), set(), True, ["unchanged"], False, []),
    "paused -> changed (resume)": (F, {**ACTIVE, "status": "paused"}, set(), set(), True,
                                   ["changed"], False, [("resume_follow", "orders")]),
    "new leader -> destructive recreate": (
        F, {**ACTIVE, "leader_index": "orders-v1"}, set(), set(), True, ["changed"], False,
        [("pause_follow", "orders"), ("close", "orders"), ("unfollow", "orders"),
         ("delete", "orders"), ("follow", "orders")]),
    "regular index in the way -> blocking note": (F, {}, set(), set(), True, [], True, []),
    "managed, unwanted -> deleted (unfollow, data kept)": (
        None, ACTIVE, {"orders"}, set(), True, ["deleted"], False,
        [("pause_follow", "orders"), ("close", "orders"), ("unfollow", "orders"),
         ("open", "orders")]),
    "promoted -> held": (F, {}, {"orders"}, {"orders"}, True, [], False, []),
}


@pytest.mark.parametrize("case", sorted(FOLLOW))
def test_follower_index(case):
    desired, observed, managed, promoted, connected, actions, blocking, steps = FOLLOW[case]
    changes, notes = follower_index.plan_follower("orders", desired, observed, managed,
                                                  promoted, connected)
    assert [c.action for c in changes] == actions
    assert any(n.blocking for n in notes) == blocking
    assert [s for c in changes for s in follower_index.follow_steps(c)] == steps


PATTERN = {"remote_cluster": "dc1", "leader_index_patterns": ["app-*"],
           "leader_index_exclusion_patterns": ["*-copy"], "follow_index_pattern": "{{leader_index}}-copy"}

AUTO = {
    "missing -> created": (PATTERN, None, set(), ["created"]),
    "same and active -> unchanged": (PATTERN, {**PATTERN, "active": True}, set(), ["unchanged"]),
    "paused -> changed": (PATTERN, {**PATTERN, "active": False}, set(), ["changed"]),
    "patterns edited -> changed": (PATTERN, {**PATTERN, "leader_index_patterns": ["x-*"],
                                             "active": True}, set(), ["changed"]),
    "managed, unwanted -> deleted": (None, {**PATTERN, "active": True}, {"p"}, ["deleted"]),
    "foreign -> untouched": (None, {**PATTERN, "active": True}, set(), []),
}


@pytest.mark.parametrize("case", sorted(AUTO))
def test_auto_follow(case):
    desired, observed, managed, actions = AUTO[case]
    changes, _ = auto_follow.plan_auto_follow("p", desired, observed, managed)
    assert [c.action for c in changes] == actions


LOGS = DesiredAlias("logs", {"logs-dc1": True, "logs-dc2": False})
ALIAS = {
    "missing -> created": (LOGS, None, {"logs-dc1", "logs-dc2"}, set(), False, ["created"]),
    "same -> unchanged": (LOGS, {"logs-dc1": True, "logs-dc2": False}, {"logs-dc1", "logs-dc2"},
                          set(), False, ["unchanged"]),
    "write flag moved by hand -> changed": (LOGS, {"logs-dc1": False, "logs-dc2": True},
                                            {"logs-dc1", "logs-dc2"}, set(), False, ["changed"]),
    "follower not there yet -> local only": (LOGS, None, {"logs-dc1"}, set(), False, ["created"]),
    "managed, unwanted -> deleted": (None, {"logs-dc1": True}, set(), {"logs"}, False, ["deleted"]),
    "held after promote -> nothing": (LOGS, {"logs-dc1": True}, {"logs-dc1"}, set(), True, []),
}


def test_a_followers_aliases_are_replications_not_esdrs():
    """Replication copies the leader's aliases onto the follower (elastic/elasticsearch#41396,
    OpenSearch's plugin likewise): esdr plans only the local members."""
    read = DesiredAlias("logs", {"logs-dc1": False, "logs-dc2": False})
    mirrored = {"logs-dc1": True, "logs-dc2": False}  # the follower logs-dc1 came with a flag
    changes, _ = alias.plan_alias("logs", read, mirrored, {"logs-dc1", "logs-dc2"}, set(),
                                  replicated={"logs-dc1"})
    assert [(c.action, c.before, c.after) for c in changes] == [
        ("unchanged", {"logs-dc2": False}, {"logs-dc2": False})]
    write = DesiredAlias("orders-w", {"orders": False})  # the follower side of a write alias
    assert alias.plan_alias("orders-w", write, {"orders": True}, {"orders"}, set(),
                            replicated={"orders"}) == ([], [])


@pytest.mark.parametrize("case", sorted(ALIAS))
def test_alias(case):
    desired, observed, existing, managed, held, actions = ALIAS[case]
    changes, _ = alias.plan_alias("logs", desired, observed, existing, managed, held)
    assert [c.action for c in changes] == actions


def test_alias_actions_are_one_atomic_request_with_explicit_write_flags():
    (change,), _ = alias.plan_alias("logs", LOGS, {"logs-old": True}, {"logs-dc1", "logs-dc2"},
                                    set())
    assert alias.alias_actions(change) == [
        {"remove": {"index": "logs-old", "alias": "logs"}},
        {"add": {"index": "logs-dc1", "alias": "logs", "is_write_index": True}},
        {"add": {"index": "logs-dc2", "alias": "logs", "is_write_index": False}},
    ]
