"""The rules a Kafka dual-write design must keep, as ``Problem``s naming the host, topic or
pipeline and the rule. Pure: the model in, problems out; nothing here reads a cluster except
``observed_topic_problems``, which takes what the reconciler observed as plain data.

What the rules protect, in short (docs/kafka-dual-write.md has the long form):

- the controllers' quorum survives the loss of any one zone (a majority of voters must be alive,
  https://kafka.apache.org/44/operations/kraft/#controllers);
- an acknowledged message is on a broker outside any one zone, and writes go on without that
  zone, given how Kafka spreads replicas over racks
  (https://kafka.apache.org/44/operations/basic-kafka-operations/#balancing-replicas-across-racks);
- no replica that missed acknowledged messages becomes leader (unclean election off);
- every pipeline can replay without duplicates (document id from the message key) and puts what
  it cannot index somewhere a person will see it (a dead-letter topic).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from esdr.kafka.logstash_deploy import archive_version
from esdr.kafka.model import KafkaCluster, KafkaEstate, parse_kafka_estate
from esdr.kafka.topics import REGISTRY_TOPIC
from esdr.problems import Problem

# Topic-level configs of Kafka 4.x (https://kafka.apache.org/44/configuration/topic-configs/).
# A key outside this list is most likely a typo or a broker-level name (log.retention.ms):
# Kafka refuses it when the topic is created, so esdr says so first.
KNOWN_TOPIC_CONFIGS = frozenset("""
    cleanup.policy compression.gzip.level compression.lz4.level compression.type
    compression.zstd.level delete.retention.ms file.delete.delay.ms flush.messages flush.ms
    follower.replication.throttled.replicas index.interval.bytes
    leader.replication.throttled.replicas local.retention.bytes local.retention.ms
    max.compaction.lag.ms max.message.bytes message.timestamp.after.max.ms
    message.timestamp.before.max.ms message.timestamp.type min.cleanable.dirty.ratio
    min.compaction.lag.ms min.insync.replicas preallocate remote.log.copy.disable
    remote.log.delete.on.disable remote.storage.enable retention.bytes retention.ms
    segment.bytes segment.index.bytes segment.jitter.ms segment.ms
    unclean.leader.election.enable
""".split())


def most_replicas_in_one_zone(replication_factor: int, zones: int) -> int:
    """Replicas of one partition in the zone holding most of them when Kafka spreads them over
    ``zones`` racks: "a partition will span min(#racks, replication-factor) different racks",
    as evenly as the counts allow (basic-kafka-operations, rack awareness)."""
    return math.ceil(replication_factor / zones) if zones else replication_factor


def zone_loss_keeps_acknowledged(replication_factor: int, min_insync: int, zones: int) -> bool:
    """An ``acks=all`` write is on at least ``min_insync`` replicas; if one zone can hold that
    many, all of them can be in the zone that is lost."""
    return most_replicas_in_one_zone(replication_factor, zones) < min_insync


def zone_loss_keeps_writes(replication_factor: int, min_insync: int, zones: int) -> bool:
    """Without the zone holding most replicas, enough stay in sync to accept ``acks=all``."""
    return replication_factor - most_replicas_in_one_zone(replication_factor, zones) >= min_insync


def validate_estate(estate: KafkaEstate) -> list[Problem]:
    out: list[Problem] = []
    for name, cluster in sorted(estate.kafka_clusters.items()):
        out += validate_cluster(name, cluster)
        out += validate_topics(name, cluster)
    out += validate_pipelines(estate)
    return out


def validate_cluster(name: str, cluster: KafkaCluster) -> list[Problem]:
    where = f"kafka cluster {name}"
    out: list[Problem] = []
    out += _controllers(where, cluster)
    out += _nodes(cluster)
    out += _durability(where, cluster)
    if not cluster.tls.enabled:
        out.append(Problem(
            where, "kafka-tls-off",
            "tls.enabled is false: every listener is plaintext and any host that reaches it can "
            "read and write every topic; only a lab (lab: true) may do that",
            "warning" if cluster.lab else "error"))
    elif cluster.tls.client_auth != "required":
        out.append(Problem(
            where, "kafka-client-auth-not-required",
            f"tls.client_auth is {cluster.tls.client_auth!r}: a client without a certificate "
            "from the estate CA is let in (ssl.client.auth, https://kafka.apache.org/44/"
            "configuration/broker-configs/#brokerconfigs_ssl.client.auth)", "warning"))
    if cluster.broker_port == cluster.controller_port:
        out.append(Problem(where, "kafka-port-clash",
                           f"broker_port and controller_port are both {cluster.broker_port}"))
    return out


def _controllers(where: str, cluster: KafkaCluster) -> list[Problem]:
    out: list[Problem] = []
    voters = cluster.controllers
    count = len(voters)
    severity = "warning" if cluster.lab else "error"
    if count < 3:
        out.append(Problem(
            where, "kafka-too-few-controllers",
            f"{count} controller(s): a quorum that survives the loss of one needs 3, one per "
            "zone (https://kafka.apache.org/44/operations/kraft/#controllers)", severity))
    elif count % 2 == 0:
        out.append(Problem(
            where, "kafka-controllers-even",
            f"{count} controllers: a majority of {count // 2 + 1} is needed, so {count} tolerate "
            f"no more losses than {count - 1}; use an odd count (3 or 5)", "warning"))
    zones = Counter(node.zone for node in voters.values())
    if count >= 3 and len(zones) < 3:
        out.append(Problem(
            where, "kafka-controllers-not-in-three-zones",
            f"controllers in {len(zones)} zone(s) ({', '.join(sorted(zones))}): put one in each "
            "of three zones, the third may be the hidden tie-breaker zone that holds no data, as "
            "for the masters", severity))
    majority = count // 2 + 1
    for zone, here in sorted(zones.items()):
        if count >= 2 and count - here < majority:
            out.append(Problem(
                f"zone {zone}", "kafka-zone-holds-controller-majority",
                f"{here} of {count} controllers of {where} are in zone {zone}; losing it loses "
                f"the quorum ({majority} votes needed): spread controllers one per zone",
                severity))
    return out


def _nodes(cluster: KafkaCluster) -> list[Problem]:
    out: list[Problem] = []
    ids: dict[int, list[str]] = {}
    for host in cluster.hosts:
        roles = cluster.roles(host)
        if len(roles) == 2:
            if cluster.controllers[host] != cluster.brokers[host]:
                out.append(Problem(
                    f"host {host}", "kafka-host-roles-disagree",
                    "listed as controller and broker with a different zone, node_id or address: "
                    "one process has one of each, give both entries the same"))
            elif not cluster.lab:
                out.append(Problem(
                    f"host {host}", "kafka-combined-mode",
                    "controller and broker in one process (combined mode): Kafka does not "
                    "recommend it for critical deployments, the controllers cannot be rolled or "
                    "scaled apart from the brokers (https://kafka.apache.org/44/operations/kraft/"
                    "#process-roles)", "warning"))
        ids.setdefault(cluster.node(host).node_id, []).append(host)
    for node_id, hosts in sorted(ids.items()):
        if len(hosts) > 1:
            out.append(Problem(
                f"host {hosts[1]}", "kafka-node-id-duplicate",
                f"node_id {node_id} is also {hosts[0]}'s: every process needs its own node.id"))
    addresses: dict[str, str] = {}
    for host in cluster.hosts:
        address = cluster.address(host)
        if address in addresses:
            out.append(Problem(
                f"host {host}", "kafka-address-duplicate",
                f"address {address} is also {addresses[address]}'s"))
        addresses.setdefault(address, host)
    return out


def _durability(where: str, cluster: KafkaCluster) -> list[Problem]:
    out: list[Problem] = []
    rf = cluster.default_replication_factor
    isr = cluster.min_insync_replicas
    brokers = len(cluster.brokers)
    if rf > brokers:
        out.append(Problem(
            where, "kafka-replication-above-brokers",
            f"default_replication_factor {rf} > {brokers} broker(s): Kafka refuses to create a "
            "topic it cannot place; add brokers or lower the factor",
            "warning" if cluster.lab else "error"))
    out += _isr_rules(where, rf, isr, cluster, "default_replication_factor",
                      "min_insync_replicas")
    if cluster.unclean_leader_election:
        out.append(Problem(
            where, "kafka-unclean-election",
            "unclean_leader_election is true: after a failure Kafka may make a replica that "
            "missed acknowledged messages the leader, and those messages are gone for good "
            "(https://kafka.apache.org/44/configuration/broker-configs/"
            "#brokerconfigs_unclean.leader.election.enable)"))
    return out


def _isr_rules(where: str, rf: int, isr: int, cluster: KafkaCluster, rf_name: str,
               isr_name: str) -> list[Problem]:
    out: list[Problem] = []
    if isr >= rf:
        out.append(Problem(
            where, "kafka-min-insync-not-below-replication",
            f"{isr_name} {isr} >= {rf_name} {rf}: one broker down and every acks=all write "
            f"fails (NotEnoughReplicas); use {rf_name} - 1",
            "warning" if cluster.lab else "error"))
        return out
    if isr < 2:
        out.append(Problem(
            where, "kafka-min-insync-one",
            f"{isr_name} {isr}: an acknowledged message may be on one broker only, and lost "
            "with its disk; use 2", "warning"))
        return out
    zones = len({node.zone for node in cluster.brokers.values()})
    if not zones:
        return out
    if not zone_loss_keeps_acknowledged(rf, isr, zones):
        out.append(Problem(
            where, "kafka-zone-loss-loses-acknowledged",
            f"brokers in {zones} zone(s) with {rf_name} {rf}: one zone holds "
            f"{most_replicas_in_one_zone(rf, zones)} replicas of a partition, as many as "
            f"{isr_name} {isr}, so an acknowledged message may exist only in that zone: put "
            f"brokers in {rf} zones (the tie-breaker zone then holds data), or raise "
            f"{rf_name} and {isr_name} together (4 and 3 over two zones)",
            "warning" if cluster.lab else "error"))
    elif not zone_loss_keeps_writes(rf, isr, zones):
        out.append(Problem(
            where, "kafka-zone-loss-stops-writes",
            f"brokers in {zones} zone(s) with {rf_name} {rf} and {isr_name} {isr}: without the "
            "zone holding most replicas too few stay in sync and acks=all writes are refused "
            "until it returns (nothing acknowledged is lost); brokers in a third zone keep "
            "writes going", "warning"))
    return out


def validate_topics(cluster_name: str, cluster: KafkaCluster) -> list[Problem]:
    out: list[Problem] = []
    brokers = len(cluster.brokers)
    by_metric_name: dict[str, str] = {}
    for name in sorted(cluster.topics):
        where = f"topic {name} (kafka cluster {cluster_name})"
        topic = cluster.topics[name]
        rf = cluster.replication_factor(name)
        isr = cluster.topic_min_insync(name)
        if name == REGISTRY_TOPIC:
            out.append(Problem(
                where, "kafka-topic-name-reserved",
                f"{REGISTRY_TOPIC} is the compacted topic where esdr records the topics it "
                "manages (esdr.kafka.topics); name the topic otherwise"))
        if rf > brokers:
            out.append(Problem(
                where, "kafka-topic-replication-above-brokers",
                f"replication factor {rf} > {brokers} broker(s): Kafka refuses to create it",
                "warning" if cluster.lab else "error"))
        overridden = topic.replication_factor is not None or "min.insync.replicas" in topic.config
        if overridden:  # otherwise the cluster's rules above already said it
            out += _isr_rules(where, rf, isr, cluster, "replication factor", "min.insync.replicas")
        unclean = topic.config.get("unclean.leader.election.enable")
        if unclean is True or str(unclean).lower() == "true":
            out.append(Problem(
                where, "kafka-topic-unclean-election",
                "unclean.leader.election.enable is true: acknowledged messages can be lost when "
                "a lagging replica is made leader; remove it"))
        for key in sorted(set(topic.config) - KNOWN_TOPIC_CONFIGS):
            out.append(Problem(
                where, "kafka-topic-config-unknown",
                f"config {key} is not a topic config of Kafka 4 (a broker setting, or a typo?): "
                "https://kafka.apache.org/44/configuration/topic-configs/", "warning"))
        # Kafka refuses a name that differs from an existing one only by '.' against '_':
        # both become the same metric name (Topic.hasCollision)
        metric_name = name.replace(".", "_")
        if metric_name in by_metric_name:
            out.append(Problem(
                where, "kafka-topic-name-collision",
                f"differs from topic {by_metric_name[metric_name]} only by '.' and '_': Kafka "
                "refuses the second, their metric names collide"))
        by_metric_name.setdefault(metric_name, name)
    return out


def observed_topic_problems(cluster_name: str, cluster: KafkaCluster,
                            observed: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """What the estate asks of topics that already exist and Kafka cannot do: remove
    partitions ("Kafka does not currently support reducing the number of partitions for a
    topic", https://kafka.apache.org/44/operations/basic-kafka-operations/#modifying-topics)."""
    out = []
    for name, topic in sorted(cluster.topics.items()):
        seen = observed.get(name)
        if seen is not None and topic.partitions < int(seen.get("partitions", 0)):
            out.append(Problem(
                f"topic {name} (kafka cluster {cluster_name})", "kafka-topic-partitions-shrink",
                f"partitions {topic.partitions} < the {seen['partitions']} it has: Kafka cannot "
                "remove partitions; keep the count, or create a new topic and move the "
                "producers and the pipeline to it"))
    return out


# Retention must be at least this many times a pipeline's max_lag_seconds: a cluster back
# from an outage of max_lag still has to read its whole backlog, oldest first, while Kafka goes
# on deleting by age. Below 1x it is an error: the outage the estate claims to survive deletes
# messages its pipeline has not read.
RETENTION_HEADROOM = 2


def _duration(ms: float) -> str:
    hours = ms / 3_600_000
    return f"{hours / 24:g} d" if hours >= 48 else f"{hours:g} h"


def _retention(name: str, pipeline: Any, kafka_name: str, cluster: KafkaCluster,
               topics: list[str]) -> list[Problem]:
    """Each topic the pipeline reads keeps its messages longer than the pipeline may lag: a
    consumer group's committed offset that retention has passed is gone, and so are the
    messages between (Kafka deletes whole segments by age,
    https://kafka.apache.org/44/configuration/topic-configs/#topicconfigs_retention.ms)."""
    out = []
    lag_ms = pipeline.max_lag_seconds * 1000
    wanted = RETENTION_HEADROOM * lag_ms
    for topic in topics:
        where = f"topic {topic} (kafka cluster {kafka_name})"
        config = cluster.topics[topic].config
        retention = cluster.retention_ms(topic)
        shown = (f"retention.ms {config['retention.ms']}" if "retention.ms" in config else
                 "the broker default retention")
        fix = (f"set retention.ms of topic {topic} to at least {wanted} "
               f"({_duration(wanted)}), or lower max_lag_seconds of pipeline {name}")
        if retention is not None and retention < lag_ms:
            out.append(Problem(
                where, "kafka-retention-below-max-lag",
                f"{shown} ({_duration(retention)}) is shorter than max_lag_seconds "
                f"{pipeline.max_lag_seconds} ({_duration(lag_ms)}) of pipeline {name}: a search "
                f"cluster ({', '.join(pipeline.clusters)}) down that long loses the messages "
                f"Kafka deletes before its pipeline reads them; {fix}"))
        elif retention is not None and retention < wanted:
            out.append(Problem(
                where, "kafka-retention-no-catch-up-room",
                f"{shown} ({_duration(retention)}) is less than {RETENTION_HEADROOM}x max_lag_seconds "
                f"{pipeline.max_lag_seconds} of pipeline {name}: a cluster back from an "
                "outage that long must catch up before the oldest unread messages go; "
                f"{fix}", "warning"))
        size = config.get("retention.bytes")
        if size is not None and not isinstance(size, bool) and str(size).isdigit():
            out.append(Problem(
                where, "kafka-retention-by-size",
                f"retention.bytes {size} deletes by size whatever the age: under a burst Kafka "
                f"may delete messages younger than max_lag_seconds "
                f"{pipeline.max_lag_seconds} of pipeline {name}; remove retention.bytes (retention.ms bounds "
                "the disk) or size it for max_lag_seconds at the peak write rate", "warning"))
    return out


def validate_pipelines(estate: KafkaEstate) -> list[Problem]:
    out: list[Problem] = []
    for name, pipeline in sorted(estate.pipelines.items()):
        where = f"pipeline {name}"
        cluster = estate.kafka_clusters.get(pipeline.kafka_cluster)
        if cluster is None:
            out.append(Problem(
                where, "kafka-pipeline-cluster-unknown",
                f"kafka_cluster {pipeline.kafka_cluster} is not in kafka_clusters"))
        for target in pipeline.clusters:
            if target not in estate.search_clusters:
                out.append(Problem(
                    where, "kafka-pipeline-target-unknown",
                    f"cluster {target} is not in search_clusters"))
        for target, count in Counter(pipeline.clusters).items():
            if count > 1:
                out.append(Problem(
                    where, "kafka-pipeline-target-twice",
                    f"cluster {target} is listed {count} times: one consumer group per cluster"))
        out += _dead_letter(where, pipeline, cluster)
        out += _document_id(where, pipeline)
        if pipeline.auto_offset_reset == "latest":
            out.append(Problem(
                where, "kafka-pipeline-starts-at-latest",
                "auto_offset_reset is 'latest': a cluster whose consumer group is new (added, "
                "or its offsets expired while it was down) skips every message before it "
                "started; 'earliest' fills it from what Kafka retains", "warning"))
        if cluster is not None:
            known = [t for t in pipeline.topics if t in cluster.topics]
            for topic in pipeline.topics:
                if topic not in cluster.topics:
                    out.append(Problem(
                        where, "kafka-pipeline-topic-unknown",
                        f"topic {topic} is not a topic of kafka cluster "
                        f"{pipeline.kafka_cluster}: declare it (topics are code, automatic "
                        "creation is off)"))
            out += _retention(name, pipeline, pipeline.kafka_cluster, cluster, known)
            partitions = sum(cluster.topics[t].partitions for t in known)
            if known and pipeline.consumer_threads > partitions:
                out.append(Problem(
                    where, "kafka-pipeline-threads-above-partitions",
                    f"consumer_threads {pipeline.consumer_threads} > {partitions} partition(s): "
                    "a consumer gets at most one partition's share, the rest sit idle",
                    "warning"))
    for name, target in sorted(estate.search_clusters.items()):
        plain = [url for url in target.hosts if url.startswith("http://")]
        if plain:
            out.append(Problem(
                f"search cluster {name}", "kafka-target-plain-http",
                f"{plain[0]} is plain HTTP: the pipeline's password and every document cross "
                "the network in clear; use https://", "warning"))
        if target.esdr_users and "user" in target.model_fields_set:
            out.append(Problem(
                f"search cluster {name}", "kafka-target-user-without-password",
                f"user {target.user} is named but neither password_variable nor password_file: "
                "esdr gives each pipeline its own user here instead, and user is not used; "
                "remove user, or name its password", "warning"))
        out += _pipeline_hosts(name, target.pipeline_hosts, estate.fed_by(name))
    return out


def _pipeline_hosts(name: str, hosts: list[str], feeding: list[str]) -> list[Problem]:
    """Where the services feeding search cluster ``name`` run (``pipeline_hosts``)."""
    where = f"search cluster {name}"
    out = [Problem(f"host {host}", "kafka-pipeline-host-twice",
                   f"is listed {count} times in pipeline_hosts of search cluster {name}: one "
                   "service per pipeline and host; list it once")
           for host, count in sorted(Counter(hosts).items()) if count > 1]
    if feeding and not hosts:
        out.append(Problem(
            where, "kafka-pipeline-runs-nowhere",
            f"pipeline(s) {', '.join(feeding)} write here but pipeline_hosts names no host: "
            "nothing deploys the services that feed this cluster; name the hosts that run "
            "them (hosts of its data centre, in different zones)", "warning"))
    elif feeding and len(set(hosts)) == 1:
        out.append(Problem(
            f"host {hosts[0]}", "kafka-pipeline-one-host",
            f"is the only host in pipeline_hosts of search cluster {name}: while it is down "
            "nothing feeds the cluster (nothing is lost, Kafka keeps the backlog until "
            "retention.ms); name a second host in another zone", "warning"))
    elif hosts and not feeding:
        out.append(Problem(
            where, "kafka-pipeline-hosts-idle",
            f"pipeline_hosts names {', '.join(sorted(set(hosts)))} but no pipeline writes to "
            "this cluster: nothing runs there", "warning"))
    return out


def _dead_letter(where: str, pipeline: Any, cluster: KafkaCluster | None) -> list[Problem]:
    dead = pipeline.dead_letter_topic
    if dead is None:
        return [Problem(
            where, "kafka-pipeline-no-dead-letter",
            "no dead_letter_topic: a message the cluster refuses (mapping error, no key, not "
            "JSON) would be dropped or block the pipeline; name a topic for them")]
    out = []
    if dead in pipeline.topics:
        out.append(Problem(
            where, "kafka-pipeline-dead-letter-is-source",
            f"dead_letter_topic {dead} is also a topic it reads: refused messages would come "
            "back forever"))
    if cluster is not None and dead not in cluster.topics:
        out.append(Problem(
            where, "kafka-pipeline-dead-letter-unknown",
            f"dead_letter_topic {dead} is not a topic of kafka cluster {pipeline.kafka_cluster}: "
            "declare it"))
    return out


def _document_id(where: str, pipeline: Any) -> list[Problem]:
    if pipeline.document_id == "key":
        return []
    if pipeline.document_id == "auto":
        return [Problem(
            where, "kafka-pipeline-id-not-from-key",
            "document_id is 'auto': the cluster gives every write a new _id, so a replay (a DC "
            "catching up, a consumer restarted before its commit) duplicates documents; use "
            "'key'")]
    return [Problem(
        where, "kafka-pipeline-id-not-from-key",
        f"document_id is the field {pipeline.document_id_field!r}, not the message key: Kafka "
        "orders messages per key (the key picks the partition), so two messages for one "
        "document under different keys may be applied out of order; use 'key' unless the "
        "field always equals the key", "warning")]



def validate_deployable(name: str, cluster: KafkaCluster) -> list[Problem]:
    """What the deploy needs beyond a sound design: an archive to install, checked against a
    digest (as the Elasticsearch archive is: an unchecked download from a mirror runs as the
    service on every host)."""
    where = f"kafka cluster {name}"
    install = cluster.install
    if install.archive_url is None:
        return [Problem(
            where, "kafka-archive-missing",
            "install.archive_url is not set: point it at kafka_2.13-<version>.tgz (or a jar-set "
            "tarball with libs/) on the estate's mirror, with install.sha512")]
    if install.sha512 is None:
        return [Problem(
            where, "kafka-archive-unchecked",
            f"install.archive_url {install.archive_url} has no install.sha512: the archive "
            "would run unchecked on every host; Apache publishes <archive>.sha512 beside each "
            "release (https://downloads.apache.org/kafka/)")]
    return []


def check_section(raw_estate: object) -> tuple[KafkaEstate | None, list[Problem]]:
    """The estate's ``kafka:`` section checked as the deploy's preflight checks it before any
    host is touched: its shape, the design rules and what the install needs. ``(None, [])``
    when the estate has no such section; ``(None, problems)`` when it cannot be read."""
    section = raw_estate.get("kafka") if isinstance(raw_estate, Mapping) else None
    if section is None:
        return None, []
    source = f"estate {raw_estate.get('_source', 'estate')}: kafka"  # type: ignore[union-attr]
    if not isinstance(section, Mapping):
        return None, [Problem(source, "input-wrong-type",
                              "must be a mapping of kafka_clusters, search_clusters, pipelines")]
    model, problems = parse_kafka_estate(section, source)
    if model is None:
        return None, problems
    deployable = [p for name, cluster in sorted(model.kafka_clusters.items())
                  for p in validate_deployable(name, cluster)]
    deployable += validate_pipelines_deployable(model)
    return model, problems + validate_estate(model) + deployable


def cluster_summary(name: str, cluster: KafkaCluster) -> str:
    """One line for ``esdr validate``: the cluster's nodes, their zones, its topics."""
    zones = sorted({node.zone for node in (*cluster.controllers.values(),
                                           *cluster.brokers.values())})
    topics = ", ".join(sorted(cluster.topics)) or "none"
    return (f"kafka cluster {name}, {len(cluster.brokers)} brokers, "
            f"{len(cluster.controllers)} controllers, zones {', '.join(zones)}, "
            f"topics {topics}")


def validate_pipelines_deployable(estate: KafkaEstate) -> list[Problem]:
    """What the deploy of the pipeline services needs beyond a sound design: a wheelhouse to
    fill the hosts' venv from (the hosts install nothing from the internet)."""
    hosts = estate.pipeline_host_names()
    out = []
    if hosts and estate.pipeline_install.wheelhouse_url is None:
        out.append(Problem(
            f"host {hosts[0]}", "kafka-pipeline-wheelhouse-missing",
            "runs pipeline services but pipeline_install.wheelhouse_url is not set: point it at "
            "the estate's directory of wheels (esdr's lock: esdr/kafka/pipeline-requirements.txt;"
            " docs/kafka-dual-write.md, \"The pipeline hosts' Python\")"))
    return out + _logstash_deployable(estate)


def _logstash_deployable(estate: KafkaEstate) -> list[Problem]:
    """A search cluster fed through Logstash needs the archive to install it from, checked
    against a digest, with a name the version can be read from (the install directory)."""
    clusters = [name for name, cluster in sorted(estate.search_clusters.items())
                if cluster.pipeline_backend == "logstash" and cluster.pipeline_hosts
                and estate.fed_by(name)]
    if not clusters:
        return []
    where = f"search cluster {clusters[0]}"
    install = estate.logstash_install
    if install.archive_url is None:
        return [Problem(
            where, "kafka-logstash-archive-missing",
            "pipeline_backend is logstash but logstash_install.archive_url is not set: point it "
            "at Elastic's logstash-<version>-linux-x86_64.tar.gz on the estate's mirror, with "
            "logstash_install.sha512 (docs/kafka-dual-write.md, \"Deploying Logstash\")")]
    out = []
    if install.sha512 is None:
        out.append(Problem(
            where, "kafka-logstash-archive-unchecked",
            f"logstash_install.archive_url {install.archive_url} has no logstash_install.sha512: "
            "the archive would run unchecked on every pipeline host; Elastic publishes "
            "<archive>.sha512 beside each release"))
    try:
        archive_version(install.archive_url)
    except ValueError as error:
        out.append(Problem(where, "kafka-logstash-archive-name", str(error)))
    return out
