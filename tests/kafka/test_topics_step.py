"""The deploy's topics step (``esdr.tasks.kafka_topics``) without a broker: which hosts add it,
and what its operation yields for a plan, in pyinfra's terms (no command and a noop: "no
change"; a FunctionCommand: "changed", or a failure), the cluster reached through stand-ins."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import FunctionCommand

from esdr.changes import Change
from esdr.errors import EsdrError
from esdr.kafka.topics import KIND, desired_topics, plan_of
from esdr.tasks import kafka_topics
from tests.kafka.factory import estate, raw

ESTATE = estate()
CLUSTER = ESTATE.kafka_clusters["kafka-dc1"]
RECORD = {"topics": sorted(CLUSTER.topics)}


@pytest.fixture
def step(monkeypatch: pytest.MonkeyPatch):
    """The operation's body run as pyinfra executes it, against ``seen`` (observed topics) and
    ``record``; returns what it yields, and what it said (noop lines)."""
    noops: list[str] = []
    monkeypatch.setattr(kafka_topics, "state", SimpleNamespace(is_executing=True))
    monkeypatch.setattr(kafka_topics, "host", SimpleNamespace(noop=noops.append, data={}))
    monkeypatch.setattr(kafka_topics, "project",
                        lambda: SimpleNamespace(topology="topology", source="inventories/x.py"))
    monkeypatch.setattr(kafka_topics, "admin_for", lambda topology, name, cluster: f"admin {name}")
    waits: list[float] = []

    def run(seen: Any, record: Any = None, allow: bool = False) -> SimpleNamespace:
        def plan(admin, name, cluster, wait):
            waits.append(wait)
            if isinstance(seen, Exception):
                raise seen
            return plan_of(name, cluster, seen, record)

        monkeypatch.setattr(kafka_topics, "plan_cluster_topics", plan)
        commands = list(kafka_topics.topics_converged._inner(ESTATE, ["kafka-dc1"],
                                                             allow_destructive=allow))
        return SimpleNamespace(commands=commands, noops=noops, waits=waits)

    return run


def test_a_converged_estate_yields_nothing_so_pyinfra_reports_no_change(step) -> None:
    done = step(desired_topics(CLUSTER), RECORD)
    assert done.commands == []
    assert done.noops == ["Kafka topics of kafka-dc1 are converged"]
    assert done.waits == [kafka_topics.BROKERS_WAIT]  # the brokers may have just restarted


def test_drift_yields_the_apply_and_the_apply_converges_and_reports(step, monkeypatch,
                                                                    capsys) -> None:
    done = step({}, None)
    [command] = done.commands
    assert isinstance(command, FunctionCommand) and command.function is kafka_topics._apply
    todo, allow = command.args
    [(admin, plan, cluster)] = todo
    assert admin == "admin kafka-dc1" and cluster is CLUSTER and allow is False

    called = {}

    def converge(admin, plan, cluster, allow_destructive, by):
        called.update(admin=admin, allow=allow_destructive, by=by)
        return [c for c in plan.drift], [], []

    monkeypatch.setattr(kafka_topics, "converge_cluster_topics", converge)
    assert kafka_topics._apply(None, None, todo, False) is True
    assert called == {"admin": "admin kafka-dc1", "allow": False, "by": "deploy"}
    err = capsys.readouterr().err
    assert "[esdr] kafka kafka-dc1: kafka_topic orders created" in err


def test_a_failed_apply_is_one_line_and_a_failed_operation(step, monkeypatch, capsys) -> None:
    [command] = step({}, None).commands

    def refused(*args, **kwargs):
        raise EsdrError("kafka kafka-dc1 topic orders: creating the topic failed: X", hint="y")

    monkeypatch.setattr(kafka_topics, "converge_cluster_topics", refused)
    assert kafka_topics._apply(None, None, *command.args) is False
    assert "[esdr] error: kafka kafka-dc1 topic orders: creating the topic failed: X (fix: y)" \
        in capsys.readouterr().err


def test_unreachable_brokers_fail_the_operation_naming_them(step) -> None:
    error = EsdrError("kafka kafka-dc1: no broker answered this machine within 60s (tried "
                      "kb-az1.dc1.example.internal:9092,...)", hint="let this machine reach")
    [command] = step(error).commands
    assert command.function is kafka_topics._fail
    assert command.args == (str(error),)
    assert kafka_topics._fail(None, None, *command.args) is False


def test_a_blocking_note_fails_the_operation_and_applies_nothing(step) -> None:
    seen = desired_topics(CLUSTER)
    seen["orders"] = {**seen["orders"], "partitions": 12}
    [command] = step(seen, RECORD).commands
    assert command.function is kafka_topics._fail
    assert "cannot remove partitions" in command.args[0]


def test_a_destructive_change_without_the_switch_is_no_change(step) -> None:
    seen = desired_topics(CLUSTER)
    seen["orders"] = {**seen["orders"], "config": {"retention.ms": "2592000000"}}
    assert step(seen, RECORD).commands == []
    [command] = step(seen, RECORD, allow=True).commands
    assert command.function is kafka_topics._apply


def test_dry_says_where_to_see_the_diff(monkeypatch, capsys) -> None:
    monkeypatch.setattr(kafka_topics, "state", SimpleNamespace(is_executing=False))
    monkeypatch.setattr(kafka_topics, "project", lambda: SimpleNamespace(source="inv.py"))
    assert list(kafka_topics.topics_converged._inner(ESTATE, ["kafka-dc1"],
                                                     allow_destructive=False)) == []
    assert "esdr plan inv.py" in capsys.readouterr().err


def test_the_step_is_added_on_kafka_hosts_of_clusters_with_topics(monkeypatch) -> None:
    added: list[dict] = []
    monkeypatch.setattr(kafka_topics, "topics_converged", lambda **kw: added.append(kw))
    inventory = [SimpleNamespace(name=n) for n in ("kc-az1", "kb-az1", "es-1")]
    monkeypatch.setattr(kafka_topics, "state", SimpleNamespace(inventory=inventory))
    for name in ("es-1", "kb-az1", "kc-az1"):
        monkeypatch.setattr(kafka_topics, "host", SimpleNamespace(name=name))
        kafka_topics.kafka_topics_host((ESTATE, "prod"))
    assert [a["clusters"] for a in added] == [["kafka-dc1"], ["kafka-dc1"]]  # not on es-1
    assert all(a["_run_once"] and a["name"] == "Kafka topics converged" for a in added)

    added.clear()
    kafka_topics.kafka_topics_host(None)
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["topics"] = {}
    data["pipelines"] = {}
    kafka_topics.kafka_topics_host((estate(data), "prod"))
    assert added == []  # no Kafka, or no topics: no step


def test_a_change_is_reported_with_its_destructive_mark(monkeypatch, capsys) -> None:
    plan = plan_of("kafka-dc1", CLUSTER, desired_topics(CLUSTER), RECORD)
    gone = Change(KIND, "old", "deleted", {"partitions": 1}, None)
    monkeypatch.setattr(kafka_topics, "converge_cluster_topics",
                        lambda *a, **k: ([gone], [], []))
    assert kafka_topics._apply(None, None, [("admin", plan, CLUSTER)], True) is True
    assert ("kafka kafka-dc1: kafka_topic old deleted (DESTRUCTIVE, allowed by "
            "allow_destructive=true; recorded in esdr-managed)") in capsys.readouterr().err


def test_pyinfra_adds_the_step_once_for_the_run(monkeypatch) -> None:
    """In a real pyinfra state (no host is reached): the operation is accepted with the
    estate as its argument and, run once, is held by one Kafka host only (the first pyinfra
    adds it for)."""
    from pyinfra.api import Config, Inventory, State, deploy
    from pyinfra.api.connect import connect_all
    from pyinfra.api.deploy import add_deploy
    from pyinfra.connectors.local import LocalConnector

    monkeypatch.setattr(kafka_topics, "project", lambda: SimpleNamespace(source="inv.py"))
    inventory = Inventory((["es-1", "kb-az1", "kb-az2"], {}))
    for item in inventory:
        item.connector_cls = LocalConnector
    state = State(inventory, Config())
    connect_all(state)

    @deploy("site")
    def site():
        kafka_topics.kafka_topics_host((ESTATE, "prod"))

    add_deploy(state, site)
    held = {h.name: [", ".join(state.op_meta[op].names) for op in state.ops[h]]
            for h in inventory}
    assert held["es-1"] == []  # not a Kafka host
    assert sorted(held["kb-az1"] + held["kb-az2"]) == ["site | Kafka topics converged"]
