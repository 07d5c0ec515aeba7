"""Which objects esdr manages on a cluster: one document in the hidden index ``esdr-managed``.

Only names listed here are ever deleted by esdr. The document also records followers that
``esdr promote`` turned into regular indices, so a later deploy does not try to undo a promotion.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from esdr.changes import Change
from esdr.crossdc import active_side
from esdr.es import client
from esdr.es.client import Api

INDEX = "esdr-managed"
DOC_ID = "registry"
KINDS = ("remote_cluster", "snapshot_repository", "slm_policy", "follower_index",
         "auto_follow", "alias", "pipeline_user")
INDEX_SETTINGS = {"index.hidden": True, "number_of_shards": 1, "auto_expand_replicas": "0-1"}


def empty() -> dict[str, Any]:
    return {**{kind: [] for kind in KINDS}, "promoted": {}}


def read(es: Api) -> dict[str, Any]:
    found = client.get_document(es, INDEX, DOC_ID)
    registry = empty()
    if found:
        registry.update(found.get("_source", {}))
    return registry


def write(es: Api, registry: dict[str, Any], *, wait_for_refresh: bool = True) -> None:
    """``wait_for_refresh=False``: answer before the next refresh (every read of the registry
    is by id, real-time); for runbooks that write it while writes are blocked."""
    if not client.index_exists(es, INDEX):
        client.create_index(es, INDEX, INDEX_SETTINGS, exist_ok=True)
    client.put_document(es, INDEX, DOC_ID, registry, wait_for_refresh=wait_for_refresh)


def managed(registry: dict[str, Any], kind: str) -> set[str]:
    return set(registry.get(kind, []))


def updated(registry: dict[str, Any], kind: str, keep: set[str]) -> dict[str, Any]:
    return {**registry, kind: sorted(keep)}


def with_follower_roles(registry: dict[str, Any], *, following: Iterable[str] = (),
                        leading: Iterable[str] = ()) -> dict[str, Any]:
    """The registry after a runbook (promote, failback, switchover) turned indices here into
    followers (``following``: recorded as esdr's, as the deploy that creates a follower records
    it) or into regular indices that lead (``leading``: no longer recorded as followers). So the
    first deploy after the runbook finds the registry as it would have written it, and writes
    nothing."""
    held = (managed(registry, "follower_index") | set(following)) - set(leading)
    if held == managed(registry, "follower_index"):
        return registry
    return updated(registry, "follower_index", held)


# The destructive changes esdr made on this cluster, newest last: a record that outlives the
# run's output (the deploy's and ``esdr apply``'s lines and ``--json`` say the same at the time).
DESTRUCTIVE = "destructive"
DESTRUCTIVE_KEPT = 100


def with_destructive(registry: dict[str, Any], changes: list[Change], by: str,
                     at: str) -> dict[str, Any]:
    """The registry with the destructive ``changes`` appended to its record (the oldest entries
    beyond ``DESTRUCTIVE_KEPT`` dropped)."""
    entries = [{"kind": c.kind, "name": c.name, "action": c.action, "at": at, "by": by}
               for c in changes if c.destructive]
    record = [*registry.get(DESTRUCTIVE, []), *entries]
    return {**registry, DESTRUCTIVE: record[-DESTRUCTIVE_KEPT:]}


def record_destructive(es: Api, changes: list[Change], by: str) -> None:
    """Keep the destructive ones of ``changes`` (just applied) in the cluster's registry."""
    if any(c.destructive for c in changes):
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write(es, with_destructive(read(es), changes, by, at))


# When esdr last saw each follower in sync with its leader (index -> {"at": ISO time before the
# read that showed it, "follower_checkpoint": summed over the shards}): writes its leader
# acknowledged before "at" are in the follower. `esdr promote` bounds the data at risk with it
# when the leader cannot be asked (esdr.runbooks.at_risk).
IN_SYNC = "in_sync"


def with_in_sync(registry: dict[str, Any], seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The registry with ``seen`` (index -> record) as the followers' latest in-sync records."""
    if not seen:
        return registry
    return {**registry, IN_SYNC: {**registry.get(IN_SYNC, {}), **seen}}


def last_in_sync(registry: dict[str, Any], index: str) -> dict[str, Any] | None:
    return (registry.get(IN_SYNC) or {}).get(index)


# Which side of each replicated pair leads (pair key -> record), written by `esdr promote`,
# `esdr failback` and `esdr switchover` on every cluster they reach; the plan and the deploy
# converge toward it (esdr.crossdc.active_side has the record's shape and the rules).
ACTIVE = "active"


def active_records(registry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records = registry.get(ACTIVE)
    return dict(records) if isinstance(records, dict) else {}


def with_active(registry: dict[str, Any], pair_key: str, leader: str, by: str, at: str,
                generation: int | None = None) -> dict[str, Any]:
    """The registry with ``leader`` recorded as the active side of ``pair_key`` (``by``: the
    runbook, ``at``: ISO time). ``generation``: the record's, when the caller counted it over
    several clusters' registries; otherwise one more than this registry's."""
    if by not in active_side.BY:
        raise ValueError(f"active side recorded by {by!r}: one of {', '.join(active_side.BY)}")
    records = active_records(registry)
    if generation is None:
        generation = int((records.get(pair_key) or {}).get("generation") or 0) + 1
    record = {"leader": leader, "since": at, "by": by, "generation": generation}
    return {**registry, ACTIVE: {**records, pair_key: record}}


def record_active(es_clients_by_alias: dict[str, Any], pair_key: str, leader: str,
                  by: str) -> list[str]:
    """Record ``leader`` as the active side of ``pair_key`` in the registry of every cluster
    given (estate alias -> client or replication adapter; None: known unreachable), with one
    generation above the highest any of them holds. Returns the aliases it could not write (a
    lost DC: it learns the record from the others' registries, or on the next runbook)."""
    es_of = {alias: getattr(c, "es", c) for alias, c in es_clients_by_alias.items()
             if c is not None}
    missed = sorted(alias for alias, c in es_clients_by_alias.items() if c is None)
    read_ok: dict[str, dict[str, Any]] = {}
    for alias, es in sorted(es_of.items()):
        try:
            read_ok[alias] = read(es)
        except client.API_ERRORS:  # unreachable is an expected answer during a disaster
            missed.append(alias)
    generation = 1 + max((int((active_records(r).get(pair_key) or {}).get("generation") or 0)
                          for r in read_ok.values()), default=0)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    for alias, reg in sorted(read_ok.items()):
        try:
            write(es_of[alias], with_active(reg, pair_key, leader, by, at, generation))
        except client.API_ERRORS:  # the caller reports which clusters missed the record
            missed.append(alias)
    return sorted(missed)
