"""Processes the lab starts: detached, recorded by pid + start time, stopped only by that record."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from esdr_lab.state import ProcRecord


def starttime(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (read after the command name, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])  # fields[0] is field 3 (state)


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def alive(proc: ProcRecord | None) -> bool:
    """True when the recorded process still runs (same pid AND same start time, not a zombie)."""
    if proc is None:
        return False
    return starttime(proc.pid) == proc.starttime and not is_zombie(proc.pid)


def spawn(
    argv: list[str], log: Path, preexec: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> ProcRecord:
    """Start argv in its own session (like `setsid`), output to log; return its record."""
    with open(log, "ab") as out:
        child = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
            close_fds=True,
        )
    started = starttime(child.pid)
    if started is None:  # exited at once: keep the record so callers report the log
        return ProcRecord(pid=child.pid, starttime=-1)
    return ProcRecord(pid=child.pid, starttime=started)


def join_cgroups(paths: list[str]) -> Callable[[], None]:
    """A preexec_fn moving the child into the given cgroups before it execs, so everything it
    starts stays in them: teardown then finds it by the cgroup's esdrlab- name, state or not."""

    def join() -> None:
        pid = str(os.getpid())
        for path in paths:
            with open(os.path.join(path, "cgroup.procs"), "w") as procs_file:
                procs_file.write(pid)

    return join


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie (no-op otherwise)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_gone(proc: ProcRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(proc.pid)
        if not alive(proc):
            return True
        time.sleep(0.1)
    _reap(proc.pid)
    return not alive(proc)


def send(proc: ProcRecord, sig: int) -> None:
    if alive(proc):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass


def stop(proc: ProcRecord | None, grace: float = 10, kill_wait: float = 5) -> bool:
    """SIGTERM, wait up to `grace`, then SIGKILL and wait up to `kill_wait`. True when gone."""
    if proc is None or not alive(proc):
        return True
    send(proc, signal.SIGTERM)
    if wait_gone(proc, grace):
        return True
    send(proc, signal.SIGKILL)
    return wait_gone(proc, kill_wait)
