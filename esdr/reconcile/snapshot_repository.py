"""Snapshot repositories: the writer registers it, every other cluster ``readonly``; ``_verify``
after every write."""

from __future__ import annotations

from typing import Any

from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.changes import Change, Note, plan_each, plan_object
from esdr.reconcile.normalize import norm

KIND = "snapshot_repository"


def observe_snapshot_repositories(es: Api) -> dict[str, dict[str, Any]]:
    return {
        name: {"type": repo.get("type"), "settings": repo.get("settings", {})}
        for name, repo in client.get_repositories(es).items()
    }


def plan_snapshot_repository(
    name: str, desired: dict[str, Any] | None, observed: dict[str, Any] | None, managed: set[str]
) -> tuple[list[Change], list[Note]]:
    return plan_object(KIND, name, desired, observed, managed,
                       same=lambda observed, desired: norm(observed) == norm(desired))


def plan_snapshot_repositories(
    desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    return plan_each(plan_snapshot_repository, desired, observed, managed)


def apply_snapshot_repositories(es: Api, changes: list[Change]) -> None:
    for change in changes:
        if change.action == "deleted":
            client.delete_repository(es, change.name)
        elif change.action in ("created", "changed"):
            after = change.after
            client.put_repository(es, change.name, after["type"], dict(after["settings"]))
            verify(es, change.name)


def verify(es: Api, name: str) -> dict[str, Any]:
    """``POST _snapshot/<name>/_verify``: every master and data node must reach the storage."""
    try:
        return client.verify_repository(es, name)
    except Exception as error:  # the API's own reason is the useful part
        raise EsdrError(
            f"snapshot repository {name} was registered but does not verify: {error}",
            hint="mount the same storage on every master and data node, list it in es_path_repo, "
            "and make it writable by the service user (es_user)",
        ) from error
