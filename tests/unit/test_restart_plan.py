from __future__ import annotations

from esdr.operations.cluster import summary_lines
from esdr.restart_plan import restart_order
from tests.unit.topo_factory import topology


def test_data_first_then_tiebreaker_then_masters_with_the_elected_master_last():
    cluster = topology().cluster
    names = [n.name for n in cluster.nodes]
    elected = next(n.name for n in cluster.master_eligible if not n.is_voting_only)
    order = [n.name for n in restart_order(cluster, names, elected)]
    kinds = [
        "data" if not cluster.node(n).is_master_eligible
        else "tiebreaker" if cluster.node(n).is_voting_only
        else "master"
        for n in order
    ]
    assert kinds == sorted(kinds, key=["data", "tiebreaker", "master"].index)
    assert order[-1] == elected


def test_only_the_named_nodes_are_restarted():
    cluster = topology().cluster
    some = [cluster.data_nodes[0].name]
    assert [n.name for n in restart_order(cluster, some)] == some


def test_summary_table_shows_zone_roles_and_master():
    lines = summary_lines(
        {"cluster_name": "c", "status": "green", "number_of_nodes": 2, "active_shards": 4,
         "unassigned_shards": 0},
        [
            {"name": "m1", "zone": "az1", "roles": ["master"], "master": True},
            {"name": "tb", "zone": "az3", "roles": ["master", "voting_only"], "master": False},
        ],
    )
    assert lines[0] == "cluster c: green, 2 nodes, 4 active shards, 0 unassigned"
    assert lines[1].split() == ["node", "zone", "roles", "master"]
    assert lines[2].split() == ["m1", "az1", "master", "*"]
    assert lines[3].split() == ["tb", "az3", "master,voting_only"]


def test_summary_without_an_answer_says_so():
    assert summary_lines(None, None) == ["cluster: no answer from any master-eligible node"]


def test_sole_copies_are_the_shards_with_no_started_copy_elsewhere():
    from esdr.restart_plan import sole_copies

    rows = [
        # replicated and both started: safe to stop d1
        {"index": "logs", "shard": "0", "prirep": "p", "state": "STARTED", "node": "d1"},
        {"index": "logs", "shard": "0", "prirep": "r", "state": "STARTED", "node": "d2"},
        # auto-expanded to 0 replicas a moment ago: the only copy is on d1
        {"index": ".security-7", "shard": "0", "prirep": "p", "state": "STARTED", "node": "d1"},
        # the replica elsewhere is still initializing: not a copy yet
        {"index": "esdr-managed", "shard": "0", "prirep": "p", "state": "STARTED", "node": "d1"},
        {"index": "esdr-managed", "shard": "0", "prirep": "r", "state": "INITIALIZING",
         "node": "d2"},
        # nothing on d1
        {"index": "other", "shard": "0", "prirep": "p", "state": "STARTED", "node": "d2"},
    ]
    assert sole_copies(rows, "d1") == [".security-7[0]", "esdr-managed[0]"]
    assert sole_copies(rows, "d2") == ["other[0]"]  # never replicated
