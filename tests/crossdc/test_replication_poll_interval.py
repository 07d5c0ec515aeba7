"""OpenSearch followers poll their leader every 500 ms (plugins.replication.follower.poll_interval):
converged as a persistent setting of the following cluster only, refused outside the plugin's
range, and unknown to Elasticsearch."""

from __future__ import annotations

import dataclasses

import pytest

from esdr.checks.engine import check_poll_interval
from esdr.desired import POLL_INTERVAL, desired_for
from esdr.project import load_project
from esdr.reconcile.cluster_settings import plan_owned
from tests.integration.deploy_runner import REPO


def _topology(inventory: str, **settings):
    topology = load_project(REPO / inventory).topology
    cluster = dataclasses.replace(topology.cluster,
                                  settings={**topology.cluster.settings, **settings})
    return dataclasses.replace(topology, cluster=cluster)


def test_the_following_opensearch_cluster_polls_every_500ms_and_a_pure_leader_is_left_alone():
    follower = _topology("inventories/lab_os_dc2.py")
    assert desired_for(follower.estate, follower).replication == {POLL_INTERVAL: "500ms"}
    dc1 = _topology("inventories/lab_os.py")
    # DC1 follows DC2's half of the bi-directional pair; without it, it only leads
    assert desired_for(dc1.estate, dc1).replication == {POLL_INTERVAL: "500ms"}
    leader_only = dataclasses.replace(dc1.estate, bidirectional=())
    assert desired_for(leader_only, dc1).replication == {}


def test_a_chosen_poll_interval_is_converged():
    follower = _topology("inventories/lab_os_dc2.py", es_replication_poll_interval="1s")
    assert desired_for(follower.estate, follower).replication == {POLL_INTERVAL: "1s"}


def test_elasticsearch_ccr_has_no_such_setting():
    dc2 = _topology("inventories/lab_dc2.py")
    assert desired_for(dc2.estate, dc2).replication == {}


@pytest.mark.parametrize(("value", "refused"), [("500ms", False), ("1s", False), ("1ms", False),
                                                ("2s", True), ("0ms", True), ("fast", True)])
def test_the_plugins_range_is_enforced(value, refused):
    follower = _topology("inventories/lab_os_dc2.py", es_replication_poll_interval=value)
    problems = check_poll_interval(follower.cluster, "cluster x")
    assert bool(problems) is refused
    if refused:
        assert problems[0].rule == "replication-poll-interval-invalid"
        assert "from 1ms to 1s" in problems[0].message


def test_the_setting_is_planned_created_then_unchanged_and_nothing_when_not_owned():
    desired = {POLL_INTERVAL: "500ms"}
    [created] = plan_owned("replication", desired, {})
    assert (created.action, created.after) == ("created", desired)
    [same] = plan_owned("replication", desired, {POLL_INTERVAL: "500ms"})
    assert same.action == "unchanged"
    [drifted] = plan_owned("replication", desired, {POLL_INTERVAL: "50ms"})
    assert drifted.action == "changed"
    assert plan_owned("replication", {}, {POLL_INTERVAL: "50ms"}) == []
