"""Where a deploy's time goes: each operation's wall time (pyinfra runs one operation at a time,
on every host at once), summed per phase and printed by the cluster summary.

pyinfra calls ``operation_start``/``operation_end`` of every handler added with
``State.add_callback_handler`` (pyinfra.api.state.BaseStateCallback).
"""

from __future__ import annotations

import time
import weakref

from pyinfra.api.state import BaseStateCallback, State

# (phase, words of an operation name that put it there); the first phase that matches wins.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("download and unpack", ("Install elasticsearch", "Install opensearch", "archive", "Link ",
                             "Directory /var/cache/esdr")),
    ("keystore and certificates", ("Keystore", "keystore", "certificate", "private key",
                                   "Security |")),
    ("start", ("enabled and running", "Rolling restart")),
    ("formation", ("Cluster has formed",)),
    ("security bootstrap", ("security", "Security", "password", "users")),
    ("cluster objects", ("Cluster-level objects", "Snapshot directory")),
    ("summary", ("Cluster summary",)),
)
OTHER = "host setup (user, directories, files, unit)"

_clocks: weakref.WeakKeyDictionary[State, PhaseClock] = weakref.WeakKeyDictionary()


def phase_of(name: str) -> str:
    for phase, words in PHASES:
        if any(word in name for word in words):
            return phase
    return OTHER


class PhaseClock(BaseStateCallback):
    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    # the base class has static methods; pyinfra calls getattr(handler, name)(state, ...)
    def operation_start(self, state: State, op_hash) -> None:  # type: ignore[override]
        self.started[op_hash] = time.monotonic()

    def operation_end(self, state: State, op_hash) -> None:  # type: ignore[override]
        started = self.started.pop(op_hash, None)
        if started is None:
            return
        names = sorted(state.get_op_meta(op_hash).names)
        phase = phase_of(names[0] if names else "")
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.monotonic() - started


def clock_for(state: State) -> PhaseClock:
    """The state's clock, added once per run (the deploy file runs once per host)."""
    clock = _clocks.get(state)
    if clock is None:
        clock = _clocks[state] = PhaseClock()
        state.add_callback_handler(clock)
    return clock


def phase_lines(seconds: dict[str, float]) -> list[str]:
    """One line: the phases that took time, in deploy order, and the total."""
    order = [p for p, _ in PHASES] + [OTHER]
    parts = [f"{p} {seconds[p]:.1f}s" for p in order if seconds.get(p, 0) >= 0.05]
    if not parts:
        return []
    return [f"time per phase: {', '.join(parts)} (operations: {sum(seconds.values()):.1f}s)"]
