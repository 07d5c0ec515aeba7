"""Contract: the requests esdr sends to OpenSearch's cross-cluster-replication plugin, and how it
reads the answers, against the documented API contract
(https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/api/: start, stop,
pause, resume, status, follower stats, auto-follow stats, create and delete replication rule) and
the plugin's REST handlers (tag 2.19.6.0). The fake sits under opensearch-py at the HTTP layer.
These tests check the documented contract only; the real plugin is proved by the lab tests.
"""

from __future__ import annotations

import pytest

from esdr.crossdc.estate import Follower
from esdr.es import client
from esdr.reconcile import auto_follow, follower_index
from esdr.changes import Change
from esdr.replication import as_adapter
from esdr.replication.opensearch import OpenSearchReplication
from esdr.security.config import REPLICATION_FOLLOWER_ROLE, REPLICATION_LEADER_ROLE
from tests.replication.fake_os import ACK, ANY, fake_os_client, not_found

USE_ROLES = {"leader_cluster_role": REPLICATION_LEADER_ROLE,
             "follower_cluster_role": REPLICATION_FOLLOWER_ROLE}
START = {"leader_alias": "my-connection-alias", "leader_index": "leader-01", "use_roles": USE_ROLES}
R = "/_plugins/_replication"
# The documented example response of GET _plugins/_replication/<follower-index>/_status.
SYNCING = {"status": "SYNCING", "reason": "User initiated", "leader_alias": "my-connection-name",
           "leader_index": "leader-01", "follower_index": "follower-01",
           "syncing_details": {"leader_checkpoint": 19, "follower_checkpoint": 19, "seq_no": 0}}
NOT_IN_PROGRESS = {"status": "REPLICATION NOT IN PROGRESS"}
FOLLOWER_STATS = {
    "num_syncing_indices": 1, "num_bootstrapping_indices": 0, "num_paused_indices": 0,
    "num_failed_indices": 0, "num_shard_tasks": 1, "num_index_tasks": 1, "operations_written": 3,
    "operations_read": 3, "failed_read_requests": 0, "throttled_read_requests": 0,
    "failed_write_requests": 0, "throttled_write_requests": 0, "follower_checkpoint": 1,
    "leader_checkpoint": 1, "total_write_time_millis": 2290,
    "index_stats": {"follower-01": {
        "operations_written": 2, "operations_read": 2, "failed_read_requests": 0,
        "throttled_read_requests": 0, "failed_write_requests": 0, "throttled_write_requests": 0,
        "follower_checkpoint": 1, "leader_checkpoint": 4, "total_write_time_millis": 1355}},
}
AUTOFOLLOW_STATS = {
    "num_success_start_replication": 2, "num_failed_start_replication": 0,
    "num_failed_leader_calls": 0, "failed_indices": [],
    "autofollow_stats": [{"name": "my-replication-rule", "pattern": "movies*",
                          "num_success_start_replication": 2, "num_failed_start_replication": 0,
                          "num_failed_leader_calls": 0, "failed_indices": []}],
}
# The rule's persistent task, as the plugin names it: autofollow:<leader alias>:<rule name>.
TASKS = {"metadata": {"persistent_tasks": {"tasks": [
    {"id": "autofollow:my-connection-alias:my-replication-rule"}]}}}
FAILED_STATUS = {"error": {"root_cause": [{"type": "replication_exception",
                                           "reason": "failed to fetch replication status"}],
                           "type": "replication_exception",
                           "reason": "failed to fetch replication status"}, "status": 500}
WANT = Follower("dc2", "follower-01", "my-connection-alias", "leader-01")


def test_contract_start_sends_leader_alias_index_and_use_roles():
    api, wire = fake_os_client([(f"PUT", f"{R}/follower-01/_start", START, 200, ACK)])
    changes, _ = follower_index.plan_follower("follower-01", WANT, None, set())
    follower_index.apply_followers(api, changes)
    wire.done()


@pytest.mark.parametrize("case,answers,view", [
    ("syncing -> active", [("GET", f"{R}/follower-01/_status", None, 200, SYNCING)],
     {"remote_cluster": "my-connection-name", "leader_index": "leader-01", "status": "active"}),
    ("paused", [("GET", f"{R}/follower-01/_status", None, 200,
                 {**SYNCING, "status": "PAUSED", "reason": "User initiated"})],
     {"remote_cluster": "my-connection-name", "leader_index": "leader-01", "status": "paused"}),
    ("not in progress, index exists -> regular index",
     [("GET", f"{R}/follower-01/_status", None, 200, NOT_IN_PROGRESS),
      ("HEAD", "/follower-01", None, 200, {})], {}),
    ("not in progress, no index -> absent",
     [("GET", f"{R}/follower-01/_status", None, 200, NOT_IN_PROGRESS),
      ("HEAD", "/follower-01", None, 404, {})], None),
    ("leader down -> unknown", [("GET", f"{R}/follower-01/_status", None, 500, FAILED_STATUS)],
     {"remote_cluster": None, "leader_index": None, "status": "unknown"}),
])
def test_contract_status_is_read_as_the_follower_view(case, answers, view):
    api, wire = fake_os_client(answers)
    observed = follower_index.observe_followers(api, {"follower-01"})["follower-01"]
    wire.done()
    if view is None or view == {}:
        assert observed == view
    else:
        assert {k: observed[k] for k in view} == view


def test_contract_status_unknown_blocks_instead_of_guessing():
    observed = {"remote_cluster": None, "leader_index": None, "status": "unknown", "reason": "x"}
    changes, notes = follower_index.plan_follower("follower-01", WANT, observed, set())
    assert changes == [] and notes[0].blocking and "leader down" in notes[0].message


def test_contract_pause_then_resume_through_the_plan():
    api, wire = fake_os_client([
        ("POST", f"{R}/follower-01/_pause", {}, 200, ACK),
        ("GET", f"{R}/follower-01/_status", None, 200, {**SYNCING, "status": "PAUSED",
                                                       "leader_alias": "my-connection-alias"}),
        ("POST", f"{R}/follower-01/_resume", {}, 200, ACK),
    ])
    adapter = as_adapter(api)
    adapter.run("pause", "follower-01")
    observed = adapter.follower("follower-01")
    changes, _ = follower_index.plan_follower("follower-01", WANT, observed, set())
    assert [(c.action, c.destructive) for c in changes] == [("changed", False)]
    follower_index.apply_followers(adapter, changes)
    wire.done()


def test_contract_stop_turns_an_unwanted_follower_into_a_regular_index():
    api, wire = fake_os_client([("POST", f"{R}/follower-01/_stop", {}, 200, ACK)])
    active = {"remote_cluster": "my-connection-alias", "leader_index": "leader-01",
              "status": "active"}
    changes, _ = follower_index.plan_follower("follower-01", None, active, {"follower-01"})
    assert changes[0].destructive
    follower_index.apply_followers(api, changes)
    wire.done()


def test_contract_new_leader_stops_deletes_then_starts_on_an_absent_index():
    """_start refuses an existing index ("Cant use same index again for replication")."""
    api, wire = fake_os_client([
        ("POST", f"{R}/follower-01/_stop", {}, 200, ACK),
        ("DELETE", "/follower-01", None, 200, ACK),
        ("PUT", f"{R}/follower-01/_start", START, 200, ACK),
    ])
    old = {"remote_cluster": "my-connection-alias", "leader_index": "leader-00", "status": "active"}
    changes, _ = follower_index.plan_follower("follower-01", WANT, old, set())
    follower_index.apply_followers(api, changes)
    wire.done()


def test_contract_lag_is_leader_minus_follower_checkpoint_from_status():
    api, wire = fake_os_client([
        ("GET", f"{R}/follower-01/_status", None, 200,
         {**SYNCING, "syncing_details": {"leader_checkpoint": 25, "follower_checkpoint": 19,
                                         "seq_no": 0}}),
    ])
    lag = as_adapter(api).lag("follower-01")
    wire.done()
    assert lag.operations == 6 and lag.line() == "follower-01: 6 operation(s) behind the leader"
    assert lag.live and lag.current and lag.follower_checkpoint == 19


def test_contract_lag_with_the_leader_down_is_not_current_and_keeps_the_follower_checkpoint():
    api, wire = fake_os_client([
        ("GET", f"{R}/follower-01/_status", None, 500, FAILED_STATUS),
        ("GET", f"{R}/follower_stats", None, 200, FOLLOWER_STATS),
    ])
    lag = as_adapter(api).lag("follower-01")
    wire.done()
    # follower_stats' leader checkpoint is the last one the follower read: not a lag of now
    assert not lag.live and not lag.current
    assert lag.follower_checkpoint == 1
    assert "cannot read the leader's checkpoint now (500)" in lag.note
    assert "as of the follower's last read" in lag.line()


def test_contract_lag_with_the_leader_down_and_no_follower_stats_still_answers():
    api, wire = fake_os_client([
        ("GET", f"{R}/follower-01/_status", None, 500, FAILED_STATUS),
        ("GET", f"{R}/follower_stats", None, 500, FAILED_STATUS),
    ])
    lag = as_adapter(api).lag("follower-01")  # a statistic never stops a promotion
    wire.done()
    assert lag.operations is None and not lag.current and "(500)" in lag.note


def test_contract_lag_of_a_paused_follower_falls_back_to_follower_stats():
    api, wire = fake_os_client([
        ("GET", f"{R}/follower-01/_status", None, 200, {**SYNCING, "status": "PAUSED",
                                                       "syncing_details": None}),
        ("GET", f"{R}/follower_stats", None, 200, FOLLOWER_STATS),
    ])
    lag = as_adapter(api).lag("follower-01")
    wire.done()
    assert lag.operations == 3 and not lag.current and "replication is PAUSED" in lag.note


RULE = {"remote_cluster": "my-connection-alias", "leader_index_patterns": ["movies*"],
        "leader_index_exclusion_patterns": [], "follow_index_pattern": "{{leader_index}}"}
CREATE = {"leader_alias": "my-connection-alias", "name": "my-replication-rule",
          "pattern": "movies*", "use_roles": USE_ROLES}
DELETE = {"leader_alias": "my-connection-alias", "name": "my-replication-rule"}


def test_contract_replication_rule_create_observe_change_delete():
    api, wire = fake_os_client([
        ("GET", f"{R}/autofollow_stats", None, 200, {**AUTOFOLLOW_STATS, "autofollow_stats": []}),
        ("POST", f"{R}/_autofollow", CREATE, 200, ACK),
        ("GET", f"{R}/autofollow_stats", None, 200, AUTOFOLLOW_STATS),
        ("GET", "/_cluster/state/metadata?filter_path=metadata.persistent_tasks.tasks.id", None,
         200, TASKS),
        # a new pattern: the plugin cannot update a rule, so delete + create
        ("DELETE", f"{R}/_autofollow", DELETE, 200, ACK),
        ("POST", f"{R}/_autofollow", {**CREATE, "pattern": "films*"}, 200, ACK),
        ("DELETE", f"{R}/_autofollow", DELETE, 200, ACK),
    ])
    desired = {"my-replication-rule": dict(RULE)}
    changes, _ = auto_follow.plan_auto_follows(desired, auto_follow.observe_auto_follow(api), set())
    assert [c.action for c in changes] == ["created"]
    auto_follow.apply_auto_follows(api, changes)
    observed = auto_follow.observe_auto_follow(api)
    changes, _ = auto_follow.plan_auto_follows(desired, observed, set())
    assert [c.action for c in changes] == ["unchanged"]
    edited = {"my-replication-rule": {**RULE, "leader_index_patterns": ["films*"]}}
    changes, _ = auto_follow.plan_auto_follows(edited, observed, set())
    auto_follow.apply_auto_follows(api, changes)
    changes, _ = auto_follow.plan_auto_follows({}, observed, {"my-replication-rule"})
    assert [c.action for c in changes] == ["deleted"]
    auto_follow.apply_auto_follows(api, changes)
    wire.done()


NODES = {"_nodes": {"total": 2, "successful": 2, "failed": 0}, "cluster_name": "os-dc2", "nodes": {
    "a": {"name": "os-dc2-1", "plugins": [{"name": "opensearch-cross-cluster-replication"},
                                          {"name": "opensearch-security"}]},
    "b": {"name": "os-dc2-2", "plugins": [{"name": "opensearch-security"}]},
}}


def test_contract_plugin_check_names_the_node_the_cluster_and_the_fix():
    api, wire = fake_os_client([("GET", "/_nodes/plugins", None, 200, NODES)])
    check = as_adapter(api).check_feature("ccr", "os-dc2", "basic")
    wire.done()
    assert "cluster os-dc2" in check.problem and "os-dc2-2" in check.problem
    assert "os-dc2-1" not in check.problem and "es_plugins" in check.problem and not check.trial


def test_contract_plugin_on_every_node_is_usable_without_a_licence():
    both = {**NODES, "nodes": {**NODES["nodes"], "b": NODES["nodes"]["a"]}}
    api, wire = fake_os_client([("GET", "/_nodes/plugins", None, 200, both)])
    assert as_adapter(api).check_feature("ccr", "os-dc2", "trial").problem is None
    wire.done()  # no _license call: OpenSearch has no licence


def test_contract_generic_endpoints_speak_the_same_paths_to_opensearch():
    api, wire = fake_os_client([
        ("PUT", "/_cluster/settings?flat_settings=true",
         {"persistent": {"cluster.remote.dc1.seeds": ["10.0.1.4:9300"]}}, 200,
         {"acknowledged": True, "persistent": {}, "transient": {}}),
        ("GET", "/_remote/info", None, 200, {"dc1": {"connected": True}}),
        ("GET", "/_resolve/index/dc1%3A*", None, 200, {"indices": []}),
        ("POST", "/orders/_count", None, 200, {"count": 7}),
        ("GET", "/_alias/orders-w", None, 404, not_found("aliases_not_found_exception")),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-w",
                                                    "is_write_index": True}}]}, 200, ACK),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", {"settings": {"index.hidden": True, "number_of_shards": 1,
                                               "auto_expand_replicas": "0-1"}}, 200, ACK),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 201, {"result": "created"}),
    ])
    from esdr.reconcile import registry

    client.put_cluster_settings(api, {"cluster.remote.dc1.seeds": ["10.0.1.4:9300"]})
    assert client.get_remote_info(api)["dc1"]["connected"]
    assert client.resolve_remote(api, "dc1") == {"indices": []}
    assert client.count(api, "orders") == 7
    assert client.get_alias(api, "orders-w") is None
    client.update_aliases(api, [{"add": {"index": "orders", "alias": "orders-w",
                                         "is_write_index": True}}])
    registry.write(api, registry.empty())
    wire.done()


def test_slm_is_refused_on_opensearch_with_one_line():
    check = OpenSearchReplication(object()).check_feature("slm", "os-dc2", "basic")
    assert "OpenSearch" in check.problem and "os-dc2" in check.problem
