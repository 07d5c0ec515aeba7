"""Contract: a failover on Elasticsearch CCR, end to end on the wire: `esdr promote` with the
leader's DC lost, then `esdr failback --direction reverse` with salvage. CCR cannot run here
(the lab's Elasticsearch has no CCR module), so it is tested against the documented API
contract: every request esdr sends, in order, answered with the bodies of Elastic's pages:

- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html
  (``read_exceptions``: "the failed reads", each with ``from_seq_no``, ``retries``,
  ``exception``)
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-pause-follow.html,
  ccr-post-unfollow.html, ccr-put-follow.html (``?wait_for_active_shards=1``)
- https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-stats.html
  (``level=shards``, ``seq_no.global_checkpoint``)
- https://www.elastic.co/guide/en/elasticsearch/reference/current/paginate-search-results.html
  (scroll), search-shard-routing.html (``preference=_shards:<n>``), search-search.html
  (``seq_no_primary_term``), docs-multi-get.html, docs-bulk.html (``create``: 409 when the id
  exists), indices-get-settings.html, indices-get-mapping.html

The same runbooks run OpenSearch in its lab; here the CCR adapter's steps and the generic salvage
reads are checked against what Elastic documents.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from esdr.crossdc.estate import Follower
from esdr.runbooks import failback, promote
from esdr.runbooks.salvage import SIDE_FIELDS
from tests.crossdc.fake_es import ANY, fake_client, fake_topology, not_found

ACK = {"acknowledged": True}
DOC = "/esdr-managed/_doc/registry"
F = Follower("dc2", "orders", "dc1", "orders", write_alias="orders-w")
GONE = promote.Leader("dc1", unreachable=True, state="unreachable (connection refused)")


def _stats_with_the_leader_gone() -> dict:
    """``GET /orders/_ccr/stats`` of a follower whose reads from its lost leader fail: the
    documented body, with one failed read being retried."""
    return {"indices": [{"index": "orders", "total_global_checkpoint_lag": 256, "shards": [{
        "remote_cluster": "dc1", "leader_index": "orders", "follower_index": "orders",
        "shard_id": 0, "leader_global_checkpoint": 1024, "leader_max_seq_no": 1536,
        "follower_global_checkpoint": 768, "follower_max_seq_no": 896,
        "last_requested_seq_no": 897, "outstanding_read_requests": 0,
        "outstanding_write_requests": 0, "write_buffer_operation_count": 0,
        "follower_mapping_version": 4, "follower_settings_version": 2,
        "follower_aliases_version": 8, "total_read_time_millis": 32768,
        "total_read_remote_exec_time_millis": 16384, "successful_read_requests": 32,
        "failed_read_requests": 6, "operations_read": 896, "bytes_read": 32768,
        "total_write_time_millis": 16384, "successful_write_requests": 16,
        "failed_write_requests": 0, "operations_written": 832,
        "read_exceptions": [{"from_seq_no": 897, "retries": 6, "exception": {
            "type": "connect_transport_exception",
            "reason": "[dc1-node][10.0.1.4:9300] connect_timeout[30s]"}}],
        "time_since_last_read_millis": 1200}]}]}


def test_contract_ccr_promote_with_the_leader_lost_prints_no_count_and_records_the_window():
    """CCR cannot run here: against the documented API contract. The follower's stats still
    say 256 behind (its last read of dc1); promote prints the window from esdr's in-sync
    record instead, and keeps the follower's checkpoints (summed and per shard) for salvage."""
    seen = datetime.now(timezone.utc) - timedelta(seconds=30)
    in_sync = {"orders": {"at": seen.isoformat(timespec="seconds"), "follower_checkpoint": 700}}
    stats = {"_shards": {"total": 2, "successful": 2, "failed": 0}, "indices": {"orders": {
        "uuid": "u", "shards": {"0": [
            {"routing": {"state": "STARTED", "primary": True, "node": "n1"},
             "seq_no": {"max_seq_no": 896, "local_checkpoint": 768, "global_checkpoint": 768}},
            {"routing": {"state": "STARTED", "primary": False, "node": "n2"},
             "seq_no": {"max_seq_no": 896, "local_checkpoint": 767,
                        "global_checkpoint": 767}}]}}}}
    es, wire = fake_client([
        ("GET", "/orders/_ccr/stats", None, 200, _stats_with_the_leader_gone()),
        ("GET", "/orders/_stats?level=shards", None, 200, stats),
        ("POST", "/orders/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/orders/_close", None, 200,
         {"acknowledged": True, "shards_acknowledged": True,
          "indices": {"orders": {"closed": True}}}),
        ("POST", "/orders/_ccr/unfollow", None, 200, ACK),
        ("POST", "/orders/_open", None, 200, {"acknowledged": True,
                                               "shards_acknowledged": True}),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-w",
                                                    "is_write_index": True}}]}, 200, ACK),
        ("GET", DOC, None, 404, not_found()),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 201, {"result": "created"}),
    ])
    said: list[str] = []
    risks = promote.promote(es, "dc2", [F], dry=False, say=said.append, leaders={"dc1": GONE},
                            in_sync=in_sync)
    wire.done()
    line = said[-1]
    assert line.startswith("  promoted orders: lag unknown (leader dc1 unreachable")
    assert "operation(s) behind" not in line and "256" not in line
    # the window starts at the record, 30 s (and the part of a second it was cut to) before
    found = re.search(r"after \S+ UTC \((\d+\.\d) s before promote\) may be missing", line)
    assert found and 30 <= float(found.group(1)) < 35, line
    assert risks[0].operations is None and not risks[0].measured
    record = wire.seen[-1][2]["promoted"]["orders"]
    assert record == {**record, "remote": "dc1", "leader_index": "orders",
                      "lag_operations": None, "lag_measured": False,
                      "follower_checkpoint": 768, "shard_checkpoints": {"0": 767}}
    assert record["at_risk_since"].startswith(seen.isoformat(timespec="seconds")[:19])


# --- failback with salvage, CCR -------------------------------------------------------------
P = failback.Promoted.from_registry("dc2", "orders", {
    "remote": "dc1", "leader_index": "orders", "write_alias": "orders-w",
    "follower_checkpoint": 768, "shard_checkpoints": {"0": 767}})
AT = datetime(2026, 12, 5, 17, 30, tzinfo=timezone.utc)
SIDE = "orders-salvaged-20261205t173000z"


def _hit(id_: str, seq_no: int, v: int) -> dict:
    return {"_index": "orders", "_id": id_, "_score": None, "_seq_no": seq_no,
            "_primary_term": 1, "_source": {"v": v}, "sort": [seq_no]}


def _search(hits: list[dict]) -> dict:
    return {"_scroll_id": "DXF1ZXJ5QW5kRmV0Y2gBAAAAAAAAAD4WYm9laVYtZndUQlNsdDcwakFMNjU1QQ==",
            "took": 1, "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None,
                     "hits": hits}}


def _old_leader(*, extra: list[tuple]) -> list[tuple]:
    """dc1, back with its disks: its copy holds x (768, replicated before the loss: not read),
    then y and z above the recorded checkpoint 767."""
    scroll = _search([])["_scroll_id"]
    return [
        ("POST", "/orders/_count", None, 200,
         {"count": 3, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
        ("GET", "/orders/_settings/index.number_of_shards?flat_settings=true", None, 200,
         {"orders": {"settings": {"index.number_of_shards": "1"}}}),
        ("POST", "/orders/_refresh", None, 200, {"_shards": {"total": 2, "successful": 1,
                                                              "failed": 0}}),
        ("POST", "/orders/_search?scroll=2m&preference=_shards:0",
         {"size": 1000, "sort": ["_doc"], "seq_no_primary_term": True,
          "query": {"range": {"_seq_no": {"gt": 767}}}}, 200,
         _search([_hit("x", 768, 1), _hit("y", 769, 2), _hit("z", 770, 3)])),
        ("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": scroll}, 200, _search([])),
        ("DELETE", "/_search/scroll", {"scroll_id": [scroll]}, 200,
         {"succeeded": True, "num_freed": 1}),
        *extra,
        ("DELETE", "/orders", None, 200, ACK),
        ("PUT", "/orders/_ccr/follow?wait_for_active_shards=1",
         {"remote_cluster": "dc2", "leader_index": "orders"}, 200,
         {"follow_index_created": True, "follow_index_shards_acked": True,
          "index_following_started": True}),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-w",
                                                    "is_write_index": False}}]}, 200, ACK),
        # the follower it made recorded as esdr's, as a deploy records one it creates
        ("GET", DOC, None, 200, {"_index": "esdr-managed", "_id": "registry", "found": True,
                                 "_source": {"follower_index": [], "alias": ["orders-w"]}}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", f"{DOC}?refresh=wait_for", {
            "remote_cluster": [], "snapshot_repository": [], "slm_policy": [],
            "follower_index": ["orders"], "auto_follow": [], "alias": ["orders-w"],
            "pipeline_user": [], "promoted": {}}, 200, {"result": "updated"}),
    ]


def _mget() -> tuple:
    """dc2 has x (replicated), not y; z was written there since, with another value."""
    return ("POST", "/orders/_mget", {"docs": [{"_id": "x"}, {"_id": "y"}, {"_id": "z"}]}, 200,
            {"docs": [
                {"_index": "orders", "_id": "x", "_version": 1, "_seq_no": 768,
                 "_primary_term": 1, "found": True, "_source": {"v": 1}},
                {"_index": "orders", "_id": "y", "found": False},
                {"_index": "orders", "_id": "z", "_version": 1, "_seq_no": 900,
                 "_primary_term": 2, "found": True, "_source": {"v": 30}}]})


def _registry(entry: dict) -> list[tuple]:
    return [("GET", DOC, None, 200, {"_index": "esdr-managed", "_id": "registry",
                                     "found": True, "_source": {"promoted": {"orders": entry}}}),
            ("HEAD", "/esdr-managed", None, 200, {}),
            ("PUT", f"{DOC}?refresh=wait_for", ANY, 200, {"result": "updated"})]


def _created(index: str, id_: str, status: int = 201) -> dict:
    if status == 409:
        return {"create": {"_index": index, "_id": id_, "status": 409, "error": {
            "type": "version_conflict_engine_exception",
            "reason": f"[{id_}]: version conflict, document already exists (current version "
                      "[1])", "index_uuid": "u", "shard": "0", "index": index}}}
    return {"create": {"_index": index, "_id": id_, "_version": 1, "result": "created",
                       "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 0,
                       "_primary_term": 1, "status": 201}}


def _salvage_fields(id_: str, seq_no: int, conflict: bool) -> dict:
    return {"cluster": "dc1", "index": "orders", "shard": 0, "seq_no": seq_no,
            "primary_term": 1, "conflict": conflict}


def test_contract_ccr_failback_reverse_salvages_into_a_side_index_then_follows():
    """CCR cannot run here: against the documented API contract. Salvage reads the old
    leader's shard 0 above the checkpoint recorded at promotion (by ``_seq_no``), keeps y
    (missing in dc2) and z (written on both sides) in a side index, then dc1 follows dc2."""
    mapping = {"orders": {"mappings": {"properties": {"v": {"type": "long"}}}}}
    dc1, wire1 = fake_client(_old_leader(extra=[
        ("GET", "/orders/_mapping", None, 200, mapping)]), fake_topology("dc1-cluster"))
    entry = {"remote": "dc1", "leader_index": "orders"}
    dc2, wire2 = fake_client([
        ("POST", "/orders/_count", None, 200, {"count": 2}),
        *_registry(entry),  # the side index's name, before anything is written
        _mget(),
        ("HEAD", f"/{SIDE}", None, 404, {}),
        ("PUT", f"/{SIDE}", {"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
                             "mappings": {"properties": {"v": {"type": "long"},
                                                         "esdr_salvage": SIDE_FIELDS}}}, 200,
         {"acknowledged": True, "shards_acknowledged": True, "index": SIDE}),
        ("POST", "/_bulk", [
            {"create": {"_index": SIDE, "_id": "y"}},
            {"v": 2, "esdr_salvage": _salvage_fields("y", 769, False)},
            {"create": {"_index": SIDE, "_id": "z"}},
            {"v": 3, "esdr_salvage": _salvage_fields("z", 770, True)}], 200,
         {"took": 3, "errors": False, "items": [_created(SIDE, "y"), _created(SIDE, "z")]}),
        *_registry({**entry, "salvage_index": SIDE}),  # forgotten once done
    ])
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=True, dry=False,
                      say=said.append, salvage="side", now=lambda: AT)
    wire1.done(), wire2.done()
    assert ("salvage dc1:orders: selected by _seq_no above the checkpoint recorded at "
            "promotion (shard 0: 767); 3 document(s) read, 1 identical in dc2:orders, 1 "
            "missing there, 1 different there") in said
    assert (f"salvaged 2 document(s) from dc1:orders into dc2:{SIDE}; 1 differ from "
            "dc2:orders's copy: z") in said
    assert wire2.seen[-1][2]["promoted"] == {}


def test_contract_ccr_failback_live_creates_only_what_the_new_leader_lacks():
    """CCR cannot run here: against the documented API contract. ``live``: y is created in
    dc2's index with ``create`` (a 409 would mean dc2 wrote it meanwhile); z, different on
    both sides, is kept out and put in the side index."""
    mapping = {"orders": {"mappings": {"properties": {"v": {"type": "long"}}}}}
    dc1, wire1 = fake_client(_old_leader(extra=[
        ("GET", "/orders/_mapping", None, 200, mapping)]), fake_topology("dc1-cluster"))
    entry = {"remote": "dc1", "leader_index": "orders"}
    dc2, wire2 = fake_client([
        ("POST", "/orders/_count", None, 200, {"count": 2}),
        *_registry(entry),
        _mget(),
        ("POST", "/_bulk", [{"create": {"_index": "orders", "_id": "y"}}, {"v": 2}], 200,
         {"took": 2, "errors": False, "items": [_created("orders", "y")]}),
        ("HEAD", f"/{SIDE}", None, 404, {}),
        ("PUT", f"/{SIDE}", ANY, 200, {"acknowledged": True, "shards_acknowledged": True,
                                       "index": SIDE}),
        ("POST", "/_bulk", [{"create": {"_index": SIDE, "_id": "z"}},
                            {"v": 3, "esdr_salvage": _salvage_fields("z", 770, True)}], 200,
         {"took": 2, "errors": False, "items": [_created(SIDE, "z")]}),
        *_registry({**entry, "salvage_index": SIDE}),
    ])
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=True, dry=False,
                      say=said.append, salvage="live", now=lambda: AT)
    wire1.done(), wire2.done()
    assert ("salvaged into dc2:orders from dc1:orders: 1 created, 1 conflict(s) kept out: z"
            in said)


def test_contract_ccr_failback_dry_counts_what_salvage_would_keep_and_writes_nothing():
    """CCR cannot run here: against the documented API contract; a dry run only reads."""
    old = [r for r in _old_leader(extra=[]) if r[0] in ("GET", "POST", "DELETE")
           and r[1] not in ("/orders", "/_aliases") and "_ccr" not in r[1]
           and r[1] not in ("/_alias/orders-w", DOC)]
    dc1, wire1 = fake_client(old, fake_topology("dc1-cluster"))
    dc2, wire2 = fake_client([("POST", "/orders/_count", None, 200, {"count": 2}), _mget()])
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=False, dry=True,
                      say=said.append, salvage="side", now=lambda: AT)
    wire1.done(), wire2.done()
    assert f"dry run: would salvage 2 document(s) from dc1:orders into dc2:{SIDE}" in said
    assert not any(m in ("PUT",) or (m == "DELETE" and p == "/orders")
                   for m, p, _ in wire1.seen + wire2.seen)


# --- unfollow with the leader's DC lost --------------------------------------------------------
LEASE = "dc2-cluster/orders/f0Ll0w3r-following-dc1/orders/l3ad3r"
LEASES_LEFT = {  # the index was unfollowed; removing its leases on the lost leader failed
    "error": {
        "root_cause": [{"type": "no_such_remote_cluster_exception",
                        "reason": "no such remote cluster: [dc1]"}],
        "type": "exception",
        "reason": "org.elasticsearch.transport.NoSuchRemoteClusterException: no such remote "
                  "cluster: [dc1]",
        "failed_to_remove_retention_leases": LEASE,
        "caused_by": {"type": "no_such_remote_cluster_exception",
                      "reason": "no such remote cluster: [dc1]"}},
    "status": 404}


def test_contract_ccr_unfollow_that_could_not_reach_the_lost_leader_still_promotes():
    """CCR cannot run here: against the documented API contract and Elasticsearch's
    TransportUnfollowAction, which unfollows the index, then fails the request when it cannot
    remove the retention leases on the leader (the leader's DC lost, its link detached by
    promote). The index is a regular one then (``_ccr/info`` lists it no more): the promotion
    goes on to open it and move the alias, instead of stopping with the index closed."""
    from esdr.replication.ccr import CcrReplication

    assert CcrReplication.WRITABLE_WAITS_ON_LEADER  # promote detaches the link first
    es, wire = fake_client([
        ("POST", "/orders/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/orders/_close", None, 200, ACK),
        ("POST", "/orders/_ccr/unfollow", None, 404, LEASES_LEFT),
        ("GET", "/orders/_ccr/info", None, 200, {"follower_indices": []}),
        ("POST", "/orders/_open", None, 200, ACK),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", ANY, 200, ACK),
    ])
    from esdr.runbooks.steps import run_steps

    said: list[str] = []
    run_steps(promote.promote_steps("dc2", [F], CcrReplication), {"dc2": CcrReplication(es)},
              said.append)
    wire.done()
    assert said[-1] == "step 5/5: [dc2] switch_alias orders (alias=orders-w write=True)"


def test_contract_ccr_unfollow_errors_stop_unless_the_index_was_unfollowed():
    """CCR cannot run here: against the documented API contract. The same error while
    ``_ccr/info`` still lists the follower, or any other error, stops the promotion."""
    import elasticsearch
    import pytest

    from esdr.replication.ccr import CcrReplication

    still = {"follower_indices": [{"follower_index": "orders", "remote_cluster": "dc1",
                                   "leader_index": "orders", "status": "paused"}]}
    es, wire = fake_client([
        ("POST", "/orders/_ccr/unfollow", None, 404, LEASES_LEFT),
        ("GET", "/orders/_ccr/info", None, 200, still),
        ("POST", "/orders/_ccr/unfollow", None, 400, {"error": {
            "root_cause": [], "type": "illegal_argument_exception",
            "reason": "cannot convert the follower index [orders] to a non-follower, because "
                      "it has not been closed"}, "status": 400}),
    ])
    adapter = CcrReplication(es)
    with pytest.raises(elasticsearch.NotFoundError):
        adapter.run("unfollow", "orders")
    with pytest.raises(elasticsearch.BadRequestError):
        adapter.run("unfollow", "orders")
    wire.done()
