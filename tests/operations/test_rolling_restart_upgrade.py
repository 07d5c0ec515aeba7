"""A rolling upgrade is the rolling restart with each node's ``current`` link moved inside its
own step: stop, link, start, one node at a time in ``esdr.upgrade``'s order (not
master-eligible first, the elected master last), only from a green cluster, each node checked
to answer with the new version and the cluster back to green before the next.

Elastic's procedure: https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster.
Run against the fake of the nodes' APIs of ``test_rolling_restart_exits`` (``FakeNodes``),
extended with versions, links and health.
"""

from __future__ import annotations

import pytest

from esdr.facts.elasticsearch import EsClusterHealth, EsVersion
from esdr.operations import rolling_restart
from tests.operations.test_rolling_restart_exits import (  # noqa: F401 (said: a fixture)
    ALLOCATION,
    FakeApi,
    FakeNodes,
    said,
)
from tests.unit.topo_factory import topology

OLD, NEW = "8.18.8", "8.19.21"
OLD_DIR = "/opt/elasticsearch/elasticsearch-8.18.8"
NEW_DIR = "/opt/elasticsearch/elasticsearch-8.19.21"
LINK = "/opt/elasticsearch/current"


class UpgradeNodes(FakeNodes):
    def __init__(self, topo, *, health="green", starts_old=(), start_fails=()):
        super().__init__(topo)
        self.link = {n.name: OLD_DIR for n in topo.cluster.nodes}  # each host's current link
        self.runs = {n.name: OLD for n in topo.cluster.nodes}
        self.health = health
        self.starts_old = set(starts_old)  # the unit does not start from the link (a bug)
        self.start_fails = set(start_fails)
        self.events: list[tuple[str, str]] = []  # (node, what), in the order it happened

    def api(self, name: str) -> UpgradeApi:
        return UpgradeApi(self, name)


class UpgradeApi(FakeApi):
    nodes: UpgradeNodes

    def read(self, fact):
        if fact is EsClusterHealth:
            return {"status": self.nodes.health} if self.up else None
        if fact is EsVersion:
            return self.nodes.runs[self.name] if self.up else None
        return super().read(fact)

    def health(self):
        return None if not self.up else {"status": self.nodes.health}

    def run(self, command: str, timeout: int = 60):
        nodes = self.nodes
        if command.startswith("systemctl stop"):
            nodes.events.append((self.name, "stop"))
            nodes.members.discard(self.name)
            return True, ""
        if command.startswith("ln -sfn "):
            _, _, target, link = command.split()
            assert link == LINK
            nodes.events.append((self.name, f"link {target}"))
            nodes.link[self.name] = target
            return True, ""
        if command.startswith("systemctl start"):
            nodes.events.append((self.name, "start"))
            if self.name in nodes.start_fails:
                return False, ""
            nodes.members.add(self.name)
            linked = NEW if nodes.link[self.name] == NEW_DIR else OLD
            nodes.runs[self.name] = OLD if self.name in nodes.starts_old else linked
            return True, ""
        if command.startswith("systemctl restart"):
            nodes.events.append((self.name, "restart"))
        return super().run(command, timeout)


def _upgrade(names, from_yellow=False) -> rolling_restart.Upgrade:
    return rolling_restart.Upgrade(NEW, NEW_DIR, LINK, frozenset(names), from_yellow)


def _roll(monkeypatch, nodes: UpgradeNodes, names: list[str], upgrade):
    monkeypatch.setattr(rolling_restart, "_api_for", lambda topo, name: nodes.api(name))
    return rolling_restart._roll(None, None, nodes.topology, names, "elasticsearch", 0, upgrade)


ALL = ["m1", "m2", "tb", "d1", "d2"]  # the fake's elected master is m1


def test_each_node_is_stopped_linked_and_started_in_its_own_step_elected_master_last(
        monkeypatch, said):
    nodes = UpgradeNodes(topology())
    assert _roll(monkeypatch, nodes, ALL, _upgrade(ALL)) is True
    order = ["d1", "d2", "tb", "m2", "m1"]
    assert nodes.events == [e for n in order
                            for e in ((n, "stop"), (n, f"link {NEW_DIR}"), (n, "start"))]
    assert nodes.runs == {n: NEW for n in ALL} and set(nodes.link.values()) == {NEW_DIR}
    # replicas held for each data node, given back after it
    assert nodes.allocation_writes == ["primaries", None, "primaries", None]
    assert any(line == f"upgraded d1 to {NEW}: back, health green" or
               line.startswith(f"upgraded d1 to {NEW}: back, health green") for line in said)


def test_a_node_restarted_for_its_config_in_the_same_roll_keeps_its_version(monkeypatch, said):
    """Only the upgrade's nodes move their link; the first node still goes first."""
    nodes = UpgradeNodes(topology())
    assert _roll(monkeypatch, nodes, ["d1", "m2"], _upgrade(["d1"])) is True
    assert nodes.events == [("d1", "stop"), ("d1", f"link {NEW_DIR}"), ("d1", "start"),
                            ("m2", "restart")]
    assert nodes.link["m2"] == OLD_DIR


def test_a_yellow_cluster_takes_no_node_down(monkeypatch, said):
    nodes = UpgradeNodes(topology(), health="yellow")
    assert _roll(monkeypatch, nodes, ALL, _upgrade(ALL)) is False
    assert nodes.events == [] and set(nodes.link.values()) == {OLD_DIR}
    error = next(line for line in said if line.startswith("error:"))
    assert "rolling restart not started" in error
    assert "the cluster is yellow" in error and "starts only from a green cluster" in error
    assert "no node was restarted" in error


def test_a_resumed_upgrade_starts_from_yellow(monkeypatch, said):
    """Yellow is accepted to start; each upgraded node still waits for green (here the fake
    stays yellow, so the first node's wait for green fails, after its step)."""
    nodes = UpgradeNodes(topology(), health="yellow")
    assert _roll(monkeypatch, nodes, ["d2"], _upgrade(["d2"], from_yellow=True)) is False
    assert nodes.events == [("d2", "stop"), ("d2", f"link {NEW_DIR}"), ("d2", "start")]
    error = next(line for line in said if line.startswith("error:"))
    assert "cluster health green after restarting d2" in error
    assert ALLOCATION not in nodes.persistent


def test_a_node_that_comes_up_on_the_old_version_stops_the_roll(monkeypatch, said):
    nodes = UpgradeNodes(topology(), starts_old={"d1"})
    assert _roll(monkeypatch, nodes, ALL, _upgrade(ALL)) is False
    assert [n for n, what in nodes.events if what == "stop"] == ["d1"]  # d2 is not taken down
    error = next(line for line in said if line.startswith("error:"))
    assert f"d1 answers with version {OLD}" in error and NEW_DIR in error
    assert ALLOCATION not in nodes.persistent


def test_a_start_that_fails_names_the_node_and_the_resume(monkeypatch, said):
    nodes = UpgradeNodes(topology(), start_fails={"d1"})
    assert _roll(monkeypatch, nodes, ALL, _upgrade(ALL)) is False
    error = next(line for line in said if line.startswith("error:"))
    assert "systemctl start elasticsearch failed on d1" in error
    assert "journalctl -u elasticsearch" in error and "resumes the upgrade" in error
    assert ALLOCATION not in nodes.persistent  # given back, though d1 is down


def test_a_roll_without_an_upgrade_restarts_as_before(monkeypatch, said):
    nodes = UpgradeNodes(topology())
    assert _roll(monkeypatch, nodes, ["d1"], None) is True
    assert nodes.events == [("d1", "restart")] and nodes.link["d1"] == OLD_DIR


@pytest.mark.parametrize("names", [["d1"], ["m1", "m2"]])
def test_upgrade_moves_only_its_nodes(names):
    upgrade = _upgrade(names)
    assert all(upgrade.moves(n) for n in names)
    assert not any(upgrade.moves(n) for n in set(ALL) - set(names))
