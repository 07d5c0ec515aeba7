"""CCR follower indices (``PUT /<follower>/_ccr/follow``).

A follower is immutable in its ``remote_cluster`` and ``leader_index``: changing either means
unfollow + delete + follow again, which loses the follower's data, so the plan marks it
destructive. Unfollowing a follower esdr no longer wants is destructive too (it cannot be
undone); its data stays as a regular index. esdr never turns an existing regular index into a
follower by deleting it.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from esdr.crossdc.estate import Follower
from esdr.es import client
from esdr.reconcile.change import Change, Note

KIND = "follower_index"


def observe_followers(es: Elasticsearch, names: set[str]) -> dict[str, dict[str, Any] | None]:
    """index -> its follower info, ``{}`` for a regular index, ``None`` when it does not exist."""
    return {name: client.get_follower_info(es, name) for name in sorted(names)}


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
    if desired is None:
        if observed and index in managed:
            before = {k: observed.get(k) for k in ("remote_cluster", "leader_index", "status")}
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
    before = {k: observed.get(k) for k in ("remote_cluster", "leader_index", "status")}
    if (before["remote_cluster"], before["leader_index"]) != (desired.remote, desired.leader_index):
        return [Change(KIND, index, "changed", before, after, destructive=True)], []
    if before["status"] != "active":
        return [Change(KIND, index, "changed", before, after)], []
    return [Change(KIND, index, "unchanged", before, after)], []


def follow_steps(change: Change) -> list[tuple[str, str]]:
    """The ordered API steps for one change: (step, index). Pure, for tests and --dry output."""
    index = change.name
    if change.action == "created":
        return [("follow", index)]
    if change.action == "deleted":  # keep the data: a regular index remains
        return [("pause_follow", index), ("close", index), ("unfollow", index), ("open", index)]
    if change.action == "changed" and not change.destructive:
        return [("resume_follow", index)]
    if change.action == "changed":  # new leader or remote: the old copy cannot be reused
        return [("pause_follow", index), ("close", index), ("unfollow", index),
                ("delete", index), ("follow", index)]
    return []


def apply_followers(es: Elasticsearch, changes: list[Change]) -> None:
    steps = {
        "pause_follow": client.pause_follow,
        "resume_follow": client.resume_follow,
        "close": client.close_index,
        "unfollow": client.unfollow,
        "open": client.open_index,
        "delete": client.delete_index,
    }
    for change in changes:
        for step, index in follow_steps(change):
            if step == "follow":
                client.follow(es, index, change.after["remote_cluster"],
                              change.after["leader_index"])
            else:
                steps[step](es, index)
