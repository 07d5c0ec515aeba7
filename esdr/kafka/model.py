"""The typed shape of the Kafka dual-write design: Kafka clusters (KRaft controllers and brokers
by host, with their zone), topics as code, the search clusters a pipeline writes to, and the
consumer pipelines. Pure: plain data in, frozen pydantic models or ``Problem``s out.

Strict models as in ``esdr.schema`` (no coercion, unknown keys refused). The defaults are the
safe ones and each names what it protects against (docs/kafka-dual-write.md):

- replication factor 3 and ``min.insync.replicas`` 2: a message a producer with ``acks=all`` was
  told is written is on at least two brokers
  (https://kafka.apache.org/44/configuration/topic-configs/#topicconfigs_min.insync.replicas);
- ``unclean.leader.election.enable`` false: a replica that missed acknowledged messages is
  never made leader, which would silently drop them
  (https://kafka.apache.org/44/configuration/topic-configs/#topicconfigs_unclean.leader.election.enable);
- TLS on every listener with client certificates required: Kafka's listeners are plaintext and
  unauthenticated unless configured otherwise
  (https://kafka.apache.org/44/security/encryption-and-authentication-using-ssl/).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from esdr.problems import Problem
from esdr.schema import AbsPath, AliasName, EnvName, Name, Port

# Kafka's own rule for topic names: ASCII letters, digits, '.', '_' and '-', at most 249
# characters, never '.' or '..' (org.apache.kafka.common.internals.Topic.validate;
# https://kafka.apache.org/44/operations/basic-kafka-operations/#adding-and-removing-topics).
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# A host name as a listener or a bootstrap server: RFC 1123 labels.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
# Topic config keys are dotted lower-case words (retention.ms); values end up in Kafka's
# AdminClient and in `esdr plan` lines, never in a properties file.
_CONFIG_KEY = re.compile(r"^[a-z][a-z0-9]*(?:\.[a-z0-9]+)*$")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._,:/+-]{0,256}$")
MAX_NODE_ID = 2**31 - 1  # node.id is a Java int
# The client identity esdr itself uses to converge topics (esdr.kafka_io): issued from the
# estate CA like the identities of ``tls.clients``, for every cluster, without being named there.
ADMIN_CLIENT = "esdr-admin"
# Kafka's broker default for how long a message is kept (log.retention.hours=168: 7 days,
# https://kafka.apache.org/44/configuration/broker-configs/#brokerconfigs_log.retention.hours),
# which a topic without its own retention.ms gets: esdr's brokers do not change it.
DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000


def _topic_name(value: str) -> str:
    if not _TOPIC.match(value) or value in (".", ".."):
        raise PydanticCustomError(
            "bad_name",
            "is not a Kafka topic name: 1-249 ASCII letters, digits, '.', '_' or '-', not '.' "
            "or '..'",
        )
    return value


def _address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not _HOSTNAME.match(value):
        raise PydanticCustomError(
            "bad_address", "is not a host name or an IP address (it is written into listeners)"
        )
    return value


def _config_key(value: str) -> str:
    if not _CONFIG_KEY.match(value):
        raise PydanticCustomError(
            "bad_settings_key", "is not a Kafka config name (dotted lower-case words, e.g. "
            "retention.ms)",
        )
    return value


def _config_value(value: Any) -> Any:
    if isinstance(value, str) and not _SAFE_VALUE.match(value):
        raise PydanticCustomError(
            "bad_value", "is not a plain config value (letters, digits and . _ , : / + -)"
        )
    return value


def _https_url(value: str) -> str:
    if not re.match(r"^https?://[A-Za-z0-9.\-\[\]:]+(?::[0-9]{1,5})?/?$", value):
        raise PydanticCustomError(
            "bad_address", "is not an http(s)://host:port URL of a search cluster node"
        )
    return value


TopicName = Annotated[StrictStr, AfterValidator(_topic_name)]
Address = Annotated[StrictStr, AfterValidator(_address)]
ConfigKey = Annotated[StrictStr, AfterValidator(_config_key)]
ConfigValue = Annotated[StrictStr | StrictInt | StrictBool, AfterValidator(_config_value)]
NodeUrl = Annotated[StrictStr, AfterValidator(_https_url)]
Count = Annotated[StrictInt, Field(ge=1, le=100_000)]
Seconds = Annotated[StrictInt, Field(ge=1, le=86_400)]
# A top-level event field a Logstash reference %{[name]} can name without escaping
FieldName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_@.-]{1,128}$")]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class KafkaNode(_Shape):
    """One controller or broker process on one host."""

    zone: Name  # broker.rack for a broker; spreads the controllers' votes for a controller
    node_id: Annotated[StrictInt, Field(ge=0, le=MAX_NODE_ID)]
    address: Address | None = None  # what the others connect to; default: the host name


class KafkaTls(_Shape):
    enabled: StrictBool = True  # off only with `lab: true`: `kafka-tls-off` says so
    dir: AbsPath = "/etc/kafka/tls"  # <host>.p12, truststore.p12, passwords.properties
    client_auth: Literal["required", "requested", "none"] = "required"
    # Client identities (producers, consumers) the deploy issues from the estate CA as PEM
    # key + certificate into the controller's secrets directory (esdr.kafka.tls); their CN is
    # the name, which is the principal Kafka sees (User:CN=<name>).
    clients: list[Name] = Field(default_factory=list)


# A JVM heap size as -Xmx takes it: digits and a unit (m or g)
Heap = Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]{0,5}[mg]$")]
Sha512 = Annotated[StrictStr, Field(pattern=r"^[0-9a-fA-F]{128}$")]


def _archive_url(value: str) -> str:
    if not re.match(r"^(https?|file)://[^\s'\"]+\.(tgz|tar\.gz)$", value):
        raise PydanticCustomError(
            "bad_address", "is not an http(s):// or file:// URL of a .tgz/.tar.gz archive"
        )
    return value


ArchiveUrl = Annotated[StrictStr, AfterValidator(_archive_url)]


class KafkaInstall(_Shape):
    """Where Kafka comes from: the official binary archive (``kafka_2.13-4.4.0.tgz``, one top
    directory holding ``libs/``) or a jar-set tarball with the same ``libs/`` (``top_dir``
    false when ``libs/`` sits at its top level), from the estate's mirror, sha512-checked."""

    archive_url: ArchiveUrl | None = None
    sha512: Sha512 | None = None
    version: Annotated[StrictStr, Field(pattern=r"^[0-9][0-9A-Za-z.+-]{0,63}$")] = "4.4.0"
    top_dir: StrictBool = True
    root: AbsPath = "/opt/kafka"  # <root>/kafka-<version>, and the <root>/current link
    java: AbsPath = "/usr/bin/java"  # Kafka 4 needs Java 17 or later for brokers and controllers


class Topic(_Shape):
    partitions: Count
    replication_factor: Annotated[StrictInt, Field(ge=1, le=32)] | None = None  # None: default
    config: dict[ConfigKey, ConfigValue] = Field(default_factory=dict)


class KafkaCluster(_Shape):
    controllers: dict[Name, KafkaNode]
    brokers: dict[Name, KafkaNode]
    # "dynamic": controller.quorum.bootstrap.servers, KIP-853, what Kafka 4 documents;
    # "static": controller.quorum.voters, the fixed voter set of older releases
    # (https://kafka.apache.org/44/operations/kraft/#provisioning-nodes)
    quorum: Literal["dynamic", "static"] = "dynamic"
    broker_port: Port = 9092
    controller_port: Port = 9093
    default_replication_factor: Annotated[StrictInt, Field(ge=1, le=32)] = 3
    min_insync_replicas: Annotated[StrictInt, Field(ge=1, le=32)] = 2
    unclean_leader_election: StrictBool = False
    tls: KafkaTls = Field(default_factory=KafkaTls)
    lab: StrictBool = False  # a lab may turn TLS off, run one controller; never production
    conf_dir: AbsPath = "/etc/kafka"
    data_dir: AbsPath = "/var/lib/kafka"
    log_dir: AbsPath = "/var/log/kafka"
    user: Name = "kafka"  # the service account the process runs as
    # -Xms and -Xmx: Kafka's own scripts default to 1g; it lives mostly off the page cache,
    # so the heap stays small (https://kafka.apache.org/44/operations/java-version/)
    heap: Heap = "1g"
    install: KafkaInstall = Field(default_factory=KafkaInstall)
    topics: dict[TopicName, Topic] = Field(default_factory=dict)

    def client_identities(self) -> list[str]:
        """The client certificates the deploy issues: ``tls.clients`` and esdr's own admin."""
        return sorted(set(self.tls.clients) | {ADMIN_CLIENT})

    def node(self, host: str) -> KafkaNode:
        return self.controllers.get(host) or self.brokers[host]

    def roles(self, host: str) -> tuple[str, ...]:
        return tuple(role for role, nodes in (("broker", self.brokers),
                                               ("controller", self.controllers))
                     if host in nodes)

    @property
    def hosts(self) -> list[str]:
        return sorted(set(self.controllers) | set(self.brokers))

    def address(self, host: str) -> str:
        return self.node(host).address or host

    def replication_factor(self, topic: str) -> int:
        rf = self.topics[topic].replication_factor
        return self.default_replication_factor if rf is None else rf

    def retention_ms(self, topic: str) -> int | None:
        """How long Kafka keeps a message of ``topic`` by time: its ``retention.ms``, else the
        broker default of 7 days (log.retention.hours=168); None when time deletes nothing:
        -1 (unlimited), a compacted-only topic, or a value Kafka would refuse
        (https://kafka.apache.org/44/configuration/topic-configs/#topicconfigs_retention.ms)."""
        config = self.topics[topic].config
        policy = str(config.get("cleanup.policy", "delete"))
        if "delete" not in policy.split(","):
            return None
        value = config.get("retention.ms", DEFAULT_RETENTION_MS)
        if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
            return None
        number = int(value)
        return None if number < 0 else number

    def topic_min_insync(self, topic: str) -> int:
        value = self.topics[topic].config.get("min.insync.replicas")
        if isinstance(value, bool) or not str(value).isdigit():
            return self.min_insync_replicas  # unset, or not a number: the broker refuses it
        return int(value)


class SearchCluster(_Shape):
    """An Elasticsearch or OpenSearch cluster a pipeline writes to (one per data centre)."""

    engine: Literal["elasticsearch", "opensearch"] = "elasticsearch"
    hosts: Annotated[list[NodeUrl], Field(min_length=1)]
    ca_file: AbsPath = "/etc/logstash/esdr-tls/ca.crt"
    # Without credentials here (neither ``password_variable`` nor ``password_file``), esdr
    # makes each pipeline feeding this cluster its own role and user, which may write to the
    # pipeline's target alone, with a password generated into the estate's secrets directory
    # (esdr.kafka.search_user; docs/kafka-dual-write.md, "The pipeline's own user").
    # With them, every pipeline writes as ``user`` with that password, a user the operator
    # keeps: Logstash reads ${NAME} from its keystore or environment, never from a pipeline
    # file (https://www.elastic.co/docs/reference/logstash/keystore), and the deploy of esdr's
    # pipeline service reads the same variable on the deploying machine, unless
    # ``password_file`` names a file there that holds it (esdr.security.refs).
    user: Name = "esdr_logstash"
    password_variable: EnvName | None = None
    password_file: AbsPath | None = None
    # The hosts that run the pipeline services feeding this cluster (esdr-pipeline@<id>), one
    # instance per pipeline on each; the instances of a pipeline share its consumer group, so
    # Kafka spreads the partitions over them and moves them when a host is lost. Normally hosts
    # of this cluster's data centre in different zones (docs/kafka-dual-write.md, "Where the
    # pipeline services run").
    pipeline_hosts: list[Name] = Field(default_factory=list)
    # What runs the pipelines on those hosts: "esdr", esdr's own consumer service
    # (esdr-pipeline@<id>, docs/kafka-dual-write.md "The pipeline service"), or "logstash",
    # Logstash from the estate's archive (``logstash_install``; "Deploying Logstash"). Both use
    # the same consumer group and Kafka client identity per pipeline, so one can take over from
    # the other at the committed offsets.
    pipeline_backend: Literal["esdr", "logstash"] = "esdr"

    @property
    def esdr_users(self) -> bool:
        """esdr keeps each pipeline's own user here (no credentials given)."""
        return self.password_variable is None and self.password_file is None


class Pipeline(_Shape):
    """One consumer pipeline model, rendered once per search cluster it feeds."""

    kafka_cluster: Name
    topics: Annotated[list[TopicName], Field(min_length=1)]
    target: AliasName  # the alias or index the documents go to
    clusters: Annotated[list[Name], Field(min_length=1)]
    # "key": _id = the message key, so a replay writes the same documents again (idempotent);
    # "field": _id from a field of the message; "auto": the engine picks one (a replay
    # duplicates every document). `kafka-pipeline-id-not-from-key` explains.
    document_id: Literal["key", "field", "auto"] = "key"
    document_id_field: FieldName | None = None
    # "index": last write per key wins (updates apply in partition order); "create": the first
    # write wins and a later one for the same _id is a 409 the output drops
    # (https://www.elastic.co/docs/reference/logstash/plugins/plugins-outputs-elasticsearch#_retry_policy)
    action: Literal["index", "create"] = "index"
    dead_letter_topic: TopicName | None = None
    consumer_threads: Annotated[StrictInt, Field(ge=1, le=256)] = 1
    # a new cluster's group has no committed offset: "earliest" starts from what Kafka still
    # retains, so a cluster added later is filled; "latest" would skip all of it
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    retry_initial_interval: Seconds = 2  # the output plugins' own defaults
    retry_max_interval: Seconds = 64
    # How far behind Kafka each search cluster may fall and still catch up without loss: the
    # longest outage of a data centre (or of its pipeline) the estate means to survive. Every
    # topic the pipeline reads must keep messages longer (`kafka-retention-below-max-lag`,
    # docs/kafka-dual-write.md "Retention and the longest tolerated lag"). Default: one day.
    max_lag_seconds: Annotated[StrictInt, Field(ge=60, le=365 * 86_400)] = 86_400

    @model_validator(mode="after")
    def _field_named(self) -> Pipeline:
        if self.document_id == "field" and not self.document_id_field:
            raise PydanticCustomError(
                "missing", "document_id is 'field' but document_id_field names none"
            )
        return self


def _wheelhouse_url(value: str) -> str:
    if not re.match(r"^(https?|file)://[^\s'\"]+$", value):
        raise PydanticCustomError(
            "bad_address", "is not an http(s):// or file:// URL of a directory of wheels"
        )
    return value


WheelhouseUrl = Annotated[StrictStr, AfterValidator(_wheelhouse_url)]


class PipelineInstall(_Shape):
    """How the pipeline hosts get a Python runtime for the service: a venv made with the
    host's ``python`` (Debian: python3 with python3-venv) and filled by pip from the estate's
    wheelhouse only (``--no-index --find-links``), every wheel checked against the hashes of
    esdr's lock (``--require-hashes``); esdr's own modules come from the deploying machine."""

    wheelhouse_url: WheelhouseUrl | None = None  # a directory listing pip can read
    python: AbsPath = "/usr/bin/python3"
    root: AbsPath = "/opt/esdr-pipeline"  # venv-<lock digest>/, the venv link, esdr.zip


class LogstashInstall(_Shape):
    """Where Logstash comes from on the hosts of a search cluster whose ``pipeline_backend`` is
    logstash: Elastic's archive (``logstash-<version>-linux-x86_64.tar.gz``, one top directory,
    its JDK bundled) from the estate's mirror, checked against ``sha512`` as the Kafka and
    Elasticsearch archives are (https://www.elastic.co/docs/reference/logstash/installing-logstash;
    Elastic publishes ``<archive>.sha512`` beside it)."""

    archive_url: ArchiveUrl | None = None  # the version is read from its file name
    sha512: Sha512 | None = None  # required with archive_url (kafka-logstash-archive-unchecked)
    # -Xms and -Xmx in jvm.options: Logstash's own default is 1g
    # (https://www.elastic.co/docs/reference/logstash/jvm-settings)
    heap: Heap = "1g"


class KafkaEstate(_Shape):
    kafka_clusters: dict[Name, KafkaCluster] = Field(default_factory=dict)
    search_clusters: dict[Name, SearchCluster] = Field(default_factory=dict)
    pipelines: dict[Name, Pipeline] = Field(default_factory=dict)
    pipeline_install: PipelineInstall = Field(default_factory=PipelineInstall)
    logstash_install: LogstashInstall = Field(default_factory=LogstashInstall)

    def pipeline_services(self, host: str, backend: str = "esdr") -> list[tuple[str, str]]:
        """(pipeline, search cluster) of every pipeline ``host`` runs with ``backend``: the
        pipelines feeding each search cluster of that ``pipeline_backend`` whose
        ``pipeline_hosts`` name it."""
        out = []
        for name, pipeline in sorted(self.pipelines.items()):
            for cluster in pipeline.clusters:
                target = self.search_clusters.get(cluster)
                if (target is not None and target.pipeline_backend == backend
                        and host in target.pipeline_hosts):
                    out.append((name, cluster))
        return out

    def logstash_clusters(self, host: str) -> list[str]:
        """The search clusters whose pipelines ``host`` runs in Logstash."""
        return sorted({cluster for _, cluster in self.pipeline_services(host, "logstash")})

    def pipeline_host_names(self, backend: str = "esdr") -> list[str]:
        """Every host that runs a pipeline with ``backend``."""
        return sorted({h for name, cluster in self.search_clusters.items()
                       if self.fed_by(name) and cluster.pipeline_backend == backend
                       for h in cluster.pipeline_hosts})

    def fed_by(self, cluster: str) -> list[str]:
        """The pipelines writing to search cluster ``cluster``."""
        return [name for name, p in sorted(self.pipelines.items()) if cluster in p.clusters]


_RULES = {
    "missing": "input-missing-key",
    "extra_forbidden": "input-unknown-key",
    "bad_name": "input-bad-name",
    "bad_address": "input-bad-address",
    "bad_settings_key": "input-bad-settings-key",
    "bad_value": "input-bad-value",
    "bad_path": "input-bad-path",
    "control_character": "input-control-character",
    "bad_index_name": "input-bad-index-name",
    "string_pattern_mismatch": "input-bad-format",
    "too_short": "input-out-of-range",
}
_RANGE = ("greater_than", "less_than", "greater_than_equal", "less_than_equal")


def parse_kafka_estate(raw: Mapping[str, Any], source: str = "kafka estate"
                       ) -> tuple[KafkaEstate | None, list[Problem]]:
    """The model, or ``None`` and one problem per wrong key (the value is never shown: it may
    be a secret)."""
    try:
        return KafkaEstate.model_validate(raw), []
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            key = ".".join(str(part) for part in item["loc"] if part != "[key]") or "the file"
            kind = item["type"]
            rule = _RULES.get(kind, "input-out-of-range" if kind in _RANGE else "input-wrong-type")
            message = str(item["msg"]).removeprefix("Input ").removeprefix("Value error, ")
            if rule == "input-unknown-key":
                message = "is not a key esdr knows here (typo?)"
            problems.append(Problem(source, rule, f"{key}: {message}"))
        return None, problems
