"""The shared DC1 lab fixture (tests/lab_fixtures.py) without a lab: when it reuses the lab,
when it brings up a fresh one, what it takes down, and how collection orders the modules."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from esdr_lab import api
from esdr_lab.state import HostRecord, LabState, MirrorRecord, ProcRecord
from tests import lab_fixtures
from tests.integration.deploy_runner import DeployRun
from tests.integration.lab_dc1 import ADDRESS_OF


class FakeLab:
    """esdr_lab's api as the keeper uses it: every ``up`` is a new bring-up (a new mirror)."""

    def __init__(self) -> None:
        self.state: LabState | None = None
        self.ups = self.downs = self.deploys = 0
        self.hosts_up = True
        self.health = {"status": "green", "number_of_nodes": 5}

    def up(self, inventories, fresh=False):
        assert fresh
        self.ups += 1
        self.state = LabState(
            hosts={n: HostRecord(n, a, f"esdrlab-{n}", "", "") for n, a in ADDRESS_OF.items()},
            mirror=MirrorRecord("http://10.88.0.1:8099", "/", ProcRecord(1000 + self.ups, 7)))
        return self.state

    def down(self):
        self.downs += 1
        self.state = None

    def other_lab(self, hosts: dict[str, str]) -> None:
        """Another module's bring-up."""
        self.state = LabState(
            hosts={n: HostRecord(n, a, "", "", "") for n, a in hosts.items()},
            mirror=MirrorRecord("http://10.88.0.1:8099", "/", ProcRecord(1, 1)))

    def status(self):
        return SimpleNamespace(up=self.hosts_up, hosts=[
            SimpleNamespace(name=n, up=self.hosts_up) for n in ADDRESS_OF])

    def deploy(self, inventory):
        self.deploys += 1
        return DeployRun(0, "{}", "", 1.0)


@pytest.fixture
def fake(monkeypatch) -> FakeLab:
    lab = FakeLab()
    monkeypatch.setattr(api, "require_lab", lambda: None)
    monkeypatch.setattr(api, "up", lab.up)
    monkeypatch.setattr(api, "down", lab.down)
    monkeypatch.setattr(api, "lab_state", lambda: lab.state)
    monkeypatch.setattr(api, "status", lab.status)
    monkeypatch.setattr(lab_fixtures, "run_deploy", lab.deploy)
    cluster = SimpleNamespace(health=lambda **kw: lab.health)
    monkeypatch.setattr(lab_fixtures, "_client", lambda: SimpleNamespace(cluster=cluster))
    monkeypatch.setattr(lab_fixtures, "GREEN_TIMEOUT", 0)
    monkeypatch.setattr(lab_fixtures.time, "sleep", lambda s: None)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return lab


def test_the_first_module_brings_it_up_and_the_next_ones_reuse_it(fake):
    keeper = lab_fixtures._Keeper()
    first = keeper.ensure()
    assert keeper.ensure() is first and keeper.ensure() is first
    assert (fake.ups, fake.deploys) == (1, 1)


@pytest.mark.parametrize("change", [
    lambda fake, monkeypatch: fake.down(),
    lambda fake, monkeypatch: fake.other_lab({"gw1": "10.88.0.31", "gw2": "10.88.0.32"}),
    lambda fake, monkeypatch: fake.other_lab(ADDRESS_OF),  # same hosts, another bring-up
    lambda fake, monkeypatch: monkeypatch.setenv("XDG_DATA_HOME", "/tmp/elsewhere"),
    lambda fake, monkeypatch: setattr(fake, "hosts_up", False),
    lambda fake, monkeypatch: setattr(fake, "health", {"status": "yellow", "number_of_nodes": 4}),
], ids=["taken-down", "another-lab", "brought-up-again", "other-xdg", "host-down", "not-green"])
def test_a_lab_that_is_no_longer_the_deployed_one_is_brought_up_again(fake, monkeypatch, change):
    keeper = lab_fixtures._Keeper()
    first = keeper.ensure()
    change(fake, monkeypatch)
    assert keeper.ensure() is not first
    assert (fake.ups, fake.deploys) == (2, 2)


def test_a_failed_test_of_a_sharing_module_spoils_it_for_the_next(fake):
    keeper = lab_fixtures._Keeper()
    keeper.ensure()
    keeper.spoil("tests/x.py::test_y failed")
    keeper.ensure()
    assert fake.ups == 2
    keeper.ensure()
    assert fake.ups == 2  # the fresh one is clean


def test_a_first_deploy_that_fails_is_not_reused(fake, monkeypatch):
    keeper = lab_fixtures._Keeper()
    monkeypatch.setattr(lab_fixtures, "run_deploy", lambda inv: DeployRun(1, "", "boom", 1.0))
    with pytest.raises(AssertionError, match="boom"):
        keeper.ensure()
    monkeypatch.setattr(lab_fixtures, "run_deploy", fake.deploy)
    keeper.ensure()
    assert fake.ups == 2
    keeper.release()  # the lab it brought up is still its own: down
    assert fake.downs == 1


def test_release_takes_down_only_its_own_lab(fake):
    keeper = lab_fixtures._Keeper()
    keeper.release()
    assert fake.downs == 0  # nothing brought up
    keeper.ensure()
    fake.other_lab({"gw1": "10.88.0.31"})
    keeper.release()
    assert fake.downs == 0 and fake.state is not None  # another module's lab stays
    keeper.ensure()
    keeper.release()
    assert fake.downs == 1 and fake.state is None
    keeper.release()
    assert fake.downs == 1


def _item(name: str, shared: bool, leaves_changed: bool = False):
    marker = SimpleNamespace(name="leaves_dc1_changed") if leaves_changed else None
    return SimpleNamespace(name=name, nodeid=f"tests/{name}.py::test",
                           fixturenames=["tmp_path"] + (["dc1_deployed"] * shared),
                           get_closest_marker=lambda wanted: marker if wanted == (
                               "leaves_dc1_changed") else None)


def test_collection_puts_the_sharing_modules_together_where_the_first_was():
    items = [_item("fast1", False), _item("dry", True), _item("gw_lab", False),
             _item("dc1a", True), _item("dc1b", True), _item("sudo", False),
             _item("transport", True), _item("fast2", False)]
    lab_fixtures.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["fast1", "dry", "dc1a", "dc1b", "transport", "gw_lab",
                                       "sudo", "fast2"]


def test_collection_without_sharing_modules_is_left_alone():
    items = [_item("b", False), _item("a", False)]
    lab_fixtures.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["b", "a"]


def test_a_test_that_leaves_the_lab_changed_runs_last_of_the_sharing_ones():
    items = [_item("fast1", False), _item("roll", True, leaves_changed=True), _item("dc1a", True),
             _item("gw_lab", False), _item("verify", True), _item("fast2", False)]
    lab_fixtures.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["fast1", "dc1a", "verify", "roll", "gw_lab", "fast2"]


def test_after_a_test_that_leaves_the_lab_changed_the_lab_is_not_reused(fake, monkeypatch):
    keeper = lab_fixtures._Keeper()
    monkeypatch.setattr(lab_fixtures, "KEEPER", keeper)
    keeper.ensure()
    roll, other = _item("roll", True, leaves_changed=True), _item("dc1a", True)
    hook = lab_fixtures.pytest_runtest_teardown(roll, other)  # a wrapper: run up to its yield
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(None)
    assert fake.downs == 0  # another sharing test follows: not taken down here
    keeper.ensure()
    assert fake.ups == 2  # but brought up fresh for it
    hook = lab_fixtures.pytest_runtest_teardown(other, None)
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(None)
    assert fake.downs == 1
