"""Which side of each replicated pair leads: recorded state, not the estate's YAML. Pure.

The estate declares the pairs (``followers``: the designed follower and its leader). Which side
leads after a failover is written by ``esdr promote``, ``esdr failback`` and ``esdr switchover``
into the clusters' ``esdr-managed`` documents (``esdr.reconcile.registry``, key ``active``) as
one record per pair::

    {"leader": "<cluster alias>", "since": "<ISO time>", "by": "promote|failback|switchover",
     "generation": <int>}

A record can reach only the clusters that answered when it was written (a lost DC misses a
promotion), so the clusters may disagree: the highest ``generation`` wins. ``directed`` turns
the estate into the one that is in place, so the objects each cluster must hold (write alias on
the active side, follower role on the other) follow from ``esdr.desired`` unchanged, and no
user ever edits the estate after a failover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from esdr.crossdc.estate import Estate, Follower

BY = ("promote", "failback", "switchover")


def pair_key(f: Follower) -> str:
    """The pair's name, as the estate designs it: ``leader:index>follower:index``."""
    return f"{f.remote}:{f.leader_index}>{f.cluster}:{f.index}"


def pairs(estate: Estate) -> dict[str, Follower]:
    """Every replicated pair of the estate, by key, as designed."""
    return {pair_key(f): f for f in estate.followers}


def key_for(estate: Estate, cluster: str, index: str) -> str | None:
    """The key of the estate's pair that has ``index`` on ``cluster`` on either side (a runbook
    knows the index it acted on, which may be the designed leader's after a failover); None
    when the estate pairs it with nothing."""
    for key, f in pairs(estate).items():
        if (cluster, index) in ((f.cluster, f.index), (f.remote, f.leader_index)):
            return key
    return None


def valid(record: Any, designed: Follower) -> bool:
    """A record names one of the pair's two clusters; anything else is ignored (a record of an
    estate that was since redesigned, or a hand-edited document)."""
    return (isinstance(record, Mapping)
            and record.get("leader") in (designed.remote, designed.cluster)
            and isinstance(record.get("generation"), int))


def newest(record_maps: Iterable[Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """pair key -> the record with the highest generation among ``record_maps`` (one map per
    cluster's registry; a later map wins a tie, so pass the own cluster's last)."""
    out: dict[str, dict[str, Any]] = {}
    for records in record_maps:
        for key, record in (records or {}).items():
            if not isinstance(record, Mapping) or not isinstance(record.get("generation"), int):
                continue
            if key not in out or record["generation"] >= out[key]["generation"]:
                out[key] = dict(record)
    return out


def flipped(f: Follower) -> Follower:
    """The pair the other way round: the designed leader's index follows the designed
    follower's; the write alias goes with the leader (``esdr.desired``)."""
    return Follower(cluster=f.remote, index=f.leader_index, remote=f.cluster,
                    leader_index=f.index, write_alias=f.write_alias)


def directed(estate: Estate, records: Mapping[str, Mapping[str, Any]]) -> Estate:
    """The estate with each pair the way its record says: a pair whose designed follower's
    cluster leads is flipped. Pairs without a (valid) record stay as designed."""
    followers = []
    changed = False
    for f in estate.followers:
        record = records.get(pair_key(f))
        if valid(record, f) and record["leader"] == f.cluster:
            followers.append(flipped(f))
            changed = True
        else:
            followers.append(f)
    return replace(estate, followers=tuple(followers)) if changed else estate


@dataclass(frozen=True)
class Side:
    """One pair's active side and how it was decided."""

    key: str
    designed: Follower
    leader: str  # alias of the cluster that leads now
    record: Mapping[str, Any] | None = None  # the record that decided it; None: the design

    @property
    def follower(self) -> str:
        d = self.designed
        return d.cluster if self.leader == d.remote else d.remote

    @property
    def index(self) -> str:
        """The leading index's name on the active side."""
        d = self.designed
        return d.leader_index if self.leader == d.remote else d.index

    @property
    def follower_index(self) -> str:
        d = self.designed
        return d.index if self.leader == d.remote else d.leader_index

    @property
    def flipped(self) -> bool:
        return self.leader != self.designed.remote

    @property
    def recorded_by(self) -> str | None:
        return str(self.record.get("by")) if self.record else None

    @property
    def since(self) -> str | None:
        return str(self.record.get("since")) if self.record and self.record.get("since") else None

    def line(self) -> str:
        """e.g. ``active side: orders → dc2 (recorded by promote at 2026-12-05T17:20:03Z; the
        estate designs dc1)``."""
        head = f"active side: {self.index} → {self.leader}"
        if self.record is None:
            return f"{head} (as the estate designs; nothing recorded)"
        how = f"recorded by {self.recorded_by} at {self.since or 'an unknown time'}"
        if self.flipped:
            return f"{head} ({how}; the estate designs {self.designed.remote})"
        return f"{head} ({how}; as the estate designs)"

    def summary(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"pair": self.key, "index": self.index, "leader": self.leader,
                "follower": self.follower, "follower_index": self.follower_index,
                "designed_leader": self.designed.remote, "by": self.recorded_by,
                "since": self.since,
                "generation": self.record.get("generation") if self.record else None}


def sides(estate: Estate, records: Mapping[str, Mapping[str, Any]]) -> list[Side]:
    """Every pair's active side, in key order."""
    out = []
    for key, f in sorted(pairs(estate).items()):
        record = records.get(key)
        if valid(record, f):
            out.append(Side(key, f, str(record["leader"]), dict(record)))
        else:
            out.append(Side(key, f, f.remote))
    return out


def side_of(estate: Estate, records: Mapping[str, Mapping[str, Any]], alias: str) -> list[Side]:
    """The pairs ``alias`` takes part in."""
    return [s for s in sides(estate, records) if alias in (s.designed.remote, s.designed.cluster)]
