"""Topics as converged state: the pure plan, desired against observed, as ``Change``s and
``Note``s like every reconciler of esdr/reconcile/ (observe and apply, with confluent-kafka's
AdminClient, are the next step and live elsewhere: this module imports no client).

The observed shape the observer must produce, per topic::

    {"partitions": 6, "replication_factor": 3, "config": {"retention.ms": "604800000"}}

where ``config`` holds only the topic's own overrides (DescribeConfigs entries whose source is
DYNAMIC_TOPIC_CONFIG), as strings the way Kafka answers; a broker default is not drift.

One topic yields one ``Change`` per aspect, so each carries its own destructive flag and tells
apply which API to call:

- ``kafka_topic``: created / deleted (every delete is destructive) / unchanged;
- ``kafka_topic_partitions``: grow only (CreatePartitions). Kafka cannot remove partitions
  (https://kafka.apache.org/44/operations/basic-kafka-operations/#modifying-topics): a smaller
  count is a blocking ``Note``, never a change;
- ``kafka_topic_replication``: a new factor needs a partition reassignment that copies every
  partition (https://kafka.apache.org/44/operations/basic-kafka-operations/#increasing-replication-factor);
  lowering it drops copies and is destructive. Noted as blocking: esdr does not reassign yet;
- ``kafka_topic_config``: the overrides (IncrementalAlterConfigs); destructive when it makes
  Kafka delete data it would have kept (shorter retention, another cleanup.policy).
"""

from __future__ import annotations

from typing import Any

from esdr.changes import FOREIGN, Change, Note, plan_each
from esdr.kafka.model import KafkaCluster

KIND = "kafka_topic"
KIND_PARTITIONS = "kafka_topic_partitions"
KIND_REPLICATION = "kafka_topic_replication"
KIND_CONFIG = "kafka_topic_config"

# Kafka's broker defaults for the configs whose change can delete data, so that removing an
# override is compared with what then applies
# (https://kafka.apache.org/44/configuration/topic-configs/): retention.ms 7 days (log.retention.hours=168), retention.bytes unlimited, local.* -2 ("as the
# total"), cleanup.policy delete.
_DEFAULTS = {
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "local.retention.ms": "-2",
    "local.retention.bytes": "-2",
    "cleanup.policy": "delete",
}
_RETENTION = ("retention.ms", "retention.bytes", "local.retention.ms", "local.retention.bytes")


def config_text(value: Any) -> str:
    """A config value as Kafka reports it: booleans lower-case, numbers as digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def desired_topics(cluster: KafkaCluster) -> dict[str, dict[str, Any]]:
    """The estate's topics in the observed shape (the cluster's default factor filled in)."""
    return {
        name: {
            "partitions": topic.partitions,
            "replication_factor": cluster.replication_factor(name),
            "config": {key: config_text(value) for key, value in sorted(topic.config.items())},
        }
        for name, topic in cluster.topics.items()
    }


def is_internal(name: str) -> bool:
    """Kafka's own topics (__consumer_offsets, __transaction_state, ...): never esdr's."""
    return name.startswith("__")


def _retention_value(config: dict[str, str], key: str) -> float:
    value = config.get(key, _DEFAULTS[key])
    if key.startswith("local.") and value == "-2":
        value = config.get(key.removeprefix("local."), _DEFAULTS[key.removeprefix("local.")])
    try:
        number = int(value)
    except ValueError:
        return float("inf")  # not a number: Kafka refuses it, so it deletes nothing
    return float("inf") if number < 0 else number


def deletes_data(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Which config changes make Kafka delete messages it would have kept."""
    reasons = []
    for key in _RETENTION:
        if _retention_value(after, key) < _retention_value(before, key):
            reasons.append(f"{key} shorter")
    policy_before = before.get("cleanup.policy", _DEFAULTS["cleanup.policy"])
    policy_after = after.get("cleanup.policy", _DEFAULTS["cleanup.policy"])
    if set(policy_after.split(",")) != set(policy_before.split(",")):
        reasons.append(f"cleanup.policy {policy_before} -> {policy_after}")
    return reasons


def plan_topic(name: str, desired: dict[str, Any] | None, observed: dict[str, Any] | None,
               managed: set[str]) -> tuple[list[Change], list[Note]]:
    if is_internal(name):
        return [], []
    if desired is None:
        if observed is None:
            return [], []
        if name in managed:
            return [Change(KIND, name, "deleted", observed, None)], []
        return [], [Note(KIND, name, FOREIGN)]
    if observed is None:
        return [Change(KIND, name, "created", None, desired)], []
    changes: list[Change] = []
    notes: list[Note] = []
    have, want = observed["partitions"], desired["partitions"]
    if want > have:
        changes.append(Change(KIND_PARTITIONS, name, "changed", have, want))
        notes.append(Note(
            KIND_PARTITIONS, name,
            f"{have} -> {want} partitions: the key -> partition mapping changes, so a key's "
            "older messages in its old partition may be consumed after its newer ones while "
            "the pipelines drain the backlog; grow when lag is zero"))
    elif want < have:
        notes.append(Note(
            KIND_PARTITIONS, name,
            f"the estate asks for {want} partitions, the topic has {have}: Kafka cannot remove "
            f"partitions; keep {have}, or move to a new topic", blocking=True))
    rf_have, rf_want = observed["replication_factor"], desired["replication_factor"]
    if rf_want != rf_have:
        changes.append(Change(KIND_REPLICATION, name, "changed", rf_have, rf_want,
                              destructive=rf_want < rf_have))
        notes.append(Note(
            KIND_REPLICATION, name,
            f"replication factor {rf_have} -> {rf_want} needs a partition reassignment that "
            "copies every partition between brokers (kafka-reassign-partitions, rack-aware); "
            "esdr does not reassign yet", blocking=True))
    config_have = {k: config_text(v) for k, v in (observed.get("config") or {}).items()}
    config_want = {k: config_text(v) for k, v in (desired.get("config") or {}).items()}
    if config_have != config_want:
        reasons = deletes_data(config_have, config_want)
        changes.append(Change(KIND_CONFIG, name, "changed", config_have, config_want,
                              destructive=bool(reasons)))
        if reasons:
            notes.append(Note(KIND_CONFIG, name,
                              f"deletes messages Kafka keeps today: {', '.join(reasons)}"))
    if not changes:
        changes.append(Change(KIND, name, "unchanged", observed, desired))
    return changes, notes


def plan_topics(desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]],
                managed: set[str]) -> tuple[list[Change], list[Note]]:
    """Every topic named on either side, in name order."""
    return plan_each(plan_topic, desired, observed, managed)


def plan_cluster_topics(cluster: KafkaCluster, observed: dict[str, dict[str, Any]],
                        managed: set[str]) -> tuple[list[Change], list[Note]]:
    return plan_topics(desired_topics(cluster), observed, managed)
