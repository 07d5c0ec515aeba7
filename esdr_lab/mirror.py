"""The artifact mirror: a static HTTP server bound ONLY to the lab bridge address (10.88.0.1).

It stands in for a data centre's internal artifact mirror. Started detached (own session),
its pid + start time recorded; stopped by that record only.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants, procs
from esdr_lab.ssh import port_open
from esdr_lab.state import MirrorRecord

START_TIMEOUT = 10
# "--" cannot start a host name, so this never collides with a host's esdrlab-<name> cgroup;
# a mirror whose state record was lost is still stopped by `down` through it
CGROUP_NAME = f"{constants.NETNS_PREFIX}-mirror"


def cgroup_dirs() -> list[str]:
    return [str(root / CGROUP_NAME) for root in constants.CGROUP_ROOTS]


def start() -> MirrorRecord:
    if port_open(constants.CONTROLLER_ADDRESS, constants.MIRROR_PORT):
        raise EsdrError(
            f"{constants.CONTROLLER_ADDRESS}:{constants.MIRROR_PORT} is already in use by a "
            "process the lab did not record",
            hint=f"find it with `ss -ltnp 'sport = :{constants.MIRROR_PORT}'` and stop it",
        )
    directory = constants.ARTIFACTS_DIR
    argv = [
        sys.executable, "-m", "http.server", str(constants.MIRROR_PORT),
        "--bind", constants.CONTROLLER_ADDRESS, "--directory", str(directory),
    ]
    log = constants.STATE_DIR / "mirror.log"
    for path in cgroup_dirs():
        os.makedirs(path, exist_ok=True)
    proc = procs.spawn(argv, log, preexec=procs.join_cgroups(cgroup_dirs()))
    record = MirrorRecord(url=constants.MIRROR_URL, directory=str(directory), proc=proc)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if port_open(constants.CONTROLLER_ADDRESS, constants.MIRROR_PORT, timeout=0.3):
            return record
        if not procs.alive(record.proc):
            break
        time.sleep(0.1)
    procs.stop(record.proc)
    raise EsdrError(f"the artifact mirror did not start, see {log}")


def healthy(record: MirrorRecord | None) -> bool:
    """Alive and serving its directory (one bounded request to 10.88.0.1). Which files it
    must hold depends on the inventories: `up` ensures those on every run."""
    if record is None or not procs.alive(record.proc):
        return False
    url = f"{record.url}/"
    # no proxies: an http_proxy from the environment must never see lab traffic
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def stop(record: MirrorRecord | None) -> None:
    if record is not None:
        procs.stop(record.proc, grace=5, kill_wait=5)


def served_files(record: MirrorRecord) -> list[str]:
    return sorted(p.name for p in Path(record.directory).iterdir() if p.is_file())
