"""A consumer group's lag on a real Kafka cluster, in messages and in seconds, read with
confluent-kafka; the arithmetic is ``esdr.kafka.pipeline_service.partition_lag`` (pure).

Per partition of the group's topics, with a consumer that never subscribes (so it never joins
the group nor moves its offsets) and never commits:

- the group's committed offset (``Consumer.committed``, an OffsetFetch for the group);
- the low and high watermarks (``Consumer.get_watermark_offsets(cached=False)``);
- the timestamp of the first message the group has not consumed, read by a short-lived
  consumer of its own (a throwaway group id, ``assign`` only) at that offset
  (https://docs.confluent.io/platform/current/clients/confluent-kafka-python/html/index.html).

Only synchronous calls, each with its timeout: the AdminClient's futures are completed from
librdkafka's own thread, which crashed the process under gevent's monkey-patching (as pyinfra
and esdr's tests run). What cannot be read is "unknown" with the reason (and a bound when one
is known), never 0.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from esdr.kafka.pipeline_service import GroupLag, PartitionLag, group_lag, partition_lag

LOG = logging.getLogger("esdr.kafka_io.lag")
TIMEOUT = 10.0
MIN_WAIT = 0.05  # seconds: less left than this before a request is not asking at all
_TRANSIENT = {"NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE"}


def _consumer(settings: Mapping[str, Any], group: str) -> Consumer:
    return Consumer({**settings, "group.id": group, "client.id": "esdr-lag",
                     "enable.auto.commit": False, "enable.auto.offset.store": False,
                     "isolation.level": "read_committed", "enable.partition.eof": False})


def read_lag(settings: Mapping[str, Any], group: str, topics: Sequence[str],
             timeout: float = TIMEOUT, now_ms: int | None = None,
             deadline: float | None = None) -> GroupLag:
    """The lag of ``group`` over ``topics``; each request bounded by ``timeout`` seconds and,
    with ``deadline`` (a ``time.monotonic()`` time), the whole read by it: what is not read by
    then is unknown, saying so. ``settings``: the librdkafka client settings (bootstrap servers,
    TLS; ``esdr.kafka_io.pipeline.kafka_settings`` gives a service's; a ``log_level`` there is
    kept, else errors only)."""
    settings = {k: v for k, v in settings.items() if k not in ("logger", "client.id")}
    # errors only by default: an unreachable broker is the answer, not noise
    settings.setdefault("log_level", 3)
    end = deadline if deadline is not None else float("inf")

    def left() -> float:
        """This request's bound: ``timeout``, or less when the deadline is nearer."""
        return min(timeout, end - time.monotonic())

    late = "not answered by the deadline"
    if left() < MIN_WAIT:
        return group_lag([], unreachable="no time left to ask Kafka")
    reader = _consumer(settings, group)
    unknown: list[PartitionLag] = []
    partitions: list[TopicPartition] = []
    committed: dict[tuple[str, int], int | None] = {}
    committed_problem: str | None = None
    marks: dict[tuple[str, int], tuple[int | None, int | None, str | None]] = {}
    try:
        try:
            metadata = reader.list_topics(timeout=left())
        except KafkaException as error:
            return group_lag([], unreachable=f"Kafka unreachable: {_text(error)}")
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                unknown.append(PartitionLag(topic, -1, None, None,
                                            reason="the topic is not in the cluster's metadata"))
                continue
            partitions += [TopicPartition(topic, p) for p in sorted(found.partitions)]
        if not partitions:
            return group_lag(unknown)
        retry_until = min(time.monotonic() + timeout, end)
        committed_problem = late
        while left() >= MIN_WAIT:
            try:
                for tp in reader.committed(partitions, timeout=left()):
                    if tp.error is None:
                        committed[(tp.topic, tp.partition)] = (tp.offset if tp.offset >= 0
                                                               else None)
                committed_problem = None
                break
            except KafkaException as error:
                committed_problem = ("the group's committed offsets are unreadable: "
                                     f"{_text(error)}")
                # the group's coordinator moving or loading answers this for a moment
                if _name(error) not in _TRANSIENT or time.monotonic() > retry_until:
                    break
                time.sleep(0.2)
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if left() < MIN_WAIT:
                marks[key] = (None, None, f"the partition's offsets: {late}")
                continue
            try:
                low, high = reader.get_watermark_offsets(tp, timeout=left(), cached=False)
                marks[key] = (low, high, None)
            except KafkaException as error:
                marks[key] = (None, None, f"the partition's offsets are unreadable: "
                              f"{_text(error)}")
    finally:
        reader.close()
    wanted: dict[tuple[str, int], int] = {}
    for key, (low, high, problem) in marks.items():
        if problem is None and committed_problem is None and low is not None \
                and high is not None:
            mine = committed.get(key)
            start = mine if mine is not None and mine >= low else low
            if start < high:
                wanted[key] = start
    stamps = _timestamps(settings, wanted, left())
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    out = list(unknown)
    for tp in partitions:
        key = (tp.topic, tp.partition)
        low, high, problem = marks.get(key, (None, None, "no answer"))
        out.append(partition_lag(tp.topic, tp.partition, committed.get(key), low, high,
                                 stamps.get(key), now, unreachable=committed_problem or problem))
    return group_lag(out)


def _timestamps(settings: Mapping[str, Any], wanted: Mapping[tuple[str, int], int],
                timeout: float) -> dict[tuple[str, int], int]:
    """The timestamp (ms) of the message at each wanted offset, where one could be read within
    ``timeout`` in all. A throwaway group id: this consumer only assigns, never commits."""
    if not wanted or timeout < MIN_WAIT:
        return {}
    reader = _consumer(settings, f"esdr-lag-{uuid.uuid4().hex[:12]}")
    found: dict[tuple[str, int], int] = {}
    try:
        reader.assign([TopicPartition(t, p, o) for (t, p), o in wanted.items()])
        deadline = time.monotonic() + timeout
        while len(found) < len(wanted) and time.monotonic() < deadline:
            for message in reader.consume(num_messages=len(wanted), timeout=0.5):
                if message.error() is not None:
                    continue
                key = (message.topic(), message.partition())
                kind, stamp = message.timestamp()
                if key in wanted and key not in found and kind != 0 and stamp >= 0:
                    found[key] = stamp  # 0: TIMESTAMP_NOT_AVAILABLE
                    reader.pause([TopicPartition(*key)])
    except KafkaException as error:
        LOG.warning("reading the next messages' timestamps: %s", _text(error))
    finally:
        reader.close()
    return found


def _text(error: KafkaException) -> str:
    first = error.args[0] if error.args else error
    return first.str() if hasattr(first, "str") else str(first)


def _name(error: KafkaException) -> str:
    first = error.args[0] if error.args else None
    return first.name() if hasattr(first, "name") else ""
