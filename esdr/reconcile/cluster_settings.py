"""Persistent cluster settings the model owns: awareness, the replication plugin's follower
settings (OpenSearch) and remote clusters.

Drift is limited to owned keys: the awareness keys of the model, and ``cluster.remote.<alias>.*``
for aliases the estate names (or esdr created). A key is removed by sending ``null``.
"""

from __future__ import annotations

from typing import Any

from esdr.es import client
from esdr.es.client import Api
from esdr.changes import Change, Note
from esdr.reconcile.normalize import norm

REMOTE_PREFIX = "cluster.remote."


def observe_persistent(es: Api) -> dict[str, Any]:
    """Flat persistent settings (``{"cluster.remote.dc2.seeds": [...], ...}``)."""
    return client.get_cluster_settings(es).get("persistent", {})


def plan_owned(name: str, desired: dict[str, Any], persistent: dict[str, Any]) -> list[Change]:
    """One group of persistent settings the model owns (``awareness``, ``replication``)."""
    if not desired:
        return []
    before = {k: persistent.get(k) for k in desired}
    if norm(before) == norm(desired):
        return [Change("cluster_settings", name, "unchanged", before, desired)]
    action = "created" if all(v is None for v in before.values()) else "changed"
    return [Change("cluster_settings", name, action, before, desired)]


def plan_awareness(desired: dict[str, Any], persistent: dict[str, Any]) -> list[Change]:
    return plan_owned("awareness", desired, persistent)


def remote_aliases(persistent: dict[str, Any]) -> set[str]:
    return {k[len(REMOTE_PREFIX):].split(".", 1)[0] for k in persistent if k.startswith(REMOTE_PREFIX)}


def _remote_keys(persistent: dict[str, Any], alias: str) -> dict[str, Any]:
    prefix = f"{REMOTE_PREFIX}{alias}."
    return {k[len(prefix):]: v for k, v in persistent.items() if k.startswith(prefix)}


def plan_remote_cluster(
    alias: str, desired: dict[str, Any] | None, persistent: dict[str, Any], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    """One remote alias: created / changed / unchanged / deleted, or a foreign note."""
    before = _remote_keys(persistent, alias)
    if desired is None:
        if not before:
            return [], []
        if alias in managed:
            after = {k: None for k in before}
            return [Change("remote_cluster", alias, "deleted", before, after)], []
        return [], [Note("remote_cluster", alias, "not in the estate and not created by esdr: "
                         "left alone")]
    if not before:
        return [Change("remote_cluster", alias, "created", None, desired)], []
    if norm(before) == norm(desired):
        return [Change("remote_cluster", alias, "unchanged", before, desired)], []
    # Keys the estate does not set are nulled so a mode switch leaves no stale seeds behind.
    after = {**{k: None for k in before if k not in desired}, **desired}
    return [Change("remote_cluster", alias, "changed", before, after)], []


def plan_remote_clusters(
    desired: dict[str, dict[str, Any]], persistent: dict[str, Any], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    changes: list[Change] = []
    notes: list[Note] = []
    for alias in sorted(set(desired) | remote_aliases(persistent)):
        c, n = plan_remote_cluster(alias, desired.get(alias), persistent, managed)
        changes += c
        notes += n
    return changes, notes


def settings_body(change: Change) -> dict[str, Any]:
    """The persistent settings a change sends (flat keys)."""
    if change.kind == "cluster_settings":
        return dict(change.after)
    prefix = f"{REMOTE_PREFIX}{change.name}."
    return {prefix + k: v for k, v in change.after.items()}


def apply_cluster_settings(es: Api, changes: list[Change]) -> None:
    for change in changes:
        if change.is_drift:
            client.put_cluster_settings(es, settings_body(change))


def connection_notes(remote_info: dict[str, Any], desired: dict[str, Any]) -> list[Note]:
    """Remotes the estate links that are not connected (reported; the deploy does not fail)."""
    notes = []
    for alias in sorted(desired):
        info = remote_info.get(alias) or {}
        if not info.get("connected"):
            notes.append(Note("remote_cluster", alias, "not connected (GET _remote/info): the "
                              "settings are in place; it connects when the remote is reachable"))
    return notes
