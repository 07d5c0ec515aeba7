"""The deploy's topic step decided from observed/desired dicts and the managed record (pure:
``esdr.kafka.topics.TopicPlan``, ``esdr.tasks.kafka_topics.decide``): a first deploy applies
and records, the rerun of a converged estate is no change, a hand-changed config is drift and is
applied, a destructive change waits for the switch (and then no change is reported), a blocking
note fails the step, a topic found and named by the estate is adopted into the record, the
record's own topic is never planned; plus the record's shape, the reserved name, and the admin
identity every cluster gets."""

from __future__ import annotations

from typing import Any

from esdr.kafka.model import ADMIN_CLIENT
from esdr.kafka.topics import (
    KIND,
    KIND_CONFIG,
    REGISTRY_TOPIC,
    desired_topics,
    plan_lines,
    plan_of,
    record_of,
    registry_topic,
    with_topics,
)
from esdr.changes import Change
from esdr.kafka.validate import validate_topics
from esdr.tasks.kafka_topics import decide
from tests.kafka.factory import estate, raw

CLUSTER = estate().kafka_clusters["kafka-dc1"]
DESIRED = desired_topics(CLUSTER)  # orders (6, 7 days), orders.dead-letters (1, 28 days)


def observed(**changes: Any) -> dict[str, dict[str, Any]]:
    """What a converged cluster shows, ``changes`` replacing one topic's observed shape (a
    ``__`` in a keyword is a ``.`` of the name)."""
    seen = {name: {**topic, "config": dict(topic["config"])} for name, topic in DESIRED.items()}
    for name, topic in changes.items():
        name = name.replace("__", ".")
        if topic is None:
            seen.pop(name, None)
        else:
            seen[name] = topic
    return seen


RECORD = {"topics": ["orders", "orders.dead-letters"], "destructive": []}


def test_a_first_deploy_creates_the_topics_and_records_them() -> None:
    plan = plan_of("kafka-dc1", CLUSTER, {}, None)
    assert [(c.kind, c.name, c.action) for c in plan.drift] == [
        (KIND, "orders", "created"), (KIND, "orders.dead-letters", "created")]
    assert plan.managed == set() and plan.managed_after(False) == set(DESIRED)
    decision, lines = decide(plan, allow_destructive=False)
    assert decision == "apply"
    assert "  topics: 2 created, 0 changed, 0 deleted, 0 unchanged" in lines
    assert any("record esdr-managed: records topics orders, orders.dead-letters" in line
               for line in lines)


def test_the_rerun_of_a_converged_estate_is_no_change() -> None:
    plan = plan_of("kafka-dc1", CLUSTER, observed(), RECORD)
    assert plan.drift == [] and plan.notes == []
    decision, lines = decide(plan, allow_destructive=False)
    assert decision == "noop"
    assert lines[-1] == "  topics: 0 created, 0 changed, 0 deleted, 2 unchanged"
    assert decide(plan, allow_destructive=True)[0] == "noop"


def test_a_hand_shortened_retention_is_drift_and_is_put_back_without_the_switch() -> None:
    hand = {"partitions": 6, "replication_factor": 3, "config": {"retention.ms": "3600000"}}
    plan = plan_of("kafka-dc1", CLUSTER, observed(orders=hand), RECORD)
    [change] = plan.drift
    assert (change.kind, change.name) == (KIND_CONFIG, "orders")
    assert change.before == {"retention.ms": "3600000"}
    assert change.after == {"retention.ms": "604800000"}
    assert not change.destructive  # putting the longer retention back deletes nothing
    assert decide(plan, allow_destructive=False)[0] == "apply"
    assert plan.applicable(False) == [change]


def test_a_hand_lengthened_retention_waits_for_the_switch_and_reports_no_change() -> None:
    hand = {"partitions": 6, "replication_factor": 3, "config": {"retention.ms": "2592000000"}}
    plan = plan_of("kafka-dc1", CLUSTER, observed(orders=hand), RECORD)
    [change] = plan.drift
    assert change.destructive  # back to 7 days deletes what is between 7 and 30 days old
    decision, lines = decide(plan, allow_destructive=False)
    assert decision == "noop" and plan.applicable(False) == []
    assert lines[-1] == ("kafka kafka-dc1: 1 destructive change(s) not made: rerun the deploy "
                         "with --data allow_destructive=true")
    assert decide(plan, allow_destructive=True)[0] == "apply"


def test_a_topic_dropped_from_the_estate_is_deleted_only_with_the_switch() -> None:
    data = raw()
    del data["kafka_clusters"]["kafka-dc1"]["topics"]["orders.dead-letters"]
    cluster = estate(data).kafka_clusters["kafka-dc1"]
    plan = plan_of("kafka-dc1", cluster, observed(), RECORD)
    [change] = plan.drift
    assert (change.kind, change.name, change.action) == (KIND, "orders.dead-letters", "deleted")
    assert decide(plan, False)[0] == "noop"
    assert plan.managed_after(False) == {"orders", "orders.dead-letters"}  # still esdr's
    assert decide(plan, True)[0] == "apply"
    assert plan.managed_after(True) == {"orders"}


def test_a_foreign_topic_is_left_alone_and_never_recorded() -> None:
    seen = {**observed(), "someone.elses": {"partitions": 1, "replication_factor": 3,
                                            "config": {}}}
    plan = plan_of("kafka-dc1", CLUSTER, seen, RECORD)
    assert plan.drift == [] and [n.name for n in plan.notes] == ["someone.elses"]
    assert decide(plan, True)[0] == "noop"
    assert "someone.elses" not in plan.managed_after(True)


def test_an_existing_topic_the_estate_names_is_adopted_into_the_record() -> None:
    plan = plan_of("kafka-dc1", CLUSTER, observed(), {"topics": ["orders"]})
    assert plan.drift == []
    assert decide(plan, False)[0] == "apply"  # the record gains orders.dead-letters
    assert plan.managed_after(False) == set(DESIRED)


def test_a_blocking_note_fails_the_step_and_nothing_is_applied() -> None:
    shrunk = {"partitions": 12, "replication_factor": 3, "config": {"retention.ms": "604800000"}}
    plan = plan_of("kafka-dc1", CLUSTER, observed(orders=shrunk), RECORD)
    decision, lines = decide(plan, True)
    assert decision == "fail"
    assert any("cannot remove partitions" in line for line in lines)
    factor = {"partitions": 6, "replication_factor": 2, "config": {"retention.ms": "604800000"}}
    assert plan_of("kafka-dc1", CLUSTER, observed(orders=factor), RECORD).decision(True) == "fail"


def test_the_record_topic_and_kafkas_own_are_never_planned() -> None:
    seen = {**observed(), REGISTRY_TOPIC: registry_topic(CLUSTER),
            "__consumer_offsets": {"partitions": 50, "replication_factor": 3, "config": {}}}
    plan = plan_of("kafka-dc1", CLUSTER, seen, RECORD)
    assert plan.drift == [] and plan.notes == []
    assert {c.name for c in plan.changes} == set(DESIRED)


def test_the_observers_notes_come_first() -> None:
    from esdr.changes import Note

    note = Note("kafka_cluster", "kafka-dc1", "broker(s) kb-az3 not registered")
    plan = plan_of("kafka-dc1", CLUSTER, observed(), RECORD, "kafka-dc1 (b:9092)", [note])
    assert plan.notes == [note] and not plan.blocking
    assert plan_lines(plan)[0] == "kafka cluster kafka-dc1 (b:9092):"


def test_the_record_keeps_names_and_destructive_entries() -> None:
    assert record_of(None) == {"topics": [], "destructive": []}
    assert record_of({"topics": ["b", "a", 3, "a"], "destructive": "x"}) == {
        "topics": ["a", "b"], "destructive": []}
    deleted = Change(KIND, "old", "deleted", {"partitions": 1}, None)
    record = with_topics(record_of(None), {"orders"}, [deleted], "deploy", "2026-12-06T09:00:00")
    assert record == {"topics": ["orders"], "destructive": [
        {"kind": KIND, "name": "old", "action": "deleted", "at": "2026-12-06T09:00:00",
         "by": "deploy"}]}
    assert registry_topic(CLUSTER) == {"partitions": 1, "replication_factor": 3,
                                       "config": {"cleanup.policy": "compact"}}


def test_the_record_topics_name_is_reserved() -> None:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["topics"][REGISTRY_TOPIC] = {"partitions": 1}
    problems = validate_topics("kafka-dc1", estate(data).kafka_clusters["kafka-dc1"])
    assert [p.rule for p in problems if p.rule == "kafka-topic-name-reserved"] == [
        "kafka-topic-name-reserved"]


def test_every_cluster_gets_the_admin_identity() -> None:
    assert CLUSTER.client_identities() == [ADMIN_CLIENT]
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["tls"] = {"clients": ["orders-producer", ADMIN_CLIENT]}
    assert estate(data).kafka_clusters["kafka-dc1"].client_identities() == [
        ADMIN_CLIENT, "orders-producer"]
