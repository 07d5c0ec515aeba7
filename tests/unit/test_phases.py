"""The deploy's time per phase: which phase an operation's name belongs to, and the sums the
cluster summary prints (pyinfra's operation_start / operation_end callbacks)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from esdr.operations import phases


@pytest.mark.parametrize("name, phase", [
    ("Node | Install | Install elasticsearch 8.19.21", "download and unpack"),
    ("Node | Install | Link /opt/elasticsearch/current", "download and unpack"),
    ("Node | Configure | Keystore", "keystore and certificates"),
    ("Node | Security | Node certificate", "keystore and certificates"),
    ("Node | Service elasticsearch enabled and running", "start"),
    ("Rolling restart of changed nodes", "start"),
    ("Node | Cluster has formed", "formation"),
    ("Cluster-level objects converged", "cluster objects"),
    ("Node | Install | Group elasticsearch", phases.OTHER),
    ("Node | Configure | Render /etc/elasticsearch/elasticsearch.yml", phases.OTHER),
])
def test_an_operation_is_timed_in_its_phase(name, phase):
    assert phases.phase_of(name) == phase


class FakeState:
    def __init__(self, names: dict[str, str]):
        self.names = names
        self.handlers = []

    def add_callback_handler(self, handler):
        self.handlers.append(handler)

    def get_op_meta(self, op_hash):
        return SimpleNamespace(names={self.names[op_hash]})


def test_the_clock_sums_each_phase_once_per_state(monkeypatch):
    state = FakeState({"a": "Node | Cluster has formed", "b": "Node | Configure | Keystore",
                       "c": "Node | Security | Node private key"})
    clock = phases.clock_for(state)
    assert phases.clock_for(state) is clock and state.handlers == [clock]
    now = iter([0.0, 2.0, 2.0, 2.5, 3.0, 4.0])
    monkeypatch.setattr(phases.time, "monotonic", lambda: next(now))
    for op in "abc":
        clock.operation_start(state, op)
        clock.operation_end(state, op)
    assert clock.seconds == {"formation": 2.0, "keystore and certificates": 1.5}
    line, = phases.phase_lines(clock.seconds)
    assert line.startswith("time per phase: keystore and certificates 1.5s, formation 2.0s")
    assert line.endswith("(operations: 3.5s)")
