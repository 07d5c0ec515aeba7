"""Progress lines for long lab steps: `[lab] what ... detail (1.2s)`."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    print(f"[lab] {message}", file=sys.stderr, flush=True)


class Step:
    """Lets the body of `step()` set the detail printed when it ends (e.g. "cached")."""

    def __init__(self) -> None:
        self.detail = "done"


@contextmanager
def step(what: str) -> Iterator[Step]:
    started = time.monotonic()
    current = Step()
    try:
        yield current
    except BaseException:
        say(f"{what}: FAILED ({time.monotonic() - started:.1f}s)")
        raise
    say(f"{what}: {current.detail} ({time.monotonic() - started:.1f}s)")


def load_average() -> str:
    """The machine's load average (1, 5, 15 minutes), for benchmark and drill reports."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def median_runs(values: list[float], fmt: str = ".1f") -> str:
    """``median (run, run, run)``: a benchmark's figure with every run it came from."""
    runs = ", ".join(format(v, fmt) for v in values)
    return f"{format(statistics.median(values), fmt)} ({runs})"
