"""Seeing a follower in sync with its leader, for the record `esdr promote` bounds the data at
risk with (``registry.IN_SYNC``): one probe for both engines, from the two clusters' own shard
stats.

The probe reads the leader's primaries first (``max_seq_no`` per shard: every write the leader
acknowledged so far has a sequence number at or below it), then the follower's primaries until
each shard's ``global_checkpoint`` reaches that number, for a bounded time. When it does, the
follower holds every operation the leader had acknowledged when the leader was read, so writes
acknowledged before that moment cannot be at risk. It works under a steady writer: the follower
needs only to catch up with a number already read, not with a leader that keeps moving.

Both engines replicate operations with the leader's sequence numbers, so the two sides' numbers
compare shard by shard: Elasticsearch's follower engine indexes each operation with the seq_no
the leader gave it (x-pack/plugin/ccr/.../index/engine/FollowingEngine.java), and OpenSearch's
replication plugin does the same (src/main/kotlin/org/opensearch/replication/ReplicationEngine.kt
in opensearch-project/cross-cluster-replication). esdr's salvage reads the old leader by
``_seq_no`` on the same ground.

The follower's own replication status is not used: OpenSearch's ``_status`` gives, for a shard
the leader did not answer for, the follower's own checkpoint as the leader's
(TransportReplicationStatusAction.kt), which would show a follower in sync with a leader it
cannot reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from esdr.es import client
from esdr.es.client import Api

WAIT = 5.0  # seconds the probe waits for the follower to reach the leader's numbers
POLL = 0.25  # seconds between two reads of the follower


@dataclass(frozen=True)
class InSync:
    """The follower held every operation its leader had acknowledged at ``at``."""

    at: datetime  # UTC, taken before the leader was read
    leader: dict[str, int]  # shard -> the leader primary's max_seq_no read then
    follower: dict[str, int]  # shard -> the follower primary's global checkpoint that reached it

    def record(self) -> dict[str, Any]:
        """The ``registry.IN_SYNC`` record: ``follower_checkpoint`` is the leader's numbers'
        sum, a floor of any checkpoint sum the follower reports later (checkpoints only grow),
        so a later reading never makes the record look like an older copy's."""
        return {"at": self.at.isoformat(timespec="milliseconds"),
                "follower_checkpoint": sum(self.leader.values()),
                "shards": dict(sorted(self.leader.items()))}


def primary_seq_nos(stats: Mapping[str, Any], index: str, field: str,
                    who: str | None = None) -> dict[str, int] | str:
    """Shard -> ``seq_no.<field>`` of its primary, from ``GET /<index>/_stats?level=shards``;
    a string says why not (no primary reported for a shard, no shard at all), naming ``who``
    answered (default: the index)."""
    shards = (((stats.get("indices") or {}).get(index) or {}).get("shards")) or {}
    out: dict[str, int] = {}
    for shard, copies in shards.items():
        primary = next((c for c in copies if (c.get("routing") or {}).get("primary")), None)
        if primary is None or field not in (primary.get("seq_no") or {}):
            return f"{who or index} reports no primary of shard {shard}"
        out[str(shard)] = int(primary["seq_no"][field])
    return out or (f"{who} reports no shard of {index}" if who else f"{index} reports no shard")


def behind(leader: Mapping[str, int], follower: Mapping[str, int]) -> int | None:
    """Operations the follower still lacks of the leader's numbers, summed over shards; None
    when the two do not have the same shards (not a copy of each other)."""
    if set(leader) != set(follower):
        return None
    return sum(max(0, n - follower[s]) for s, n in leader.items())


def probe(leader_es: Api, leader_index: str, follower_es: Api, follower_index: str, *,
          wait: float = WAIT, poll: float = POLL,
          now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> InSync | str:
    """The follower seen in sync (``InSync``), or one line saying why not. API errors of either
    cluster propagate (the caller says which side did not answer)."""
    at = now()
    leader = primary_seq_nos(client.get_shard_stats(leader_es, leader_index), leader_index,
                             "max_seq_no")
    if isinstance(leader, str):
        return f"leader: {leader}"
    deadline = clock() + wait
    while True:
        follower = primary_seq_nos(client.get_shard_stats(follower_es, follower_index),
                                   follower_index, "global_checkpoint")
        if isinstance(follower, str):
            return f"follower: {follower}"
        missing = behind(leader, follower)
        if missing is None:
            return (f"the follower has shards {sorted(follower)}, the leader {sorted(leader)}: "
                    "not a copy of it")
        if missing == 0:
            return InSync(at, leader, follower)
        if clock() >= deadline:
            return (f"{missing} operation(s) behind the leader's numbers read "
                    f"{wait:g} s before (still catching up, or not replicating)")
        sleep(poll)
