"""Contract: the requests esdr sends for CCR and SLM, and how it reads the answers, against the
request and response bodies in Elastic's API reference (ccr-put-follow, ccr-post-pause-follow,
ccr-post-resume-follow, ccr-post-unfollow, ccr-get-follow-info, ccr-get-follow-stats,
ccr-put-auto-follow-pattern, ccr-get/pause/resume/delete-auto-follow-pattern, slm-api-put-policy,
slm-api-get-policy, slm-api-execute-lifecycle (a PUT, not the POST the facts note says), slm-api-get-stats, slm-api-get-status)."""

from __future__ import annotations

from esdr.crossdc.estate import Follower
from esdr.es import client
from esdr.reconcile import auto_follow, follower_index, slm_policy
from esdr.changes import Change
from esdr.runbooks.promote import lag_from_stats
from tests.crossdc.fake_es import ANY, fake_client, not_found

ACK = {"acknowledged": True}
FOLLOW_INFO = {
    "follower_indices": [{
        "follower_index": "follower_index", "remote_cluster": "remote_cluster",
        "leader_index": "leader_index", "status": "active",
        "parameters": {"max_read_request_operation_count": 5120, "max_outstanding_read_requests": 12,
                       "read_poll_timeout": "1m"},
    }]
}
FOLLOW_STATS = {"indices": [{
    "index": "follower_index", "total_global_checkpoint_lag": 256,
    "shards": [{
        "remote_cluster": "remote_cluster", "leader_index": "leader_index",
        "follower_index": "follower_index", "shard_id": 0, "leader_global_checkpoint": 1024,
        "leader_max_seq_no": 1536, "follower_global_checkpoint": 768, "follower_max_seq_no": 896,
        "last_requested_seq_no": 897, "outstanding_read_requests": 8,
        "outstanding_write_requests": 2, "write_buffer_operation_count": 64,
        "follower_mapping_version": 4, "follower_settings_version": 2,
        "follower_aliases_version": 8, "total_read_time_millis": 32768,
        "total_read_remote_exec_time_millis": 16384, "successful_read_requests": 32,
        "failed_read_requests": 0, "operations_read": 896, "bytes_read": 32768,
        "total_write_time_millis": 16384, "successful_write_requests": 16,
        "failed_write_requests": 0, "operations_written": 832, "read_exceptions": [],
        "time_since_last_read_millis": 8,
    }],
}]}
PATTERN_BODY = {
    "remote_cluster": "remote_cluster",
    "leader_index_patterns": ["leader_index*"],
    "leader_index_exclusion_patterns": ["leader_index_001"],
    "follow_index_pattern": "{{leader_index}}-follower",
}
SLM_POLICY = {
    "schedule": "0 30 1 * * ?",
    "name": "<daily-snap-{now/d}>",
    "repository": "my_repository",
    "config": {"indices": ["data-*", "important"], "ignore_unavailable": False,
               "include_global_state": False},
    "retention": {"expire_after": "30d", "min_count": 5, "max_count": 50},
}


def test_contract_follow_creates_the_follower():
    es, wire = fake_client([
        ("PUT", "/follower_index/_ccr/follow?wait_for_active_shards=1",
         {"remote_cluster": "remote_cluster", "leader_index": "leader_index"}, 200,
         {"follow_index_created": True, "follow_index_shards_acked": True,
          "index_following_started": True}),
    ])
    change = Change("follower_index", "follower_index", "created", None,
                    {"remote_cluster": "remote_cluster", "leader_index": "leader_index"})
    follower_index.apply_followers(es, [change])
    wire.done()


def test_contract_follow_info_is_read_as_the_follow_and_404_as_absent():
    es, wire = fake_client([
        # every follower with one read (GET /<index>/_ccr/info takes _all); an index it does
        # not list is a regular index or none at all
        ("GET", "/_all/_ccr/info", None, 200, FOLLOW_INFO),
        ("HEAD", "/missing", None, 404, {}),
        ("HEAD", "/plain", None, 200, {}),
    ])
    observed = follower_index.observe_followers(es, {"follower_index", "missing", "plain"})
    wire.done()
    assert observed["follower_index"]["leader_index"] == "leader_index"
    assert observed["missing"] is None and observed["plain"] == {}
    wanted = Follower("dc2", "follower_index", "remote_cluster", "leader_index")
    changes, _ = follower_index.plan_follower("follower_index", wanted,
                                              observed["follower_index"], set())
    assert [c.action for c in changes] == ["unchanged"]


def test_contract_pause_then_resume_follow():
    es, wire = fake_client([
        ("POST", "/follower_index/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/follower_index/_ccr/resume_follow", ANY, 200, ACK),
    ])
    client.pause_follow(es, "follower_index")
    paused = {**FOLLOW_INFO["follower_indices"][0], "status": "paused"}
    wanted = Follower("dc2", "follower_index", "remote_cluster", "leader_index")
    changes, _ = follower_index.plan_follower("follower_index", wanted, paused, set())
    follower_index.apply_followers(es, changes)
    wire.done()


def test_contract_unfollow_sequence_keeps_the_data():
    es, wire = fake_client([
        ("POST", "/follower_index/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/follower_index/_close", None, 200,
         {"acknowledged": True, "shards_acknowledged": True,
          "indices": {"follower_index": {"closed": True}}}),
        ("POST", "/follower_index/_ccr/unfollow", None, 200, ACK),
        ("POST", "/follower_index/_open", None, 200,
         {"acknowledged": True, "shards_acknowledged": True}),
    ])
    changes, _ = follower_index.plan_follower(
        "follower_index", None, FOLLOW_INFO["follower_indices"][0], {"follower_index"})
    assert changes[0].action == "deleted" and changes[0].destructive
    follower_index.apply_followers(es, changes)
    wire.done()


def test_contract_follow_stats_lag_is_leader_minus_follower_global_checkpoint():
    es, wire = fake_client([("GET", "/follower_index/_ccr/stats", None, 200, FOLLOW_STATS)])
    lag = lag_from_stats("follower_index", client.get_follow_stats(es, "follower_index"))
    wire.done()
    assert lag.operations == 1024 - 768 == 256
    assert lag.last_read_ms == 8


def test_contract_auto_follow_put_get_pause_resume_delete():
    es, wire = fake_client([
        ("GET", "/_ccr/auto_follow", None, 200, {"patterns": []}),
        ("PUT", "/_ccr/auto_follow/my_auto_follow_pattern", PATTERN_BODY, 200, ACK),
        ("GET", "/_ccr/auto_follow", None, 200, {"patterns": [
            {"name": "my_auto_follow_pattern", "pattern": {"active": False, **PATTERN_BODY}}]}),
        ("POST", "/_ccr/auto_follow/my_auto_follow_pattern/resume", None, 200, ACK),
        ("POST", "/_ccr/auto_follow/my_auto_follow_pattern/pause", None, 200, ACK),
        ("DELETE", "/_ccr/auto_follow/my_auto_follow_pattern", None, 200, ACK),
    ])
    desired = {"my_auto_follow_pattern": dict(PATTERN_BODY)}
    changes, _ = auto_follow.plan_auto_follows(desired, auto_follow.observe_auto_follow(es), set())
    assert [c.action for c in changes] == ["created"]
    auto_follow.apply_auto_follows(es, changes)
    observed = auto_follow.observe_auto_follow(es)
    changes, _ = auto_follow.plan_auto_follows(desired, observed, {"my_auto_follow_pattern"})
    assert [c.action for c in changes] == ["changed"]  # paused -> active: resume, no PUT
    auto_follow.apply_auto_follows(es, changes)
    client.pause_auto_follow_pattern(es, "my_auto_follow_pattern")
    changes, _ = auto_follow.plan_auto_follows({}, observed, {"my_auto_follow_pattern"})
    auto_follow.apply_auto_follows(es, changes)
    wire.done()


def test_contract_slm_put_get_execute_stats_status():
    es, wire = fake_client([
        ("GET", "/_slm/policy", None, 200, {}),
        ("PUT", "/_slm/policy/daily-snapshots", SLM_POLICY, 200, ACK),
        ("GET", "/_slm/policy", None, 200, {"daily-snapshots": {
            "version": 1, "modified_date_millis": 4081757400000,
            "policy": SLM_POLICY, "stats": {"policy": "daily-snapshots", "snapshots_taken": 0},
            "next_execution_millis": 4081757400000}}),
        ("PUT", "/_slm/policy/daily-snapshots/_execute", None, 200,
         {"snapshot_name": "daily-snap-2019.04.24-gwrqoo2xtea3q57vvg0uea"}),
        ("GET", "/_slm/stats", None, 200, {"retention_runs": 13, "retention_failed": 0,
                                           "total_snapshots_taken": 1, "policy_stats": []}),
        ("GET", "/_slm/status", None, 200, {"operation_mode": "RUNNING"}),
    ])
    desired = {"daily-snapshots": dict(SLM_POLICY)}
    changes, _ = slm_policy.plan_slm_policies(desired, slm_policy.observe_slm_policies(es), set())
    slm_policy.apply_slm_policies(es, changes)
    changes, _ = slm_policy.plan_slm_policies(desired, slm_policy.observe_slm_policies(es), set())
    assert [c.action for c in changes] == ["unchanged"]
    assert client.execute_slm_policy(es, "daily-snapshots")["snapshot_name"].startswith("daily-snap")
    assert client.get_slm_stats(es)["retention_runs"] == 13
    assert client.get_slm_status(es)["operation_mode"] == "RUNNING"
    wire.done()
