"""The deploy's topic step against a real Kafka 4.4 broker (KRaft, one node on 127.0.0.1,
started by esdr_lab.kafka_broker with esdr's own server.properties): the estate's topics
converge and esdr records them in the compacted topic ``esdr-managed``; the rerun's plan is "no
change"; a retention.ms changed by hand with the AdminClient is drift and the next convergence
puts it back; a topic made by hand is foreign and left alone; a recorded topic dropped from the
estate is deleted only with the switch, and then leaves the record; brokers that do not answer
are refused in one line naming them, within the bound.

The steps build on each other (the record is the cluster's, as on a real cluster), so the
scenario is one test. Plaintext, because the listener is on loopback for the length of the test;
TLS with the estate CA's certificates is proven by test_tls_on_a_broker.py and, with the
esdr-admin identity, by the lab (tests/kafka_lab). Without java, mvn or Maven Central the module
skips (fails under CI=true).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from esdr.errors import EsdrError
from esdr.kafka.model import KafkaCluster
from esdr.kafka.topics import KIND, KIND_CONFIG, REGISTRY_TOPIC
from esdr.kafka_io.admin import admin_client, observe_topics
from esdr.kafka_io.cluster import converge_cluster_topics, plan_cluster_topics, reach
from esdr.kafka_io.record import read_record
from esdr_lab import kafka_broker

WAIT = 15.0  # seconds for a hand-made change to show in the broker's answers
NAME = "kafka-lab"


@pytest.fixture(scope="module")
def admin(broker: kafka_broker.Broker):
    return admin_client(broker.bootstrap, timeout=10)


def lab(port: int, topics: dict[str, dict[str, Any]], **changes: Any) -> KafkaCluster:
    """The loopback broker's cluster as an estate names it, with ``topics``."""
    cluster = kafka_broker.lab_cluster(port, kafka_broker.free_port(), "/var/lib/kafka")
    return KafkaCluster.model_validate({**cluster.model_dump(), "topics": topics, **changes})


def port_of(broker: kafka_broker.Broker) -> int:
    return int(broker.bootstrap.rsplit(":", 1)[1])


def wait_for(what: str, check, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not seen within {timeout:.0f}s"
        time.sleep(0.2)


def test_topics_converge_are_recorded_and_a_hand_change_is_drift_put_back(broker, admin):
    topics = {"orders": {"partitions": 3, "config": {"retention.ms": 604800000}},
              "orders.dead-letters": {"partitions": 1}}
    cluster = lab(port_of(broker), topics)

    # the first deploy: both created, then recorded as esdr's
    plan = plan_cluster_topics(admin, NAME, cluster)
    assert [(c.kind, c.name, c.action) for c in plan.drift] == [
        (KIND, "orders", "created"), (KIND, "orders.dead-letters", "created")]
    assert plan.managed == set() and plan.decision(False) == "apply"
    applied, notes, after = converge_cluster_topics(admin, plan, cluster)
    assert len(applied) == 2 and notes == [] and [c for c in after if c.is_drift] == []
    record = read_record(admin.esdr_config, NAME)
    assert record["topics"] == ["orders", "orders.dead-letters"]
    seen = observe_topics(admin)
    assert seen[REGISTRY_TOPIC] == {"partitions": 1, "replication_factor": 1,
                                    "config": {"cleanup.policy": "compact"}}

    # the rerun: nothing to do, so the deploy's step yields nothing (pyinfra: no change)
    again = plan_cluster_topics(admin, NAME, cluster)
    assert again.drift == [] and again.notes == [] and again.decision(False) == "noop"
    assert again.managed == {"orders", "orders.dead-letters"}

    # retention.ms shortened by hand: drift, and putting it back deletes nothing
    by_hand = ConfigResource(ConfigResource.Type.TOPIC, "orders", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
    for future in admin.incremental_alter_configs([by_hand], request_timeout=10).values():
        future.result(timeout=15)
    drifted = wait_for("the hand-made retention.ms", lambda: (
        lambda p: p if p.drift else None)(plan_cluster_topics(admin, NAME, cluster)))
    [change] = drifted.drift
    assert (change.kind, change.name, change.action) == (KIND_CONFIG, "orders", "changed")
    assert change.before == {"retention.ms": "3600000"} and not change.destructive
    assert drifted.decision(False) == "apply"
    applied, _, _ = converge_cluster_topics(admin, drifted, cluster)
    assert [(c.kind, c.name) for c in applied] == [(KIND_CONFIG, "orders")]
    assert observe_topics(admin)["orders"]["config"] == {"retention.ms": "604800000"}
    assert plan_cluster_topics(admin, NAME, cluster).decision(False) == "noop"

    # a topic made by hand: foreign, left alone, never recorded
    for future in admin.create_topics([NewTopic("someone.elses", 1, 1)],
                                      operation_timeout=10).values():
        future.result(timeout=15)
    foreign = wait_for("the foreign topic", lambda: (
        lambda p: p if p.notes else None)(plan_cluster_topics(admin, NAME, cluster)))
    assert [(n.name, n.blocking) for n in foreign.notes] == [("someone.elses", False)]
    assert foreign.decision(True) == "noop"

    # orders.dead-letters dropped from the estate: a destructive delete, only with the switch
    fewer = lab(port_of(broker), {"orders": topics["orders"]})
    dropped = plan_cluster_topics(admin, NAME, fewer)
    [delete] = dropped.drift
    assert (delete.kind, delete.name, delete.action, delete.destructive) == (
        KIND, "orders.dead-letters", "deleted", True)
    assert dropped.decision(False) == "noop"
    applied, _, _ = converge_cluster_topics(admin, dropped, fewer, allow_destructive=True,
                                            by="test")
    assert [(c.name, c.action) for c in applied] == [("orders.dead-letters", "deleted")]
    record = read_record(admin.esdr_config, NAME)
    assert record["topics"] == ["orders"]
    assert [(d["name"], d["action"], d["by"]) for d in record["destructive"]] == [
        ("orders.dead-letters", "deleted", "test")]
    wait_for("the deleted topic gone", lambda: "orders.dead-letters" not in observe_topics(admin))
    assert "someone.elses" in observe_topics(admin)
    final = plan_cluster_topics(admin, NAME, fewer)
    assert final.drift == [] and final.decision(True) == "noop"


def test_a_broker_of_the_estate_not_registered_is_named(broker, admin):
    cluster = lab(port_of(broker), {})
    data = cluster.model_dump()
    data["brokers"]["kafka-lab-2"] = {"zone": "az2", "node_id": 2, "address": "127.0.0.2"}
    assert reach(admin, NAME, KafkaCluster.model_validate(data), wait=0) == ["kafka-lab-2"]
    assert reach(admin, NAME, cluster, wait=0) == []


def test_brokers_that_do_not_answer_are_refused_naming_them_within_the_bound():
    port = kafka_broker.free_port()  # nothing listens there
    cluster = lab(port, {})
    started = time.monotonic()
    with pytest.raises(EsdrError) as refused:
        reach(admin_client(f"127.0.0.1:{port}", timeout=2), NAME, cluster, wait=0, timeout=2)
    assert time.monotonic() - started < 15
    message = str(refused.value)
    assert f"no broker answered this machine within 2s (tried 127.0.0.1:{port})" in message
    assert "\n" not in message and "advertised listener" in message
