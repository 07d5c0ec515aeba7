"""Auto-follow rules: Elasticsearch CCR patterns (``PUT /_ccr/auto_follow/<name>``) or
OpenSearch replication rules (``POST _plugins/_replication/_autofollow``), one plan for both;
the adapter (``esdr.replication``) observes and applies them. They only pick up leader indices
created after the rule exists; a changed rule applies to new indices only."""

from __future__ import annotations

from typing import Any

from esdr.changes import Change, Note, plan_each, plan_object
from esdr.replication import as_adapter
from esdr.replication.ccr import OWNED

KIND = "auto_follow"
__all__ = ["KIND", "OWNED", "apply_auto_follows", "observe_auto_follow", "plan_auto_follow",
           "plan_auto_follows"]


def observe_auto_follow(target) -> dict[str, dict[str, Any]]:
    """name -> owned fields plus ``active`` (``target``: adapter or bare client)."""
    return as_adapter(target).auto_follows()


def plan_auto_follow(
    name: str, desired: dict[str, Any] | None, observed: dict[str, Any] | None, managed: set[str]
) -> tuple[list[Change], list[Note]]:
    after = None if desired is None else {**desired, "active": True}
    return plan_object(KIND, name, after, observed, managed)


def plan_auto_follows(
    desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    return plan_each(plan_auto_follow, desired, observed, managed)


def apply_auto_follows(target, changes: list[Change]) -> None:
    adapter = as_adapter(target)
    for change in changes:
        adapter.apply_auto_follow(change)
