"""esdr's consumer pipeline service: Kafka topics -> one Elasticsearch or OpenSearch cluster,
for one pipeline of the estate. ``python -m esdr.kafka_io.pipeline --config FILE`` runs it (the
systemd unit of ``esdr.kafka.pipeline_service``, which also renders FILE and decides, purely,
what each message and each bulk item becomes).

The loop, and why each step is where it is:

1. ``consume(batch_size, poll_timeout)``: a batch of messages. The consumer never commits nor
   stores offsets by itself (``enable.auto.commit=false``, ``enable.auto.offset.store=false``)
   and reads only committed transactions (``isolation.level=read_committed``)
   (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md).
2. Each message becomes a bulk action (``_id`` = its key) or, when it cannot be indexed at all
   (not a JSON object, no key), a dead letter.
3. The actions go to the cluster with the engine's own client bulk helper
   (``opensearchpy.helpers.streaming_bulk`` / ``elasticsearch.helpers.streaming_bulk``,
   https://opensearch-project.github.io/opensearch-py/api-ref/helpers.html), with
   ``raise_on_error=False`` so every item's status is seen. A connection error or an error
   status for the whole request, and items answered 429/5xx, are sent again with doubling
   backoff (``retry_initial_interval`` .. ``retry_max_interval``) without end: the batch is
   never skipped, Kafka holds what follows. Items answered 400/404 are dead letters.
4. Dead letters are produced to the dead-letter topic with ``acks=all`` and idempotence, and
   waited for. Without a dead-letter topic the service stops (exit 2) instead of dropping one.
5. Only then the batch's offsets are committed, synchronously (``commit(offsets=...,
   asynchronous=False)``, last offset + 1 per partition). A crash anywhere before this re-reads
   the batch, and the same ids make the repeat harmless.

A rebalance needs nothing of ours: rebalance callbacks run inside ``consume()``, between
batches, when nothing unacknowledged is held. If a batch is retried longer than
``max.poll.interval.ms`` the consumer leaves its group; the commit afterwards is refused, which
is logged, and the partitions' next owner reads the batch again (idempotent).

SIGTERM or SIGINT: the bulk request in flight finishes, a batch still retrying is abandoned
(not committed: read again after the restart), the consumer leaves its group, exit 0.

It runs as its own process and imports nothing of pyinfra: under gevent's monkey-patching (as
pyinfra and esdr's tests run) librdkafka's blocking calls would stall every other greenlet.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import ValidationError

from esdr.kafka.pipeline_service import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    ServiceConfig,
    backoff,
    commit_offsets,
    dead_letter_headers,
    item_outcome,
    load_config,
    password_from_text,
    prepare,
    superseded,
)

LOG = logging.getLogger("esdr.kafka_io.pipeline")
KAFKA_LOG = logging.getLogger("esdr.kafka_io.pipeline.librdkafka")
DEAD_LETTER_TIMEOUT = 30.0  # seconds for the dead letters of one batch to be acknowledged
COMMIT_TIMEOUT = 30.0
# Commit refusals that mean "these partitions are no longer ours": the batch will be read
# again by their next owner, nothing to retry here
_LOST_GROUP = {"ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS",
               "_ASSIGNMENT_LOST", "FENCED_INSTANCE_ID", "_STATE", "_NO_OFFSET"}


class ConfigError(Exception):
    """The service cannot run with this config (exit 2, not restarted)."""


class Stopped(Exception):
    """SIGTERM while a batch was retrying: abandoned, not committed."""


def kafka_settings(config: ServiceConfig) -> dict[str, Any]:
    """The librdkafka settings both the consumer and the dead-letter producer share."""
    kafka = config.kafka
    settings: dict[str, Any] = {"bootstrap.servers": kafka.bootstrap_servers,
                                "client.id": kafka.client_id,
                                "security.protocol": kafka.security_protocol,
                                "logger": KAFKA_LOG}
    if kafka.security_protocol == "SSL":
        settings.update({"ssl.ca.location": kafka.ssl_ca_location,
                         "ssl.certificate.location": kafka.ssl_certificate_location,
                         "ssl.key.location": kafka.ssl_key_location,
                         "ssl.endpoint.identification.algorithm": "https"})
    return settings


def consumer_settings(config: ServiceConfig) -> dict[str, Any]:
    static = ({"group.instance.id": config.kafka.group_instance_id}
              if config.kafka.group_instance_id else {})
    return {**kafka_settings(config), **static,
            "group.id": config.kafka.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": config.kafka.auto_offset_reset,
            "enable.partition.eof": False}


def producer_settings(config: ServiceConfig) -> dict[str, Any]:
    # acks=all and idempotence: a dead letter is kept as safely as the message it replaces
    return {**kafka_settings(config), "acks": "all", "enable.idempotence": True,
            "message.timeout.ms": int(DEAD_LETTER_TIMEOUT * 1000), "linger.ms": 5}


# ---------------------------------------------------------------------------------------------
# The engine side: one bulk call, per-item results in the order of the actions

class EngineUnavailable(Exception):
    """The bulk request as a whole failed (no connection, timeout, 429/5xx, 401/403)."""


@dataclass
class Engine:
    """The engine's own client and bulk helper, behind one call."""

    client: Any
    helper: Callable[..., Any]
    retryable: tuple[type[BaseException], ...]

    def bulk(self, actions: Sequence[dict[str, Any]]) -> list[tuple[bool, int | None, str]]:
        """(acknowledged, status, error text) per action, in order; EngineUnavailable when the
        request itself failed. ``max_retries=0``: the retries are this service's, so that they
        never end and never skip ahead."""
        results: list[tuple[bool, int | None, str]] = []
        try:
            for ok, item in self.helper(self.client, [dict(a) for a in actions],
                                        chunk_size=max(1, len(actions)), raise_on_error=False,
                                        raise_on_exception=True, max_retries=0,
                                        yield_ok=True):
                [(_, info)] = item.items()
                status = info.get("status")
                error = info.get("error")
                results.append((ok, status if isinstance(status, int) else None,
                                "" if ok else _error_text(error)))
        except self.retryable as error:
            raise EngineUnavailable(f"{type(error).__name__}: {_short(error)}") from None
        if len(results) != len(actions):
            raise EngineUnavailable(f"the bulk answer had {len(results)} items for "
                                    f"{len(actions)} actions")
        return results


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return text[:300]


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        reason = error.get("reason") or ""
        caused = error.get("caused_by") or {}
        more = f" ({caused.get('type')}: {caused.get('reason')})" if caused else ""
        return f"{error.get('type')}: {reason}{more}"[:2000]
    return str(error)[:2000]


def engine_client(config: ServiceConfig) -> Engine:
    """The engine's client (never more than the request timeout per call), its bulk helper,
    and the exceptions that mean "try again later". The password comes from the file the
    config names, never from the config or the command line."""
    target = config.target
    auth = None
    if target.user and target.password_file:
        path = Path(target.password_file)
        try:
            password = password_from_text(path.read_text())
        except OSError as error:
            raise ConfigError(f"cannot read the password file {path}: {error.strerror}"
                              " (the deploy writes it, readable by the service user)") from None
        auth = (target.user, password)
    https = any(h.startswith("https://") for h in target.hosts)
    if target.engine == "opensearch":
        from opensearchpy import OpenSearch
        from opensearchpy import exceptions as os_errors
        from opensearchpy.helpers import streaming_bulk as os_bulk

        options: dict[str, Any] = {"hosts": list(target.hosts), "timeout": target.request_timeout,
                                   "max_retries": 0}
        if auth:
            options["http_auth"] = auth
        if https:
            options.update({"verify_certs": True, "ca_certs": target.ca_file})
        return Engine(OpenSearch(**options), os_bulk,
                      (os_errors.TransportError, os_errors.ImproperlyConfigured))
    from elastic_transport import TransportError as TransportFailure
    from elasticsearch import ApiError, Elasticsearch
    from elasticsearch.helpers import streaming_bulk as es_bulk

    options = {"hosts": list(target.hosts), "request_timeout": target.request_timeout,
               "max_retries": 0}
    if auth:
        options["basic_auth"] = auth
    if https:
        options.update({"verify_certs": True, "ca_certs": target.ca_file})
    return Engine(Elasticsearch(**options), es_bulk, (ApiError, TransportFailure))


# ---------------------------------------------------------------------------------------------
# The service

@dataclass
class Counts:
    indexed: int = 0
    dead: int = 0
    retries: int = 0
    batches: int = 0
    commits_refused: int = 0

    def line(self) -> str:
        return (f"{self.batches} batches, {self.indexed} acknowledged, {self.dead} dead letters, "
                f"{self.retries} retries, {self.commits_refused} commits refused by a rebalance")


@dataclass
class Item:
    message: Message
    action: dict[str, Any] | None
    reject: str | None = None
    status: str = ""


@dataclass
class Service:
    config: ServiceConfig
    stop: threading.Event = field(default_factory=threading.Event)
    engine: Engine | None = None
    counts: Counts = field(default_factory=Counts)
    consumer: Consumer | None = None
    producer: Producer | None = None

    def run(self) -> int:
        """Until ``stop`` is set; the exit code. ConfigError when it cannot run."""
        config = self.config
        self.engine = self.engine or engine_client(config)
        self.consumer = Consumer(consumer_settings(config))
        self.consumer.subscribe(list(config.kafka.topics), on_assign=self._assigned,
                                on_revoke=self._revoked, on_lost=self._lost)
        LOG.info("%s: consuming %s as group %s into %s %s index %s", config.service,
                 ",".join(config.kafka.topics), config.kafka.group_id, config.target.engine,
                 ",".join(config.target.hosts), config.target.index)
        next_info = time.monotonic() + config.log_interval
        try:
            while not self.stop.is_set():
                messages = self.consumer.consume(num_messages=config.batch_size,
                                                 timeout=config.poll_timeout)
                batch = [m for m in messages if self._usable(m)]
                if batch:
                    try:
                        self.deliver(batch)
                    except Stopped:
                        LOG.info("%s: stopping; a batch of %d was not committed and will be "
                                 "read again", config.service, len(batch))
                        break
                    self.commit(batch)
                if time.monotonic() >= next_info:
                    LOG.info("%s: %s", config.service, self.counts.line())
                    next_info = time.monotonic() + config.log_interval
        finally:
            self.close()
        LOG.info("%s: stopped: %s", config.service, self.counts.line())
        return EXIT_OK

    def close(self) -> None:
        if self.consumer is not None:
            try:
                self.consumer.close()  # leaves the group; commits nothing (auto commit is off)
            except (KafkaException, RuntimeError) as error:
                LOG.warning("%s: closing the consumer: %s", self.config.service, error)
            self.consumer = None
        if self.producer is not None:
            self.producer.flush(5)
            self.producer = None

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        LOG.warning("%s: consumer: %s", self.config.service, error.str())
        return False

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        LOG.info("%s: assigned %s", self.config.service, _partitions(partitions))

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # nothing to commit: every batch is committed before the next consume()
        LOG.info("%s: revoked %s", self.config.service, _partitions(partitions))

    def _lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        LOG.warning("%s: lost %s (left the group); another member reads them from the "
                    "committed offsets", self.config.service, _partitions(partitions))

    def _wait(self, attempt: int) -> None:
        delay = backoff(attempt, self.config.retry_initial_interval,
                        self.config.retry_max_interval)
        if self.stop.wait(delay):
            raise Stopped()

    def deliver(self, batch: Sequence[Message]) -> None:
        """Every message of ``batch`` acknowledged by the cluster or in the dead-letter topic;
        returns only then. Stopped when asked to stop while retrying."""
        config = self.config
        items = []
        for message in batch:
            prepared = prepare(config, message.key(), message.value())
            items.append(Item(message, prepared.action, prepared.reject,
                              "" if prepared.action else "unindexable"))
        pending = [item for item in items if item.action is not None]
        attempt = 0
        started = time.monotonic()
        while pending:
            assert self.engine is not None
            try:
                results = self.engine.bulk([item.action for item in pending])  # type: ignore
            except EngineUnavailable as error:
                LOG.warning("%s: bulk of %d failed, retrying (attempt %d): %s", config.service,
                            len(pending), attempt + 1, error)
                self.counts.retries += 1
                self._wait(attempt)
                attempt += 1
                continue
            again: list[Item] = []
            statuses: list[int | None] = []
            for item, (ok, status, error) in zip(pending, results):
                outcome = "done" if ok else item_outcome(status, config.action)
                statuses.append(status)
                if outcome == "done":
                    self.counts.indexed += 1
                elif outcome == "dead":
                    item.reject, item.status = error, str(status)
                else:
                    again.append(item)
            if again:
                acked = [ok or item_outcome(status, config.action) == "done"
                         for (ok, status, _) in results]
                skip = superseded([i.action.get("_id") for i in pending],  # type: ignore
                                  acked, config.action)
                kept = {id(i) for i, s in zip(pending, skip) if not s}
                again = [i for i in again if id(i) in kept]
            if again:
                codes = sorted({str(s) for s in statuses if s is None or s >= 300})
                LOG.warning("%s: %d of %d items not acknowledged (status %s), retrying "
                            "(attempt %d)", config.service, len(again), len(pending),
                            ",".join(codes), attempt + 1)
                self.counts.retries += 1
                pending = again
                self._wait(attempt)
                attempt += 1
            else:
                pending = []
        dead = [item for item in items if item.reject is not None]
        if dead:
            self.dead_letters(dead)
        self.counts.batches += 1
        if config.verbose:
            LOG.debug("%s: batch of %d: %d dead letters, %d attempts, %.3fs", config.service,
                      len(items), len(dead), attempt + 1, time.monotonic() - started)

    def dead_letters(self, dead: Sequence[Item]) -> None:
        """Produce each to the dead-letter topic and wait until every one is acknowledged
        (retried, like the bulk, until it is or the service is stopped)."""
        config = self.config
        topic = config.dead_letter_topic
        if not topic:
            first = dead[0]
            raise ConfigError(
                f"{len(dead)} message(s) rejected ({first.message.topic()}"
                f"[{first.message.partition()}] offset {first.message.offset()}: "
                f"{first.reject}) and the pipeline has no dead_letter_topic: stopping rather "
                "than dropping them; add a dead_letter_topic to the pipeline, or fix the "
                "message or the mapping, then restart")
        if self.producer is None:
            self.producer = Producer(producer_settings(config))
        attempt = 0
        while True:
            failures: list[str] = []

            def delivered(error: KafkaError | None, _message: Message) -> None:
                if error is not None:
                    failures.append(error.str())

            for item in dead:
                message = item.message
                headers = list(message.headers() or []) + dead_letter_headers(
                    config, item.reject or "", item.status, message.topic(),
                    message.partition(), message.offset())
                self.producer.produce(topic, value=message.value(), key=message.key(),
                                      headers=headers, on_delivery=delivered)
            left = self.producer.flush(DEAD_LETTER_TIMEOUT + 5)
            if not failures and left == 0:
                self.counts.dead += len(dead)
                for item in dead:
                    LOG.warning("%s: dead letter to %s: %s[%d] offset %d: %s", config.service,
                                topic, item.message.topic(), item.message.partition(),
                                item.message.offset(), item.reject)
                return
            LOG.warning("%s: %d dead letter(s) not acknowledged by %s (%s), retrying",
                        config.service, len(failures) + left, topic,
                        failures[0] if failures else "timeout")
            self._wait(attempt)
            attempt += 1

    def commit(self, batch: Sequence[Message]) -> None:
        """Commit the batch's offsets synchronously; a transient failure is retried (bounded
        by ``stop``), a refusal because the partitions moved is logged and left: the next owner
        reads the batch again."""
        assert self.consumer is not None
        offsets = commit_offsets([(m.topic(), m.partition(), m.offset()) for m in batch])
        partitions = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
        attempt = 0
        while True:
            try:
                answered = self.consumer.commit(offsets=partitions, asynchronous=False)
                failed = [tp for tp in answered or [] if tp.error is not None]
                if not failed:
                    return
                error = failed[0].error
            except KafkaException as raised:
                error = raised.args[0] if raised.args else None
            name = error.name() if isinstance(error, KafkaError) else str(error)
            if name in _LOST_GROUP:
                self.counts.commits_refused += 1
                LOG.warning("%s: commit refused (%s): the partitions moved; their next owner "
                            "reads this batch again", self.config.service, name)
                return
            LOG.warning("%s: commit failed (%s), retrying", self.config.service, name)
            try:
                self._wait(attempt)
            except Stopped:
                return  # not committed: read again after the restart
            attempt += 1


def _partitions(partitions: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esdr.kafka_io.pipeline",
                                     description="esdr's Kafka -> search cluster pipeline")
    parser.add_argument("--config", required=True, help="the service's JSON config file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(Path(args.config).read_text())
    except OSError as error:
        LOG.error("cannot read %s: %s", args.config, error.strerror)
        return EXIT_CONFIG
    except (ValueError, ValidationError) as error:  # JSONDecodeError is a ValueError
        LOG.error("%s is not a pipeline service config: %s", args.config,
                  str(error).replace("\n", "; "))
        return EXIT_CONFIG
    # the clients log every request at INFO (opensearch-py's "POST .../_bulk [status:200]"):
    # the service's own lines say what matters, once per batch at debug
    for noisy in ("opensearch", "opensearchpy.trace", "elastic_transport.transport",
                  "elasticsearch"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if config.verbose:
        LOG.setLevel(logging.DEBUG)
    service = Service(config)

    def stop(signum: int, _frame: Any) -> None:
        LOG.info("%s: %s received, stopping after the request in flight", config.service,
                 signal.Signals(signum).name)
        service.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return service.run()
    except ConfigError as error:
        LOG.error("%s: %s", config.service, error)
        return EXIT_CONFIG
    except KafkaException as error:
        LOG.error("%s: Kafka: %s", config.service, error)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
