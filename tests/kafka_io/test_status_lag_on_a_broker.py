"""`esdr status`'s pipeline lines read from a real Kafka 4.4 broker on 127.0.0.1
(esdr_lab.kafka_broker, the fixture in conftest.py): N messages produced, the pipeline's
consumer group committed at offset k, and the status read shows N-k messages behind with the
age of the first unconsumed message; the search cluster whose group never committed is bounded
(at most N), not 0; with the estate's broker on a closed loopback port the line is unknown
and CRITICAL within the run's deadline, never 0.

Through ``esdr.status.read.read_all`` as the command calls it, with an estate whose ``kafka:``
section names the broker (TLS off: the lab broker listens in plaintext on loopback only). The
inventory's Elasticsearch node is a closed loopback port: that DC is unreachable, and the
pipelines are read all the same (Kafka is not behind the DC's cluster).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from esdr.kafka.logstash import pipeline_id
from esdr.kafka_io.admin import admin_client
from esdr.model import HostSpec, topology_from_hosts
from esdr.status.read import Target, read_all
from esdr.status.report import CRITICAL, OK, WARNING, Thresholds, evaluate, render_text
from esdr_lab import kafka_broker

N, K = 20, 7
TOPIC = "status-orders"
DEAD = "status-orders.dead"
COMMIT_TRIES = 60  # × 0.5 s
LOG = logging.getLogger(__name__)
DEADLINE = 2.5  # seconds: the read budget the command gives on a loaded machine


def _estate(port: int) -> dict:
    cluster = kafka_broker.lab_cluster(port, port + 1, "/var/lib/kafka").model_dump()
    cluster["topics"] = {TOPIC: {"partitions": 1}, DEAD: {"partitions": 1}}
    return {
        "_source": "estates/status-lag.yml",
        "kafka": {
            "kafka_clusters": {"lab": cluster},
            "search_clusters": {name: {"engine": "opensearch",
                                       "hosts": ["https://127.0.0.1:9200"],
                                       "password_variable": "ESDR_LAB_PIPELINE_PASSWORD"}
                                for name in ("esdr-dc1", "esdr-dc2")},
            "pipelines": {"orders": {"kafka_cluster": "lab", "topics": [TOPIC],
                                     "target": "orders", "clusters": ["esdr-dc1", "esdr-dc2"],
                                     "dead_letter_topic": DEAD}},
        },
    }


def _target(kafka_port: int, tmp_path) -> Target:
    closed = kafka_broker.free_port()  # nothing listens: the DC's cluster refuses at once
    data = {"zone": "az1", "es_cluster_name": "esdr-dc1", "es_version": "8.19.21",
            "es_security": False, "es_http_port": closed, "es_api_transport": "direct",
            "es_secrets_dir": str(tmp_path), "es_estate": _estate(kafka_port)}
    topology = topology_from_hosts("dc1", [HostSpec("n1", ("es_master", "es_data"),
                                                    {**data, "ssh_hostname": "127.0.0.1"})])
    return Target("dc1", "inventories/dc1.py", topology, Thresholds(timeout=DEADLINE))


def commit_at(bootstrap: str, group: str, offsets: list[TopicPartition]) -> None:
    """Commit ``offsets`` for ``group`` as a pipeline would after a batch, and check them. The
    first group of a new broker waits for ``__consumer_offsets`` to be created: its coordinator
    answers NOT_COORDINATOR (or is loading) for a few seconds, so a bounded retry."""
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                          "enable.auto.commit": False})
    try:
        for attempt in range(COMMIT_TRIES):
            try:
                committer.commit(offsets=offsets, asynchronous=False)
                break
            except KafkaException as error:
                if attempt == COMMIT_TRIES - 1:
                    raise
                LOG.info("commit of %s: %s; again", group, error)
                time.sleep(0.5)
        seen = committer.committed([TopicPartition(t.topic, t.partition) for t in offsets],
                                   timeout=10)
        assert [t.offset for t in seen] == [t.offset for t in offsets]
    finally:
        committer.close()


@pytest.fixture(scope="module")
def produced(broker: kafka_broker.Broker) -> float:
    """N messages in a one-partition topic and the dc1 group committed at K: the time (epoch
    seconds) just before the first message was produced."""
    admin = admin_client(broker.bootstrap, timeout=10)
    for future in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1)
                                       for t in (TOPIC, DEAD)],
                                      operation_timeout=10, request_timeout=10).values():
        future.result(timeout=20)
    before = time.time()
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    failures: list[str] = []
    for i in range(N):
        producer.produce(TOPIC, key=f"k{i}".encode(), value=b"{}",
                         on_delivery=lambda e, _m: failures.append(e.str()) if e else None)
        producer.poll(0)
    assert producer.flush(30) == 0 and failures == []
    commit_at(broker.bootstrap, pipeline_id("orders", "esdr-dc1"), [TopicPartition(TOPIC, 0, K)])
    return before


def test_status_shows_n_minus_k_for_the_group_committed_at_k(broker, produced, tmp_path) -> None:
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    start = time.monotonic()
    [dc1] = read_all([_target(port, tmp_path)], DEADLINE, datetime.now(timezone.utc))
    took = time.monotonic() - start
    assert took < DEADLINE + 0.5, took
    assert dc1.reachable is False  # the DC's cluster: nothing listens there
    lines = {p.cluster: p for p in dc1.pipelines}
    dc1_lag, dc2_lag = lines["esdr-dc1"], lines["esdr-dc2"]
    assert dc1_lag.group == "esdr-orders-esdr-dc1" and dc1_lag.unreachable is None
    assert dc1_lag.messages.value == N - K
    # the age of message K: produced after `produced` started, read now
    age = time.time() - produced
    assert dc1_lag.seconds.value is not None and 0 <= dc1_lag.seconds.value <= age + 1
    # dc2's group never committed: at most what the topic holds, not 0
    assert dc2_lag.messages.value is None and dc2_lag.messages.at_most == N
    report = evaluate([dc1], datetime.now(timezone.utc))
    pipelines = {line.what: line for line in report.tables[-1].lines}
    assert pipelines["pipeline orders → esdr-dc1"].code == OK
    assert pipelines["pipeline orders → esdr-dc1"].value.startswith(f"lag {N - K} msg, ")
    assert pipelines["pipeline orders → esdr-dc2"].code == WARNING
    assert any(f"unknown (≤ {N} msg)" in t for t in render_text(report))


def test_kafka_on_a_closed_port_is_unknown_within_the_deadline(tmp_path) -> None:
    closed = kafka_broker.free_port()
    start = time.monotonic()
    [dc1] = read_all([_target(closed, tmp_path)], DEADLINE, datetime.now(timezone.utc))
    took = time.monotonic() - start
    assert took < DEADLINE + 0.5, took
    assert len(dc1.pipelines) == 2
    for p in dc1.pipelines:
        assert p.messages.value is None and p.seconds.value is None  # unknown, never 0
        assert p.unreachable and f"127.0.0.1:{closed}" in p.unreachable
    report = evaluate([dc1], datetime.now(timezone.utc))
    [table] = [t for t in report.tables if t.name == "pipelines"]
    assert all(line.code == CRITICAL and line.value.startswith("lag unknown: Kafka lab")
               for line in table.lines)
