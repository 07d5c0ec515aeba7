"""SLM policies (``PUT /_slm/policy/<id>``): scheduled snapshots into the cluster's writable
repository. The RPO of the snapshot approach is the schedule interval (https://www.elastic.co/guide/en/elasticsearch/reference/current/snapshot-lifecycle-management.html)."""

from __future__ import annotations

from typing import Any

from esdr.es import client
from esdr.es.client import Api
from esdr.changes import Change, Note, plan_each, plan_object
from esdr.reconcile.normalize import norm

KIND = "slm_policy"
OWNED = ("name", "schedule", "repository", "config", "retention")


def observe_slm_policies(es: Api) -> dict[str, dict[str, Any]]:
    """Policy id -> the owned part of its ``policy`` (versions and dates are not ours)."""
    return {
        policy_id: {k: v for k, v in entry.get("policy", {}).items() if k in OWNED}
        for policy_id, entry in client.get_slm_policies(es).items()
    }


def _comparable(policy: dict[str, Any]) -> Any:
    return norm({k: policy.get(k) or None for k in OWNED})


def plan_slm_policy(
    policy_id: str, desired: dict[str, Any] | None, observed: dict[str, Any] | None,
    managed: set[str],
) -> tuple[list[Change], list[Note]]:
    return plan_object(KIND, policy_id, desired, observed, managed,
                       same=lambda observed, desired: _comparable(observed) == _comparable(desired))


def plan_slm_policies(
    desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]], managed: set[str]
) -> tuple[list[Change], list[Note]]:
    return plan_each(plan_slm_policy, desired, observed, managed)


def apply_slm_policies(es: Api, changes: list[Change]) -> None:
    for change in changes:
        if change.action == "deleted":
            client.delete_slm_policy(es, change.name)
        elif change.action in ("created", "changed"):
            body = {k: v for k, v in change.after.items() if v not in (None, {}, [])}
            client.put_slm_policy(es, change.name, body)
