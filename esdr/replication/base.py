"""What every engine's replication adapter provides, and the values they share.

The reconcilers (``esdr.reconcile.follower_index``, ``auto_follow``, ``run``) and the runbooks
(``esdr.runbooks``) speak only this interface; ``ccr.py`` (Elasticsearch CCR) and
``opensearch.py`` (OpenSearch's cross-cluster-replication plugin) map it to API calls. Plans stay
pure and engine-neutral: a follower is observed as
``{"remote_cluster", "leader_index", "status": "active" | "paused" | "failed"}``, ``{}`` for a
regular index and ``None`` when the index does not exist; an auto-follow rule as the estate's
shape (``remote_cluster``, ``leader_index_patterns``, ``leader_index_exclusion_patterns``,
``follow_index_pattern``, ``active``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from esdr.es import client
from esdr.es.client import Api
from esdr.changes import Change

FOLLOWER_FIELDS = ("remote_cluster", "leader_index", "status")


@dataclass(frozen=True)
class Lag:
    """How far a follower is behind its leader, as the engine reports it.

    ``operations`` is the leader's checkpoint minus the follower's, summed over the shards; how
    far it can be trusted depends on where the leader's checkpoint came from: ``live`` when the
    read asked the leader itself just now (OpenSearch ``_status`` while replication runs),
    otherwise it is the follower's memory of the leader's checkpoint as of its last successful
    read (Elasticsearch ``_ccr/stats``, OpenSearch ``follower_stats``), which stops moving when
    the leader is lost and then says nothing about what the leader acknowledged since. What a
    promotion reports as the data at risk is decided from this and the leader's answer
    (``esdr.runbooks.at_risk``), never from ``operations`` alone.
    """

    index: str
    operations: int | None  # leader checkpoint - follower checkpoint, summed over shards
    last_read_ms: int | None = None  # CCR: the longest time since a shard SENT a read request
    note: str | None = None  # why the leader's checkpoint is unknown or stale, when it is
    live: bool = False  # the leader's checkpoint was asked of the leader by this very read
    follower_checkpoint: int | None = None  # the follower's checkpoint, summed over shards
    read_failures: int = 0  # CCR: read exceptions being retried (+1 for a fatal one)

    @property
    def current(self) -> bool:
        """The leader's checkpoint is as of now: asked live, or (CCR) from a follower whose
        reads to the leader are succeeding (a failed read is retried, with the stats frozen)."""
        return self.live or (self.last_read_ms is not None and self.read_failures == 0)

    def line(self) -> str:
        """The engine's reading, as read (``esdr.runbooks.at_risk`` says what it means)."""
        if self.operations is None:
            return f"{self.index}: lag unknown ({self.note or 'no follow stats'})"
        age = (f", last read {self.last_read_ms / 1000:.1f}s ago"
               if self.last_read_ms is not None else "")
        stale = ("" if self.current else
                 f" as of the follower's last read ({self.note or 'time not reported'})")
        return f"{self.index}: {self.operations} operation(s) behind the leader{age}{stale}"


# Elasticsearch's leader checkpoint comes from the follower's last successful read, and the
# next read goes out as soon as that answer is handled; time_since_last_read_millis counts from
# that next send. One second covers the gap between the leader writing its answer and the send.
READ_MARGIN = timedelta(seconds=1)


def seen_in_sync(lag: Lag, before: datetime) -> datetime | None:
    """The latest time the follower is known to have held everything its leader had
    acknowledged, from a ``lag`` read started at ``before``; None when it does not show the
    follower in sync. Live (OpenSearch ``_status``): ``before`` itself, to be trusted only when
    the leader answered for every shard (a shard it did not answer for shows the follower's own
    checkpoint as the leader's: TransportReplicationStatusAction.kt). From the follower's
    stats (Elasticsearch): the last read's answer, which came before its next read was sent
    ``last_read_ms`` ago, minus ``READ_MARGIN``; only while no read is failing (a failed read
    is retried, and the retry resets the time)."""
    if lag.operations != 0 or not lag.current:
        return None
    if lag.live:
        return before
    return before - timedelta(milliseconds=lag.last_read_ms or 0) - READ_MARGIN


@dataclass(frozen=True)
class FeatureCheck:
    """Can a feature (``ccr``, ``slm``) be used on a cluster? ``problem`` is one line naming the
    feature, the cluster and the fix; ``trial`` says a licence trial is planned to make it so."""

    feature: str
    problem: str | None = None
    trial: bool = False
    licence_type: str | None = None


class Replication:
    """One cluster's replication, through its clients.

    ``es`` is the superuser's client (reads, index and alias operations); ``replicator`` the
    client replication writes go through (OpenSearch: the least-privilege replication user;
    Elasticsearch: the same superuser client); ``reader`` the superuser's client for replication
    reads (OpenSearch: pinned to remote-cluster-client nodes). Both default to ``es``.
    """

    engine: ClassVar[str] = ""
    # Step names, in order: turn a follower into a writable regular index that keeps its data;
    # make a paused follower follow again; clear the way before a follower is recreated.
    WRITABLE: ClassVar[tuple[str, ...]] = ()
    RESUME: ClassVar[tuple[str, ...]] = ()
    BEFORE_RECREATE: ClassVar[tuple[str, ...]] = ()
    # True when a new follower's aliases are the leader's and cannot be changed by hand (the
    # follower is read-only): a runbook then leaves them to replication.
    ALIASES_FROM_LEADER: ClassVar[bool] = False
    # True when making a follower writable talks to its leader and waits on connections to a
    # leader that is gone: `esdr promote` then detaches the unreachable leader's link first.
    WRITABLE_WAITS_ON_LEADER: ClassVar[bool] = False

    def __init__(self, es: Api, replicator: Api | None = None, reader: Api | None = None):
        self.es = es
        self.replicator = replicator if replicator is not None else es
        self.reader = reader if reader is not None else es

    # --- pure ----------------------------------------------------------------------------------
    @classmethod
    def follow_steps(cls, change: Change) -> list[tuple[str, str]]:
        """The ordered API steps for one follower change: (step, index). Pure."""
        index = change.name
        if change.action == "created":
            return [("follow", index)]
        if change.action == "deleted":  # keep the data: a regular index remains
            return [(step, index) for step in cls.WRITABLE]
        if change.action == "changed" and not change.destructive:
            return [(step, index) for step in cls.RESUME]
        if change.action == "changed":  # new leader or remote: the old copy cannot be reused
            return [(step, index) for step in (*cls.BEFORE_RECREATE, "delete", "follow")]
        return []

    def needs(self, wanted: frozenset[str], leads: bool) -> set[str]:
        """Features to check on this cluster: the estate's, plus what being a leader needs."""
        return set(wanted)

    # --- observe -------------------------------------------------------------------------------
    def follower(self, index: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def followers(self, names: set[str]) -> dict[str, dict[str, Any] | None]:
        return {name: self.follower(name) for name in sorted(names)}

    def auto_follows(self) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def lag(self, index: str) -> Lag:
        raise NotImplementedError

    def check_feature(self, feature: str, cluster: str, licence_choice: str) -> FeatureCheck:
        raise NotImplementedError

    # --- act -----------------------------------------------------------------------------------
    def follow(self, index: str, remote: str, leader_index: str) -> Any:
        raise NotImplementedError

    def apply_auto_follow(self, change: Change) -> None:
        raise NotImplementedError

    def run(self, step: str, index: str, args: dict[str, Any] | None = None) -> Any:
        """Run one named step on ``index``: the engine's own, or a generic index operation."""
        args = args or {}
        if step == "follow":
            return self.follow(index, args["remote_cluster"], args["leader_index"])
        generic = {"close": client.close_index, "open": client.open_index,
                   "delete": client.delete_index}
        if step in generic:
            return generic[step](self.es, index)
        own = self.steps()
        if step not in own:
            raise ValueError(f"{self.engine}: no step {step!r}")
        return own[step](index)

    def steps(self) -> dict[str, Any]:
        """Engine steps by name: index -> API call."""
        return {}


def observed_follower(remote: str | None, leader_index: str | None, status: str) -> dict[str, Any]:
    return {"remote_cluster": remote, "leader_index": leader_index, "status": status}
