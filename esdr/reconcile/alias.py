"""Aliases (``POST /_aliases``) and the local write indices of the bi-directional recipe.

Only indices that exist are put behind an alias (a follower appears once it is created); the
write flag is explicit on every member so exactly one index takes the alias's writes.
"""

from __future__ import annotations

from typing import Any

from esdr.crossdc.desired import DesiredAlias
from esdr.es import client
from esdr.es.client import Api
from esdr.reconcile.change import Change, Note

KIND = "alias"


def observe_alias(es: Api, name: str) -> dict[str, bool] | None:
    """index -> is_write_index for an alias; ``None`` when no index carries it."""
    found = client.get_alias(es, name)
    if not found:
        return None
    return {
        index: bool(entry.get("aliases", {}).get(name, {}).get("is_write_index", False))
        for index, entry in found.items()
    }


def plan_alias(
    name: str,
    desired: DesiredAlias | None,
    observed: dict[str, bool] | None,
    existing: set[str],
    managed: set[str],
    held: bool = False,
) -> tuple[list[Change], list[Note]]:
    if held:
        return [], [Note(KIND, name, "its follower was promoted: held until `esdr failback`")]
    if desired is None:
        if observed and name in managed:
            return [Change(KIND, name, "deleted", observed, None)], []
        return [], []
    members = {i: w for i, w in desired.members.items() if i in existing}
    notes = [Note(KIND, name, f"index {i} does not exist yet: left out of the alias")
             for i in sorted(set(desired.members) - existing)]
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
