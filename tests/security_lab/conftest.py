"""One secured DC1 for the security modules: a fresh lab, a private secrets directory, and a
first deploy by a non-root SSH user through sudo, watched by ``ps`` sampling.

Each module needs what the ordinary shared DC1 (tests/lab_fixtures.py) cannot give: the leak
scan and the sudo checks must watch the first, cold deploy itself, and the CA rotation must
never reach another lab test's secrets (its own ``XDG_DATA_HOME``). They get that from this one
bring-up instead of a fresh lab each, about two minutes apiece. The first deploy is the one a
real estate runs (its own SSH user, passwordless sudo, as group_data/prod.py), so the leak scan
watches the sudo path, where a secret could pass through argv or /tmp. The CA rotation, which
leaves the estate with a new CA, runs last.
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
from tests.lab_fixtures import run_module_last

INVENTORY = "inventories/lab.py"
LAST = "test_rotation_lab.py"
USER = "esdrdeploy"
# The SSH user of a real estate: its own account, the lab's key, sudo without a password.
MAKE_USER = (
    f"id -u {USER} >/dev/null 2>&1 || useradd -m -s /bin/sh {USER}; "
    f"install -d -m 700 -o {USER} -g {USER} /home/{USER}/.ssh && "
    f"install -m 600 -o {USER} -g {USER} /root/.ssh/authorized_keys "
    f"/home/{USER}/.ssh/authorized_keys && "
    f"echo '{USER} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/esdr-deploy && "
    "chmod 440 /etc/sudoers.d/esdr-deploy && visudo -cqf /etc/sudoers.d/esdr-deploy"
)
AS_SUDO_USER = ("--data", f"ssh_user={USER}", "--data", "_sudo=true")


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


def sudo_deploy(*flags: str) -> DeployRun:
    """The deploy by the sudo user; ``flags`` as a user debugging it adds them (-vv, --diff)."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", *flags, "--json", *AS_SUDO_USER, INVENTORY,
         str(SITE)],
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
        for host in NODES:
            made = api.ssh(host, MAKE_USER)
            assert made.returncode == 0, f"{host}: {made.stderr}"
        with Sampler(api) as sampler:
            first = sudo_deploy("-vv", "--diff")
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
    run_module_last(items, "tests/security_lab", LAST)
