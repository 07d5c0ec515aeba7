"""What a reconciler reports: frozen ``Change`` values, plus ``Note``s that are not drift.

Plain values, shared by the reconcilers and the replication adapters that build them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

ACTIONS = ("created", "changed", "unchanged", "deleted")


@dataclass(frozen=True)
class Change:
    """One object of one kind: what it is, what it will be, and how."""

    kind: str  # "remote_cluster", "snapshot_repository", "slm_policy", ...
    name: str
    action: str  # one of ACTIONS
    before: Any = None
    after: Any = None
    destructive: bool = False  # cannot be undone (unfollow, recreate a follower, delete)

    def __post_init__(self) -> None:
        # Every delete is destructive, whichever reconciler or adapter plans it: esdr cannot
        # undo one (README, "esdr apply": deleting an object esdr created needs the switch).
        if self.action == "deleted" and not self.destructive:
            object.__setattr__(self, "destructive", True)

    @property
    def is_drift(self) -> bool:
        return self.action != "unchanged"

    def line(self) -> str:
        mark = {"created": "+", "changed": "~", "deleted": "-", "unchanged": "="}[self.action]
        text = f"{mark} {self.kind} {self.name}: {self.action}"
        if self.destructive:
            text += " (DESTRUCTIVE: needs --allow-destructive)"
        if self.action == "changed":
            text += f"\n      before: {_compact(self.before)}\n      after:  {_compact(self.after)}"
        elif self.action in ("created", "deleted"):
            text += f" {_compact(self.after if self.action == 'created' else self.before)}"
        return text


@dataclass(frozen=True)
class Note:
    """Something worth saying that is not drift: a foreign object, an unreachable remote, ..."""

    kind: str
    name: str
    message: str
    blocking: bool = False  # the object cannot be reconciled until the user acts

    def line(self) -> str:
        return f"! {self.kind} {self.name}: {self.message}"


def drift(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.is_drift]


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def plan_each(
    plan_one: Callable[..., tuple[list[Change], list[Note]]],
    desired: dict[str, Any],
    observed: dict[str, Any],
    managed: set[str],
) -> tuple[list[Change], list[Note]]:
    """Plan every object named on either side, in name order, with ``plan_one(name, d, o, m)``."""
    changes: list[Change] = []
    notes: list[Note] = []
    for name in sorted(set(desired) | set(observed)):
        more_changes, more_notes = plan_one(name, desired.get(name), observed.get(name), managed)
        changes += more_changes
        notes += more_notes
    return changes, notes


FOREIGN = "not in the estate and not created by esdr: left alone"


def plan_object(
    kind: str,
    name: str,
    desired: Any,
    observed: Any,
    managed: set[str],
    same: Callable[[Any, Any], bool] = lambda observed, desired: observed == desired,
) -> tuple[list[Change], list[Note]]:
    """The life of one cluster object esdr manages, as Terraform treats a resource: created when
    only desired, deleted when esdr created it and the estate dropped it, a foreign one noted and
    never touched, changed unless ``same(observed, desired)``."""
    if desired is None:
        if observed is None:
            return [], []
        if name in managed:
            return [Change(kind, name, "deleted", observed, None)], []
        return [], [Note(kind, name, FOREIGN)]
    if observed is None:
        return [Change(kind, name, "created", None, desired)], []
    action = "unchanged" if same(observed, desired) else "changed"
    return [Change(kind, name, action, observed, desired)], []
