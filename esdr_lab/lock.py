"""One lab change at a time: `up`, `down`, `stop_host`, `start_host` take an exclusive lock."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from esdr.errors import EsdrError
from esdr_lab import constants
from esdr_lab.system import private_dir

WAIT = 600  # a cold `up` (image build) is the longest holder


@contextmanager
def lab_lock(wait: float = WAIT) -> Iterator[None]:
    private_dir(constants.STATE_DIR)
    fd = os.open(constants.STATE_DIR / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EsdrError(
                        f"another esdr lab command holds {constants.STATE_DIR / 'lock'}",
                        hint="wait for it to finish",
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing releases the lock
