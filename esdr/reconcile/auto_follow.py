"""CCR auto-follow patterns (``PUT /_ccr/auto_follow/<name>``). They only pick up leader
indices created after the pattern exists; a changed pattern applies to new indices only."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from esdr.es import client
from esdr.reconcile.change import Change, Note, plan_each

KIND = "auto_follow"
OWNED = ("remote_cluster", "leader_index_patterns", "leader_index_exclusion_patterns",
         "follow_index_pattern")


def observe_auto_follow(es: Elasticsearch) -> dict[str, dict[str, Any]]:
    """name -> owned fields plus ``active``."""
    out = {}
    for entry in client.get_auto_follow_patterns(es):
        pattern = entry.get("pattern", {})
        out[entry["name"]] = {
            **{k: pattern.get(k, [] if k.endswith("patterns") else None) for k in OWNED},
            "active": pattern.get("active", True),
        }
    return out


def plan_auto_follow(
    name: str, desired: dict[str, Any] | None, observed: dict[str, Any] | None, managed: set[str]
) -> tuple[list[Change], list[Note]]:
    if desired is None:
        if observed is None:
            return [], []
        if name in managed:
            return [Change(KIND, name, "deleted", observed, None)], []
        return [], [Note(KIND, name, "not in the estate and not created by esdr: left alone")]
    after = {**desired, "active": True}
    if observed is None:
        return [Change(KIND, name, "created", None, after)], []
    if observed == after:
        return [Change(KIND, name, "unchanged", observed, after)], []
    return [Change(KIND, name, "changed", observed, after)], []


def plan_auto_follows(
    desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    return plan_each(plan_auto_follow, desired, observed, managed)


def apply_auto_follows(es: Elasticsearch, changes: list[Change]) -> None:
    for change in changes:
        if change.action == "deleted":
            client.delete_auto_follow_pattern(es, change.name)
            continue
        if change.action not in ("created", "changed"):
            continue
        before = change.before or {}
        if any(before.get(k) != change.after[k] for k in OWNED) or not before:
            client.put_auto_follow_pattern(
                es, change.name, {k: change.after[k] for k in OWNED}
            )
        if before and not before.get("active", True):
            client.resume_auto_follow_pattern(es, change.name)
