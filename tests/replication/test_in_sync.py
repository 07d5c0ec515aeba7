"""The in-sync probe behind `esdr status`'s record: the leader's max_seq_no per shard read
first, the follower's global checkpoints until they reach it, bounded; and what status writes.

The shard-stats bodies are shaped as ``GET /<index>/_stats?level=shards`` answers
(https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-stats.html), the same
on OpenSearch; the real thing is read in the OpenSearch lab's DC-loss drill."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from esdr.cli import status as status_cli
from esdr.crossdc import active_side
from esdr.crossdc.estate import parse_estate
from esdr.es import client
from esdr.reconcile import registry
from esdr.replication import in_sync
from esdr.replication.in_sync import InSync, behind, primary_seq_nos, probe
from esdr.runbooks.at_risk import assess
from esdr.replication.base import Lag

T0 = datetime(2026, 12, 5, 21, 0, 0, tzinfo=timezone.utc)


def stats(index: str, **shards: tuple[int, int]) -> dict:
    """shard -> (max_seq_no, global_checkpoint) of its primary, plus a replica that lags."""
    return {"indices": {index: {"shards": {
        s: [{"routing": {"primary": False},
             "seq_no": {"max_seq_no": m - 5, "global_checkpoint": g - 5}},
            {"routing": {"primary": True}, "seq_no": {"max_seq_no": m, "global_checkpoint": g,
                                                      "local_checkpoint": m}}]
        for s, (m, g) in shards.items()}}}}


def test_the_primary_of_each_shard_is_read():
    body = stats("orders", **{"0": (10, 8), "1": (4, 4)})
    assert primary_seq_nos(body, "orders", "max_seq_no") == {"0": 10, "1": 4}
    assert primary_seq_nos(body, "orders", "global_checkpoint") == {"0": 8, "1": 4}


def test_a_shard_without_a_primary_is_no_reading():
    body = stats("orders", **{"0": (10, 8)})
    body["indices"]["orders"]["shards"]["0"][1]["routing"]["primary"] = False
    assert "no primary of shard 0" in primary_seq_nos(body, "orders", "max_seq_no")
    assert "no shard" in primary_seq_nos({"indices": {}}, "orders", "max_seq_no")


def test_behind_compares_shard_by_shard_not_sums():
    assert behind({"0": 10, "1": 4}, {"0": 10, "1": 4}) == 0
    # the sums are equal, but shard 1 lacks two operations
    assert behind({"0": 10, "1": 4}, {"0": 12, "1": 2}) == 2
    assert behind({"0": 10}, {"0": 10, "1": 0}) is None


class Clusters:
    """get_shard_stats answers: the leader once, the follower in turn from ``follower``."""

    def __init__(self, leader: dict, *follower: dict):
        self.leader, self.follower, self.calls = leader, list(follower), []

    def __call__(self, es, index):
        self.calls.append(es)
        if es == "leader":
            return self.leader
        return self.follower.pop(0) if len(self.follower) > 1 else self.follower[0]


@pytest.fixture
def clock():
    t = {"now": 0.0}
    return t


def _probe(monkeypatch, clusters, clock, wait=1.0):
    monkeypatch.setattr(client, "get_shard_stats", clusters)

    def sleep(s):
        clock["now"] += s

    return probe("leader", "orders", "follower", "orders", wait=wait, poll=0.25,
                 now=lambda: T0, clock=lambda: clock["now"], sleep=sleep)


def test_a_follower_that_catches_up_with_the_numbers_read_is_in_sync_as_of_the_leader_read(
        monkeypatch, clock):
    clusters = Clusters(stats("orders", **{"0": (10, 9), "1": (4, 4)}),
                        stats("orders", **{"0": (8, 8), "1": (4, 4)}),
                        stats("orders", **{"0": (11, 11), "1": (6, 5)}))
    seen = _probe(monkeypatch, clusters, clock)
    assert isinstance(seen, InSync) and seen.at == T0
    assert clusters.calls[0] == "leader"  # the leader first: its numbers bound what was acked
    assert seen.record() == {"at": "2026-12-05T21:00:00.000+00:00", "follower_checkpoint": 14,
                             "shards": {"0": 10, "1": 4}}


def test_a_follower_that_does_not_catch_up_in_time_is_not_in_sync(monkeypatch, clock):
    clusters = Clusters(stats("orders", **{"0": (10, 10)}), stats("orders", **{"0": (7, 7)}))
    seen = _probe(monkeypatch, clusters, clock, wait=1.0)
    assert seen == ("3 operation(s) behind the leader's numbers read 1 s before (still "
                    "catching up, or not replicating)")
    assert 4 <= len(clusters.calls) - 1 <= 6  # bounded: about wait / poll reads


def test_a_leader_without_a_primary_is_no_probe(monkeypatch, clock):
    leader = stats("orders", **{"0": (10, 10)})
    leader["indices"]["orders"]["shards"]["0"][1]["routing"]["primary"] = False
    seen = _probe(monkeypatch, Clusters(leader, stats("orders", **{"0": (10, 10)})), clock)
    assert seen.startswith("leader: ")


def test_the_record_bounds_promotes_window_and_is_never_taken_for_an_older_copy():
    """What status records is what promote reads: its window starts at the probe's time, and
    the follower's later checkpoint (only ever higher) keeps the record valid."""
    seen = InSync(T0, {"0": 10, "1": 4}, {"0": 11, "1": 5})
    later = T0 + timedelta(seconds=42)
    lag = Lag("orders", None, note="leader unreachable", follower_checkpoint=16)
    risk = assess(lag, "dc1", answered=False, why="unreachable", read_at=later,
                  record=seen.record())
    assert risk.since == T0 and not risk.measured
    assert "after 21:00:00 UTC (42.0 s before promote) may be missing" in risk.line


ESTATE = parse_estate({
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "inventory": "inventories/dc1.py"},
                 "dc2": {"cluster_name": "t-dc2", "inventory": "inventories/dc2.py"}},
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders"}],
})
SIDE = active_side.sides(ESTATE, {})[0]


class Follower:
    es = "follower"


class Printer:
    def __init__(self):
        self.lines = []

    def say(self, line, err=False):
        self.lines.append(line)


def test_status_records_a_follower_seen_in_sync_in_the_followers_registry(monkeypatch):
    written = {}
    monkeypatch.setattr(status_cli, "probe",
                        lambda *a: InSync(T0, {"0": 10}, {"0": 10}))
    monkeypatch.setattr(registry, "read", lambda es: {"managed": {}})
    monkeypatch.setattr(registry, "write", lambda es, reg: written.update({es: reg}))
    text = status_cli._seen_now(Printer(), "leader", Follower(), SIDE, "unknown")
    assert text == "2026-12-05T21:00:00+00:00 (seen now; recorded)"
    assert written["follower"][registry.IN_SYNC]["orders"]["at"] == "2026-12-05T21:00:00.000+00:00"


def test_status_records_nothing_when_the_follower_is_not_in_sync_or_the_leader_is_silent(
        monkeypatch):
    monkeypatch.setattr(registry, "write", lambda es, reg: pytest.fail("recorded"))
    monkeypatch.setattr(status_cli, "probe", lambda *a: "3 operation(s) behind")
    assert status_cli._seen_now(Printer(), "leader", Follower(), SIDE, "unknown") == (
        "unknown (not in sync now: 3 operation(s) behind)")

    def silent(*a):
        raise client.API_ERRORS[-1]("N/A", "connection timed out", None)

    monkeypatch.setattr(status_cli, "probe", silent)
    assert status_cli._seen_now(Printer(), "leader", Follower(), SIDE, "2026-12-05T20:00:00Z"
                                ).startswith("2026-12-05T20:00:00Z (not probed: ")
    assert status_cli._seen_now(Printer(), None, Follower(), SIDE, "unknown") == (
        "unknown (not probed: no client to dc1)")
