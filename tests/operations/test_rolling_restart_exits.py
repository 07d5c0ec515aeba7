"""The rolling restart gives replica allocation back on every way out of it.

Elastic's rolling restart holds replica allocation (``cluster.routing.allocation.enable:
primaries``) while a node is away and sets it back afterwards
(https://www.elastic.co/guide/en/elasticsearch/reference/current/restart-cluster.html#restart-cluster-rolling).
A roll that stops half-way must not leave it held: the cluster would never re-create lost
replicas. These tests run ``_roll`` against a small fake of the nodes' APIs (``FakeNodes``): a
write changes what the next read returns; the waits get ``timeout=0`` so a check that is not
already true fails at once instead of polling.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from esdr.facts.elasticsearch import (
    EsClusterSettings,
    EsElectedMaster,
    EsNodeNames,
    EsShards,
)
from esdr.operations import rolling_restart
from tests.unit.topo_factory import topology

ALLOCATION = "cluster.routing.allocation.enable"


class FakeNodes:
    """What the cluster holds: its persistent (and transient) settings and the nodes that are
    members."""

    def __init__(self, topo, *, stops_on_start=(), never_rejoins=(), no_http=(), raises=None,
                 still_listed=()):
        self.topology = topo
        self.persistent: dict = {}
        self.transient: dict = {}
        self.members = {n.name for n in topo.cluster.nodes}
        self.stops_on_start = set(stops_on_start)  # the service dies while starting
        self.never_rejoins = set(never_rejoins)  # the service runs, the node never joins
        self.no_http = set(no_http)  # joins, but its own HTTP port never answers
        self.raises = raises  # (node, exception): its restart command raises
        # stopped, but the master has not noticed yet: still a member, its HTTP port dead
        self.still_listed = set(still_listed)
        self.dead: set[str] = set()
        self.restarted: list[str] = []
        self.allocation_writes: list = []
        self.pending = {n.name for n in topo.cluster.nodes}  # restart_needed wrote their marks

    def api(self, name: str) -> FakeApi:
        return FakeApi(self, name)


class FakeApi:
    def __init__(self, nodes: FakeNodes, name: str):
        self.nodes, self.name = nodes, name

    @property
    def up(self) -> bool:
        return self.name in self.nodes.members

    def health(self):
        if not self.up or self.name in self.nodes.no_http | self.nodes.dead:
            return None
        return {"status": "green"}

    def node_names(self) -> set[str]:
        return set(self.read(EsNodeNames) or [])

    def read(self, fact):
        if not self.up:
            return None
        return {
            EsShards: [],
            EsElectedMaster: "m1",
            EsNodeNames: sorted(self.nodes.members - self.nodes.never_rejoins),
            EsClusterSettings: {"persistent": dict(self.nodes.persistent),
                                "transient": dict(self.nodes.transient)},
        }[fact]

    def request(self, method: str, path: str, body=None):
        if not self.up:
            return 0, None
        if path.startswith("_cluster/settings"):
            for key, value in body["persistent"].items():
                if key == ALLOCATION:
                    self.nodes.allocation_writes.append(value)
                if value is None:
                    self.nodes.persistent.pop(key, None)
                else:
                    self.nodes.persistent[key] = value
        return 200, {"acknowledged": True}

    def run(self, command: str, timeout: int = 60):
        nodes = self.nodes
        if command.startswith("systemctl restart"):
            if nodes.raises and nodes.raises[0] == self.name:
                raise nodes.raises[1]
            nodes.restarted.append(self.name)
            if self.name in nodes.stops_on_start:
                nodes.dead.add(self.name)
                if self.name not in nodes.still_listed:
                    nodes.members.discard(self.name)
            return True, ""
        if command.startswith("systemctl is-active"):
            return True, "failed\n" if self.name in nodes.stops_on_start else "active\n"
        if command.startswith("rm -f ") and command.endswith("/esdr-restart-pending"):
            nodes.pending.discard(self.name)
            return True, ""
        if "journalctl" in command:  # the last run's journal (its invocation id)
            return True, ("[2026-12-01T23:00:00,000][ERROR][o.e.b.Elasticsearch] fatal exception\n"
                          "java.lang.IllegalArgumentException: unknown setting [esdr.bogus]\n")
        raise AssertionError(f"unexpected command {command}")


@pytest.fixture
def said(monkeypatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(rolling_restart, "_say", lines.append)
    return lines


def _wire(monkeypatch, nodes: FakeNodes) -> None:
    monkeypatch.setattr(rolling_restart, "_api_for", lambda topo, name: nodes.api(name))


def _roll(nodes: FakeNodes, names: list[str]):
    return rolling_restart._roll(None, None, nodes.topology, names, "elasticsearch", 0)


def test_a_successful_roll_holds_replicas_per_data_node_and_ends_at_all(monkeypatch, said):
    nodes = FakeNodes(topology())
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2", "m2"]) is True
    assert nodes.restarted == ["d1", "d2", "m2"]
    assert nodes.allocation_writes == ["primaries", None, "primaries", None]
    assert ALLOCATION not in nodes.persistent
    assert nodes.pending == {"m1", "tb"}  # each restarted node's mark is gone, no other's


def test_a_roll_that_stops_leaves_the_nodes_it_did_not_restart_marked(monkeypatch, said):
    nodes = FakeNodes(topology(), never_rejoins={"d2"})
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2", "m2"]) is False
    assert nodes.restarted == ["d1", "d2"]
    # the next deploy restarts d2 and m2 even though their configuration no longer changes
    assert {"d2", "m2"} <= nodes.pending and "d1" not in nodes.pending


def test_a_node_that_stops_while_starting_fails_the_roll_and_restores_allocation(
        monkeypatch, said):
    nodes = FakeNodes(topology(), stops_on_start={"d1"})
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is False
    assert nodes.restarted == ["d1"]  # the roll stops: d2 is not taken down as well
    assert ALLOCATION not in nodes.persistent
    error = next(line for line in said if line.startswith("error:"))
    assert "d1" in error and "failed" in error
    assert "unknown setting [esdr.bogus]" in error  # the node's own reason, from its journal
    assert "journalctl -u elasticsearch" in error
    assert any("allocation" in line and "restored" in line for line in said)


def test_a_node_that_stops_while_the_master_still_lists_it_is_named_not_waited_out(
        monkeypatch, said):
    """The master removes a stopped node only once it notices: right after the restart the
    node may still be listed, and the wait for its HTTP port must look at the service too (a
    fresh-clone CI once waited the whole 120 s there and reported a timeout)."""
    nodes = FakeNodes(topology(), stops_on_start={"d1"}, still_listed={"d1"})
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is False
    error = next(line for line in said if line.startswith("error:"))
    assert "stopped while starting" in error and "unknown setting [esdr.bogus]" in error
    assert "timed out" not in error
    assert ALLOCATION not in nodes.persistent


def test_a_node_that_never_rejoins_times_out_and_restores_allocation(monkeypatch, said):
    nodes = FakeNodes(topology(), never_rejoins={"d1"})
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1"]) is False
    assert ALLOCATION not in nodes.persistent
    assert any(line.startswith("error:") and "timed out" in line and "d1 to rejoin" in line
               for line in said)


def test_a_node_whose_http_port_never_answers_times_out_and_restores_allocation(
        monkeypatch, said):
    nodes = FakeNodes(topology(), no_http={"d2"})
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d2"]) is False
    assert ALLOCATION not in nodes.persistent
    assert nodes.allocation_writes == ["primaries", None]


def test_an_unexpected_exception_still_restores_allocation(monkeypatch, said):
    nodes = FakeNodes(topology(), raises=("d1", OSError("ssh connection dropped")))
    _wire(monkeypatch, nodes)
    with pytest.raises(OSError):
        _roll(nodes, ["d1"])
    assert ALLOCATION not in nodes.persistent


def _operation(monkeypatch, nodes: FakeNodes, needed: dict) -> tuple[list, list[str]]:
    """Run the operation's body as pyinfra runs it while executing; (commands, noop messages)."""
    noops: list[str] = []
    monkeypatch.setattr(rolling_restart, "state", SimpleNamespace(is_executing=True))
    monkeypatch.setattr(rolling_restart, "host", SimpleNamespace(noop=noops.append))
    commands = list(rolling_restart.rolling_restart._inner(
        topology=nodes.topology, needed=needed, service="elasticsearch", timeout=0))
    return commands, noops


def test_allocation_left_held_by_a_stopped_roll_is_restored_by_the_next_deploy(
        monkeypatch, said):
    nodes = FakeNodes(topology())
    # what a roll that died half-way left behind: the hold and esdr's record of it
    nodes.persistent[ALLOCATION] = "primaries"
    nodes.persistent[rolling_restart.HOLD_RECORD] = '{"restore": null, "node": "d1"}'
    _wire(monkeypatch, nodes)
    commands, noops = _operation(monkeypatch, nodes, needed={})
    assert noops == [] and len(commands) == 1  # a change, so the run reports it
    assert commands[0].execute(None, None, {}) is True
    assert nodes.persistent == {}  # the hold and esdr's record of it, both gone
    assert any("primaries" in line and "restored" in line for line in said)


def test_a_deploy_with_allocation_at_all_and_nothing_to_restart_changes_nothing(
        monkeypatch, said):
    nodes = FakeNodes(topology())
    _wire(monkeypatch, nodes)
    commands, noops = _operation(monkeypatch, nodes, needed={})
    assert commands == [] and noops == ["no node needs a restart"]
    assert nodes.allocation_writes == []


def test_the_reason_is_the_cause_not_a_symptom_of_stopping():
    """The failed-roll lab once named "ExecutionException: java.nio.channels.
    ClosedChannelException" (a node going down logs it) instead of the setting it refused."""
    journal = (
        "[2026-12-06T04:10:01,000][WARN ][o.e.t.TcpTransport] ExecutionException: "
        "java.nio.channels.ClosedChannelException\n"
        "[2026-12-06T04:10:05,000][ERROR][o.e.b.Elasticsearch] fatal exception while booting\n"
        "java.lang.IllegalArgumentException: unknown setting [esdr.bogus] please check that "
        "any required plugins are installed\n"
        "ERROR: Elasticsearch did not exit normally - check the logs\n")
    assert rolling_restart._reason(journal).startswith(
        "IllegalArgumentException: unknown setting [esdr.bogus]")
    only = "x ExecutionException: java.nio.channels.ClosedChannelException\n"
    assert rolling_restart._reason(only) == \
        "ExecutionException: java.nio.channels.ClosedChannelException"


def test_the_journal_read_is_the_last_runs_only():
    command = rolling_restart._last_run_journal("elasticsearch")
    assert "systemctl show -p InvocationID --value elasticsearch" in command
    assert '_SYSTEMD_INVOCATION_ID="$id"' in command
