"""The gate of a Kafka broker's restart (esdr.operations.kafka.restarted with ``in_sync``):
which partitions the metadata shows out of sync (``esdr.kafka_io.admin.out_of_sync``), and the
wait that follows a restart, without a broker (the metadata as confluent-kafka returns it:
``ClusterMetadata.topics[name].partitions[n]`` with ``leader``, ``replicas``, ``isrs``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from confluent_kafka import KafkaError, KafkaException

from esdr.errors import EsdrError
from esdr.kafka_io.admin import out_of_sync
from esdr.operations.kafka import InSync, _wait_in_sync


@dataclass
class Partition:
    leader: int
    replicas: list[int]
    isrs: list[int]


@dataclass
class Topic:
    partitions: dict[int, Partition]


@dataclass
class Metadata:
    topics: dict[str, Topic] = field(default_factory=dict)


class Admin:
    def __init__(self, metadata: Metadata | None = None, error: KafkaException | None = None):
        self.metadata, self.error = metadata, error

    def list_topics(self, timeout: float):
        if self.error is not None:
            raise self.error
        return self.metadata


def test_a_partition_short_of_a_replica_or_without_a_leader_is_out_of_sync() -> None:
    metadata = Metadata({
        "orders": Topic({0: Partition(1, [1, 2, 3], [1, 2, 3]),
                         1: Partition(3, [1, 2, 3], [3, 1])}),  # broker 2 still catching up
        "__consumer_offsets": Topic({7: Partition(-1, [2, 3, 1], [])}),  # no leader yet
    })
    assert out_of_sync(Admin(metadata)) == ["__consumer_offsets/7", "orders/1"]
    assert out_of_sync(Admin(Metadata({"orders": Topic({0: Partition(1, [1, 2], [2, 1])})}))) \
        == []


def test_metadata_that_cannot_be_read_is_an_error_naming_the_cluster() -> None:
    admin = Admin(error=KafkaException(KafkaError(KafkaError._TRANSPORT, "all brokers down")))
    admin.esdr_bootstrap = "10.0.0.1:9092"  # as admin_client sets it
    with pytest.raises(EsdrError, match="kafka 10.0.0.1:9092: reading the partitions. in-sync replicas failed"):
        out_of_sync(admin)


class Host:
    name = "kafka-az2"

    def __init__(self) -> None:
        self.logged: list[str] = []

    def log_styled(self, message: str, **_kwargs) -> None:
        self.logged.append(message)


def test_the_restart_waits_until_every_partition_is_in_sync(capsys) -> None:
    answers = [EsdrError("no broker answered"), ["orders/1"], []]
    gate = InSync("kafka-lab (10.0.0.1:9092)", lambda: (
        (_ for _ in ()).throw(answers.pop(0)) if isinstance(answers[0], Exception)
        else answers.pop(0)))
    host = Host()
    assert _wait_in_sync(None, host, "kafka", gate, timeout=30) is True
    assert answers == [] and host.logged == []
    assert "kafka on kafka-az2: back, every partition of kafka-lab (10.0.0.1:9092) in sync" \
        in capsys.readouterr().err


def test_partitions_that_stay_out_of_sync_fail_the_restart_naming_them() -> None:
    host = Host()
    gate = InSync("kafka-lab (10.0.0.1:9092)", lambda: ["orders/1", "orders/4"])
    assert _wait_in_sync(None, host, "kafka", gate, timeout=0) is False
    [line] = host.logged
    assert "every partition of kafka-lab (10.0.0.1:9092) in sync after kafka restarted on " \
           "kafka-az2" in line and "last seen: orders/1, orders/4" in line
    assert "journalctl -u kafka" in line
