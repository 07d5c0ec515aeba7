"""`esdr switchover` on Elasticsearch CCR, killed at every request and rerun: CCR cannot run
here (the lab's Elasticsearch has no CCR module), so it is tested against the documented API
contract, on two stateful fake clusters (tests/replication/fake_es_pair.py) that answer with
the bodies of Elastic's pages:

- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-info.html
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-pause-follow.html
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-unfollow.html
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-put-follow.html

CCR makes a follower writable in four requests (pause_follow, close, unfollow, open), where
OpenSearch's ``_stop`` is one: a run killed between them leaves a paused (and maybe closed)
follower, which has no follow stats at all (404 "No shard follow tasks"), so the rerun must go
forward from it, not wait for stats that never come and roll back.
"""

from __future__ import annotations

import pytest

from esdr.runbooks import switchover as so
from tests.replication.fake_es_pair import CcrWorld, Killed

PAIR = so.Pair("orders", "dc2", "dc1", "orders", "orders-write")
KEY = "dc1:orders>dc2:orders"


def _run(world: CcrWorld, **kwargs) -> tuple[so.Outcome, list[str]]:
    said: list[str] = []
    kwargs = {"timeout": 5.0, "dry": False, "active_key": KEY, **kwargs}
    return so.switchover(PAIR, world.adapters(), say=said.append, **kwargs), said


def _switched(world: CcrWorld) -> None:
    dc1, dc2 = world.clusters["dc1"], world.clusters["dc2"]
    new, old = dc2.indices["orders"], dc1.indices["orders"]
    assert new.follows is None and not new.blocked
    assert ("dc2", "orders") not in world.closed | world.paused
    assert new.aliases == {"orders-write": True}
    # the leader's aliases were copied by put-follow; the old copy's is set to read only
    assert old.follows == ("dc2", "orders") and not old.blocked
    assert old.aliases == {"orders-write": False}
    assert old.checkpoint == new.checkpoint
    for cluster in (dc1, dc2):
        assert "switchover" not in cluster.registry
        assert cluster.registry["active"][KEY] == {**cluster.registry["active"][KEY],
                                                   "leader": "dc2", "by": "switchover"}


def test_ccr_switchover_on_stateful_clusters_answering_as_documented():
    world = CcrWorld()
    world.active_follower()
    world.catch_up = 1
    world.clusters["dc2"].indices["orders"].checkpoint = 96
    outcome, said = _run(world)
    _switched(world)
    assert outcome.how == "fresh" and outcome.window_s is not None
    assert [line for line in said if line.startswith("step ")] == [
        "step 1/10 [leader-blocked]: [dc1] block_writes orders",
        "step 2/10 [in-sync]: [dc2] wait_in_sync orders (leader_index=orders timeout=5s)",
        "step 3/10 [follower-stopped]: [dc2] pause_follow orders",
        "step 4/10 [follower-stopped]: [dc2] close orders",
        "step 5/10 [follower-stopped]: [dc2] unfollow orders",
        "step 6/10 [follower-stopped]: [dc2] open orders",
        "step 7/10 [alias-moved]: [dc2] switch_alias orders (alias=orders-write write=True)",
        "step 8/10 [reverse-following]: [dc1] delete orders",
        "step 9/10 [reverse-following]: [dc1] follow orders (leader_index=orders "
        "remote_cluster=dc2)",
        "step 10/10 [reverse-following]: [dc1] switch_alias orders (alias=orders-write "
        "write=False)",
    ]
    stops = [p for c, m, p in world.log if c == "dc2" and m == "POST"]
    assert stops[:4] == ["/orders/_ccr/pause_follow", "/orders/_close", "/orders/_ccr/unfollow",
                         "/orders/_open"]


KILL_POINTS = [
    (("dc1", "PUT", "/orders/_block/write", "after"), "rolled back, then fresh"),
    (("dc1", "GET", "/orders/_stats", "before"), "rolled back, then fresh"),
    (("dc2", "POST", "/orders/_ccr/pause_follow", "before"), "resumed"),
    # paused: no follow stats any more; the rerun must not wait for them and roll back
    (("dc2", "POST", "/orders/_ccr/pause_follow", "after"), "resumed"),
    (("dc2", "POST", "/orders/_close", "after"), "resumed"),
    (("dc2", "POST", "/orders/_ccr/unfollow", "after"), "resumed"),
    (("dc2", "POST", "/orders/_open", "before"), "resumed"),
    (("dc2", "POST", "/_aliases", "after"), "resumed"),
    (("dc1", "DELETE", "/orders", "after"), "resumed"),
    (("dc1", "PUT", "/orders/_ccr/follow", "before"), "resumed"),
    (("dc1", "PUT", "/orders/_ccr/follow", "after"), "resumed"),
]


@pytest.mark.parametrize("kill,how", KILL_POINTS, ids=[f"{k[2]}-{k[3]}" for k, _ in KILL_POINTS])
def test_ccr_killed_anywhere_the_rerun_rolls_back_or_resumes_and_finishes(kill, how):
    """CCR cannot run here: the documented API contract, killed at each request."""
    world = CcrWorld()
    world.active_follower()
    world.kill = kill
    with pytest.raises(Killed):
        _run(world)
    assert world.kill is None  # it died where asked
    recorded = world.clusters["dc1"].registry["switchover"]
    outcome, said = _run(world)
    _switched(world)
    assert outcome.how == how, said
    if how == "resumed":
        assert said[0] == (f"switchover orders dc1 → dc2 was interrupted at phase "
                           f"{recorded['phase']}, after its follower was stopped: only "
                           "forward; resuming")
        assert not any(line.startswith("rollback") for line in said), said
    else:
        assert "rollback: [dc1] unblock_writes orders" in said


def test_ccr_resume_never_lifts_the_block_of_a_paused_follower_whose_leader_lost_it():
    """A paused follower is trusted in sync only while the leader still has the block the
    interrupted run set (the phase was recorded after the in-sync wait, with the block on):
    without it, writes may have reached the leader since, and the rerun stops, changing
    nothing, instead of rolling back a stopped follower."""
    from esdr.errors import EsdrError

    world = CcrWorld()
    world.active_follower()
    world.kill = ("dc2", "POST", "/orders/_ccr/pause_follow", "after")
    with pytest.raises(Killed):
        _run(world)
    world.clusters["dc1"].indices["orders"].blocked = False  # someone lifted it
    world.clusters["dc1"].indices["orders"].checkpoint += 5  # and wrote
    before = len([1 for _, m, _ in world.log if m in ("PUT", "POST", "DELETE")])
    with pytest.raises(EsdrError, match="no longer has the write block"):
        _run(world)
    writes = [(c, m, p) for c, m, p in world.log if m in ("PUT", "POST", "DELETE")][before:]
    assert all(p.startswith("/esdr-managed") for _, _, p in writes), writes
    assert ("dc2", "orders") in world.paused  # left as the interrupted run left it
