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
from esdr.errors import BadInput

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


# --- bi-directional pairs ----------------------------------------------------------------------
# Elastic's bi-directional recipe (https://www.elastic.co/guide/en/elasticsearch/reference/8.17/
# ccr-disaster-recovery-bi-directional-tutorial.html): each DC writes its own index and follows
# the other's, and the alias reads them all. No side leads: on the loss of a DC its writers go
# to the surviving DC's own index, nothing is promoted, and the lost DC's followers catch up
# when it returns. So a pair of the estate's ``bidirectional`` entries has no active side to
# record, and a follower in it is never made writable by `esdr promote --all` or switched over.


@dataclass(frozen=True)
class BidiFollower:
    """A follower of a bi-directional pair: another DC's own write index, copied here."""

    alias: str  # the pair's read alias
    cluster: str  # where this follower lives
    index: str
    writer: str  # the DC that writes it (its leader)
    own: str | None  # this cluster's own write index in the pair

    def kept_line(self, at_risk: str) -> str:
        """The line `esdr promote` prints instead of promoting it. ``at_risk``: the data at
        risk as ``esdr.runbooks.at_risk`` words it for this follower ("lag unknown ...;
        writes acknowledged by dc1 after ... may be missing ...")."""
        own = (f"{self.cluster}'s writers write its own {self.own}" if self.own
               else f"{self.cluster} writes its own index")
        return (f"{self.index}: not promoted: {self.writer}'s own write index in the "
                f"bi-directional pair {self.alias}, nothing to promote ({own}; the alias "
                f"{self.alias} reads both); data at risk in {self.index} only: {at_risk}; "
                f"those writes stay on {self.writer}'s disks and reach this follower when "
                f"{self.writer} returns")

    def summary(self) -> dict[str, Any]:
        return {"bidirectional": self.alias, "index": self.index, "cluster": self.cluster,
                "writer": self.writer, "own": self.own}


def bidirectional_followers(estate: Estate, cluster: str) -> dict[str, BidiFollower]:
    """index -> what it is, for every follower ``cluster`` holds in a bi-directional pair (the
    names ``esdr.desired`` turns into followers: every other DC's own index)."""
    out: dict[str, BidiFollower] = {}
    for pair in estate.bidirectional:
        if cluster not in pair.indices:
            continue
        for writer, index in pair.indices.items():
            if writer != cluster:
                out[index] = BidiFollower(pair.alias, cluster, index, writer,
                                          pair.indices.get(cluster))
    return out


def bidirectional_of(estate: Estate, cluster: str, index: str) -> str | None:
    """The bi-directional pair (its alias) ``index`` on ``cluster`` takes part in, as its own
    write index or as a follower; None when it is in none."""
    for pair in estate.bidirectional:
        if cluster in pair.indices and index in pair.indices.values():
            return pair.alias
    return None


def split_bidirectional(chosen: Iterable[Follower], estate: Estate, cluster: str, *,
                        named: Iterable[str] = (), allow: bool = False
                        ) -> tuple[list[Follower], list[BidiFollower]]:
    """``chosen`` (followers `esdr promote` was asked for) -> (to promote, bi-directional ones
    kept as followers). ``--all`` keeps every bi-directional follower; naming one (``named``)
    is refused unless ``allow`` (``--break-bidirectional``): promoting it makes a second
    writable copy of another DC's own index, which the recipe never needs and which only
    `esdr failback --direction original` undoes."""
    bidi = bidirectional_followers(estate, cluster)
    asked = set(named)
    refused = sorted(f.index for f in chosen if f.index in bidi and f.index in asked
                     and not allow)
    if refused:
        what = ", ".join(f"{i} ({bidi[i].writer}'s own index in {bidi[i].alias})"
                         for i in refused)
        raise BadInput(
            f"{what}: a follower of a bi-directional pair; there is nothing to promote: "
            f"writers go to {cluster}'s own index, the alias reads both, and the follower "
            "catches up when its DC returns",
            hint="leave it to catch up; to make it writable all the same (a second writable "
                 "copy; `esdr failback --direction original` undoes it), rerun with "
                 "--break-bidirectional")
    promote = [f for f in chosen if f.index not in bidi or (allow and f.index in asked)]
    kept = [bidi[f.index] for f in chosen if f.index in bidi and f not in promote]
    return promote, kept


def bidirectional_lines(estate: Estate, cluster: str) -> list[str]:
    """For `esdr plan` and `esdr status`: each bi-directional pair ``cluster`` is in, with no
    active side (both DCs write)."""
    out = []
    for pair in estate.bidirectional:
        if cluster in pair.indices:
            writes = ", ".join(f"{c} writes {i}" for c, i in sorted(pair.indices.items()))
            out.append(f"bi-directional {pair.alias}: {writes}; each follows the others' "
                       "(no active side: a lost DC's follower catches up when it returns)")
    return out


@dataclass(frozen=True)
class BidiSide(Side):
    """One follower of a bi-directional pair, shaped as a ``Side`` so `esdr status` shows its
    state, lag and last time in sync (and records it: `esdr promote` bounds the window at
    risk of a bi-directional follower with it too) like any pair's. It leads by design only:
    nothing is recorded, nothing turns."""

    alias: str = ""  # the pair's read alias

    def line(self) -> str:
        return (f"bi-directional {self.alias}: {self.index} written by {self.leader} (no "
                "active side to move)")

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "bidirectional": self.alias}


def bidirectional_sides(estate: Estate, cluster: str) -> list[BidiSide]:
    """Every follower of the bi-directional pairs ``cluster`` is in, whichever side holds it:
    its own index followed elsewhere, and the others' followed here."""
    out = []
    for pair in estate.bidirectional:
        if cluster not in pair.indices:
            continue
        for writer, index in sorted(pair.indices.items()):
            for follower in sorted(pair.indices):
                if follower != writer and cluster in (writer, follower):
                    designed = Follower(cluster=follower, index=index, remote=writer,
                                        leader_index=index)
                    out.append(BidiSide(pair_key(designed), designed, writer, alias=pair.alias))
    return out
