"""The record of the topics esdr manages on a Kafka cluster, kept in the cluster itself: the
latest value of one key in the compacted topic ``esdr-managed`` (why there:
``esdr.kafka.topics``, "the record of the topics esdr manages").

Read with a consumer that is assigned the one partition (no consumer group joins, no offset is
committed) and reads from the earliest offset to the end; written with an idempotent producer
and ``acks=all``, waited for. The topic is created on the first write (one partition, the
cluster's factor, ``cleanup.policy=compact``). Every step is bounded and a failure is one
``EsdrError`` line, as in ``esdr.kafka_io.admin``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from esdr.errors import EsdrError
from esdr.kafka.topics import REGISTRY_KEY, REGISTRY_TOPIC
from esdr.kafka_io.admin import TIMEOUT, _error, _results


def read_record(config: Mapping[str, Any], where: str, timeout: float = TIMEOUT
                ) -> dict[str, Any] | None:
    """The record's latest value, None when none was written (or the topic is empty).

    ``config``: the cluster's client settings (``admin.client_config``)."""
    consumer = Consumer({**config, "group.id": "esdr-record-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "auto.offset.reset": "earliest"})
    try:
        partition = TopicPartition(REGISTRY_TOPIC, 0)
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
        except KafkaException as error:
            raise _error(f"reading the offsets of {REGISTRY_TOPIC}", where, error) from None
        if high <= low:
            return None
        consumer.assign([TopicPartition(REGISTRY_TOPIC, 0, low)])
        value: bytes | None = None
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise _error(f"reading {REGISTRY_TOPIC}", where,
                             TimeoutError(f"its end (offset {high}) not reached within "
                                          f"{timeout:.0f}s"))
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise _error(f"reading {REGISTRY_TOPIC}", where, KafkaException(message.error()))
            if message.key() == REGISTRY_KEY.encode():
                value = message.value()  # None: a tombstone, the record was removed
            if message.offset() >= high - 1:
                break
    finally:
        consumer.close()
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None  # unreadable: nothing is recorded, so nothing is ever deleted for it


def write_record(admin: AdminClient, record: Mapping[str, Any], topic: Mapping[str, Any],
                 where: str, timeout: float = TIMEOUT) -> None:
    """Write ``record`` as the latest value, creating the topic (``topic``: partitions,
    replication_factor, config, from ``esdr.kafka.topics.registry_topic``) when it is absent."""
    try:
        present = REGISTRY_TOPIC in admin.list_topics(timeout=timeout).topics
    except KafkaException as error:
        raise _error("listing topics", where, error) from None
    if not present:
        new = NewTopic(REGISTRY_TOPIC, num_partitions=topic["partitions"],
                       replication_factor=topic["replication_factor"],
                       config=dict(topic["config"]))
        try:
            _results(admin.create_topics([new], operation_timeout=timeout,
                                         request_timeout=timeout),
                     "creating the record topic", where, timeout + 5)
        except EsdrError as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):  # another deploy made it meanwhile
                raise
    config = getattr(admin, "esdr_config", None)
    if config is None:
        raise EsdrError(f"kafka {where}: the admin client has no settings for a producer",
                        hint="build it with esdr.kafka_io.admin.admin_client")
    failed: list[KafkaError] = []
    # a message waits for its acknowledgement up to message.timeout.ms (the topic may have
    # just been created: its leader is elected within a moment)
    producer = Producer({**config, "acks": "all", "enable.idempotence": True,
                         "message.timeout.ms": int(timeout * 2000)})
    producer.produce(REGISTRY_TOPIC, key=REGISTRY_KEY.encode(),
                     value=json.dumps(record, sort_keys=True).encode(),
                     on_delivery=lambda error, _message: failed.append(error) if error else None)
    left = producer.flush(timeout * 2 + 5)
    if failed:
        raise _error(f"writing {REGISTRY_TOPIC}", where, KafkaException(failed[0]))
    if left:
        raise _error(f"writing {REGISTRY_TOPIC}", where,
                     TimeoutError(f"not acknowledged within {timeout * 2 + 5:.0f}s"))
