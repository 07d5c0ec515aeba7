"""Follower indices: one plan for both engines, API steps from the engine's adapter
(``esdr.replication``: Elasticsearch CCR ``PUT /<follower>/_ccr/follow``, OpenSearch
``PUT _plugins/_replication/<follower>/_start``).

A follower is immutable in its ``remote_cluster`` and ``leader_index``: changing either means
making it a regular index, deleting it and following again, which loses the follower's data, so
the plan marks it destructive. Turning a follower esdr no longer wants into a regular index is
destructive too (it cannot be undone); its data stays. esdr never turns an existing regular index
into a follower by deleting it. A failed follower cannot be resumed: recreating it is destructive.
"""

from __future__ import annotations

from typing import Any

from esdr.crossdc.estate import Follower
from esdr.changes import Change, Note
from esdr.replication import Replication, as_adapter
from esdr.replication.base import FOLLOWER_FIELDS
from esdr.replication.ccr import CcrReplication

KIND = "follower_index"


def observe_followers(target, names: set[str]) -> dict[str, dict[str, Any] | None]:
    """index -> its follower view, ``{}`` for a regular index, ``None`` when it does not exist.
    ``target``: an adapter, or a bare client of either engine."""
    return as_adapter(target).followers(names)


def _wanted(f: Follower) -> dict[str, Any]:
    return {"remote_cluster": f.remote, "leader_index": f.leader_index, "status": "active"}


def plan_follower(
    index: str,
    desired: Follower | None,
    observed: dict[str, Any] | None,
    managed: set[str],
    promoted: set[str] = frozenset(),
    connected: bool = True,
) -> tuple[list[Change], list[Note]]:
    if index in promoted:
        return [], [Note(KIND, index, "promoted by `esdr promote`: held until `esdr failback`")]
    if observed and observed.get("status") == "unknown":
        return [], [Note(KIND, index, "replication status unavailable (is the leader down?): "
                         f"{observed.get('reason')}", blocking=True)]
    if desired is None:
        if observed and index in managed:
            before = {k: observed.get(k) for k in FOLLOWER_FIELDS}
            return [Change(KIND, index, "deleted", before, None, destructive=True)], []
        return [], []
    after = _wanted(desired)
    if observed is None:
        if not connected:
            return [], [Note(KIND, index, f"cannot follow yet: remote {desired.remote} is not "
                             "connected", blocking=True)]
        return [Change(KIND, index, "created", None, after)], []
    if observed == {}:
        return [], [Note(KIND, index, "exists as a regular index: esdr will not delete it to "
                         "follow; run `esdr failback` or remove it yourself", blocking=True)]
    before = {k: observed.get(k) for k in FOLLOWER_FIELDS}
    if (before["remote_cluster"], before["leader_index"]) != (desired.remote, desired.leader_index):
        return [Change(KIND, index, "changed", before, after, destructive=True)], []
    if before["status"] == "failed":
        return [Change(KIND, index, "changed", before, after, destructive=True)], []
    if before["status"] != "active":
        return [Change(KIND, index, "changed", before, after)], []
    return [Change(KIND, index, "unchanged", before, after)], []


def follow_steps(change: Change, adapter: type[Replication] | Replication = CcrReplication
                 ) -> list[tuple[str, str]]:
    """The ordered API steps for one change: (step, index). Pure, for tests and --dry output."""
    return adapter.follow_steps(change)


def apply_followers(target, changes: list[Change]) -> None:
    """Run each change's steps through the adapter (``target``: adapter or bare client)."""
    adapter = as_adapter(target)
    for change in changes:
        for step, index in adapter.follow_steps(change):
            adapter.run(step, index, change.after if step == "follow" else None)
