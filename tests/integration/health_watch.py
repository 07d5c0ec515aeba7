"""Cluster health sampled in the background while a deploy rolls the nodes.

A roll is judged by what an observer saw the whole time (never red, never two nodes away), not
by the deploy's own report; the samples are bounded in count so a hung deploy cannot hang it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class HealthSamples:
    statuses: list[str] = field(default_factory=list)
    node_counts: list[int] = field(default_factory=list)


@contextmanager
def watch_health(observer, interval: float = 0.5, max_samples: int = 3000) -> Iterator[HealthSamples]:
    """Sample ``observer.cluster.health`` every ``interval`` s until the block ends (at most
    ``max_samples`` tries: ~25 minutes at 0.5 s). Errors are skipped: a restarting node
    answers with them."""
    samples = HealthSamples()
    done = threading.Event()

    def poll() -> None:
        for _ in range(max_samples):
            if done.is_set():
                return
            try:
                health = observer.cluster.health(timeout="2s")
                samples.statuses.append(health["status"])
                samples.node_counts.append(health["number_of_nodes"])
            except Exception:
                pass
            time.sleep(interval)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield samples
    finally:
        done.set()
        poller.join(timeout=10)
