"""Contract: promote and failback through each engine's adapter, one runbook for both.

Elasticsearch's requests are checked in tests/crossdc/test_runbooks_contract_steps.py; here the
step lists of both engines side by side, and OpenSearch's requests against the documented
replication API (https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/api/).
The fake is at the HTTP layer; the lab tests prove the real thing.
"""

from __future__ import annotations

import pytest

from esdr.crossdc.estate import Follower
from esdr.errors import EsdrError
from esdr.replication.ccr import CcrReplication
from esdr.replication.opensearch import OpenSearchReplication
from esdr.runbooks import failback, promote
from tests.replication.fake_os import ACK, ANY, fake_os_client, not_found, shard_stats
from tests.replication.test_opensearch_contract_api import FAILED_STATUS, SYNCING, USE_ROLES

F = Follower("dc2", "orders", "dc1", "orders", write_alias="orders-w")
R = "/_plugins/_replication"

PROMOTE = {
    CcrReplication: ["[dc2] pause_follow orders", "[dc2] close orders", "[dc2] unfollow orders",
                     "[dc2] open orders", "[dc2] switch_alias orders (alias=orders-w write=True)"],
    OpenSearchReplication: ["[dc2] stop orders",
                            "[dc2] switch_alias orders (alias=orders-w write=True)"],
}


@pytest.mark.parametrize("engine", sorted(PROMOTE, key=lambda c: c.engine))
def test_promote_steps_per_engine(engine):
    assert [s.line() for s in promote.promote_steps("dc2", [F], engine)] == PROMOTE[engine]


P = failback.Promoted("orders", "dc2", "dc1", "orders", "orders-w")
FAILBACK = {
    (CcrReplication, "reverse"): [
        "[dc1] delete orders", "[dc1] follow orders (leader_index=orders remote_cluster=dc2)",
        "[dc1] switch_alias orders (alias=orders-w write=False)"],
    # OpenSearch copies the leader's aliases onto the new follower and refuses changes there.
    (OpenSearchReplication, "reverse"): [
        "[dc1] delete orders", "[dc1] follow orders (leader_index=orders remote_cluster=dc2)"],
    (CcrReplication, "original"): [
        "[dc2] switch_alias orders (alias=orders-w write=False)", "[dc2] delete orders",
        "[dc2] follow orders (leader_index=orders remote_cluster=dc1)"],
    (OpenSearchReplication, "original"): [
        "[dc2] switch_alias orders (alias=orders-w write=False)", "[dc2] delete orders",
        "[dc2] follow orders (leader_index=orders remote_cluster=dc1)"],
}


@pytest.mark.parametrize("engine,direction", sorted(FAILBACK, key=lambda k: (k[0].engine, k[1])))
def test_failback_steps_per_engine(engine, direction):
    lines = [s.line() for s in failback.failback_steps(P, direction, engine)]
    assert lines == FAILBACK[(engine, direction)]


REGISTRY_NEW = [
    ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),
    ("HEAD", "/esdr-managed", None, 404, {}),
    ("PUT", "/esdr-managed", ANY, 200, ACK),
    ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 201, {"result": "created"}),
]


# a planned switchover (--force): the leader answered with every primary
YELLOW = promote.Leader("dc1", health={"status": "yellow"}, state="yellow", answered=True)
GONE = promote.Leader("dc1", unreachable=True, state="unreachable (connection refused)")


def test_contract_opensearch_promote_reads_lag_stops_then_switches_the_alias():
    behind = {**SYNCING, "syncing_details": {"leader_checkpoint": 20499,
                                             "follower_checkpoint": 499, "seq_no": 0}}
    api, wire = fake_os_client([
        ("GET", f"{R}/orders/_status", None, 200, behind),
        shard_stats("orders", 499),
        ("POST", f"{R}/orders/_stop", {}, 200, ACK),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-w",
                                                    "is_write_index": True}}]}, 200, ACK),
        *REGISTRY_NEW,
    ])
    said: list[str] = []
    risks = promote.promote(api, "dc2", [F], dry=False, say=said.append, leaders={"dc1": YELLOW},
                            in_sync={})
    wire.done()
    assert risks[0].operations == 20000
    assert said[-1] == "  promoted orders: 20000 operation(s) behind dc1, measured now"
    record = wire.seen[-1][2]["promoted"]["orders"]
    assert record == {**record, "remote": "dc1", "leader_index": "orders", "lag_operations": 20000,
                      "lag_measured": True, "follower_checkpoint": 499,
                      "shard_checkpoints": {"0": 499}}


def test_contract_opensearch_promote_with_the_leader_down_says_the_lag_is_unknown():
    api, wire = fake_os_client([
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),
        ("GET", f"{R}/orders/_status", None, 500, FAILED_STATUS),
        ("GET", f"{R}/follower_stats", None, 200, {"index_stats": {}}),
    ])
    said: list[str] = []
    promote.promote(api, "dc2", [F], dry=True, say=said.append, leaders={"dc1": GONE})
    wire.done()  # a dry run reads only
    assert said[:3] == ["dry run: 2 step(s) on dc2, nothing changed:", "  [dc2] stop orders",
                        "  [dc2] switch_alias orders (alias=orders-w write=True)"]
    assert said[-1] == (
        "  would promote orders: lag unknown (leader dc1 unreachable); window unknown: any "
        "write acknowledged by dc1 may be missing (esdr has no record of the follower in sync; "
        "the replication stats give no time of the follower's last read)")


def _count(index: str, count: int) -> tuple:
    return ("POST", f"/{index}/_count", None, 200, {"count": count})


def test_opensearch_failback_never_deletes_without_the_flag():
    dc2, _ = fake_os_client([_count("orders", 120)])
    dc1, wire1 = fake_os_client([_count("orders", 100)])
    with pytest.raises(EsdrError, match="would delete dc1:orders.*--allow-delete"):
        failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=False,
                          dry=False, say=lambda _: None)
    wire1.done()  # nothing beyond the count was sent


# failback records the follower it made on the returning DC as esdr's, as a deploy would
RECORDED_AS_FOLLOWER = [
    ("GET", "/esdr-managed/_doc/registry", None, 200,
     {"_source": {"follower_index": ["events-dc2"]}, "found": True}),
    ("HEAD", "/esdr-managed", None, 200, {}),
    ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
]


def test_contract_opensearch_failback_reverse_deletes_then_starts_on_the_returning_dc():
    dc2, wire2 = fake_os_client([
        _count("orders", 120),
        ("GET", "/esdr-managed/_doc/registry", None, 200,
         {"_source": {"promoted": {"orders": {"remote": "dc1"}}}, "found": True}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ])
    dc1, wire1 = fake_os_client([
        _count("orders", 100),
        ("DELETE", "/orders", None, 200, ACK),
        ("PUT", f"{R}/orders/_start",
         {"leader_alias": "dc2", "leader_index": "orders", "use_roles": USE_ROLES}, 200, ACK),
        *RECORDED_AS_FOLLOWER,
    ])
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=True, dry=False,
                      say=said.append)
    wire1.done(), wire2.done()
    assert said[0].startswith("WARNING: orders: dc2 holds 120 document(s), dc1:orders holds 100.")
    assert wire2.seen[-1][2]["promoted"] == {}
    assert wire1.seen[-1][2]["follower_index"] == ["events-dc2", "orders"]


def test_failback_restores_the_link_promote_detached_before_its_steps():
    """`esdr promote` removed the survivor's link to the unreachable leader (OpenSearch's
    `_stop` waits on it); once the leader is back, failback puts the same settings back."""
    link = {"cluster.remote.dc1.mode": "sniff", "cluster.remote.dc1.seeds": ["10.0.0.1:9300"]}
    promoted = failback.Promoted.from_registry(
        "dc2", "orders", {"remote": "dc1", "leader_index": "orders", "detached_link": link})
    dc2, wire2 = fake_os_client([
        _count("orders", 120),
        ("GET", "/_cluster/settings?flat_settings=true", None, 200,
         {"persistent": {"cluster.remote.dc1.mode": "sniff"}, "transient": {}}),
        ("PUT", "/_cluster/settings?flat_settings=true",
         {"persistent": {"cluster.remote.dc1.seeds": ["10.0.0.1:9300"]}}, 200, ACK),
        ("GET", "/esdr-managed/_doc/registry", None, 200,
         {"_source": {"promoted": {"orders": {"remote": "dc1"}}}, "found": True}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ])
    dc1, wire1 = fake_os_client([
        _count("orders", 100),
        ("DELETE", "/orders", None, 200, ACK),
        ("PUT", f"{R}/orders/_start",
         {"leader_alias": "dc2", "leader_index": "orders", "use_roles": USE_ROLES}, 200, ACK),
        *RECORDED_AS_FOLLOWER,
    ])
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [promoted], "reverse", allow_delete=True,
                      dry=False, say=said.append)
    wire1.done(), wire2.done()
    assert "[dc2] link restored: cluster.remote.dc1.seeds" in said
