"""Topics on a real Kafka cluster, through confluent-kafka's AdminClient: ``observe_topics``
reads them into the shape ``esdr.kafka.topics`` plans from, ``apply_topics`` carries out a plan,
``converge_topics`` does both and checks that the cluster then shows no drift.

What is observed, per topic (Kafka's internal ``__*`` topics are skipped, as the plan does):

- partitions and replication factor from the cluster metadata (``list_topics``);
- ``config``: only the topic's own overrides, the DescribeConfigs entries whose source is
  DYNAMIC_TOPIC_CONFIG (https://kafka.apache.org/44/configuration/topic-configs/): a broker
  default or a static broker setting is not the topic's state, and never drift.

What is applied, per planned ``Change`` (``esdr.kafka.topics`` names the kinds):

- ``kafka_topic`` created: CreateTopics with partitions, factor and overrides at once;
  deleted: DeleteTopics, destructive, only with ``allow_destructive``;
- ``kafka_topic_partitions``: CreatePartitions to the new total; never fewer (Kafka cannot
  remove partitions; the plan never asks, and a hand-made change that does is refused);
- ``kafka_topic_config``: IncrementalAlterConfigs, SET for each new or changed override and
  DELETE for each dropped one, so overrides esdr does not name are not touched by a write
  (https://kafka.apache.org/44/configuration/topic-configs/). Destructive ones (shorter
  retention, another cleanup.policy) only with ``allow_destructive``;
- ``kafka_topic_replication``: not applied (esdr does not reassign partitions); the plan's
  blocking note says so.

A plan with a blocking note (a partition count below the topic's, a new replication factor) is
not applied at all: nothing is written until the estate or the cluster is put right.

Every request is bounded (``timeout`` seconds, default TIMEOUT) and every failure is one
``EsdrError`` line: what, on which cluster and topic, and how to fix it. A value the broker
refuses (a config it does not know, a factor above the broker count) is ``BadInput``: the estate
asks for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

from esdr.changes import Change, Note, drift
from esdr.errors import BadInput, EsdrError
from esdr.kafka.topics import (
    KIND,
    KIND_CONFIG,
    KIND_PARTITIONS,
    KIND_REPLICATION,
    config_text,
    is_internal,
    plan_topics,
)

TIMEOUT = 15.0  # seconds for one admin request (broker lookup, request, operation, answer)
CONVERGE_TIMEOUT = 30.0  # seconds for a cluster to show what was applied (metadata propagation)
LOG = logging.getLogger("esdr.kafka_io")

_DYNAMIC_TOPIC = ConfigSource.DYNAMIC_TOPIC_CONFIG.value

# Broker answers the estate is responsible for: BadInput, with the fix
_REFUSED = {
    "INVALID_CONFIG": "correct or remove that config in the estate's topic (Kafka 4.4 topic "
                      "configs: https://kafka.apache.org/44/configuration/topic-configs/)",
    "INVALID_REPLICATION_FACTOR": "a factor above the number of live brokers is refused: lower "
                                  "the topic's replication_factor or start the missing brokers",
    "INVALID_PARTITIONS": "partitions must be at least 1 and never fewer than the topic has",
    "POLICY_VIOLATION": "the brokers' create/alter policy refuses it: ask the Kafka operators",
    "INVALID_TOPIC_EXCEPTION": "use a valid topic name",
}
_UNREACHABLE = {"_TRANSPORT", "_TIMED_OUT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_DESTROY",
                "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION", "_SSL", "_AUTHENTICATION",
                "BROKER_NOT_AVAILABLE", "NOT_CONTROLLER", "LEADER_NOT_AVAILABLE"}
_DENIED = {"TOPIC_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED",
           "SASL_AUTHENTICATION_FAILED"}


@dataclass(frozen=True)
class Tls:
    """The client side of the brokers' TLS listeners: the estate CA, and the client
    certificate and key the brokers require (``ssl.client.auth=required``)."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None


def client_config(bootstrap: str, tls: Tls | None = None, timeout: float = TIMEOUT,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka's settings every esdr client of ``bootstrap`` shares (admin, the record's
    producer and consumer): the TLS side and the bounds."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "client.id": "esdr",
        "socket.timeout.ms": int(timeout * 1000),
        "socket.connection.setup.timeout.ms": int(timeout * 1000),
        "logger": LOG,
    }
    if tls is not None:
        config.update({"security.protocol": "SSL", "ssl.ca.location": tls.ca_file,
                       "ssl.endpoint.identification.algorithm": "https"})
        if tls.cert_file:
            config.update({"ssl.certificate.location": tls.cert_file,
                           "ssl.key.location": tls.key_file or tls.cert_file})
    config.update(extra or {})
    return config


def admin_client(bootstrap: str, tls: Tls | None = None, timeout: float = TIMEOUT,
                 extra: Mapping[str, Any] | None = None) -> AdminClient:
    """An AdminClient for ``bootstrap`` (``host:port,...``). Without ``tls``: plaintext, which
    only a loopback lab may use. librdkafka's own log lines go to the ``esdr.kafka_io`` logger,
    not to stderr."""
    client = AdminClient(client_config(bootstrap, tls, timeout, extra))
    client.esdr_config = client_config(bootstrap, tls, timeout, extra)  # for the record's clients
    client.esdr_bootstrap = bootstrap  # named in error messages
    return client


def _bootstrap(admin: AdminClient) -> str:
    return getattr(admin, "esdr_bootstrap", None) or "the Kafka cluster"


def _error(what: str, where: str, error: BaseException) -> EsdrError:
    """One line for a failed admin request: what, where, and the fix for the usual causes."""
    kafka = error.args[0] if isinstance(error, KafkaException) and error.args else None
    if isinstance(kafka, KafkaError):
        name, text = kafka.name(), kafka.str()
    elif isinstance(error, TimeoutError):
        name, text = "_TIMED_OUT", "no answer in time"
    else:
        name, text = type(error).__name__, str(error)
    message = f"kafka {where}: {what} failed: {name}: {text}"
    if name in _REFUSED:
        return BadInput(message, hint=_REFUSED[name])
    if name in _UNREACHABLE:
        return EsdrError(message, hint="check that the bootstrap servers are right and the "
                         "brokers run and are reachable from here (and the client's TLS "
                         "settings match their listeners); then run it again")
    if name in _DENIED:
        return EsdrError(message, hint="esdr's client principal needs Describe, Create and "
                         "Alter on the cluster's topics (and DescribeConfigs/AlterConfigs)")
    if name == "TOPIC_ALREADY_EXISTS":
        return EsdrError(message, hint="another writer created it since the plan; run the plan "
                         "again")
    if name == "UNKNOWN_TOPIC_OR_PART":
        return EsdrError(message, hint="another writer deleted it since the plan; run the plan "
                         "again")
    return EsdrError(message, hint="the broker's log says more; run the plan again to see the "
                     "cluster's state")


def _results(futures: Mapping[Any, Future], what: str, where: str, timeout: float
             ) -> dict[Any, Any]:
    """Each future's result within ``timeout`` (all together), or the first failure as one
    EsdrError naming the topic. Polled rather than waited on, so the wait is bounded the same
    way under threads and under gevent's patched threading."""
    deadline = time.monotonic() + timeout
    while not all(f.done() for f in futures.values()):
        if time.monotonic() > deadline:
            pending = sorted(str(getattr(k, "name", k)) for k, f in futures.items()
                             if not f.done())
            raise _error(what, f"{where} topic {', '.join(pending)}",
                         TimeoutError(f"no answer within {timeout:.0f}s"))
        time.sleep(0.02)
    results = {}
    for key, future in futures.items():
        try:
            results[key] = future.result(timeout=0)
        except Exception as error:  # KafkaException: the broker's answer for this topic
            raise _error(what, f"{where} topic {getattr(key, 'name', key)}", error) from None
    return results


def out_of_sync(admin: AdminClient, timeout: float = TIMEOUT) -> list[str]:
    """The partitions (``topic/partition``) whose in-sync replicas are fewer than their
    replicas, or that have no leader, from the cluster's metadata (internal topics included:
    the consumer groups' offsets count as much as the data). Raises EsdrError when the
    metadata cannot be read. One synchronous request (``list_topics``), no futures: the
    deploy runs under gevent (see esdr/kafka_io/lag.py)."""
    where = _bootstrap(admin)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise _error("reading the partitions' in-sync replicas", where, error) from None
    lagging = []
    for name, topic in sorted(metadata.topics.items()):
        for number, partition in sorted(topic.partitions.items()):
            if partition.leader < 0 or len(partition.isrs) < len(partition.replicas):
                lagging.append(f"{name}/{number}")
    return lagging


def observe_topics(admin: AdminClient, timeout: float = TIMEOUT,
                   where: str | None = None) -> dict[str, dict[str, Any]]:
    """Every non-internal topic as ``{"partitions", "replication_factor", "config"}``, config
    holding only the topic's own overrides (DYNAMIC_TOPIC_CONFIG), as Kafka's strings."""
    where = where or _bootstrap(admin)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise _error("listing topics", where, error) from None
    topics: dict[str, dict[str, Any]] = {}
    for name, topic in sorted(metadata.topics.items()):
        if is_internal(name):
            continue
        if topic.error is not None:
            raise _error("reading the topic's metadata", f"{where} topic {name}",
                         KafkaException(topic.error))
        factors = {len(p.replicas) for p in topic.partitions.values()}
        topics[name] = {
            "partitions": len(topic.partitions),
            # mixed counts only while a reassignment runs: the smallest is what is sure now
            "replication_factor": min(factors) if factors else 0,
            "config": {},
        }
    if not topics:
        return topics
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    futures = admin.describe_configs(resources, request_timeout=timeout)
    for resource, entries in _results(futures, "reading topic configs", where,
                                      timeout + 5).items():
        topics[resource.name]["config"] = {
            key: entry.value for key, entry in sorted(entries.items())
            if getattr(entry.source, "value", entry.source) == _DYNAMIC_TOPIC
            and entry.value is not None
        }
    return topics


def _config_entries(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ConfigEntry]:
    """SET each override that is new or different, DELETE each one the estate dropped."""
    before = {k: config_text(v) for k, v in (before or {}).items()}
    after = {k: config_text(v) for k, v in (after or {}).items()}
    entries = [ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
               for key, value in sorted(after.items()) if before.get(key) != value]
    entries += [ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE)
                for key in sorted(set(before) - set(after))]
    return entries


def apply_topics(admin: AdminClient, changes: Iterable[Change], notes: Iterable[Note] = (),
                 *, allow_destructive: bool = False, timeout: float = TIMEOUT,
                 where: str | None = None) -> tuple[list[Change], list[Note]]:
    """Carry out the drifting changes of a topic plan; returns (applied, skipped notes).

    Refused as a whole, nothing written, when the plan has a blocking note. A destructive
    change without ``allow_destructive`` and a replication change are skipped with a note.
    Creations go first, then partitions, then configs, then deletions."""
    where = where or _bootstrap(admin)
    notes = list(notes)
    blocking = [n for n in notes if n.blocking]
    if blocking:
        raise EsdrError(
            f"kafka {where}: the topic plan has {len(blocking)} blocking note(s), nothing was "
            "applied: " + "; ".join(f"{n.name}: {n.message}" for n in blocking),
            hint="change the estate's topic to what Kafka can do (or act on the cluster by "
            "hand as the note says), then plan again")
    applied: list[Change] = []
    skipped: list[Note] = []
    todo: dict[str, list[Change]] = {KIND: [], KIND_PARTITIONS: [], KIND_CONFIG: []}
    for change in drift(list(changes)):
        if change.kind == KIND_REPLICATION:
            skipped.append(Note(change.kind, change.name, "not applied: esdr does not reassign "
                                "partitions yet", blocking=True))
        elif change.kind not in todo:
            raise EsdrError(f"kafka {where}: {change.kind} {change.name}: not a topic change",
                            hint="pass apply_topics the changes of esdr.kafka.topics' plan")
        elif change.destructive and not allow_destructive:
            skipped.append(Note(change.kind, change.name, f"{change.action} is destructive: "
                                "skipped; rerun with --allow-destructive to do it"))
        else:
            todo[change.kind].append(change)

    created = [c for c in todo[KIND] if c.action == "created"]
    if created:
        new = [NewTopic(c.name, num_partitions=c.after["partitions"],
                        replication_factor=c.after["replication_factor"],
                        config={k: config_text(v)
                                for k, v in (c.after.get("config") or {}).items()})
               for c in created]
        _results(admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout),
                 "creating the topic", where, timeout + 5)
        applied += created

    grown = todo[KIND_PARTITIONS]
    for change in grown:
        if not isinstance(change.after, int) or not isinstance(change.before, int) \
                or change.after <= change.before:
            raise EsdrError(
                f"kafka {where} topic {change.name}: partitions {change.before} -> "
                f"{change.after} is not a growth; Kafka cannot remove partitions, nothing applied",
                hint="keep the partition count the topic has, or move to a new topic")
    if grown:
        _results(admin.create_partitions([NewPartitions(c.name, c.after) for c in grown],
                                         operation_timeout=timeout, request_timeout=timeout),
                 "adding partitions", where, timeout + 5)
        applied += grown

    altered = [c for c in todo[KIND_CONFIG] if _config_entries(c.before, c.after)]
    if altered:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, c.name,
                                    incremental_configs=_config_entries(c.before, c.after))
                     for c in altered]
        _results(admin.incremental_alter_configs(resources, request_timeout=timeout),
                 "changing the topic's configs", where, timeout + 5)
        applied += altered

    deleted = [c for c in todo[KIND] if c.action == "deleted"]
    if deleted:
        _results(admin.delete_topics([c.name for c in deleted], operation_timeout=timeout,
                                     request_timeout=timeout),
                 "deleting the topic", where, timeout + 5)
        applied += deleted
    return applied, skipped


def converge_topics(admin: AdminClient, desired: dict[str, dict[str, Any]], managed: set[str],
                    *, allow_destructive: bool = False, timeout: float = TIMEOUT,
                    settle: float = CONVERGE_TIMEOUT, where: str | None = None
                    ) -> tuple[list[Change], list[Note], list[Change]]:
    """Observe, plan, apply, then observe until the applied changes no longer show (bounded by
    ``settle``: a cluster's brokers learn new metadata a moment after the controller answers).
    Returns (applied, notes: the plan's and the skipped, the plan's changes afterwards). A
    change that still shows after ``settle`` is an error: another writer, or a write that did
    not stick."""
    where = where or _bootstrap(admin)
    changes, notes = plan_topics(desired, observe_topics(admin, timeout, where), managed)
    applied, skipped = apply_topics(admin, changes, notes, allow_destructive=allow_destructive,
                                    timeout=timeout, where=where)
    wanted = {(c.kind, c.name) for c in applied}
    deadline = time.monotonic() + settle
    while True:
        after, _ = plan_topics(desired, observe_topics(admin, timeout, where), managed)
        left = [c for c in drift(after) if (c.kind, c.name) in wanted]
        if not left:
            return applied, notes + skipped, after
        if time.monotonic() > deadline:
            raise EsdrError(
                f"kafka {where}: still drifting {settle:.0f}s after apply: "
                + "; ".join(f"{c.kind} {c.name} {c.action}" for c in left),
                hint="another writer may be changing these topics; plan again to see the diff")
        time.sleep(0.2)
