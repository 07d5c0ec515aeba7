"""Promote followers on the surviving DC: pause_follow, close, unfollow, open, switch the alias.

Unfollow cannot be undone: after it, writes on the promoted index exist on this side only.
The runbook refuses while the leader's DC is reachable and healthy (that is a switchover, not
a disaster) unless forced, and reports the last known lag as the data at risk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from elasticsearch import Elasticsearch

from esdr.crossdc.estate import Follower
from esdr.errors import EsdrError
from esdr.es import client
from esdr.reconcile import registry
from esdr.runbooks.steps import Step, run_steps


@dataclass(frozen=True)
class Lag:
    index: str
    operations: int | None  # leader_global_checkpoint - follower_global_checkpoint, summed
    last_read_ms: int | None  # the longest time since a shard last read from the leader

    def line(self) -> str:
        if self.operations is None:
            return f"{self.index}: lag unknown (no follow stats)"
        age = f", last read {self.last_read_ms / 1000:.1f}s ago" if self.last_read_ms else ""
        return f"{self.index}: {self.operations} operation(s) behind the leader{age}"


def lag_from_stats(index: str, stats: dict[str, Any] | None) -> Lag:
    """``GET /<index>/_ccr/stats`` -> the lag: leader_global_checkpoint - follower_global_checkpoint."""
    shards = [s for i in (stats or {}).get("indices", []) if i.get("index") == index
              for s in i.get("shards", [])]
    if not shards:
        return Lag(index, None, None)
    ops = sum(max(0, s["leader_global_checkpoint"] - s["follower_global_checkpoint"]) for s in shards)
    last = max((s.get("time_since_last_read_millis", 0) for s in shards), default=None)
    return Lag(index, ops, last)


def promote_steps(cluster: str, followers: list[Follower]) -> list[Step]:
    """Seed 000 section 10.3.3, in order, per follower; then its write alias."""
    steps: list[Step] = []
    for f in followers:
        steps += [Step(cluster, action, f.index) for action in
                  ("pause_follow", "close", "unfollow", "open")]
        if f.write_alias:
            steps.append(Step(cluster, "switch_alias", f.index, {"alias": f.write_alias, "write": True}))
    return steps


def choose(followers: dict[str, Follower], names: list[str], all_: bool,
           promoted: set[str]) -> list[Follower]:
    if all_ == bool(names):
        raise EsdrError("promote needs either --index NAME (repeatable) or --all",
                        hint=f"followers here: {', '.join(sorted(followers)) or 'none'}")
    if all_:
        return [followers[n] for n in sorted(followers) if n not in promoted]
    unknown = [n for n in names if n not in followers]
    if unknown:
        raise EsdrError(f"{', '.join(unknown)}: not a follower of this cluster in the estate",
                        hint=f"followers here: {', '.join(sorted(followers)) or 'none'}")
    return [followers[n] for n in names if n not in promoted]


def remote_is_healthy(health: dict[str, Any] | None) -> bool:
    return bool(health) and health.get("status") in ("green", "yellow")


def refuse_if_remote_healthy(remote: str, health: dict[str, Any] | None, force: bool) -> None:
    if remote_is_healthy(health) and not force:
        raise EsdrError(
            f"the leader's data centre {remote} is reachable and {health['status']}: promoting "
            "now splits the data in two (unfollow cannot be undone)",
            hint="stop writes there and rerun with --force for a planned switchover",
        )


def promote(
    es: Elasticsearch,
    cluster: str,
    followers: list[Follower],
    *,
    dry: bool,
    say: Callable[[str], None],
) -> list[Lag]:
    """Read the lag, run (or show) the steps, record the promotion. Returns the lags."""
    lags = [lag_from_stats(f.index, client.get_follow_stats(es, f.index)) for f in followers]
    steps = promote_steps(cluster, followers)
    if dry:
        say(f"dry run: {len(steps)} step(s) on {cluster}, nothing changed:")
        for step in steps:
            say(f"  {step.line()}")
    else:
        run_steps(steps, {cluster: es}, say)
        _record(es, followers, lags)
    say("summary (last known lag = data at risk):")
    for lag in lags:
        say(f"  {'would promote' if dry else 'promoted'} {lag.line()}")
    return lags


def _record(es: Elasticsearch, followers: list[Follower], lags: list[Lag]) -> None:
    """So the next deploy holds these indices instead of trying to follow again."""
    reg = registry.read(es)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for f, lag in zip(followers, lags):
        reg.setdefault("promoted", {})[f.index] = {
            "remote": f.remote, "leader_index": f.leader_index, "write_alias": f.write_alias,
            "at": at, "lag_operations": lag.operations,
        }
    registry.write(es, reg)
