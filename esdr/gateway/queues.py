"""Queue depth and consumer lag of one INFINI Gateway, from its API's ``GET /queue/stats``. Pure.

The answer (framework bd9f1dad, modules/queue/api.go) names each disk queue by id, with
``metadata.name`` (esdr names queues ``<cluster>-queue``: the writes still owed to that
cluster), ``messages`` (or ``depth`` while no consumer exists: the messages written to it),
``offset`` (where the next write goes: ``"segment,position"``) and, per consumer, the offset it
committed (``"segment,position,version"``). The lag is the bytes between the two (``lag``); a
consumer commits only after its cluster took the messages (``commit_on_tag``), so a lag that
stays up is writes the other cluster does not have yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

@dataclass(frozen=True)
class QueueState:
    name: str
    messages: int | None  # written to the queue (the gateway's own count)
    consumer: str | None  # the replay consumer's group, None before the replay first ran
    lag_bytes: int | None  # None: no consumer yet, or not readable from the offsets
    exact: bool = True  # False: lag_bytes is only a lower bound (see lag)

    @property
    def caught_up(self) -> bool:
        if self.consumer is None:
            return not self.messages
        return self.exact and self.lag_bytes == 0

    def line(self) -> str:
        count = "?" if self.messages is None else str(self.messages)
        if self.consumer is None:
            lag = "no replay yet" if self.messages else "empty"
        elif self.exact and self.lag_bytes == 0:
            lag = f"{self.consumer} caught up"
        elif self.exact:
            lag = f"{self.consumer} behind by {self.lag_bytes} bytes"
        elif self.lag_bytes:
            lag = f"{self.consumer} behind by at least {self.lag_bytes} bytes"
        else:
            lag = (f"{self.consumer} lag unknown until the next write (the gateway began a new "
                   "queue file when it started)")
        return f"queue {self.name}: {count} messages, {lag}"


def _offset(text: Any) -> tuple[int, int] | None:
    parts = str(text or "").split(",")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None


def lag(latest: Any, committed: Any) -> tuple[int | None, bool]:
    """(bytes from the committed offset to the latest write, exact?).

    Within one segment file the difference is exact. A consumer still in an earlier file (the
    gateway begins a new file at every start, framework modules/queue/disk_queue/diskqueue.go)
    has at least the latest file's bytes to read, and an unknown rest of its own file: the API
    gives no file sizes, so that is a lower bound, 0 when the new file is still empty.
    """
    end, start = _offset(latest), _offset(committed)
    if end is None or start is None:
        return None, False
    if end[0] == start[0]:
        return max(0, end[1] - start[1]), True
    if end[0] < start[0]:
        return None, False
    return end[1], False


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_queue_stats(answer: Any) -> list[QueueState]:
    """Every queue of a ``/queue/stats`` answer, by name; the slowest consumer counts."""
    out: list[QueueState] = []
    kinds = answer.get("queue") if isinstance(answer, dict) else None
    for queues in (kinds or {}).values():
        for queue_id, stats in (queues or {}).items():
            if not isinstance(stats, dict):
                continue
            name = str((stats.get("metadata") or {}).get("name") or queue_id)
            messages = _int(stats.get("messages", stats.get("depth")))
            consumers = [c for c in stats.get("consumers") or [] if isinstance(c, dict)]
            if not consumers:
                out.append(QueueState(name, messages, None, None))
                continue
            states = [QueueState(name, messages, str(c.get("group")),
                                 *lag(stats.get("offset"), c.get("offset")))
                      for c in consumers]
            # the slowest consumer counts: one not caught up, the furthest behind
            out.append(max(states, key=lambda s: (not s.caught_up, s.lag_bytes or 0)))
    return sorted(out, key=lambda q: q.name)


def summary_lines(gateway: str, states: list[QueueState] | None, error: str | None = None
                  ) -> list[str]:
    """What the deploy and ``esdr gateway status`` print for one gateway."""
    if states is None:
        return [f"gateway {gateway}: queues unknown ({error or 'no answer from its API'})"]
    if not states:
        return [f"gateway {gateway}: no queue yet (nothing written through it)"]
    return [f"gateway {gateway}: {state.line()}" for state in states]
