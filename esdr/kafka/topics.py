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

from dataclasses import dataclass, field
from typing import Any

from esdr.changes import FOREIGN, Change, Note, drift, plan_each
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


# --- the record of the topics esdr manages -----------------------------------------------------
#
# Only a topic named here is ever deleted by esdr (and only with the destructive switch); any
# other topic not in the estate is foreign and left alone. Kafka topics carry no free-form
# metadata (a topic config Kafka does not know is refused: INVALID_CONFIG), and the Kafka
# cluster is not one of the search clusters whose `esdr-managed` index keeps their registry
# (esdr.reconcile.registry), so the record lives in the Kafka cluster itself, the way Kafka's
# own tools keep state there: one compacted topic, one key, the latest value wins, as Kafka
# Connect's config topic and Schema Registry's `_schemas` do
# (https://kafka.apache.org/44/design/design/#compaction). Whoever deploys from whichever
# machine reads the same record. Its name is the Elasticsearch registry's.
REGISTRY_TOPIC = "esdr-managed"
REGISTRY_KEY = "registry"
REGISTRY_KEPT = 100  # destructive entries kept, as esdr.reconcile.registry.DESTRUCTIVE_KEPT


def registry_topic(cluster: KafkaCluster) -> dict[str, Any]:
    """The record's topic: one partition (one key), the cluster's factor, compacted."""
    return {"partitions": 1, "replication_factor": cluster.default_replication_factor,
            "config": {"cleanup.policy": "compact"}}


def empty_record() -> dict[str, Any]:
    return {"topics": [], "destructive": []}


def record_of(value: Any) -> dict[str, Any]:
    """A record read back (None: none written yet); what is not a list of names is ignored."""
    record = empty_record()
    if isinstance(value, dict):
        topics = value.get("topics")
        if isinstance(topics, list):
            record["topics"] = sorted({t for t in topics if isinstance(t, str)})
        destructive = value.get("destructive")
        if isinstance(destructive, list):
            record["destructive"] = [d for d in destructive if isinstance(d, dict)]
    return record


def with_topics(record: dict[str, Any], managed: set[str], applied: list[Change] = (),
                by: str = "", at: str = "") -> dict[str, Any]:
    """The record holding ``managed``, the destructive ones of ``applied`` appended."""
    entries = [{"kind": c.kind, "name": c.name, "action": c.action, "at": at, "by": by}
               for c in applied if c.destructive]
    kept = [*record.get("destructive", []), *entries][-REGISTRY_KEPT:]
    return {**record, "topics": sorted(managed), "destructive": kept}


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
    if is_internal(name) or name == REGISTRY_TOPIC:  # Kafka's, or esdr's own record
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


# --- one Kafka cluster's topics: the plan, and what the deploy does with it -------------------


@dataclass(frozen=True)
class TopicPlan:
    """The topics of one Kafka cluster, desired against observed, and the managed record."""

    cluster: str
    where: str  # the brokers asked, for messages
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    desired: dict[str, dict[str, Any]] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=empty_record)  # as read (empty: none yet)

    @property
    def managed(self) -> set[str]:
        return set(self.record.get("topics", []))

    @property
    def drift(self) -> list[Change]:
        return drift(self.changes)

    @property
    def blocking(self) -> list[Note]:
        return [n for n in self.notes if n.blocking]

    def applicable(self, allow_destructive: bool) -> list[Change]:
        """The drifting changes ``apply_topics`` would make: not a new replication factor (not
        reassigned), not a destructive one without the switch."""
        return [c for c in self.drift if c.kind != KIND_REPLICATION
                and (allow_destructive or not c.destructive)]

    def pending_destructive(self, allow_destructive: bool) -> list[Change]:
        return [] if allow_destructive else [c for c in self.drift if c.destructive]

    def managed_after(self, allow_destructive: bool = True) -> set[str]:
        """esdr manages what the estate asks for (created, or found and adopted) and what it
        held before, minus what it deletes (a delete skipped without the switch stays)."""
        deleted = {c.name for c in self.applicable(allow_destructive)
                   if c.kind == KIND and c.action == "deleted"}
        return (self.managed | set(self.desired)) - deleted

    def needs_write(self, allow_destructive: bool) -> bool:
        return bool(self.applicable(allow_destructive)) \
            or self.managed_after(allow_destructive) != self.managed

    def decision(self, allow_destructive: bool) -> str:
        """What the deploy does: "fail" (a blocking note: nothing is written, as
        ``apply_topics`` refuses it), "apply" (a change or a record to write), or "noop" (no
        change: the rerun of a converged estate)."""
        if self.blocking:
            return "fail"
        return "apply" if self.needs_write(allow_destructive) else "noop"


def plan_of(cluster_name: str, cluster: KafkaCluster, observed: dict[str, dict[str, Any]],
            record: dict[str, Any] | None, where: str = "",
            notes: list[Note] | None = None) -> TopicPlan:
    """The plan of the estate's topics of ``cluster`` against ``observed``, with the managed
    record as read (None: none yet); ``notes``: the observer's, shown first."""
    desired = desired_topics(cluster)
    record = record_of(record)
    changes, planned = plan_topics(desired, observed, set(record["topics"]))
    return TopicPlan(cluster_name, where or cluster_name, changes, [*(notes or []), *planned],
                     desired, record)


def plan_lines(plan: TopicPlan, verbose: bool = False) -> list[str]:
    """The per-topic diff as `esdr plan` and the deploy print it."""
    lines = [f"kafka cluster {plan.where}:"]
    shown = plan.changes if verbose else plan.drift
    lines += ["  " + line for c in shown for line in c.line().splitlines()]
    lines += ["  " + n.line() for n in plan.notes]
    topics = {c.name for c in plan.changes}
    counts = {a: len({c.name for c in plan.changes if c.action == a}
                     if a != "unchanged" else
                     topics - {c.name for c in plan.drift})
              for a in ("created", "changed", "deleted", "unchanged")}
    lines.append("  topics: " + ", ".join(f"{n} {a}" for a, n in counts.items()))
    before, after = plan.managed, plan.managed_after()
    if after - before:
        lines.append(f"  record {REGISTRY_TOPIC}: records topics {', '.join(sorted(after - before))}"
                     " as managed by esdr")
    if before - after:
        lines.append(f"  record {REGISTRY_TOPIC}: no longer records topics "
                     f"{', '.join(sorted(before - after))}")
    return lines
