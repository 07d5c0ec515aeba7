"""Queue depth and consumer lag of one INFINI Gateway, from its API's ``GET /queue/stats``. Pure.

The answer (framework bd9f1dad, modules/queue/api.go) names each disk queue by id, with
``metadata.name`` (esdr names queues ``<cluster>-queue``: the writes still owed to that
cluster), ``messages`` (or ``depth`` while no consumer exists: the messages written to it),
``offset`` (where the next write goes: ``"segment,position"``) and, per consumer, the offset it
committed (``"segment,position,version"``). The lag is the bytes between the two; a consumer
commits only after its cluster took the messages (``commit_on_tag``), so a lag that stays up is
writes the other cluster does not have yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# disk_queue.max_bytes_per_file's default (framework modules/queue/disk_queue/module.go): a
# lag across segment files counts each whole file between the two offsets as this many bytes.
SEGMENT_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class QueueState:
    name: str
    messages: int | None  # written to the queue (the gateway's own count)
    consumer: str | None  # the replay consumer's group, None before the replay first ran
    lag_bytes: int | None  # None: no consumer yet, so nothing of it was replayed

    @property
    def caught_up(self) -> bool:
        return self.lag_bytes == 0 or (self.consumer is None and not self.messages)

    def line(self) -> str:
        count = "?" if self.messages is None else str(self.messages)
        if self.consumer is None:
            lag = "no replay yet" if self.messages else "empty"
        elif self.lag_bytes == 0:
            lag = f"{self.consumer} caught up"
        else:
            lag = f"{self.consumer} behind by {self.lag_bytes} bytes"
        return f"queue {self.name}: {count} messages, {lag}"


def _offset(text: Any) -> tuple[int, int] | None:
    parts = str(text or "").split(",")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None


def lag_bytes(latest: Any, committed: Any) -> int | None:
    """Bytes from the committed offset to the latest write (None when either is unreadable)."""
    end, start = _offset(latest), _offset(committed)
    if end is None or start is None:
        return None
    return max(0, (end[0] - start[0]) * SEGMENT_BYTES + end[1] - start[1])


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
            lags = [(lag_bytes(stats.get("offset"), c.get("offset")), str(c.get("group")))
                    for c in consumers]
            known = [item for item in lags if item[0] is not None]
            lag, group = max(known) if known else (None, lags[0][1])
            out.append(QueueState(name, messages, group, lag))
    return sorted(out, key=lambda q: q.name)


def summary_lines(gateway: str, states: list[QueueState] | None, error: str | None = None
                  ) -> list[str]:
    """What the deploy and ``esdr gateway status`` print for one gateway."""
    if states is None:
        return [f"gateway {gateway}: queues unknown ({error or 'no answer from its API'})"]
    if not states:
        return [f"gateway {gateway}: no queue yet (nothing written through it)"]
    return [f"gateway {gateway}: {state.line()}" for state in states]
