"""What the rolling-upgrade drills of both engines write and read while nodes go away
(tests/integration/test_upgrade_lab.py, tests/opensearch_lab_upgrade/test_os_upgrade_lab.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def node_versions(es) -> dict[str, str]:
    """Node name -> the version it runs (``GET _nodes``), through either engine's client."""
    nodes = es.nodes.info(filter_path="nodes.*.name,nodes.*.version")["nodes"]
    return {n["name"]: n["version"] for n in nodes.values()}


@dataclass
class AckedWriter:
    """One document after another, each retried until acknowledged (bounded: 120 tries of
    0.5 s per id, 200,000 ids). ``write(doc_id, n)`` sends one and returns the engine's
    answer; the engines' clients name the document argument differently."""

    write: Callable[[str, int], Mapping[str, Any]]
    prefix: str
    acked: set[str] = field(default_factory=set)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < 200_000:  # bounded
            doc_id = f"{self.prefix}{n}"
            for _ in range(120):  # one id until acknowledged (bounded: ~1-2 min of retries)
                if self._stop.is_set():
                    return
                try:
                    if self.write(doc_id, n)["result"] in ("created", "updated"):
                        self.acked.add(doc_id)
                        break
                except Exception:  # a node going away answers with errors; retried
                    self.failures += 1
                time.sleep(0.5)
            n += 1
            time.sleep(0.05)

    def __enter__(self) -> AckedWriter:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
