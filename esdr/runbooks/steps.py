"""A runbook step and how it is run: one API call on one cluster, through its engine's
replication adapter (``esdr.replication``) so one runbook serves Elasticsearch and OpenSearch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from esdr.es import client
from esdr.es.client import Api
from esdr.replication import Replication, as_adapter


@dataclass(frozen=True)
class Step:
    cluster: str  # the estate alias of the cluster the step runs on
    action: str  # an adapter step (pause_follow, unfollow, stop, follow, ...), switch_alias, delete
    index: str
    args: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"[{self.cluster}] {self.action} {self.index}" + (f" ({extra})" if extra else "")


def _switch_alias(es: Api, step: Step) -> None:
    """Make ``index`` the alias's write index (or a read member), atomically."""
    alias = step.args["alias"]
    current = client.get_alias(es, alias) or {}
    actions: list[dict[str, Any]] = [
        {"add": {"index": other, "alias": alias, "is_write_index": False}}
        for other in sorted(current)
        if other != step.index
    ]
    actions.append({"add": {"index": step.index, "alias": alias,
                            "is_write_index": bool(step.args.get("write", True))}})
    client.update_aliases(es, actions)


def run_step(target: Replication | Api, step: Step) -> Any:
    adapter = as_adapter(target)
    if step.action == "switch_alias":
        return _switch_alias(adapter.es, step)
    return adapter.run(step.action, step.index, step.args)


def run_steps(
    steps: list[Step], clients: Mapping[str, Replication | Api], say: Callable[[str], None]
) -> None:
    """``clients``: estate alias -> adapter (or bare client) of that cluster."""
    for number, step in enumerate(steps, 1):
        say(f"step {number}/{len(steps)}: {step.line()}")
        run_step(clients[step.cluster], step)
