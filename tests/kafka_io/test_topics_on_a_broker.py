"""Topics against a real Kafka 4.4 broker (KRaft, one node on 127.0.0.1, started by
esdr_lab.kafka_broker from Maven Central's jars with esdr's own server.properties): the
estate's topics converge and a second plan is empty, a config changed by hand shows as drift
and is put back, partitions grow, a shrink is refused by the plan and nothing is written, and
the broker's refusals and an unreachable cluster are one EsdrError line each.

The broker is started once for the module (~6-12 s, ~350 MB) and stopped by pid after it.
Each test uses topics of its own prefix and plans only those, so the tests do not depend on
each other's topics. Without java, mvn or Maven Central the module skips (fails under CI=true).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

from esdr.changes import drift
from esdr.errors import BadInput, EsdrError
from esdr.kafka.model import KafkaCluster
from esdr.kafka.topics import KIND, KIND_CONFIG, KIND_PARTITIONS, desired_topics, plan_topics
from esdr.kafka_io.admin import admin_client, apply_topics, converge_topics, observe_topics
from esdr_lab import kafka_broker

WAIT = 15.0  # seconds for a hand-made change to show in the broker's answers


@pytest.fixture(scope="module")
def admin(broker: kafka_broker.Broker):
    return admin_client(broker.bootstrap, timeout=10)


def estate(**topics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The desired topics of a lab cluster whose estate names ``topics`` (through the model,
    as the deploy will: validated, the cluster's default factor filled in). A ``__`` in a
    keyword is a ``.`` of the topic name (``conv__orders`` is ``conv.orders``)."""
    cluster = kafka_broker.lab_cluster(9092, 9093, "/var/lib/kafka").model_dump()
    cluster["topics"] = {name.replace("__", "."): spec for name, spec in topics.items()}
    return desired_topics(KafkaCluster.model_validate(cluster))


def observed(admin, prefix: str) -> dict[str, dict[str, Any]]:
    return {name: topic for name, topic in observe_topics(admin).items()
            if name.startswith(prefix)}


def wait_for(what: str, check, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not seen within {timeout:.0f}s"
        time.sleep(0.2)


def test_the_estate_converges_and_a_second_plan_is_empty(admin) -> None:
    desired = estate(conv__orders={"partitions": 3, "config": {"retention.ms": 86400000,
                                                               "cleanup.policy": "delete"}},
                     conv__dead_letters={"partitions": 1})
    changes, notes = plan_topics(desired, observed(admin, "conv."), set())
    assert [(c.kind, c.name, c.action) for c in changes] == [
        (KIND, "conv.dead_letters", "created"), (KIND, "conv.orders", "created")]
    assert notes == []

    applied, notes, after = converge_topics(admin, desired, set(), where="lab broker")
    assert len(applied) == 2 and notes == [] and drift(after) == []

    again, notes = plan_topics(desired, observed(admin, "conv."), set())
    assert drift(again) == [] and notes == []
    assert observed(admin, "conv.") == desired  # partitions, factor 1, only our overrides


def test_a_config_changed_by_hand_is_drift_and_is_put_back(admin) -> None:
    desired = estate(drift__orders={"partitions": 2, "config": {"retention.ms": 86400000}})
    converge_topics(admin, desired, set())

    by_hand = ConfigResource(ConfigResource.Type.TOPIC, "drift.orders", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("segment.ms", "600000", incremental_operation=AlterConfigOpType.SET)])
    for future in admin.incremental_alter_configs([by_hand], request_timeout=10).values():
        future.result(timeout=15)
    seen = wait_for("the hand-made retention.ms", lambda: (
        observed(admin, "drift.")["drift.orders"]["config"].get("retention.ms") == "3600000"
        and observed(admin, "drift.")))

    changes, notes = plan_topics(desired, seen, set())
    [change] = drift(changes)
    assert (change.kind, change.name, change.action) == (KIND_CONFIG, "drift.orders", "changed")
    assert change.before == {"retention.ms": "3600000", "segment.ms": "600000"}
    assert change.after == {"retention.ms": "86400000"}
    assert not change.destructive and notes == []  # a longer retention deletes nothing

    applied, _, after = converge_topics(admin, desired, set())
    assert [(c.kind, c.name) for c in applied] == [(KIND_CONFIG, "drift.orders")]
    assert drift(after) == []
    assert observed(admin, "drift.")["drift.orders"]["config"] == {"retention.ms": "86400000"}


def test_a_shorter_retention_waits_for_the_switch(admin) -> None:
    converge_topics(admin, estate(short__t={"partitions": 1,
                                            "config": {"retention.ms": 86400000}}), set())
    shorter = estate(short__t={"partitions": 1, "config": {"retention.ms": 3600000}})
    changes, notes = plan_topics(shorter, observed(admin, "short."), set())
    applied, skipped = apply_topics(admin, changes, notes)
    assert applied == [] and [n.kind for n in skipped] == [KIND_CONFIG]
    assert observed(admin, "short.")["short.t"]["config"] == {"retention.ms": "86400000"}
    applied, _, after = converge_topics(admin, shorter, set(), allow_destructive=True)
    assert len(applied) == 1 and drift(after) == []


def test_partitions_grow(admin) -> None:
    converge_topics(admin, estate(grow__t={"partitions": 2}), set())
    bigger = estate(grow__t={"partitions": 5})
    changes, notes = plan_topics(bigger, observed(admin, "grow."), set())
    [change] = drift(changes)
    assert (change.kind, change.before, change.after) == (KIND_PARTITIONS, 2, 5)
    assert [n.blocking for n in notes] == [False]  # the key-order note, not a refusal

    applied, _, after = converge_topics(admin, bigger, set())
    assert [(c.kind, c.after) for c in applied] == [(KIND_PARTITIONS, 5)]
    assert drift(after) == [] and observed(admin, "grow.")["grow.t"]["partitions"] == 5


def test_a_shrink_is_refused_by_the_plan_and_nothing_is_applied(admin) -> None:
    converge_topics(admin, estate(shrink__t={"partitions": 4,
                                             "config": {"retention.ms": 86400000}}), set())
    before = observed(admin, "shrink.")
    # fewer partitions, and a config change that alone would be applied
    smaller = estate(shrink__t={"partitions": 2, "config": {"retention.ms": 172800000}})
    changes, notes = plan_topics(smaller, before, set())
    assert [c.kind for c in drift(changes)] == [KIND_CONFIG]
    [note] = notes
    assert note.blocking and "cannot remove partitions" in note.message

    with pytest.raises(EsdrError, match="blocking note.*nothing was applied") as refused:
        apply_topics(admin, changes, notes, where="lab broker")
    assert "\n" not in str(refused.value) and "(fix: " in str(refused.value)
    with pytest.raises(EsdrError, match="nothing was applied"):
        converge_topics(admin, smaller, set())
    assert observed(admin, "shrink.") == before  # 4 partitions, the old retention


def test_a_factor_above_the_brokers_is_bad_input_in_one_line(admin) -> None:
    desired = estate(rf__t={"partitions": 1, "replication_factor": 3})
    with pytest.raises(BadInput, match=r"rf\.t.*INVALID_REPLICATION_FACTOR") as refused:
        converge_topics(admin, desired, set(), where="lab broker")
    message = str(refused.value)
    assert message.startswith("kafka lab broker topic rf.t: creating the topic failed")
    assert "\n" not in message and "(fix: " in message
    assert "rf.t" not in observed(admin, "rf.")


def test_an_unreachable_cluster_is_one_line_within_the_bound() -> None:
    port = kafka_broker.free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(EsdrError, match=f"kafka 127.0.0.1:{port}: listing topics") as failed:
        observe_topics(admin_client(f"127.0.0.1:{port}", timeout=2), timeout=2)
    assert time.monotonic() - started < 10
    assert "\n" not in str(failed.value) and "reachable" in str(failed.value)


def test_no_jars_skips_and_under_ci_fails(monkeypatch) -> None:
    monkeypatch.setattr(kafka_broker, "unavailable_reason", lambda: "`mvn` is not installed")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="mvn"):
        kafka_broker.jars_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="mvn"):
        kafka_broker.jars_or_skip()
