"""One secured DC1 for both security modules: a fresh lab, a private secrets directory, and a
first deploy watched by ``ps`` sampling.

Each module needs what the ordinary shared DC1 (tests/lab_fixtures.py) cannot give: the leak
scan must watch the first deploy itself, and the CA rotation must never reach another lab
test's secrets (its own ``XDG_DATA_HOME``). Both get that from this one bring-up instead of a
fresh lab each, about two minutes apiece. The security checks run first; the CA rotation,
which leaves the estate with a new CA, runs last.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from tests.integration.deploy_runner import REPO, SITE, DeployRun
from tests.integration.lab_dc1 import ADDRESS_OF as NODES

INVENTORY = "inventories/lab.py"
LAST = "test_rotation_lab.py"


class Sampler:
    """``ps`` on the controller and on every lab host, every ``interval`` s, until stopped."""

    def __init__(self, api, interval: float = 1.0, limit: int = 900):
        self.api, self.interval, self.limit = api, interval, limit
        self.samples: dict[str, list[str]] = {"controller": [], **{n: [] for n in NODES}}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.limit):  # bounded: at most limit rounds
            if self.done.is_set():
                return
            local = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True)
            self.samples["controller"].append(local.stdout)
            for name in NODES:
                remote = self.api.ssh(name, "ps -eo args", timeout=10)
                if remote.returncode == 0:
                    self.samples[name].append(remote.stdout)
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(timeout=60)


def _deploy_verbose() -> DeployRun:
    """The deploy as a user debugging it would run it: -vv, --diff, --json all at once."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", "-vv", "--diff", "--json", INVENTORY, str(SITE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    return DeployRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


@pytest.fixture(scope="package")
def secured_lab():
    from esdr_lab import api

    api.require_lab()
    saved = os.environ.get("XDG_DATA_HOME")
    private = tempfile.mkdtemp(prefix="esdr-security-lab-")  # 0700
    os.environ["XDG_DATA_HOME"] = private  # the lab's group data follow it at each load
    try:
        api.up([str(REPO / INVENTORY)], fresh=True)
        with Sampler(api) as sampler:
            first = _deploy_verbose()
        assert first.returncode == 0, first.stderr[-4000:]
        yield {"api": api, "first": first, "sampler": sampler}
    finally:
        try:
            api.down()
        finally:
            if saved is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = saved
            shutil.rmtree(private, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The rotation module after the other security tests, in the same place in the run."""
    places = [i for i, item in enumerate(items) if item.path.parent == REPO / "tests/security_lab"]
    ours = [items[i] for i in places]
    ordered = sorted(ours, key=lambda item: item.path.name == LAST)  # stable: file order kept
    for place, item in zip(places, ordered):
        items[place] = item
