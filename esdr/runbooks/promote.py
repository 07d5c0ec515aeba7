"""Promote followers on the surviving DC: make each a writable regular index, switch the alias.

The steps come from the engine's adapter (``esdr.replication``): Elasticsearch pause_follow,
close, unfollow, open; OpenSearch ``_stop``. Neither can be undone: after it, writes on the
promoted index exist on this side only. The runbook refuses while the leader's DC is reachable
and healthy (that is a switchover, not a disaster) unless forced, and reports the data at risk
(``esdr.runbooks.at_risk``): the lag measured now when the leader answered, else the window of
acknowledged writes that may be missing, never a count it cannot know.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import elasticsearch
import opensearchpy

from esdr.crossdc.estate import Follower
from esdr.errors import BadInput, EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.es.tunnel import refusal_in
from esdr.reconcile import registry
from esdr.replication import Replication, as_adapter
from esdr.replication.base import Lag
from esdr.replication.ccr import CcrReplication, lag_from_stats
from esdr.runbooks.at_risk import AtRisk, assess
from esdr.runbooks.salvage import checkpoints_from_stats
from esdr.runbooks.steps import Step, run_steps

__all__ = ["AtRisk", "Lag", "Leader", "choose", "lag_from_stats", "probe", "promote",
           "promote_steps",
           "refuse_if_remote_healthy", "refuse_unless_lost", "remote_is_healthy"]


def promote_steps(cluster: str, followers: list[Follower],
                  adapter: type[Replication] | Replication = CcrReplication) -> list[Step]:
    """In order, per follower (Elastic's uni-directional DR tutorial; OpenSearch's _stop): the engine's steps that make it a
    writable index; then its write alias."""
    steps: list[Step] = []
    for f in followers:
        steps += [Step(cluster, action, f.index) for action in adapter.WRITABLE]
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
            "now splits the data in two (a promotion cannot be undone)",
            hint="stop writes there and rerun with --force for a planned switchover",
        )


# What asking the leader's DC for its health can end in. Only no answer at all (a refused or
# timed-out connection) means "unreachable": a DC that answers 401/403 or fails the TLS handshake
# is up, and this machine's credentials or trust are wrong. Promoting then would split the data.
UNREACHABLE = (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout,
               opensearchpy.ConnectionError)
TLS = (elasticsearch.SSLError, opensearchpy.SSLError)
AUTH_STATUSES = (401, 403)


@dataclass(frozen=True)
class Leader:
    """The answer of the leader's data centre to ``GET _cluster/health``, as promote reads it."""

    remote: str
    health: dict[str, Any] | None = None  # the answer, when there was one
    unreachable: bool = False  # no answer: connection refused or timed out
    refusal: EsdrError | None = None  # cannot tell: promote stops unless --force
    state: str = ""  # as printed: green, red, unreachable, refused credentials, ...
    answered: bool = False  # its API answered (health, or an error of its own)

    @property
    def whole(self) -> bool:
        """It answered with every primary assigned (green or yellow), so each shard's checkpoint
        can be asked of it: only then is a lag measured now (``esdr.runbooks.at_risk``)."""
        return self.answered and remote_is_healthy(self.health)

    @property
    def why(self) -> str:
        """Why its checkpoints cannot all be asked, as printed after "leader <remote>"."""
        if self.unreachable:
            return "unreachable"
        if self.answered and self.health is not None:
            return f"{self.state}: a primary is unassigned, its checkpoint cannot be asked"
        return self.state or "not asked"


def probe(remote: str, es: Api | None) -> Leader:
    """Ask the leader's DC once (``es``: its client; None when the estate gives no inventory
    to reach it)."""
    if es is None:
        return _cannot_tell(
            remote, "unknown (no inventory)",
            f"has no inventory in the estate (clusters.{remote}.inventory), or the file is "
            "missing", f"set clusters.{remote}.inventory to its inventory file", kind=BadInput)
    try:
        health = client.get_cluster_health(es, timeout="5s")
    except TLS as error:
        return _cannot_tell(
            remote, "TLS handshake failed",
            f"answered, but the TLS handshake failed: {_reason(error)}",
            f"check the estate CA and {remote}'s certificates")
    except UNREACHABLE as error:
        refused = refusal_in(error)
        if refused is not None:  # its sshd answered: the DC is up, this machine may not log in
            return _cannot_tell(
                remote, "refused esdr's SSH login",
                f"answered over SSH but refused this machine: {refused}",
                f"check the SSH user, key and known_hosts for {remote}'s hosts")
        return Leader(remote, unreachable=True, state=f"unreachable ({_reason(error)})")
    except client.API_ERRORS as error:
        if client.status_of(error) not in AUTH_STATUSES:
            # it answered, with an error of its own (e.g. 503, no elected master): not healthy
            return Leader(remote, state=f"answers with an error: {client.describe(error)}",
                          answered=True)
        return _cannot_tell(
            remote, "refused esdr's credentials",
            f"is up but refused esdr's credentials: {client.describe(error)}",
            f"check {remote}'s password reference (es_elastic_password / es_admin_password)")
    return Leader(remote, health=health, state=str(health.get("status", "unknown")),
                  answered=True)


def _cannot_tell(remote: str, state: str, what: str, check: str,
                 kind: type[EsdrError] = EsdrError) -> Leader:
    """A leader whose answer (or missing inventory) does not say whether its DC is lost: promote
    stops with what happened and what to check, unless --force. ``kind``: BadInput (exit 2)
    when the estate itself is at fault, else EsdrError (exit 1)."""
    return Leader(remote, state=state, refusal=kind(
        f"the leader's data centre {remote} {what}; promote cannot tell whether {remote} is lost",
        hint=f"{check}; if {remote} is really lost, rerun with --force"))


def _reason(error: BaseException) -> str:
    """elastic-transport keeps the cause in ``message`` (its str() is only "TLS error")."""
    return str(getattr(error, "message", "") or error)


def refuse_unless_lost(leader: Leader, force: bool) -> None:
    """Stop unless the leader's DC is lost (unreachable, or answering but not healthy), or
    ``force``."""
    if force:
        return
    if leader.refusal is not None:
        raise leader.refusal
    refuse_if_remote_healthy(leader.remote, leader.health, force)


def detach_link(es: Api, remote: str) -> dict[str, Any]:
    """Remove this cluster's persistent ``cluster.remote.<remote>.*`` settings; returns them
    (flat) so ``esdr failback`` can put the link back once the remote has returned."""
    persistent = client.get_cluster_settings(es).get("persistent", {})
    prefix = f"cluster.remote.{remote}."
    link = {key: value for key, value in persistent.items() if key.startswith(prefix)}
    if link:
        client.put_cluster_settings(es, {key: None for key in link})
    return link


def promote(
    target: Replication | Api,
    cluster: str,
    followers: list[Follower],
    *,
    dry: bool,
    say: Callable[[str], None],
    detached: dict[str, dict[str, Any]] | None = None,
    leaders: Mapping[str, Leader] | None = None,
    in_sync: Mapping[str, dict[str, Any]] | None = None,
) -> list[AtRisk]:
    """Read the lag, run (or show) the steps, record the promotion. Returns the data at risk.
    ``target``: the cluster's adapter (``esdr.replication.adapter_for``) or a bare client.
    ``detached``: remote alias -> the link settings removed before promoting (recorded, so
    failback restores them). ``leaders``: remote alias -> its answer to ``probe``; a leader not
    in it was not asked, and its lag is never reported as measured. ``in_sync``: esdr's in-sync
    records (``registry.IN_SYNC``), read from the registry when not given."""
    adapter = as_adapter(target)
    leaders = leaders or {}
    if in_sync is None:
        in_sync = registry.read(adapter.es).get(registry.IN_SYNC) or {}
    risks = []
    for f in followers:
        read_at = datetime.now(timezone.utc)
        leader = leaders.get(f.remote)
        risks.append(assess(adapter.lag(f.index), f.remote,
                            answered=leader is not None and leader.whole,
                            why=leader.why if leader is not None else "not asked",
                            read_at=read_at, record=in_sync.get(f.index)))
    steps = promote_steps(cluster, followers, adapter)
    if dry:
        say(f"dry run: {len(steps)} step(s) on {cluster}, nothing changed:")
        for step in steps:
            say(f"  {step.line()}")
    else:
        # before the steps: a checkpoint read later could only be higher, and a lower one only
        # makes the failback's salvage read more (esdr.runbooks.salvage)
        checkpoints = {f.index: _shard_checkpoints(adapter.es, f.index) for f in followers}
        run_steps(steps, {cluster: adapter}, say)
        _record(adapter.es, followers, risks, detached or {}, checkpoints)
    say("summary (data at risk: writes the leader acknowledged that may be missing here):")
    for risk in risks:
        say(f"  {'would promote' if dry else 'promoted'} {risk.line}")
    return risks


def _shard_checkpoints(es: Api, index: str) -> dict[str, int] | None:
    """The follower's global checkpoint per shard (``esdr.runbooks.salvage``); None when the
    stats cannot be read: a promotion must not stop for want of a statistic."""
    try:
        return checkpoints_from_stats(client.get_shard_stats(es, index), index)
    except client.API_ERRORS:
        return None


def _record(es: Api, followers: list[Follower], risks: list[AtRisk],
            detached: dict[str, dict[str, Any]],
            checkpoints: Mapping[str, dict[str, int] | None] | None = None) -> None:
    """So the next deploy holds these indices instead of trying to follow again; with the
    follower's checkpoint at promotion (summed, and per shard: ``shard_checkpoints``, which
    `esdr failback` salvages above) and the data at risk as reported."""
    reg = registry.read(es)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for f, risk in zip(followers, risks):
        reg.setdefault("promoted", {})[f.index] = {
            "remote": f.remote, "leader_index": f.leader_index, "write_alias": f.write_alias,
            "at": at, **risk.record(), "detached_link": detached.get(f.remote, {}),
            "shard_checkpoints": (checkpoints or {}).get(f.index),
        }
    registry.write(es, reg)
