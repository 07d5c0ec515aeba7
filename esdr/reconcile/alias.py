"""Aliases (``POST /_aliases``) and the local write indices of the bi-directional recipe.

Only indices that exist are put behind an alias (a follower appears once it is created); the
write flag is explicit on every member so at most one index takes the alias's writes. A
follower index's aliases belong to replication, which copies them from its leader (and keeps
them read-only with the index): esdr neither reads nor writes them, so a promoted follower
arrives with its leader's write alias already in place.
"""

from __future__ import annotations

from typing import Any

from esdr.desired import DesiredAlias
from esdr.es import client
from esdr.es.client import Api
from esdr.changes import Change, Note

KIND = "alias"


def aliases_from(everything: dict[str, Any], name: str) -> dict[str, bool] | None:
    """index -> is_write_index for alias ``name``, from one ``GET /_alias`` of every index;
    ``None`` when no index carries it."""
    found = {index: entry for index, entry in everything.items()
             if name in (entry.get("aliases") or {})}
    if not found:
        return None
    return {index: bool(entry["aliases"][name].get("is_write_index", False))
            for index, entry in found.items()}


def plan_alias(
    name: str,
    desired: DesiredAlias | None,
    observed: dict[str, bool] | None,
    existing: set[str],
    managed: set[str],
    held: bool = False,
    replicated: set[str] = frozenset(),
) -> tuple[list[Change], list[Note]]:
    """``replicated``: this cluster's follower indices, whose aliases replication owns."""
    if held:
        return [], [Note(KIND, name, "its follower was promoted: held until `esdr failback`")]
    if observed is not None:
        observed = {i: w for i, w in observed.items() if i not in replicated} or None
    if desired is None:
        if observed and name in managed:
            return [Change(KIND, name, "deleted", observed, None)], []
        return [], []
    local = {i: w for i, w in desired.members.items() if i not in replicated}
    members = {i: w for i, w in local.items() if i in existing}
    notes = [Note(KIND, name, f"index {i} does not exist yet: left out of the alias")
             for i in sorted(set(local) - existing)]
    if not members:
        return [], notes
    if observed is None:
        return [Change(KIND, name, "created", None, members)], notes
    if observed == members:
        return [Change(KIND, name, "unchanged", observed, members)], notes
    return [Change(KIND, name, "changed", observed, members)], notes


def alias_actions(change: Change) -> list[dict[str, Any]]:
    """One atomic ``_aliases`` request: remove what goes, add every member with its flag."""
    name = change.name
    before = change.before or {}
    after = change.after or {}
    actions: list[dict[str, Any]] = [
        {"remove": {"index": index, "alias": name}} for index in sorted(set(before) - set(after))
    ]
    actions += [
        {"add": {"index": index, "alias": name, "is_write_index": write}}
        for index, write in sorted(after.items())
    ]
    return actions


def plan_indices(wanted: tuple[str, ...], existing: set[str]) -> list[Change]:
    """Local write indices of the bi-directional recipe: created when missing, never deleted."""
    return [
        Change("index", index, "unchanged" if index in existing else "created", None,
               {"index": index})
        for index in wanted
    ]


def apply_indices(es: Api, changes: list[Change]) -> None:
    for change in changes:
        if change.action == "created":
            client.create_index(es, change.name)


def apply_aliases(es: Api, changes: list[Change]) -> None:
    for change in changes:
        if change.is_drift:
            client.update_aliases(es, alias_actions(change))
