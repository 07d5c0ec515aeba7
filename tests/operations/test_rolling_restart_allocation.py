"""The rolling restart's hold of replica allocation is esdr's own, and only esdr's is undone.

Before each data node's restart the roll sets ``cluster.routing.allocation.enable: primaries``
(Elastic's procedure) together with its record, ``cluster.metadata.esdr_allocation_hold``, in
one settings update, and afterwards gives back what was there before. A value the operator set
stays theirs: a persistent one that already keeps replicas back is kept (esdr holds nothing), an
explicit ``all`` comes back explicit, a ``primaries`` without esdr's record is never "restored"
by the next deploy. A transient value overrides the persistent hold
(https://www.elastic.co/guide/en/elasticsearch/reference/current/settings.html#cluster-setting-types),
so the roll refuses to start while one is set. The fakes are ``test_rolling_restart_exits``'s.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from esdr.operations import rolling_restart
from tests.operations.test_rolling_restart_exits import (
    ALLOCATION,
    FakeApi,
    FakeNodes,
    _operation,
    _roll,
    _wire,
)
from tests.unit.topo_factory import topology

RECORD = "cluster.metadata.esdr_allocation_hold"  # spelled out: the cluster keeps this name


@pytest.fixture
def said(monkeypatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(rolling_restart, "_say", lines.append)
    return lines


def _on_restart(monkeypatch, hook) -> None:
    """Call ``hook(nodes, name)`` as each node's restart command runs (while it is away)."""
    run = FakeApi.run

    def running(self, command: str, timeout: int = 60):
        if command.startswith("systemctl restart"):
            hook(self.nodes, self.name)
        return run(self, command, timeout)

    monkeypatch.setattr(FakeApi, "run", running)


def test_operator_primaries_survives_a_roll(monkeypatch, said):
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "primaries"  # the operator's, on purpose: no record of esdr's
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2", "m2"]) is True
    assert nodes.restarted == ["d1", "d2", "m2"]
    assert nodes.persistent == {ALLOCATION: "primaries"}  # kept, nothing of esdr's left
    assert nodes.allocation_writes == []  # already held: esdr neither holds nor "gives back"
    assert any(line.startswith("note:") and "not set by esdr" in line and "kept" in line
               for line in said)


def test_an_operator_value_is_given_back_as_it_was_and_the_hold_is_recorded(monkeypatch, said):
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "all"  # explicit: it comes back explicit, not as null
    away: dict[str, dict] = {}
    _on_restart(monkeypatch, lambda nodes, name: away.setdefault(name, dict(nodes.persistent)))
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is True
    assert nodes.allocation_writes == ["primaries", "all", "primaries", "all"]
    assert nodes.persistent == {ALLOCATION: "all"}
    # while d1 was away: held, and the record (written in the same update) says what to give back
    assert away["d1"][ALLOCATION] == "primaries"
    record = json.loads(away["d1"][RECORD])
    assert record["restore"] == "all" and record["node"] == "d1"


def test_leftover_hold_only_restores_what_esdr_set(monkeypatch, said):
    # an operator's primaries, no record of esdr's: reported, never reset
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "primaries"
    _wire(monkeypatch, nodes)
    assert rolling_restart.leftover_hold(nodes.topology) is None
    commands, noops = _operation(monkeypatch, nodes, needed={})
    assert commands == [] and noops == ["no node needs a restart"]
    assert nodes.allocation_writes == [] and nodes.persistent == {ALLOCATION: "primaries"}

    # a roll of esdr's that died while d1 was away (the process gone: nothing given back)
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "all"
    away: dict[str, dict] = {}
    _on_restart(monkeypatch, lambda nodes, name: away.setdefault(name, dict(nodes.persistent)))
    _wire(monkeypatch, nodes)
    _roll(nodes, ["d1"])
    left = FakeNodes(topology())
    left.persistent = dict(away["d1"])  # what the cluster kept when the deploy died
    _wire(monkeypatch, left)
    assert rolling_restart.leftover_hold(left.topology) == "m1"
    commands, noops = _operation(monkeypatch, left, needed={})
    assert noops == [] and len(commands) == 1
    assert commands[0].execute(None, None, {}) is True
    assert left.persistent == {ALLOCATION: "all"}  # what was there before esdr's hold
    assert any("left by a rolling restart that stopped: restored to all" in line for line in said)


def test_a_hold_record_whose_allocation_was_changed_since_drops_only_the_record(
        monkeypatch, said):
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "none"  # set by the operator after esdr's roll stopped
    nodes.persistent[RECORD] = json.dumps({"restore": None, "node": "d1"})
    _wire(monkeypatch, nodes)
    commands, _ = _operation(monkeypatch, nodes, needed={})
    assert len(commands) == 1 and commands[0].execute(None, None, {}) is True
    assert nodes.persistent == {ALLOCATION: "none"}
    assert nodes.allocation_writes == []


def test_transient_allocation_is_refused_or_handled(monkeypatch, said):
    nodes = FakeNodes(topology())
    nodes.transient[ALLOCATION] = "all"  # overrides any persistent hold
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is False
    assert nodes.restarted == []  # refused before any node goes down
    assert nodes.allocation_writes == [] and nodes.persistent == {}
    assert nodes.pending >= {"d1", "d2"}  # still marked: the next deploy restarts them
    error = next(line for line in said if line.startswith("error:"))
    assert "not started" in error and "transient" in error
    assert f'{{"transient": {{"{ALLOCATION}": null}}}}' in error  # how to clear it

    # nodes without shards hold nothing: a transient value does not stop their roll
    said.clear()
    assert _roll(nodes, ["m2"]) is True and nodes.restarted == ["m2"]


def test_a_transient_value_set_mid_roll_stops_it_before_the_next_data_node(monkeypatch, said):
    nodes = FakeNodes(topology())

    def set_transient(nodes, name):
        if name == "d1":
            nodes.transient[ALLOCATION] = "all"

    _on_restart(monkeypatch, set_transient)
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is False
    assert nodes.restarted == ["d1"]
    assert nodes.persistent == {}  # d1's hold given back, the record with it
    assert any(line.startswith("error: rolling restart stopped at d2") and "transient" in line
               for line in said)


def test_the_prepared_deploy_reports_allocation_values_set_outside_esdr(monkeypatch, said):
    nodes = FakeNodes(topology())
    nodes.persistent[ALLOCATION] = "primaries"
    nodes.transient[ALLOCATION] = "new_primaries"
    _wire(monkeypatch, nodes)
    noops: list[str] = []
    monkeypatch.setattr(rolling_restart, "state", SimpleNamespace(is_executing=False))
    monkeypatch.setattr(rolling_restart, "host", SimpleNamespace(noop=noops.append))
    assert list(rolling_restart.rolling_restart._inner(
        topology=nodes.topology, needed={}, service="elasticsearch", timeout=0)) == []
    (reads,) = [line for line in said if line.startswith("rolling restart reads:")]
    assert "primaries (persistent, not set by esdr): kept" in reads
    assert "new_primaries as a transient setting" in reads and "refuses" in reads
    assert "restores" not in reads
    assert nodes.allocation_writes == []


def test_a_hold_the_cluster_refuses_is_reported_with_its_answer(monkeypatch, said):
    """The node's answer is in the error (a refused hold used to say only "could not set"),
    so a failure in a lab run can be told apart: no answer, an error, or no acknowledgement."""
    nodes = FakeNodes(topology())
    request = FakeApi.request

    def busy(self, method, path, body=None):
        if path.startswith("_cluster/settings") and (body or {}).get("persistent", {}).get(
                ALLOCATION) == "primaries":
            return 503, {"error": {"reason": "no master"}, "status": 503}
        return request(self, method, path, body)

    monkeypatch.setattr(FakeApi, "request", busy)
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1"]) is False
    stopped = [line for line in said if "rolling restart stopped at d1" in line]
    assert stopped and "answered 503: no master" in stopped[0], said
    assert nodes.restarted == []  # nothing restarted without the hold


def _answering(monkeypatch, status: int, answer, *, lands: bool) -> None:
    """The hold's write gets ``status``/``answer``; the master applies it only if ``lands``."""
    request = FakeApi.request

    def late(self, method, path, body=None):
        if path.startswith("_cluster/settings") and (body or {}).get("persistent", {}).get(
                ALLOCATION) == "primaries":
            if lands:
                request(self, method, path, body)
            return status, answer
        return request(self, method, path, body)

    monkeypatch.setattr(FakeApi, "request", late)


@pytest.mark.parametrize("status, answer", [(200, {"acknowledged": False}), (0, None)],
                         ids=["unacknowledged", "no-answer"])
def test_a_hold_that_landed_without_an_acknowledgement_is_read_back_and_the_roll_goes_on(
        monkeypatch, said, status, answer):
    """Unacknowledged means some node had not applied the committed change when the ack timeout
    ran out; the settings the master serves are the truth, so the hold is read back."""
    nodes = FakeNodes(topology())
    _answering(monkeypatch, status, answer, lands=True)
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1", "d2"]) is True, said
    assert nodes.restarted == ["d1", "d2"]
    assert ALLOCATION not in nodes.persistent and RECORD not in nodes.persistent


def test_a_hold_that_did_not_land_still_stops_the_roll_with_the_answer(monkeypatch, said):
    nodes = FakeNodes(topology())
    _answering(monkeypatch, 0, None, lands=False)
    _wire(monkeypatch, nodes)
    assert _roll(nodes, ["d1"]) is False
    stopped = [line for line in said if "rolling restart stopped at d1" in line]
    assert stopped and "no answer" in stopped[0], said
    assert nodes.restarted == []


def test_the_settings_write_is_answered_inside_the_clients_own_time_limit():
    """The node must answer (even "not acknowledged") before curl gives up: the master's wait
    for a master plus its wait for acknowledgements stay under curl's ``-m``."""
    import re
    import shlex
    from urllib.parse import parse_qs, urlsplit

    from esdr.facts.elasticsearch import curl_command

    argv = shlex.split(curl_command("PUT", "http://n:9200/x").removesuffix(" || true"))
    client_limit = float(argv[argv.index("-m") + 1])
    query = parse_qs(urlsplit(rolling_restart.SETTINGS_WRITE).query)
    waits = [float(re.fullmatch(r"(\d+)s", query[key][0]).group(1))
             for key in ("master_timeout", "timeout")]
    assert sum(waits) < client_limit - 2, (waits, client_limit)
