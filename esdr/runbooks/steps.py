"""A runbook step and how it is run: one API call on one cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from esdr.es import client


@dataclass(frozen=True)
class Step:
    cluster: str  # the estate alias of the cluster the step runs on
    action: str  # pause_follow, close, unfollow, open, switch_alias, delete, follow, ...
    index: str
    args: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"[{self.cluster}] {self.action} {self.index}" + (f" ({extra})" if extra else "")


def _switch_alias(es: Elasticsearch, step: Step) -> None:
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


RUNNERS: dict[str, Callable[[Elasticsearch, Step], Any]] = {
    "pause_follow": lambda es, s: client.pause_follow(es, s.index),
    "close": lambda es, s: client.close_index(es, s.index),
    "unfollow": lambda es, s: client.unfollow(es, s.index),
    "open": lambda es, s: client.open_index(es, s.index),
    "delete": lambda es, s: client.delete_index(es, s.index),
    "follow": lambda es, s: client.follow(es, s.index, s.args["remote_cluster"],
                                          s.args["leader_index"]),
    "switch_alias": _switch_alias,
}


def run_steps(
    steps: list[Step], clients: dict[str, Elasticsearch], say: Callable[[str], None]
) -> None:
    for number, step in enumerate(steps, 1):
        say(f"step {number}/{len(steps)}: {step.line()}")
        RUNNERS[step.action](clients[step.cluster], step)
