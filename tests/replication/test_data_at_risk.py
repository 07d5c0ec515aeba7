"""What `esdr promote` reports as the data at risk, both engines through one code path.

A count is printed only when it was measured now (the leader answered, green or yellow, and the
leader's checkpoint is current); otherwise the window of acknowledged writes that may be missing,
from the latest time the follower is known in sync, or "window unknown": never a stale 0.

Bodies: Elasticsearch's ``GET /<index>/_ccr/stats`` as documented
(https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html);
OpenSearch's ``_status`` and ``follower_stats`` as the replication plugin builds them
(ReplicationStatusResponse.kt / ShardInfoResponse.kt, FollowerStatsResponse.kt /
FollowerClusterStats.kt, tag 2.19.6.0).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone

import pytest

from esdr.crossdc.estate import Follower
from esdr.reconcile import registry
from esdr.replication import as_adapter
from esdr.replication.ccr import lag_from_stats
from esdr.replication.opensearch import lag_from
from esdr.runbooks import promote
from esdr.runbooks.at_risk import assess
from tests.crossdc.fake_es import fake_client
from tests.crossdc.test_ccr_slm_contract_api import FOLLOW_STATS
from tests.replication.fake_os import ACK, ANY, fake_os_client, not_found, shard_stats
from tests.replication.test_opensearch_contract_api import FAILED_STATUS

READ_AT = datetime(2025, 5, 6, 12, 42, 16, 200000, tzinfo=timezone.utc)
SYNCED_AT = "2025-05-06T12:42:07.100+00:00"  # 9.1 s before READ_AT
GREEN = promote.Leader("dc1", health={"status": "green"}, state="green", answered=True)
RED = promote.Leader("dc1", health={"status": "red"}, state="red", answered=True)
GONE = promote.Leader("dc1", unreachable=True, state="unreachable (connection refused)")
NO_INVENTORY = promote.probe("dc1", None)
R = "/_plugins/_replication"

# --- the documented bodies -------------------------------------------------------------------


def ccr_stats(leader: int, follower: int, *, read_ms: int = 8, failing: bool = False) -> dict:
    """Elastic's documented example of one follower shard, with these checkpoints."""
    stats = copy.deepcopy(FOLLOW_STATS)
    shard = stats["indices"][0]["shards"][0]
    shard.update(leader_global_checkpoint=leader, follower_global_checkpoint=follower,
                 time_since_last_read_millis=read_ms)
    if failing:
        shard["read_exceptions"] = [{"from_seq_no": follower + 1, "retries": 3, "exception": {
            "type": "connect_transport_exception", "reason": "[dc1-node][10.0.1.4:9300] "
                                                            "connect_exception"}}]
    return stats


OS_STATUS_LIVE = {  # ReplicationStatusResponse while RUNNING (leader asked live)
    "status": "SYNCING", "reason": "User initiated", "leader_alias": "dc1",
    "leader_index": "orders", "follower_index": "orders",
    "syncing_details": {"leader_checkpoint": 20499, "follower_checkpoint": 499, "seq_no": 0}}
OS_STATUS_IN_SYNC = {**OS_STATUS_LIVE, "syncing_details": {
    "leader_checkpoint": 499, "follower_checkpoint": 499, "seq_no": 0}}
OS_PAUSED = {"status": "PAUSED", "reason": "AutoPaused: + remote cluster unreachable",
             "leader_alias": "dc1", "leader_index": "orders", "follower_index": "orders"}
# follower_stats after the leader was lost: its leader checkpoint is the last one read (or the
# follower's own, when the shard task restarted): "0 behind", which the drill showed was false
OS_FOLLOWER_STATS = {
    "num_syncing_indices": 1, "num_bootstrapping_indices": 0, "num_paused_indices": 0,
    "num_failed_indices": 0, "num_shard_tasks": 1, "num_index_tasks": 1,
    "operations_written": 499, "operations_read": 499, "failed_read_requests": 12,
    "throttled_read_requests": 0, "failed_write_requests": 0, "throttled_write_requests": 0,
    "follower_checkpoint": 499, "leader_checkpoint": 499, "total_write_time_millis": 2290,
    "index_stats": {"orders": {
        "operations_written": 499, "operations_read": 499, "failed_read_requests": 12,
        "throttled_read_requests": 0, "failed_write_requests": 0, "throttled_write_requests": 0,
        "follower_checkpoint": 499, "leader_checkpoint": 499, "total_write_time_millis": 2290}}}

LAGS = {
    "es behind": lambda: lag_from_stats("follower_index", ccr_stats(1024, 768)),
    "es in sync": lambda: lag_from_stats("follower_index", ccr_stats(768, 768)),
    "es in sync, reads failing": lambda: lag_from_stats("follower_index",
                                                        ccr_stats(768, 768, failing=True)),
    "os live": lambda: lag_from("orders", OS_STATUS_LIVE),
    "os live in sync": lambda: lag_from("orders", OS_STATUS_IN_SYNC),
    "os follower_stats 0 behind": lambda: lag_from("orders", OS_PAUSED, OS_FOLLOWER_STATS),
}


def report(lag, leader, record=None):
    return assess(lag, "dc1", answered=leader.whole, why=leader.why, read_at=READ_AT,
                  record=record)


# --- the leader answered: measured now --------------------------------------------------------

def test_elasticsearch_with_the_leader_answering_is_measured_now_from_the_follower_stats():
    risk = report(LAGS["es behind"](), GREEN)
    assert risk.measured and risk.operations == 256
    assert risk.line == ("follower_index: 256 operation(s) behind dc1, measured now (dc1's "
                         "checkpoint as the follower last read it; its last read request went "
                         "out 0.0 s ago)")


def test_opensearch_with_the_leader_answering_is_measured_now_from_the_live_status():
    risk = report(LAGS["os live"](), GREEN)
    assert risk.measured and risk.operations == 20000
    assert risk.line == "orders: 20000 operation(s) behind dc1, measured now"


def test_a_leader_that_answers_but_whose_reads_fail_is_not_a_measurement():
    risk = report(LAGS["es in sync, reads failing"](), GREEN)
    assert not risk.measured and risk.operations is None
    assert risk.line.startswith("follower_index: lag unknown (dc1 answered, but 1 read(s) from "
                                "the leader failing); window unknown")


def test_a_paused_opensearch_follower_gives_no_count_even_with_the_leader_up():
    api, wire = fake_os_client([("GET", f"{R}/orders/_status", None, 200, OS_PAUSED),
                                ("GET", f"{R}/follower_stats", None, 200, OS_FOLLOWER_STATS)])
    risk = report(as_adapter(api).lag("orders"), GREEN)
    wire.done()
    assert not risk.measured
    assert risk.line.startswith("orders: lag unknown (dc1 answered, but replication is PAUSED: "
                                "no live leader checkpoint); window unknown")
    bare = report(LAGS["os follower_stats 0 behind"](), GREEN)  # the reading without its note
    assert bare.line.startswith("orders: lag unknown (dc1 answered, but dc1's checkpoint is the "
                                "follower's last read of it)")


def test_a_red_leader_is_not_asked_for_every_shard_so_nothing_is_measured():
    # OpenSearch's _status gives a shard the leader did not answer for the follower's own
    # checkpoint: "0 behind" there says nothing
    risk = report(LAGS["os live in sync"](), RED)
    assert not risk.measured and risk.since is None
    assert risk.line.startswith("orders: lag unknown (leader dc1 red: a primary is unassigned, "
                                "its checkpoint cannot be asked); window unknown")


# --- the leader did not answer: the window --------------------------------------------------

@pytest.mark.parametrize("case", sorted(LAGS))
@pytest.mark.parametrize("leader", [GONE, NO_INVENTORY, None], ids=["unreachable",
                                                                     "no-inventory", "not-asked"])
def test_without_an_answer_from_the_leader_no_count_is_ever_printed(case, leader):
    lag = LAGS[case]()
    if leader is None:
        risk = assess(lag, "dc1", answered=False, why="not asked", read_at=READ_AT)
    else:
        risk = report(lag, leader)
    assert not risk.measured and risk.operations is None
    assert "operation(s)" not in risk.line and "lag unknown (leader dc1 " in risk.line
    assert "may be missing" in risk.line


def test_unreachable_with_esdrs_in_sync_record_gives_the_time_and_how_long_before_promote():
    record = {"at": SYNCED_AT, "follower_checkpoint": 499}
    risk = report(LAGS["os follower_stats 0 behind"](), GONE, record)
    assert risk.line == ("orders: lag unknown (leader dc1 unreachable); writes acknowledged by "
                         "dc1 after 12:42:07 UTC (9.1 s before promote) may be missing: esdr "
                         "last saw the follower in sync then")
    assert risk.since == datetime.fromisoformat(SYNCED_AT)


def test_unreachable_opensearch_without_a_record_says_the_window_is_unknown():
    risk = report(LAGS["os follower_stats 0 behind"](), GONE)
    assert risk.since is None
    assert risk.line == ("orders: lag unknown (leader dc1 unreachable); window unknown: any "
                         "write acknowledged by dc1 may be missing (esdr has no record of the "
                         "follower in sync; the replication stats give no time of the "
                         "follower's last read)")


def test_unreachable_elasticsearch_behind_without_a_record_names_its_last_read_as_a_send_time():
    risk = report(LAGS["es behind"](), GONE)
    assert risk.since is None
    assert risk.line == ("follower_index: lag unknown (leader dc1 unreachable); window unknown: "
                         "any write acknowledged by dc1 may be missing (esdr has no record of "
                         "the follower in sync; the follower's last read request went out 0.0 s "
                         "ago, which is when it last asked, not when it was last in sync)")


def test_unreachable_elasticsearch_in_sync_bounds_the_window_by_its_last_read_and_a_margin():
    lag = lag_from_stats("follower_index", ccr_stats(768, 768, read_ms=2500))
    risk = report(lag, GONE)
    # its last answer came before the read sent 2.5 s ago; one more second for the round trip
    assert risk.since == READ_AT - timedelta(milliseconds=2500) - timedelta(seconds=1)
    assert risk.line == ("follower_index: lag unknown (leader dc1 unreachable); writes "
                         "acknowledged by dc1 after 12:42:12 UTC (3.5 s before promote) may be "
                         "missing: the follower's stats show it in sync as of its last read")


def test_the_later_of_the_record_and_the_stats_bounds_the_window():
    lag = lag_from_stats("follower_index", ccr_stats(768, 768, read_ms=2500))
    old = {"at": "2025-05-06T11:00:00+00:00", "follower_checkpoint": 700}
    assert report(lag, GONE, old).since == READ_AT - timedelta(seconds=3.5)
    recent = {"at": "2025-05-06T12:42:15+00:00", "follower_checkpoint": 768}
    assert report(lag, GONE, recent).since == datetime(2025, 5, 6, 12, 42, 15, tzinfo=timezone.utc)


def test_a_live_in_sync_status_never_bounds_the_window_when_the_leader_did_not_answer():
    risk = report(LAGS["os live in sync"](), GONE)
    assert risk.since is None and "window unknown" in risk.line


@pytest.mark.parametrize("record,why", [
    ({"at": "2025-05-06T12:50:00+00:00", "follower_checkpoint": 1}, "is not a UTC time before now"),
    ({"at": "2025-05-06T12:40:00", "follower_checkpoint": 1}, "is not a UTC time before now"),
    ({"at": "yesterday"}, "has no valid time"),
    ({"at": SYNCED_AT, "follower_checkpoint": 9000},
     "is of an older copy (checkpoint 9000, now 499)"),
], ids=["future", "no-timezone", "garbage", "older-copy"])
def test_an_unusable_record_never_narrows_the_window(record, why):
    risk = report(LAGS["os follower_stats 0 behind"](), GONE, record)
    assert risk.since is None and why in risk.line and "window unknown" in risk.line


def test_an_old_record_prints_its_date():
    record = {"at": "2025-05-03T08:00:00+00:00", "follower_checkpoint": 1}
    risk = report(LAGS["os follower_stats 0 behind"](), GONE, record)
    assert "after 2025-05-03 08:00:00 UTC (3.2 days before promote)" in risk.line


def test_the_record_keeps_the_follower_checkpoint_and_the_window():
    record = {"at": SYNCED_AT, "follower_checkpoint": 499}
    kept = report(LAGS["os follower_stats 0 behind"](), GONE, record).record()
    assert kept == {"lag_operations": None, "lag_measured": False, "follower_checkpoint": 499,
                    "at_risk_since": "2025-05-06T12:42:07.100+00:00", "data_at_risk": ANY_LINE}
    assert report(LAGS["es behind"](), GREEN).record()["follower_checkpoint"] == 768


class _AnyLine:
    def __eq__(self, other):
        return isinstance(other, str) and other.startswith("orders: lag unknown")


ANY_LINE = _AnyLine()


def test_in_sync_records_are_merged_into_the_registry():
    reg = registry.with_in_sync(registry.empty(), {"orders": {"at": SYNCED_AT}})
    reg = registry.with_in_sync(reg, {"events": {"at": SYNCED_AT}})
    assert registry.last_in_sync(reg, "orders") == {"at": SYNCED_AT}
    assert registry.last_in_sync(reg, "logs") is None
    assert registry.with_in_sync(reg, {}) is reg


# --- through the runbook and the command, on the wire -----------------------------------------

F_OS = Follower("dc2", "orders", "dc1", "orders", write_alias="orders-w")
F_ES = Follower("dc2", "follower_index", "dc1", "leader_index")


def _recent(seconds: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat()


def _registry_in_sync(seconds_ago: float) -> dict:
    """The registry document with esdr's record of ``orders`` in sync ``seconds_ago``."""
    return {"_source": {"in_sync": {"orders": {"at": _recent(seconds_ago),
                                               "follower_checkpoint": 499}}},
            "found": True}


def _stop_move_alias_and_record(registry_doc: dict) -> list:
    """The wire of an OpenSearch promote of ``orders`` after its lag was read: ``_stop``, the
    write alias moved, the promotion recorded in the registry."""
    return [
        shard_stats("orders", 499),
        ("POST", f"{R}/orders/_stop", {}, 200, ACK),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", ANY, 200, ACK),
        ("GET", "/esdr-managed/_doc/registry", None, 200, registry_doc),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ]


def test_opensearch_promote_with_the_leader_gone_reads_the_record_and_keeps_what_it_reported():
    registry_doc = _registry_in_sync(9.1)
    api, wire = fake_os_client([
        ("GET", "/esdr-managed/_doc/registry", None, 200, registry_doc),
        ("GET", f"{R}/orders/_status", None, 500, FAILED_STATUS),
        ("GET", f"{R}/follower_stats", None, 200, OS_FOLLOWER_STATS),
        *_stop_move_alias_and_record(registry_doc),
    ])
    said: list[str] = []
    promote.promote(api, "dc2", [F_OS], dry=False, say=said.append, leaders={"dc1": GONE})
    wire.done()
    assert re.fullmatch(r"  promoted orders: lag unknown \(leader dc1 unreachable\); writes "
                        r"acknowledged by dc1 after \d\d:\d\d:\d\d UTC \(9\.\d s before promote\) "
                        r"may be missing: esdr last saw the follower in sync then", said[-1])
    kept = wire.seen[-1][2]
    entry = kept["promoted"]["orders"]
    assert entry["lag_operations"] is None and entry["lag_measured"] is False
    assert entry["follower_checkpoint"] == 499
    assert entry["at_risk_since"] == datetime.fromisoformat(
        registry_doc["_source"]["in_sync"]["orders"]["at"]).isoformat(timespec="milliseconds")
    assert entry["data_at_risk"] == said[-1].removeprefix("  promoted ")
    assert kept["in_sync"] == registry_doc["_source"]["in_sync"]  # kept as it was


def test_elasticsearch_promote_dry_with_the_leader_gone_prints_no_count():
    es, wire = fake_client([
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),
        ("GET", "/follower_index/_ccr/stats", None, 200, ccr_stats(1024, 768)),
    ])
    said: list[str] = []
    risks = promote.promote(es, "dc2", [F_ES], dry=True, say=said.append, leaders={"dc1": GONE})
    wire.done()
    assert risks[0].operations is None
    assert said[-1].startswith("  would promote follower_index: lag unknown (leader dc1 "
                               "unreachable); window unknown")


def test_a_leader_promote_was_not_told_about_is_never_measured():
    es, wire = fake_client([("GET", "/follower_index/_ccr/stats", None, 200, ccr_stats(1024, 768))])
    risks = promote.promote(es, "dc2", [F_ES], dry=True, say=lambda _: None, in_sync={})
    wire.done()
    assert not risks[0].measured and "leader dc1 not asked" in risks[0].line


def test_the_command_reads_the_in_sync_record_from_the_registry_it_already_read(promote_on_dc2):
    from tests.replication.test_promote_leader_errors import failing_leader
    from urllib3.exceptions import NewConnectionError

    gone = failing_leader("opensearch", NewConnectionError(None, "Connection refused"))
    registry_doc = _registry_in_sync(9.1)
    code, out = promote_on_dc2(gone, [
        ("GET", "/esdr-managed/_doc/registry", None, 200, registry_doc),  # once, up front
        ("GET", "/_cluster/settings?flat_settings=true", None, 200,
         {"persistent": {"cluster.remote.dc1.seeds": ["10.0.0.1:9300"]}, "transient": {}}),
        ("PUT", "/_cluster/settings?flat_settings=true",
         {"persistent": {"cluster.remote.dc1.seeds": None}}, 200, ACK),
        ("GET", f"{R}/orders/_status", None, 200, OS_PAUSED),
        ("GET", f"{R}/follower_stats", None, 200, OS_FOLLOWER_STATS),
        *_stop_move_alias_and_record(registry_doc),
        # the active side, recorded on dc2 (dc1 is gone)
        ("GET", "/esdr-managed/_doc/registry", None, 200, registry_doc),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ])
    assert code == 0
    assert out.pop() == "active side of orders: dc2, recorded in dc2 (not in dc1: unreachable)"
    assert out[-2] == ("summary (data at risk: writes the leader acknowledged that may be "
                       "missing here):")
    assert re.fullmatch(r"  promoted orders: lag unknown \(leader dc1 unreachable\); writes "
                        r"acknowledged by dc1 after \d\d:\d\d:\d\d UTC \(9\.\d s before promote\) "
                        r"may be missing: esdr last saw the follower in sync then", out[-1])
