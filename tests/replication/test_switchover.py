"""`esdr switchover`: the state machine (phases, what a rerun does after an interruption at any
request), its refusals, and the requests per engine: OpenSearch on two stateful fake clusters
(tests/replication/fake_os_pair.py), Elasticsearch CCR against Elastic's documented request and
response bodies (CCR cannot run here; the production path is the same code)."""

from __future__ import annotations

import pytest

from esdr.errors import EsdrError
from esdr.replication.ccr import CcrReplication
from esdr.replication.opensearch import OpenSearchReplication
from esdr.runbooks import switchover as so
from tests.crossdc.fake_es import ANY, fake_client, fake_topology, not_found
from tests.replication.fake_os_pair import Killed, World

PAIR = so.Pair("orders", "dc2", "dc1", "orders", "orders-write")
KEY = "dc1:orders>dc2:orders"  # the estate's pair key (esdr.crossdc.active_side.pair_key)


# --- the pure state machine ------------------------------------------------------------------
@pytest.mark.parametrize("phase,decision", [
    (None, "fresh"), ("leader-blocked", "rollback"), ("in-sync", "rollback"),
    ("follower-stopped", "resume"), ("alias-moved", "resume"),
    ("reverse-following", "resume"), ("done", "resume"),
])
def test_before_the_stop_a_rerun_rolls_back_from_it_only_forward(phase, decision):
    record = PAIR.record(phase) if phase else None
    assert so.decide(record) == decision


def test_the_most_advanced_record_of_the_two_sides_wins():
    one, two = PAIR.record("leader-blocked"), PAIR.record("follower-stopped")
    assert so.latest(one, None, two)["phase"] == "follower-stopped"
    assert so.latest(None, None) is None
    assert so.resume_from("follower-stopped") == "in-sync"  # re-checked, skipped once stopped
    assert so.resume_from("reverse-following") == "reverse-following"


STEPS = {
    OpenSearchReplication: [
        "[leader-blocked] [dc1] block_writes orders",
        "[in-sync] [dc2] wait_in_sync orders (leader_index=orders timeout=30s)",
        "[follower-stopped] [dc2] stop orders",
        "[alias-moved] [dc2] switch_alias orders (alias=orders-write write=True)",
        "[reverse-following] [dc1] delete orders",
        "[reverse-following] [dc1] follow orders (leader_index=orders remote_cluster=dc2)",
    ],
    CcrReplication: [
        "[leader-blocked] [dc1] block_writes orders",
        "[in-sync] [dc2] wait_in_sync orders (leader_index=orders timeout=30s)",
        "[follower-stopped] [dc2] pause_follow orders",
        "[follower-stopped] [dc2] close orders",
        "[follower-stopped] [dc2] unfollow orders",
        "[follower-stopped] [dc2] open orders",
        "[alias-moved] [dc2] switch_alias orders (alias=orders-write write=True)",
        "[reverse-following] [dc1] delete orders",
        "[reverse-following] [dc1] follow orders (leader_index=orders remote_cluster=dc2)",
        # CCR followers keep aliases set on them: the old leader's copy reads only
        "[reverse-following] [dc1] switch_alias orders (alias=orders-write write=False)",
    ],
}


@pytest.mark.parametrize("engine", sorted(STEPS, key=lambda c: c.engine))
def test_steps_per_engine(engine):
    steps = so.switchover_steps(PAIR, engine, engine, 30)
    assert [f"[{phase}] {step.line()}" for phase, step in steps] == STEPS[engine]
    resumed = so.switchover_steps(PAIR, engine, engine, 30, "reverse-following")
    assert [s.action for _, s in resumed][:2] == ["delete", "follow"]


def test_rollback_lifts_the_block_only():
    assert [s.line() for s in so.rollback_steps(PAIR)] == ["[dc1] unblock_writes orders"]


# --- reading the checkpoints -----------------------------------------------------------------
def _stats(index: str, *checkpoints: int) -> dict:
    """GET /<index>/_stats?level=shards, one primary and one replica per shard."""
    return {"indices": {index: {"shards": {
        str(n): [{"routing": {"state": "STARTED", "primary": False, "node": "b"},
                  "seq_no": {"max_seq_no": cp - 1, "local_checkpoint": cp - 1,
                             "global_checkpoint": cp - 1}},
                 {"routing": {"state": "STARTED", "primary": True, "node": "a"},
                  "seq_no": {"max_seq_no": cp, "local_checkpoint": cp, "global_checkpoint": cp}}]
        for n, cp in enumerate(checkpoints)}}}}


def _follow_stats(index: str, *checkpoints: int) -> dict:
    """GET /<follower>/_ccr/stats as documented (the fields the runbook reads, and more)."""
    return {"indices": [{"index": index, "total_global_checkpoint_lag": 0, "shards": [
        {"remote_cluster": "dc1", "leader_index": "orders", "follower_index": index,
         "shard_id": n, "leader_global_checkpoint": cp, "leader_max_seq_no": cp,
         "follower_global_checkpoint": cp, "follower_max_seq_no": cp,
         "last_requested_seq_no": cp, "outstanding_read_requests": 1,
         "outstanding_write_requests": 0, "write_buffer_operation_count": 0,
         "follower_mapping_version": 1, "follower_settings_version": 1,
         "follower_aliases_version": 1, "total_read_time_millis": 10,
         "total_read_remote_exec_time_millis": 5, "successful_read_requests": 3,
         "failed_read_requests": 0, "operations_read": cp + 1, "bytes_read": 100,
         "total_write_time_millis": 4, "successful_write_requests": 2,
         "failed_write_requests": 0, "operations_written": cp + 1, "read_exceptions": [],
         "time_since_last_read_millis": 8}
        for n, cp in enumerate(checkpoints)]}]}


def test_ccr_in_sync_is_every_shard_at_the_leaders_primary_checkpoint():
    sync = so.sync_ccr(_stats("orders", 10, 20), "orders", _follow_stats("orders", 10, 20),
                       "orders")
    assert sync.in_sync and sync.behind == 0
    behind = so.sync_ccr(_stats("orders", 10, 25), "orders", _follow_stats("orders", 10, 20),
                         "orders")
    assert not behind.in_sync and behind.behind == 5
    assert behind.line() == ("5 operation(s) behind (leader checkpoint shard 0: 10, shard 1: "
                             "25, follower shard 0: 10, shard 1: 20)")
    gone = so.sync_ccr(_stats("orders", 10), "orders", None, "orders")
    assert not gone.in_sync and "not following" in gone.line()


def test_opensearch_in_sync_compares_the_leaders_own_checkpoint_with_the_status():
    syncing = {"status": "SYNCING", "reason": "User initiated", "leader_alias": "dc1",
               "leader_index": "orders", "follower_index": "orders",
               "syncing_details": {"leader_checkpoint": 30, "follower_checkpoint": 30,
                                   "seq_no": 0}}
    assert so.sync_opensearch(_stats("orders", 10, 20), "orders", syncing).in_sync
    # _status says 30 = 30, but the leader's primaries hold 31: not in sync
    late = so.sync_opensearch(_stats("orders", 10, 21), "orders", syncing)
    assert not late.in_sync and late.behind == 1
    paused = so.sync_opensearch(_stats("orders", 10), "orders",
                                {"status": "PAUSED", "reason": "x"})
    assert not paused.in_sync and paused.line() == "replication of the follower is PAUSED"


# --- OpenSearch, on two stateful fake clusters -----------------------------------------------
def _run(world: World, **kwargs) -> tuple[so.Outcome, list[str]]:
    said: list[str] = []
    kwargs = {"timeout": 2.0, "dry": False, "active_key": KEY, **kwargs}
    outcome = so.switchover(PAIR, world.adapters(), say=said.append, **kwargs)
    return outcome, said


def _switched(world: World) -> None:
    dc1, dc2 = world.clusters["dc1"], world.clusters["dc2"]
    new, old = dc2.indices["orders"], dc1.indices["orders"]
    assert new.follows is None and not new.blocked
    assert new.aliases == {"orders-write": True}
    assert old.follows == ("dc2", "orders") and not old.blocked
    assert old.checkpoint == new.checkpoint
    assert "switchover" not in (dc1.registry or {}) and "switchover" not in dc2.registry
    for cluster in (dc1, dc2):  # the new active side, recorded on both: `esdr plan` keeps it
        assert cluster.registry["active"][KEY]["leader"] == "dc2"
        assert cluster.registry["active"][KEY]["by"] == "switchover"
        assert "orders" not in cluster.registry.get("promoted", {})
    # dc1's orders follows now, dc2's leads: recorded as a deploy would, so it writes nothing
    assert "orders" in dc1.registry["follower_index"]
    assert "orders" not in dc2.registry.get("follower_index", [])


def test_opensearch_switchover_blocks_waits_stops_moves_then_follows_back():
    world = World()
    world.active_follower()
    world.catch_up = 1
    world.clusters["dc2"].indices["orders"].checkpoint = 96  # 3 behind
    outcome, said = _run(world)
    _switched(world)
    assert outcome.how == "fresh" and 0 <= outcome.window_s < 2
    assert said[-1].startswith("switchover orders dc1 → dc2: writes blocked for ")
    assert "step 1/6 [leader-blocked]: [dc1] block_writes orders" in said
    assert any(line.startswith("  done in ") for line in said)
    # the records went to both sides before the block and before the stop
    writes = [(c, m, p) for c, m, p in world.log if p == "/esdr-managed/_doc/registry"
              and m == "PUT"]
    # 3 recorded phases x 2 sides, then the final bookkeeping and the active side on both
    assert len(writes) == 2 * 3 + 2 + 2
    order = [(m, p) for c, m, p in world.log if c == "dc1"]
    assert order.index(("PUT", "/orders/_block/write")) < order.index(("DELETE", "/orders"))


def test_opensearch_switchover_back_forgets_the_promotion():
    world = World()
    world.active_follower()
    _run(world)
    _switched(world)
    back = so.Pair("orders", "dc1", "dc2", "orders", "orders-write")
    so.switchover(back, world.adapters(), timeout=2, dry=False, say=lambda _: None,
                  active_key=KEY)
    assert world.clusters["dc1"].indices["orders"].follows is None
    assert world.clusters["dc2"].indices["orders"].follows == ("dc1", "orders")
    for cluster in world.clusters.values():  # back as designed, a newer record than the first
        assert cluster.registry["active"][KEY]["leader"] == "dc1"
        assert cluster.registry["active"][KEY]["generation"] == 2
        assert not cluster.registry.get("promoted")
    assert world.clusters["dc2"].registry["follower_index"] == ["orders"]
    assert world.clusters["dc1"].registry["follower_index"] == []


def test_a_busy_cluster_answering_429_to_the_records_is_retried_and_the_switchover_finishes(
        monkeypatch):
    """Seen on the lab under load: every step done, then a registry write answered 429 and
    the switchover stopped with its record saying "reverse-following" on both sides."""
    monkeypatch.setattr(so.time, "sleep", lambda _: None)
    monkeypatch.setattr("esdr.reconcile.retry.time.sleep", lambda _: None)
    world = World()
    world.active_follower()
    world.busy = [("dc1", "PUT", "/esdr-managed/_doc/registry"),
                  ("dc2", "PUT", "/esdr-managed/_doc/registry"),
                  ("dc2", "GET", "/esdr-managed/_doc/registry")]
    _run(world)
    _switched(world)
    assert world.busy == []  # each was answered 429 once, then retried


KILL_POINTS = [
    # (cluster, method, path, before/after the cluster applied it) -> what the rerun does
    (("dc1", "PUT", "/orders/_block/write", "after"), "rolled back, then fresh"),
    (("dc1", "GET", "/orders/_stats", "before"), "rolled back, then fresh"),
    (("dc2", "POST", "/_plugins/_replication/orders/_stop", "before"), "resumed"),
    (("dc2", "POST", "/_plugins/_replication/orders/_stop", "after"), "resumed"),
    (("dc2", "POST", "/_aliases", "after"), "resumed"),
    (("dc1", "DELETE", "/orders", "after"), "resumed"),
    (("dc1", "PUT", "/_plugins/_replication/orders/_start", "before"), "resumed"),
    (("dc1", "PUT", "/_plugins/_replication/orders/_start", "after"), "resumed"),
]


@pytest.mark.parametrize("kill,how", KILL_POINTS, ids=[f"{k[2]}-{k[3]}" for k, _ in KILL_POINTS])
def test_killed_anywhere_the_rerun_rolls_back_or_resumes_and_finishes(kill, how):
    world = World()
    world.active_follower()
    world.kill = kill
    with pytest.raises(Killed):
        _run(world)
    assert world.kill is None  # it died where asked
    recorded = world.clusters["dc1"].registry["switchover"]
    outcome, said = _run(world)
    _switched(world)
    assert outcome.how == how
    first = said[0]
    if how == "resumed":
        assert first == (f"switchover orders dc1 → dc2 was interrupted at phase "
                         f"{recorded['phase']}, after its follower was stopped: only forward; "
                         "resuming")
        if recorded["phase"] == "follower-stopped":  # the window ran on since the first block
            assert said[-1].endswith("(since the interrupted run blocked them)")
    else:
        assert first.startswith("switchover orders dc1 → dc2 was interrupted at phase "
                                "leader-blocked, before its follower was stopped")
        assert "rollback: [dc1] unblock_writes orders" in said


def _killed_at(kill: tuple[str, str, str, str]) -> World:
    """A world whose switchover was killed at ``kill`` (cluster, method, path, before/after)."""
    world = World()
    world.active_follower()
    world.kill = kill
    with pytest.raises(Killed):
        _run(world)
    return world


def test_rollback_only_lifts_the_block_and_forgets_the_record():
    world = _killed_at(("dc1", "PUT", "/orders/_block/write", "after"))
    assert world.clusters["dc1"].indices["orders"].blocked
    outcome, _ = _run(world, rollback_only=True)
    assert outcome.how == "rolled back"
    assert not world.clusters["dc1"].indices["orders"].blocked
    assert world.clusters["dc2"].indices["orders"].follows == ("dc1", "orders")
    assert "switchover" not in world.clusters["dc1"].registry


def test_rollback_is_refused_once_the_follower_was_stopped():
    world = _killed_at(("dc2", "POST", "/_plugins/_replication/orders/_stop", "after"))
    with pytest.raises(EsdrError, match="cannot be rolled back.*rerun without --rollback"):
        _run(world, rollback_only=True)


def test_not_in_sync_within_the_bound_is_rolled_back_and_refused():
    world = World()
    world.active_follower()
    world.catch_up = 0
    world.clusters["dc2"].indices["orders"].checkpoint = 90
    with pytest.raises(EsdrError) as refused:
        _run(world, timeout=0.3)
    message = str(refused.value)
    assert "orders did not catch up with dc1:orders within 0.3 s" in message
    assert "9 operation(s) behind" in message and "--timeout" in message
    dc1 = world.clusters["dc1"]
    assert not dc1.indices["orders"].blocked and "switchover" not in dc1.registry
    assert world.clusters["dc2"].indices["orders"].follows == ("dc1", "orders")


@pytest.mark.parametrize("break_it,match", [
    (lambda w: setattr(w.clusters["dc1"], "health", "red"), "dc1 is red"),
    (lambda w: setattr(w.clusters["dc1"], "connected", False), "dc1 is not connected to dc2"),
    (lambda w: setattr(w.clusters["dc1"].indices["orders"], "blocked", True),
     "already has a write block"),
    (lambda w: setattr(w.clusters["dc2"].indices["orders"], "follows", None),
     "dc2:orders is a regular index"),
])
def test_refusals_change_nothing(break_it, match):
    world = World()
    world.active_follower()
    break_it(world)
    with pytest.raises(EsdrError, match=match):
        _run(world)
    assert not any(m in ("PUT", "POST", "DELETE") for _, m, _ in world.log)


def test_one_switchover_in_flight_at_a_time():
    world = World()
    world.active_follower()
    world.clusters["dc1"].registry = {"switchover": so.Pair(
        "events", "dc2", "dc1", "events", None).record("follower-stopped")}
    with pytest.raises(EsdrError, match="switchover events dc1 → dc2 is in flight"):
        _run(world)


def test_dry_run_reads_and_changes_nothing():
    world = World()
    world.active_follower()
    outcome, said = _run(world, dry=True)
    assert said[-7] == "dry run: 6 step(s), nothing changed:"
    assert outcome.window_s is None
    assert not any(m in ("PUT", "POST", "DELETE") for _, m, _ in world.log)


# --- Elasticsearch CCR: Elastic's documented requests, in order -------------------------------
ACK = {"acknowledged": True}
DOC = "/esdr-managed/_doc/registry"


def _registry_put(existing: bool) -> list[tuple]:
    return [("GET", DOC, None, 404, not_found()),
            ("HEAD", "/esdr-managed", None, 200 if existing else 404, {}),
            # none yet: registry.write creates it
            *([] if existing else [("PUT", "/esdr-managed", ANY, 200, ACK)]),
            ("PUT", DOC, ANY, 200, {"result": "updated"})]


def _active_recorded() -> list[tuple]:
    """``registry.record_active``: read, then write the registry with the record."""
    entry = {"_id": "registry", "found": True, "_source": {}}
    return [("GET", DOC, None, 200, entry), ("HEAD", "/esdr-managed", None, 200, {}),
            ("PUT", DOC, ANY, 200, {"result": "updated"})]


def _saved(phase: str) -> list[tuple]:
    entry = {"_id": "registry", "found": True, "_source": {"switchover": {"phase": phase}}}
    return [("GET", DOC, None, 200, entry), ("HEAD", "/esdr-managed", None, 200, {}),
            ("PUT", DOC, ANY, 200, {"result": "updated"})]


def test_contract_ccr_switchover_runs_the_documented_calls_in_order():
    follower_info = {"follower_indices": [{
        "follower_index": "orders", "remote_cluster": "dc1", "leader_index": "orders",
        "status": "active", "parameters": {}}]}
    blocked = {"orders": {"settings": {"index.blocks.write": "true"}}}
    dc1, wire1 = fake_client([
        ("GET", DOC, None, 404, not_found()),  # nothing in flight
        ("GET", "/_cluster/health", None, 200, {"status": "green"}),
        ("GET", "/_remote/info", None, 200, {"dc2": {"connected": True, "mode": "sniff"}}),
        ("GET", "/orders/_settings/index.blocks.write", None, 200, {"orders": {"settings": {}}}),
        *_saved("x"),  # phase leader-blocked
        # https://www.elastic.co/guide/en/elasticsearch/reference/current/add-index-block.html
        ("PUT", "/orders/_block/write", None, 200,
         {"acknowledged": True, "shards_acknowledged": True,
          "indices": [{"name": "orders", "blocked": True}]}),
        ("GET", "/orders/_stats?level=shards", None, 200, _stats("orders", 41)),
        *_saved("leader-blocked"),  # phase follower-stopped
        *_saved("follower-stopped"),  # phase reverse-following
        ("HEAD", "/orders", None, 200, {}),
        ("GET", "/orders/_ccr/info", None, 200, {"follower_indices": []}),
        ("GET", "/orders/_settings/index.blocks.write", None, 200, blocked),
        ("DELETE", "/orders", None, 200, ACK),
        ("GET", "/orders/_ccr/info", None, 404, not_found()),  # gone: follow it
        # https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-put-follow.html
        ("PUT", "/orders/_ccr/follow?wait_for_active_shards=1",
         {"remote_cluster": "dc2", "leader_index": "orders"}, 200,
         {"follow_index_created": True, "follow_index_shards_acked": True,
          "index_following_started": True}),
        ("GET", "/_alias/orders-write", None, 200,
         {"orders": {"aliases": {"orders-write": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-write",
                                                    "is_write_index": False}}]}, 200, ACK),
        *_saved("reverse-following"),  # forget
        *_active_recorded(),
    ], fake_topology("dc1-cluster"))
    dc2, wire2 = fake_client([
        ("GET", DOC, None, 404, not_found()),
        ("GET", "/_cluster/health", None, 200, {"status": "green"}),
        ("GET", "/orders/_ccr/info", None, 200, follower_info),
        ("GET", "/orders/_ccr/stats", None, 200, _follow_stats("orders", 40)),  # lag
        *_registry_put(existing=False),
        ("GET", "/orders/_ccr/info", None, 200, follower_info),
        ("GET", "/orders/_ccr/stats", None, 200, _follow_stats("orders", 41)),
        *_saved("leader-blocked"),
        ("GET", "/orders/_ccr/info", None, 200, follower_info),  # still following: stop it
        # https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-unfollow.html
        ("POST", "/orders/_ccr/pause_follow", None, 200, ACK),
        ("GET", "/orders/_ccr/info", None, 200,
         {"follower_indices": [{**follower_info["follower_indices"][0], "status": "paused"}]}),
        ("POST", "/orders/_close", None, 200, ACK),
        ("GET", "/orders/_ccr/info", None, 200,
         {"follower_indices": [{**follower_info["follower_indices"][0], "status": "paused"}]}),
        ("POST", "/orders/_ccr/unfollow", None, 200, ACK),
        ("GET", "/orders/_ccr/info", None, 200, {"follower_indices": []}),
        ("POST", "/orders/_open", None, 200, ACK),
        ("GET", "/_alias/orders-write", None, 200,
         {"orders": {"aliases": {"orders-write": {}}}}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": "orders", "alias": "orders-write",
                                                    "is_write_index": True}}]}, 200, ACK),
        *_saved("follower-stopped"),
        *_saved("reverse-following"),  # forget
        *_active_recorded(),  # the new active side, for `esdr plan` and the deploy
    ])
    said: list[str] = []
    adapters = {"dc1": CcrReplication(dc1), "dc2": CcrReplication(dc2)}
    outcome = so.switchover(PAIR, adapters, timeout=5, dry=False, say=said.append,
                            active_key=KEY)
    wire1.done(), wire2.done()
    assert outcome.how == "fresh" and outcome.window_s is not None
    assert said[-1].startswith("switchover orders dc1 → dc2: writes blocked for ")
    record = wire2.seen[-1][2]
    assert "switchover" not in record and record["active"][KEY]["leader"] == "dc2"
    first_record = [b for m, p, b in wire2.seen if m == "PUT" and p == DOC][0]["switchover"]
    assert first_record == {**first_record, "phase": "leader-blocked", "index": "orders",
                            "old": "dc1", "new": "dc2", "leader_index": "orders"}


# --- the command ---------------------------------------------------------------------------------
def test_command_finds_the_pair_from_the_live_follower_and_the_estate(monkeypatch):
    from click.testing import CliRunner

    from esdr import replication
    from esdr.cli import switchover as command
    from esdr.cli.main import cli
    from tests.replication.conftest import ESTATE
    from tests.replication.fake_os import os_topology

    world = World()
    world.active_follower(write_alias="orders-w")
    estate = {**ESTATE, "clusters": {
        alias: {**ref, "inventory": f"inventories/{alias}.py"}
        for alias, ref in ESTATE["clusters"].items()}}
    topologies = {name: os_topology(f"os-{name}", es_estate=estate) for name in ("dc1", "dc2")}
    monkeypatch.setattr(command, "topology_of", lambda inventory: topologies["dc2"])
    monkeypatch.setattr(command, "remotetopology_of",
                        lambda inventory, estate, alias: topologies[alias])
    adapters = world.adapters()
    monkeypatch.setattr(replication, "adapter_for",
                        lambda t, es=None, replicator=None: adapters[t.cluster.name[3:]])
    result = CliRunner().invoke(cli, ["switchover", "inventories/dc2.py", "--index", "orders",
                                      "--timeout", "2s"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "step 4/6 [alias-moved]: [dc2] switch_alias orders (alias=orders-w write=True)" in lines
    assert lines[-1].startswith("switchover orders dc1 → dc2: writes blocked for ")
    assert world.clusters["dc1"].indices["orders"].follows == ("dc2", "orders")
    again = CliRunner().invoke(cli, ["switchover", "inventories/dc2.py", "--index", "orders"])
    assert again.exit_code == 1 and "dc2:orders is not a follower" in again.output


@pytest.mark.parametrize("value,seconds", [("30s", 30), ("2m", 120), ("500ms", 0.5), ("7", 7)])
def test_timeout_values(value, seconds):
    from esdr.cli.switchover import seconds as parse

    assert parse(value) == seconds


def test_writes_are_blocked_only_once_the_follower_is_near_its_leader():
    """A follower far behind catches up first with writes still flowing, so the wait with
    writes blocked stays short (seen in the lab: 25 operations behind took 8 s blocked)."""
    world = World()
    world.active_follower()
    world.catch_up = 10  # operations gained per status read, two reads a second
    world.clusters["dc2"].indices["orders"].checkpoint = 49  # 50 behind
    _, said = _run(world)
    _switched(world)
    near = [line for line in said if line.startswith("lag before blocking writes")]
    assert near == [f"lag before blocking writes: orders: {so.NEAR} operation(s) behind the "
                    "leader"], said
