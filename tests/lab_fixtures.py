"""One DC1 lab, brought up fresh and deployed once, for every lab module that can share it.

A fresh DC1 and its first deploy take about two minutes; five modules each paid it. A module
that asks for ``dc1_deployed`` gets the lab this session brought up, as long as it is still
that lab: the same five hosts and addresses, the same bring-up (the artifact mirror's process,
which every fresh ``up`` starts anew), the same ``XDG_DATA_HOME`` (the estate's CA and
password), every host up, and the cluster green with its five nodes. Otherwise (the first
module, a lab module of its own in between, a test of a sharing module that failed and may have
left anything behind) it brings up a fresh DC1 and deploys it first.

The rules for a sharing module: check its own preconditions, and leave the lab as the
repository's project deploys it (a rerun of the deploy changes nothing, 9200 reopened, hosts
running). Modules that need another user, another ``XDG_DATA_HOME`` or to watch the first
deploy itself (sudo, rotation, security) keep their own lab.

Collection puts the sharing modules one after the other where the first of them was (the order
is otherwise kept), and the lab goes down after the last of them. A test marked
``leaves_dc1_changed`` (a change that would cost a second rolling restart to take back) runs
after every other sharing test, and the lab is not reused after it. Running one module alone
works the same way: it brings the lab up, and takes it down after its last test.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from tests.integration.deploy_runner import REPO, DeployRun, run_deploy
from tests.integration.lab_dc1 import ADDRESS_OF, INVENTORY

SHARED = "dc1_deployed"
LEAVES_CHANGED = "leaves_dc1_changed"  # the marker of a sharing test that leaves the lab changed
GREEN_TIMEOUT = 240  # a reused lab must be green with all 5 nodes within this (seconds)


@dataclass
class Dc1Lab:
    """The shared lab: esdr_lab's api, and the first deploy of this bring-up."""

    api: ModuleType
    first_deploy: DeployRun


class _Keeper:
    """The session's one DC1, and whether it is still the one this session deployed."""

    def __init__(self) -> None:
        self.lab: Dc1Lab | None = None
        self.identity: tuple[Any, str | None] | None = None  # (mirror ProcRecord, XDG_DATA_HOME)
        self.spoiled: str | None = None  # why the next module needs a fresh lab
        self.since = 0.0  # monotonic time of the bring-up

    def ensure(self) -> Dc1Lab:
        from esdr_lab import api

        api.require_lab()
        reason = self.spoiled or self._not_ours(api) or self._not_ready()
        if reason is None:
            print(f"\n[dc1 lab] reusing the DC1 deployed {time.monotonic() - self.since:.0f}s ago")
            return self.lab
        print(f"\n[dc1 lab] bringing up a fresh DC1 and deploying it: {reason}")
        self.lab, self.spoiled = None, None
        self.since = time.monotonic()
        lab = api.up([str(REPO / INVENTORY)], fresh=True)  # a cold lab: the deploy bootstraps
        self.identity = (lab.mirror.proc if lab.mirror else None, _xdg())  # ours to take down
        first = run_deploy(INVENTORY)
        assert first.returncode == 0, first.stderr[-4000:]
        print(f"[dc1 lab] up and deployed in {time.monotonic() - self.since:.0f}s "
              f"(deploy {first.seconds:.0f}s)")
        self.lab = Dc1Lab(api, first)
        return self.lab

    def _not_ours(self, api) -> str | None:
        """Why the lab up now is not the one this session deployed (None: it is)."""
        if self.identity is None:
            return "none brought up in this session yet"
        if self.lab is None:
            return "its first deploy did not finish"
        mirror, xdg = self.identity
        if _xdg() != xdg:
            return f"XDG_DATA_HOME is now {_xdg()!r}, the lab was deployed with {xdg!r}"
        state = api.lab_state()
        if state is None:
            return "the lab was taken down"
        hosts = {name: record.address for name, record in state.hosts.items()}
        if hosts != ADDRESS_OF:
            return f"another lab is up ({', '.join(sorted(hosts))})"
        if state.mirror is None or state.mirror.proc != mirror:
            return "the lab was brought up again by another module"
        return None

    def _not_ready(self) -> str | None:
        """Why the lab cannot be used as it is: a host down, or the cluster not green with 5."""
        status = self.lab.api.status()
        if not status.up:
            down = [h.name for h in status.hosts if not h.up]
            return f"hosts not up: {', '.join(down) or 'mirror not serving'}"
        health: dict = {}
        es = _client()
        deadline = time.monotonic() + GREEN_TIMEOUT
        for _ in range(GREEN_TIMEOUT // 5 + 1):  # bounded: about GREEN_TIMEOUT seconds
            try:
                health = es.cluster.health(wait_for_status="green", wait_for_nodes="5",
                                           timeout="5s")
            except Exception as error:  # noqa: BLE001 - a node still starting answers with errors
                health = {"status": f"no answer ({type(error).__name__})"}
            if health.get("status") == "green" and health.get("number_of_nodes") == 5:
                return None
            if time.monotonic() > deadline:
                break
            time.sleep(5)
        return f"the cluster is not green with 5 nodes after {GREEN_TIMEOUT}s: {health}"

    def spoil(self, reason: str) -> None:
        if self.identity is not None:
            self.spoiled = self.spoiled or reason

    def release(self) -> None:
        """Take the lab down if it is still the one this session brought up."""
        if self.identity is None:
            return
        from esdr_lab import api

        state = api.lab_state()
        if state is not None and state.mirror is not None and state.mirror.proc == self.identity[0]:
            api.down()
        self.lab, self.identity, self.spoiled = None, None, None


def _xdg() -> str | None:
    return os.environ.get("XDG_DATA_HOME")


def _client():
    """A client to the 5 lab nodes, built as esdr builds them (HTTPS, the estate CA, elastic)."""
    from esdr.es.connect import client_for
    from esdr.project import load_project

    assert all(a.startswith("10.88.0.") for a in ADDRESS_OF.values())  # lab addresses only
    topology = load_project(REPO / INVENTORY).topology
    return client_for(topology, [topology.cluster.node(n) for n in ADDRESS_OF],
                      request_timeout=20)


KEEPER = _Keeper()


@pytest.fixture(scope="module")
def dc1_deployed() -> Dc1Lab:
    """The lab's DC1, deployed from the repository's project; see the module docstring."""
    return KEEPER.ensure()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The sharing modules' tests, in their order, where the first of them was, those that leave
    the lab changed last of them; the rest stays."""
    shared = [item for item in items if SHARED in item.fixturenames]
    if not shared:
        return
    first = items.index(shared[0])
    shared.sort(key=_leaves_changed)  # stable: the order is kept otherwise
    others = [item for item in items if SHARED not in item.fixturenames]
    items[:] = others[:first] + shared + others[first:]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and SHARED in item.fixturenames:
        KEEPER.spoil(f"{item.nodeid} failed ({report.when}) and may have left it changed")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After the last sharing test (its module's fixtures torn down first), the lab goes down."""
    try:
        return (yield)
    finally:
        if SHARED in item.fixturenames and _leaves_changed(item):
            KEEPER.spoil(f"{item.nodeid} leaves it changed")
        if SHARED in item.fixturenames and (nextitem is None
                                            or SHARED not in nextitem.fixturenames):
            KEEPER.release()


def _leaves_changed(item: pytest.Item) -> bool:
    return item.get_closest_marker(LEAVES_CHANGED) is not None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """A session stopped early (-x, Ctrl-C) still leaves no shared lab behind."""
    KEEPER.release()


def run_module_last(items: list[pytest.Item], package: str, module: str) -> None:
    """Within ``package``'s tests, ``module``'s come last, in the place the package has in the
    run (file order kept otherwise): for a package lab that a module must leave changed."""
    places = [i for i, item in enumerate(items) if item.path.parent == REPO / package]
    ordered = sorted((items[i] for i in places), key=lambda item: item.path.name == module)
    for place, item in zip(places, ordered):
        items[place] = item
