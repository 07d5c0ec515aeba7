"""A bound on what one test may allocate, so a regression that reads a device such as
/dev/zero into memory fails as a MemoryError instead of taking the machine's memory."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

HEADROOM = 1 << 30  # bytes of address space allowed beyond what the process has mapped now


@contextmanager
def memory_cap(headroom: int = HEADROOM) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = mapped + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
