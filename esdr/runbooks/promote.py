"""Promote followers on the surviving DC: make each a writable regular index, switch the alias.

The steps come from the engine's adapter (``esdr.replication``): Elasticsearch pause_follow,
close, unfollow, open; OpenSearch ``_stop``. Neither can be undone: after it, writes on the
promoted index exist on this side only. Without --force the runbook goes on only when the
leader's DC is lost (no TCP connection to it could be made: refused or timed out): a leader that
answers anything, even an error, a red health or too late, is up. It reports the data at risk
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
from urllib3.exceptions import ConnectTimeoutError, HTTPError

from esdr.crossdc.active_side import BidiFollower
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
# Of urllib3's errors, only these mean the TCP connection was never made (NewConnectionError,
# refused, is a ConnectTimeoutError): https://urllib3.readthedocs.io/en/stable/reference/urllib3.exceptions.html.
# A ReadTimeoutError comes after the node accepted the connection (it is up, only slow), and
# a protocol error after it answered something: neither is a lost DC.
NO_CONNECTION = (ConnectTimeoutError,)


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
                remote, "refused esdr's SSH login or forward",
                f"answered over SSH but refused this machine: {refused}",
                f"check the SSH user, key, known_hosts and sshd's AllowTcpForwarding for "
                f"{remote}'s hosts")
        connected = _connected(error)
        if connected is not None:  # a node accepted the connection: up, maybe only slow
            return _cannot_tell(
                remote, f"accepted the connection but did not answer ({connected})",
                f"accepted esdr's connection but did not answer in time, so it is up: "
                f"{connected}", f"ask {remote} again (GET _cluster/health) and see why it is slow")
        return Leader(remote, unreachable=True, state=f"unreachable ({_reason(error)})")
    except client.API_ERRORS as error:
        if client.status_of(error) not in AUTH_STATUSES:
            # it answered, with an error of its own (429 circuit breaker, 503 no elected
            # master, ...): its nodes are up and may still hold and take writes
            return _cannot_tell(
                remote, f"answers with an error: {client.describe(error)}",
                f"answered{_node_of(error)} with an error of its own, so it is up: "
                f"{client.describe(error)}",
                f"check {remote}'s cluster (its nodes may still take writes)",
                answered=True)
        return _cannot_tell(
            remote, "refused esdr's credentials",
            f"is up but refused esdr's credentials: {client.describe(error)}",
            f"check {remote}'s password reference (es_elastic_password / es_admin_password)")
    state = str(health.get("status", "unknown"))
    if remote_is_healthy(health):
        return Leader(remote, health=health, state=state, answered=True)
    # red: a primary is unassigned, yet every index with its primaries keeps taking writes
    # (https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-health.html)
    return _cannot_tell(
        remote, state,
        f"answered: its cluster health is {state} "
        f"({health.get('unassigned_shards', '?')} unassigned shard(s)), so it is up and its "
        "other indices still take writes",
        f"see which index is {state} there (GET _cluster/health?level=indices)",
        health=health, answered=True)


def _cannot_tell(remote: str, state: str, what: str, check: str,
                 kind: type[EsdrError] = EsdrError, health: dict[str, Any] | None = None,
                 answered: bool = False) -> Leader:
    """A leader whose answer (or missing inventory) does not say whether its DC is lost: promote
    stops with what happened and what to check, unless --force. ``kind``: BadInput (exit 2)
    when the estate itself is at fault, else EsdrError (exit 1)."""
    return Leader(remote, health=health, state=state, answered=answered, refusal=kind(
        f"the leader's data centre {remote} {what}; promote cannot tell whether {remote} is lost",
        hint=f"{check}; if {remote} is really lost, rerun with --force"))


def _causes(error: BaseException) -> list[BaseException]:
    """The error and everything behind it: causes, and the earlier attempts elastic-transport
    keeps in ``errors`` (opensearch-py keeps the urllib3 error in ``info``)."""
    seen: dict[int, BaseException] = {}
    todo: list[Any] = [error]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen[id(current)] = current
        earlier = getattr(current, "errors", None)  # paramiko's is a dict: address -> error
        earlier = earlier.values() if isinstance(earlier, dict) else earlier
        todo += [current.__cause__, current.__context__, getattr(current, "info", None),
                 *(earlier if isinstance(earlier, (tuple, list, type({}.values()))) else ()),
                 *current.args]
    return list(seen.values())


def _connected(error: BaseException) -> str | None:
    """Why a "connection" error is not "no connection": the urllib3 error of an attempt that
    got past the TCP connect (a read timeout, a dropped answer), or of an error that names no
    urllib3 cause at all; None when every attempt failed to connect (refused, timed out)."""
    found = [c for c in _causes(error) if isinstance(c, HTTPError)]
    after = [c for c in found if not isinstance(c, NO_CONNECTION)]
    if after:
        return str(after[0])
    return None if found else _reason(error)


def _node_of(error: BaseException) -> str:
    """ " (node host:port)" when the library says which node answered (elastic-transport)."""
    node = getattr(getattr(error, "meta", None), "node", None)
    host, port = getattr(node, "host", None), getattr(node, "port", None)
    return f" (node {host}:{port})" if host else ""


def _reason(error: BaseException) -> str:
    """elastic-transport keeps the cause in ``message`` (its str() is only "TLS error")."""
    return str(getattr(error, "message", "") or error)


def refuse_unless_lost(leader: Leader, force: bool) -> None:
    """Stop unless the leader's DC is lost (no connection could be made to it), or ``force``: a
    promotion cannot be undone, so any answer at all (an error, a red health, a slow one) is a
    DC that may still take writes."""
    if force or leader.unreachable:
        return
    if leader.refusal is not None:
        raise leader.refusal
    refuse_if_remote_healthy(leader.remote, leader.health, force)
    raise EsdrError(f"the leader's data centre {leader.remote} is {leader.state or 'not asked'}; "
                    f"promote cannot tell whether {leader.remote} is lost",
                    hint=f"if {leader.remote} is really lost, rerun with --force")


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
    bidirectional: Mapping[str, str] | None = None,
) -> list[AtRisk]:
    """Read the lag, run (or show) the steps, record the promotion. Returns the data at risk.
    ``target``: the cluster's adapter (``esdr.replication.adapter_for``) or a bare client.
    ``detached``: remote alias -> the link settings removed before promoting (recorded, so
    failback restores them). ``leaders``: remote alias -> its answer to ``probe``; a leader not
    in it was not asked, and its lag is never reported as measured. ``in_sync``: esdr's in-sync
    records (``registry.IN_SYNC``), read from the registry when not given. ``bidirectional``:
    index -> the bi-directional pair of a follower promoted on request (--break-bidirectional),
    recorded so `esdr failback` refuses to turn the other DC's own index into a follower."""
    adapter = as_adapter(target)
    leaders = leaders or {}
    if in_sync is None:
        in_sync = registry.read(adapter.es).get(registry.IN_SYNC) or {}
    risks = at_risk(adapter, followers, leaders, in_sync)
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
        _record(adapter.es, followers, risks, detached or {}, checkpoints, bidirectional)
    say("summary (data at risk: writes the leader acknowledged that may be missing here):")
    for risk in risks:
        say(f"  {'would promote' if dry else 'promoted'} {risk.line}")
    return risks


def at_risk(adapter: Replication, followers: list[Follower], leaders: Mapping[str, Leader],
            in_sync: Mapping[str, dict[str, Any]]) -> list[AtRisk]:
    """Each follower's data at risk (``esdr.runbooks.at_risk``), read now."""
    risks = []
    for f in followers:
        read_at = datetime.now(timezone.utc)
        leader = leaders.get(f.remote)
        risks.append(assess(adapter.lag(f.index), f.remote,
                            answered=leader is not None and leader.whole,
                            why=leader.why if leader is not None else "not asked",
                            read_at=read_at, record=in_sync.get(f.index)))
    return risks


def report_kept(target: Replication | Api, kept: list[BidiFollower], *,
                say: Callable[[str], None], leaders: Mapping[str, Leader] | None = None,
                in_sync: Mapping[str, dict[str, Any]] | None = None) -> list[AtRisk]:
    """The followers of bi-directional pairs `esdr promote` leaves following (Elastic's recipe:
    nothing to promote, the lost DC's own index catches up on its return), each with the
    writes its DC acknowledged into it that may be missing here, worded as for a promotion."""
    if not kept:
        return []
    adapter = as_adapter(target)
    if in_sync is None:
        in_sync = registry.read(adapter.es).get(registry.IN_SYNC) or {}
    followers = [Follower(k.cluster, k.index, k.writer, k.index) for k in kept]
    risks = at_risk(adapter, followers, leaders or {}, in_sync)
    say("bi-directional followers, left following (data at risk: writes their own DC "
        "acknowledged that may be missing here until it returns):")
    for k, risk in zip(kept, risks):
        say(f"  {k.kept_line(risk.line.split(': ', 1)[1])}")
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
            checkpoints: Mapping[str, dict[str, int] | None] | None = None,
            bidirectional: Mapping[str, str] | None = None) -> None:
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
            **({"bidirectional": (bidirectional or {})[f.index]}
               if f.index in (bidirectional or {}) else {}),
        }
    # the write alias promote moved here is the active side's now, as the estate designs it:
    # recorded as esdr's (as a deploy would record it), so the first deploy after the promote
    # writes nothing, not even the registry
    switched = {f.write_alias for f in followers if f.write_alias}
    if switched:
        reg["alias"] = sorted(registry.managed(reg, "alias") | switched)
    # and the promoted indices lead now: no longer recorded as followers here
    registry.write(es, registry.with_follower_roles(reg, leading=[f.index for f in followers]))
