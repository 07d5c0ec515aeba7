"""What `esdr promote` reports as the data at risk for each follower: one code path for both
engines, from the adapter's ``Lag``, the leader's answer and esdr's own record.

A count of operations is printed only when it was measured now: the leader's data centre
answered and the leader's checkpoint is current (asked live through the link, or the
follower's reads from it are succeeding). Otherwise the leader's checkpoint as the follower
last saw it says nothing about what the leader acknowledged since, so no count is printed: the
report gives the window instead, from the latest time the follower is known to have been in
sync (the engine's stats, or esdr's record in ``esdr-managed``), and says "unknown" when nothing
tells. docs/failover-report.md has the wording and the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esdr.replication.base import Lag, seen_in_sync


@dataclass(frozen=True)
class AtRisk:
    index: str
    remote: str
    measured: bool  # operations is the lag measured now
    operations: int | None  # only when measured
    since: datetime | None  # writes the leader acknowledged after this may be missing
    line: str
    follower_checkpoint: int | None = None

    def record(self) -> dict[str, Any]:
        """What the promotion record keeps of it (``esdr-managed``, ``promoted.<index>``)."""
        return {"lag_operations": self.operations, "lag_measured": self.measured,
                "follower_checkpoint": self.follower_checkpoint,
                "at_risk_since": _iso(self.since) if self.since else None,
                "data_at_risk": self.line}


def assess(lag: Lag, remote: str, *, answered: bool, why: str, read_at: datetime,
           record: dict[str, Any] | None = None) -> AtRisk:
    """``lag`` read from the follower starting at ``read_at`` (UTC); ``answered``: the leader's
    data centre ``remote`` answered promote's probe with every primary assigned (green or
    yellow), ``why`` says why not (as printed after "leader <remote>"); ``record``: esdr's last
    in-sync record of this follower."""
    if answered and lag.current and lag.operations is not None:
        how = "" if lag.live else (
            f" ({remote}'s checkpoint as the follower last read it; its last read request went "
            f"out {_age((lag.last_read_ms or 0) / 1000)} ago)")
        return AtRisk(lag.index, remote, True, lag.operations, None,
                      f"{lag.index}: {lag.operations} operation(s) behind {remote}, measured "
                      f"now{how}", lag.follower_checkpoint)
    stale = ("the follower has no follow stats" if lag.operations is None else
             f"{remote}'s checkpoint is the follower's last read of it")
    reason = (f"leader {remote} {why}" if not answered else
              f"{remote} answered, but {lag.note or stale}")
    since, source = _in_sync_since(lag, read_at, record)
    if since is not None:
        window = (f"writes acknowledged by {remote} after {_clock(since, read_at)} "
                  f"({_age((read_at - since).total_seconds())} before promote) may be missing: "
                  f"{source}")
    else:
        last_read = (f"the follower's last read request went out "
                     f"{_age(lag.last_read_ms / 1000)} ago, which is when it last asked, not "
                     "when it was last in sync" if lag.last_read_ms is not None else
                     "the replication stats give no time of the follower's last read")
        window = (f"window unknown: any write acknowledged by {remote} may be missing ({source}; "
                  f"{last_read})")
    return AtRisk(lag.index, remote, False, None, since,
                  f"{lag.index}: lag unknown ({reason}); {window}", lag.follower_checkpoint)


def _in_sync_since(lag: Lag, read_at: datetime,
                   record: dict[str, Any] | None) -> tuple[datetime | None, str]:
    """The latest time the follower is known to have been in sync, and where that comes from;
    (None, why not) when nothing tells. Each candidate is a time at or before which the
    follower held all its leader had acknowledged, so the later one is the tighter bound."""
    found: list[tuple[datetime, str]] = []
    # A live reading counts only from a leader that answered whole: OpenSearch's _status gives a
    # shard the leader did not answer for the follower's own checkpoint as the leader's.
    engine = None if lag.live else seen_in_sync(lag, read_at)
    if engine is not None:
        found.append((engine, "the follower's stats show it in sync as of its last read"))
    recorded, problem = _recorded(record, lag, read_at)
    if recorded is not None:
        found.append((recorded, "esdr last saw the follower in sync then"))
    if found:
        return max(found, key=lambda f: f[0])
    return None, problem


def _recorded(record: dict[str, Any] | None, lag: Lag,
              read_at: datetime) -> tuple[datetime | None, str]:
    if not record or not record.get("at"):
        return None, "esdr has no record of the follower in sync"
    try:
        at = datetime.fromisoformat(str(record["at"]))
    except ValueError:
        return None, f"esdr's in-sync record has no valid time ({record['at']!r})"
    if at.tzinfo is None or at > read_at:
        return None, f"esdr's in-sync record ({record['at']}) is not a UTC time before now"
    then, now = record.get("follower_checkpoint"), lag.follower_checkpoint
    if isinstance(then, int) and now is not None and now < then:
        # checkpoints only grow: this follower is not the one that was seen in sync
        return None, (f"esdr's in-sync record is of an older copy (checkpoint {then}, "
                      f"now {now})")
    return at, ""


def _clock(at: datetime, now: datetime) -> str:
    at = at.astimezone(now.tzinfo)
    return at.strftime("%H:%M:%S UTC" if at.date() == now.date() else "%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")
