"""Contract: promote and failback step order, their dry-run output, and their refusals."""

from __future__ import annotations

import pytest

from esdr.crossdc.estate import Follower
from esdr.errors import EsdrError
from esdr.runbooks import failback, promote
from tests.crossdc.fake_es import ANY, fake_client, not_found
from tests.crossdc.test_ccr_slm_contract_api import ACK, FOLLOW_STATS
from tests.replication.fake_os import shard_stats

F = Follower("dc2", "follower_index", "dc1", "leader_index", write_alias="orders")


def test_contract_promote_step_order():
    assert [s.line() for s in promote.promote_steps("dc2", [F])] == [
        "[dc2] pause_follow follower_index",
        "[dc2] close follower_index",
        "[dc2] unfollow follower_index",
        "[dc2] open follower_index",
        "[dc2] switch_alias follower_index (alias=orders write=True)",
    ]


GREEN = promote.Leader("dc1", health={"status": "green"}, state="green", answered=True)
# a leader forced to promote through: it answered, so the lag is measured now


def test_contract_promote_dry_run_reads_lag_and_changes_nothing():
    es, wire = fake_client([
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),  # in-sync records
        ("GET", "/follower_index/_ccr/stats", None, 200, FOLLOW_STATS),
    ])
    said: list[str] = []
    risks = promote.promote(es, "dc2", [F], dry=True, say=said.append, leaders={"dc1": GREEN})
    wire.done()  # only the reads went out
    assert risks[0].operations == 256 and risks[0].measured
    assert said == [
        "dry run: 5 step(s) on dc2, nothing changed:",
        "  [dc2] pause_follow follower_index",
        "  [dc2] close follower_index",
        "  [dc2] unfollow follower_index",
        "  [dc2] open follower_index",
        "  [dc2] switch_alias follower_index (alias=orders write=True)",
        "summary (data at risk: writes the leader acknowledged that may be missing here):",
        "  would promote follower_index: 256 operation(s) behind dc1, measured now (dc1's "
        "checkpoint as the follower last read it; its last read request went out 0.0 s ago)",
    ]


def test_contract_promote_runs_the_documented_calls_in_order_and_records_it():
    es, wire = fake_client([
        ("GET", "/follower_index/_ccr/stats", None, 200, FOLLOW_STATS),
        shard_stats("follower_index", 500, 268),
        ("POST", "/follower_index/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/follower_index/_close", None, 200, ACK),
        ("POST", "/follower_index/_ccr/unfollow", None, 200, ACK),
        ("POST", "/follower_index/_open", None, 200, ACK),
        ("GET", "/_alias/orders", None, 200, {"follower_index": {"aliases": {"orders": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "follower_index", "alias": "orders",
                                                    "is_write_index": True}}]}, 200, ACK),
        ("GET", "/esdr-managed/_doc/registry", None, 200,
         {"_source": {"follower_index": ["follower_index", "logs"]}, "found": True}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry", ANY, 200, {"result": "updated"}),
    ])
    promote.promote(es, "dc2", [F], dry=False, say=lambda _: None, leaders={"dc1": GREEN},
                    in_sync={})
    wire.done()
    record = wire.seen[-1][2]["promoted"]["follower_index"]
    # the write alias moved here is recorded as esdr's, as the next deploy would record it,
    # and the promoted index (a leader now) no longer as a follower
    assert wire.seen[-1][2]["alias"] == ["orders"]
    assert wire.seen[-1][2]["follower_index"] == ["logs"]
    assert record["remote"] == "dc1" and record["lag_operations"] == 256
    assert record["lag_measured"] is True and record["at_risk_since"] is None
    assert record["follower_checkpoint"] == 768  # follower_global_checkpoint at promotion
    # and per shard, which `esdr failback` salvages above (esdr.runbooks.salvage)
    assert record["shard_checkpoints"] == {"0": 500, "1": 268}
    assert record["data_at_risk"].startswith("follower_index: 256 operation(s) behind dc1")


@pytest.mark.parametrize("status,force,refused", [
    ("green", False, True), ("yellow", False, True), ("green", True, False),
    ("red", False, False), (None, False, False),
])
def test_promote_refuses_while_the_leader_dc_is_healthy(status, force, refused):
    health = {"status": status} if status else None
    if refused:
        with pytest.raises(EsdrError, match="reachable and .*--force"):
            promote.refuse_if_remote_healthy("dc1", health, force)
    else:
        promote.refuse_if_remote_healthy("dc1", health, force)


def test_promote_needs_index_or_all():
    with pytest.raises(EsdrError, match="--index NAME .* or --all"):
        promote.choose({"follower_index": F}, [], False, set())
    assert promote.choose({"follower_index": F}, [], True, {"follower_index"}) == []


P = failback.Promoted("follower_index", "dc2", "dc1", "leader_index", "orders")


def test_contract_failback_step_order_both_directions():
    assert [s.line() for s in failback.failback_steps(P, "reverse")] == [
        "[dc1] delete leader_index",
        "[dc1] follow leader_index (leader_index=follower_index remote_cluster=dc2)",
        "[dc1] switch_alias leader_index (alias=orders write=False)",
    ]
    assert [s.line() for s in failback.failback_steps(P, "original")] == [
        "[dc2] switch_alias follower_index (alias=orders write=False)",
        "[dc2] delete follower_index",
        "[dc2] follow follower_index (leader_index=leader_index remote_cluster=dc1)",
    ]


def _counting(count: int):
    return [("POST", "/follower_index/_count" if count == 120 else "/leader_index/_count", None,
             200, {"count": count, "_shards": {"total": 1, "successful": 1, "failed": 0}})]


def test_contract_failback_dry_run_warns_loudly_and_changes_nothing():
    dc2, wire2 = fake_client(_counting(120))
    dc1, wire1 = fake_client(_counting(100))
    said: list[str] = []
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=False, dry=True,
                      say=said.append)
    wire1.done(), wire2.done()
    assert said[0].startswith("WARNING: follower_index: dc2 holds 120 document(s), "
                              "dc1:leader_index holds 100. Failback replaces dc1:leader_index")
    assert said[1:] == [
        "dry run: 3 step(s), nothing changed:",
        "  [dc1] delete leader_index",
        "  [dc1] follow leader_index (leader_index=follower_index remote_cluster=dc2)",
        "  [dc1] switch_alias leader_index (alias=orders write=False)",
    ]


def test_failback_never_deletes_without_the_flag():
    dc2, _ = fake_client(_counting(120))
    dc1, wire1 = fake_client(_counting(100))
    with pytest.raises(EsdrError, match="would delete dc1:leader_index.*--allow-delete"):
        failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=False,
                          dry=False, say=lambda _: None)
    wire1.done()  # nothing beyond the count was sent


def test_contract_failback_reverse_runs_follow_on_the_returning_dc():
    dc2, wire2 = fake_client(_counting(120) + [
        ("GET", "/esdr-managed/_doc/registry", None, 200,
         {"_source": {"promoted": {"follower_index": {"remote": "dc1"}}}, "found": True}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry", ANY, 200, {"result": "updated"}),
    ])
    dc1, wire1 = fake_client(_counting(100) + [
        ("DELETE", "/leader_index", None, 200, ACK),
        ("PUT", "/leader_index/_ccr/follow?wait_for_active_shards=1",
         {"remote_cluster": "dc2", "leader_index": "follower_index"}, 200,
         {"follow_index_created": True, "follow_index_shards_acked": True,
          "index_following_started": True}),
        ("GET", "/_alias/orders", None, 200, {"leader_index": {"aliases": {"orders": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "leader_index", "alias": "orders",
                                                    "is_write_index": False}}]}, 200, ACK),
        # the follower it made recorded as esdr's (no registry on dc1 yet: created)
        ("GET", "/esdr-managed/_doc/registry", None, 404,
         {"error": {"type": "index_not_found_exception", "reason": "no such index"},
          "status": 404}),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", "/esdr-managed/_doc/registry", ANY, 200, {"result": "created"}),
    ])
    failback.failback({"dc1": dc1, "dc2": dc2}, [P], "reverse", allow_delete=True, dry=False,
                      say=lambda _: None)
    wire1.done(), wire2.done()
    assert wire2.seen[-1][2]["promoted"] == {}
    assert wire1.seen[-1][2]["follower_index"] == ["leader_index"]
