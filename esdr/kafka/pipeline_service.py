"""esdr's own consumer pipeline service, the pure part: from the model (a ``Pipeline``, its
``KafkaCluster`` and one ``SearchCluster``) the service's config file and its systemd unit, the
decisions the service takes per message and per bulk item, and the lag arithmetic. Pure: text
and values out; the service that talks to Kafka and the engine is ``esdr.kafka_io.pipeline``.

Delivery, and why:

- the consumer group is the Logstash pipeline's (``esdr.kafka.logstash.pipeline_id``), so
  either backend continues from the offsets the other committed;
- offsets are committed by the service itself, synchronously, only after every message of a
  batch was acknowledged by the cluster or written to the dead-letter topic: at least once,
  and the document id (the message key) makes the repeats harmless
  (librdkafka ``enable.auto.commit``/``enable.auto.offset.store``,
  https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md);
- per bulk item: 2xx is done; 409 with action ``create`` is done (the document is there); 400
  and 404 are the document's own fault (a mapping conflict) and go to the dead-letter topic, as
  Logstash's elasticsearch output does
  (https://www.elastic.co/docs/reference/logstash/plugins/plugins-outputs-elasticsearch#_retry_policy);
  anything else (429, 5xx, 401/403, no status) is retried with backoff without end: the cluster
  or its credentials are wrong, not the document, and Kafka holds the backlog;
- the password is never in the config file nor the command line: the config names a file
  (mode 0600, owned by the service user) the service reads at start: its first line is the
  password, the second a marker that keeps the file's checksum, which the deploy compares,
  from telling anything about it (``password_text``).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from esdr.kafka.logstash import pipeline_id
from esdr.kafka.model import KafkaEstate
from esdr.kafka.render import bootstrap_servers

CONFIG_VERSION = 1
UNIT_TEMPLATE = "esdr-pipeline@.service"
MODULE = "esdr.kafka_io.pipeline"
EXIT_OK = 0
EXIT_FAILED = 1  # a Kafka fatal error, an unexpected failure: systemd restarts the service
EXIT_CONFIG = 2  # a config the service cannot run (or a rejected document and no dead-letter
#                  topic): restarting would fail the same way, so the unit does not
#                  (RestartPreventExitStatus)

# Headers on a dead letter: the original key and value are kept as they were, so a dead letter
# can be produced back to the source topic once the cause is fixed.
HEADER_PREFIX = "esdr.dead_letter."


@dataclass(frozen=True)
class ServicePaths:
    """Where a pipeline host keeps the service's files."""

    conf_dir: str = "/etc/esdr-pipeline"  # <id>.json and <id>.password
    tls_dir: str = "/etc/esdr-pipeline/tls"  # <id>.crt/.key, kafka-ca.crt, ca.crt
    # the venv holding the service's third-party packages (esdr.kafka.pipeline_runtime)
    python: str = "/opt/esdr-pipeline/venv/bin/python"
    # esdr's own modules the service imports, as one zip on PYTHONPATH (zipimport); None: esdr
    # is installed in ``python``'s environment
    code: str | None = "/opt/esdr-pipeline/esdr.zip"
    user: str = "esdr-pipeline"
    # the service account's home, its own (the service keeps no state there): a home owned by
    # root, as conf_dir is, made the account's operation and the directory's undo each other
    # on every run
    home: str = "/var/lib/esdr-pipeline"
    unit_dir: str = "/etc/systemd/system"


Seconds = Annotated[float, Field(gt=0, le=86_400)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class KafkaSide(_Shape):
    bootstrap_servers: StrictStr
    group_id: StrictStr
    client_id: StrictStr
    # static membership (KIP-345, librdkafka group.instance.id): a restarted instance gets its
    # partitions back at once instead of after session.timeout.ms of the killed one, and a
    # second process started by mistake with the same id is fenced rather than sharing them
    group_instance_id: StrictStr | None = None
    topics: list[StrictStr]
    auto_offset_reset: Literal["earliest", "latest"]
    # SSL: librdkafka's PEM files (ssl.ca.location, ssl.certificate.location, ssl.key.location;
    # CONFIGURATION.md above); PLAINTEXT only for a lab cluster (`lab: true`, tls off)
    security_protocol: Literal["SSL", "PLAINTEXT"]
    ssl_ca_location: StrictStr | None = None
    ssl_certificate_location: StrictStr | None = None
    ssl_key_location: StrictStr | None = None


class EngineSide(_Shape):
    engine: Literal["elasticsearch", "opensearch"]
    hosts: list[StrictStr]
    index: StrictStr
    user: StrictStr | None
    password_file: StrictStr | None  # read at start; None: no authentication (a lab engine)
    ca_file: StrictStr | None  # the estate CA for https hosts
    request_timeout: StrictInt = 60


class ServiceConfig(_Shape):
    """The whole config file of one service (one pipeline feeding one search cluster)."""

    version: Literal[1] = CONFIG_VERSION
    service: StrictStr  # the pipeline id: group, client id, unit instance, log prefix
    pipeline: StrictStr
    cluster: StrictStr
    kafka: KafkaSide
    target: EngineSide
    document_id: Literal["key", "field", "auto"]
    document_id_field: StrictStr | None = None
    action: Literal["index", "create"]
    dead_letter_topic: StrictStr | None
    retry_initial_interval: Seconds = 2
    retry_max_interval: Seconds = 64
    batch_size: Annotated[StrictInt, Field(ge=1, le=10_000)] = 500
    poll_timeout: Annotated[float, Field(gt=0, le=60)] = 1.0  # one consume()'s wait, seconds
    log_interval: Annotated[float, Field(gt=0)] = 60.0  # seconds between info lines with counts
    verbose: StrictBool = False  # one debug line per batch


def instance_id(pipeline_name: str, cluster_name: str, host: str | None = None) -> str:
    """The service's static group member id: the pipeline id, and the host's name when several
    hosts run the same service (each must be a member of its own, or Kafka fences one of them).
    Kafka's rule for it: at most 249 of [a-zA-Z0-9._-] (JoinGroupRequest)."""
    ident = pipeline_id(pipeline_name, cluster_name)
    return ident if host is None else f"{ident}-{host}"


def render_config(estate: KafkaEstate, pipeline_name: str, cluster_name: str,
                  paths: ServicePaths = ServicePaths(), host: str | None = None
                  ) -> ServiceConfig:
    """The config of the service feeding ``cluster_name`` from ``pipeline_name`` (on ``host``,
    one of the cluster's ``pipeline_hosts``: its member id and client id name it)."""
    pipeline = estate.pipelines[pipeline_name]
    kafka = estate.kafka_clusters[pipeline.kafka_cluster]
    target = estate.search_clusters[cluster_name]
    ident = pipeline_id(pipeline_name, cluster_name)
    member = instance_id(pipeline_name, cluster_name, host)
    tls = kafka.tls.enabled
    https = any(h.startswith("https://") for h in target.hosts)
    return ServiceConfig(
        service=ident, pipeline=pipeline_name, cluster=cluster_name,
        kafka=KafkaSide(
            bootstrap_servers=bootstrap_servers(kafka), group_id=ident, client_id=member,
            group_instance_id=member,
            topics=list(pipeline.topics), auto_offset_reset=pipeline.auto_offset_reset,
            security_protocol="SSL" if tls else "PLAINTEXT",
            ssl_ca_location=f"{paths.tls_dir}/kafka-ca.crt" if tls else None,
            ssl_certificate_location=f"{paths.tls_dir}/{ident}.crt" if tls else None,
            ssl_key_location=f"{paths.tls_dir}/{ident}.key" if tls else None,
        ),
        target=EngineSide(
            engine=target.engine, hosts=list(target.hosts), index=pipeline.target,
            # the pipeline's own user (esdr.kafka.search_user names it after the pipeline id)
            # unless the estate gives the cluster a user and password of its own
            user=ident if target.esdr_users else target.user,
            password_file=password_file(pipeline_name, cluster_name, paths),
            ca_file=f"{paths.tls_dir}/ca.crt" if https else None,
        ),
        document_id=pipeline.document_id, document_id_field=pipeline.document_id_field,
        action=pipeline.action, dead_letter_topic=pipeline.dead_letter_topic,
        retry_initial_interval=pipeline.retry_initial_interval,
        retry_max_interval=pipeline.retry_max_interval,
    )


def config_text(config: ServiceConfig) -> str:
    """The file's bytes: JSON, keys in the model's order, the same on every run."""
    return config.model_dump_json(indent=2) + "\n"


def load_config(text: str) -> ServiceConfig:
    """The config back from its file (``pydantic.ValidationError`` when it is not one)."""
    return ServiceConfig.model_validate(json.loads(text), strict=True)


def config_path(pipeline_name: str, cluster_name: str,
                paths: ServicePaths = ServicePaths()) -> str:
    return f"{paths.conf_dir}/{pipeline_id(pipeline_name, cluster_name)}.json"


def password_file(pipeline_name: str, cluster_name: str,
                  paths: ServicePaths = ServicePaths()) -> str:
    """The deploy writes the search cluster's password there (``password_text``, 0600 the
    service user); the service reads it at start."""
    return f"{paths.conf_dir}/{pipeline_id(pipeline_name, cluster_name)}.password"


def password_text(password: str, marker: str) -> str:
    """The password file: the password on the first line; then ``marker`` (an HMAC from the
    estate key, ``esdr.security.config.marker``) so that the file's sha256, which pyinfra
    compares and may print, cannot be brute-forced back to a short password."""
    if not password or "\n" in password or "\r" in password:
        raise ValueError("the search cluster's password must be one non-empty line")
    return f"{password}\n# esdr: {marker}\n"


def password_from_text(text: str) -> str:
    """What the service authenticates with: the file's first line."""
    return text.split("\n", 1)[0].rstrip("\r")


def client_identity(pipeline_name: str, cluster_name: str) -> str:
    """The Kafka client certificate's CN (the principal ``User:CN=<id>`` Kafka sees) of the
    services feeding ``cluster_name`` from ``pipeline_name``: the pipeline id, the name of the
    consumer group it reads as, so an authorizer's ACL can pair the two. Issued from the
    estate CA like the identities of ``tls.clients`` (esdr.tasks.kafka_pipeline)."""
    return pipeline_id(pipeline_name, cluster_name)


def unit_name(pipeline_name: str, cluster_name: str) -> str:
    """The instance of the template unit: ``esdr-pipeline@esdr-orders-esdr-dc1.service``."""
    return f"esdr-pipeline@{pipeline_id(pipeline_name, cluster_name)}.service"


def render_unit(paths: ServicePaths = ServicePaths(), restart_sec: int = 5,
                stop_timeout: int = 90) -> str:
    """The template unit every instance runs from; ``%i`` is the pipeline id
    (https://www.freedesktop.org/software/systemd/man/latest/systemd.unit.html#Specifiers).

    - ``Restart=always`` with ``RestartSec``: a crash or a Kafka fatal error restarts it; what
      was not committed is read again. ``StartLimitIntervalSec=0``: never give up restarting
      (https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html#Restart=).
    - ``RestartPreventExitStatus=2``: a config it cannot run, or a rejected document with no
      dead-letter topic, fails the same way every time; it stays stopped and says why.
    - ``TimeoutStopSec``: SIGTERM lets the bulk request in flight finish (bounded by the
      engine's request timeout, 60 s) before the consumer leaves its group; then SIGKILL,
      which loses nothing either (offsets only move after acknowledgement).
    """
    return "\n".join([
        "# esdr: the consumer pipeline service, one instance per pipeline and search cluster",
        "# (esdr-pipeline@<pipeline id>.service). Rendered by esdr; a change made here is undone",
        "# by the next deploy.",
        "[Unit]",
        "Description=esdr consumer pipeline %i (Kafka -> search cluster)",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=exec",
        f"User={paths.user}",
        f"Group={paths.user}",
        f"ExecStart={paths.python} -m {MODULE} --config {paths.conf_dir}/%i.json",
        "Environment=PYTHONUNBUFFERED=1",
        *([f"Environment=PYTHONPATH={paths.code}"] if paths.code else []),
        "Restart=always",
        f"RestartSec={restart_sec}",
        f"RestartPreventExitStatus={EXIT_CONFIG}",
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={stop_timeout}",
        # nothing to write anywhere: the state is the group's offsets in Kafka
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def cluster_files(estate: KafkaEstate, cluster_name: str,
                  paths: ServicePaths = ServicePaths()) -> dict[str, str]:
    """Every file a host running the services feeding ``cluster_name`` needs, by path: the
    template unit and one config per pipeline (the password files are the deploy's: secrets)."""
    files = {f"{paths.unit_dir}/{UNIT_TEMPLATE}": render_unit(paths)}
    for name, pipeline in sorted(estate.pipelines.items()):
        if cluster_name in pipeline.clusters:
            files[config_path(name, cluster_name, paths)] = config_text(
                render_config(estate, name, cluster_name, paths))
    return files


# ---------------------------------------------------------------------------------------------
# What the service decides, per message and per bulk item

@dataclass(frozen=True)
class Prepared:
    """One message as a bulk action, or the reason it is a dead letter without being sent."""

    action: dict[str, Any] | None = None
    reject: str | None = None


def prepare(config: ServiceConfig, key: bytes | None, value: bytes | None) -> Prepared:
    """The bulk action for one message (``_op_type``, ``_index``, ``_id``, ``_source``, as
    the clients' bulk helpers take them), or why it cannot be indexed: no value, not a JSON
    object, or no usable id (a missing id would make every such message one document)."""
    if value is None:
        return Prepared(reject="no value (a tombstone): nothing to index")
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, ValueError) as error:
        return Prepared(reject=f"not JSON: {error}")
    if not isinstance(document, dict):
        return Prepared(reject=f"not a JSON object but a {type(document).__name__}")
    action: dict[str, Any] = {"_op_type": config.action, "_index": config.target.index,
                              "_source": document}
    if config.document_id == "key":
        if not key:
            return Prepared(reject="no message key to make the document id from")
        try:
            action["_id"] = key.decode("utf-8")
        except UnicodeDecodeError:
            return Prepared(reject="the message key is not UTF-8 text")
    elif config.document_id == "field":
        field = document.get(config.document_id_field or "")
        if field is None or isinstance(field, (dict, list, bool)) or field == "":
            return Prepared(reject=f"no usable id in field {config.document_id_field!r}")
        action["_id"] = str(field)
    return Prepared(action=action)


Outcome = Literal["done", "dead", "retry"]


def item_outcome(status: int | None, action: str) -> Outcome:
    """One bulk item's fate from its HTTP status."""
    if status is not None and 200 <= status < 300:
        return "done"
    if status == 409 and action == "create":
        return "done"  # create: the first write wins, the document is there
    if status in (400, 404):
        return "dead"  # the document's own fault: a mapping conflict, a bad id
    return "retry"  # 429, 5xx, 401/403, no answer: the cluster's state, not the document's


def superseded(ids: Sequence[str | None], acknowledged: Sequence[bool], action: str
               ) -> list[bool]:
    """For a retry: which failed items need not be sent again because a later message of the
    same batch for the same id was acknowledged. With ``index`` the later one is the newer
    state: sending the older again would undo it. (With ``create`` the retry is a 409: done.)"""
    out = [False] * len(ids)
    if action != "index":
        return out
    later_acked: set[str] = set()
    for position in range(len(ids) - 1, -1, -1):
        ident = ids[position]
        if ident is None:
            continue
        if acknowledged[position]:
            later_acked.add(ident)
        elif ident in later_acked:
            out[position] = True
    return out


def backoff(attempt: int, initial: float, maximum: float) -> float:
    """Seconds before retry ``attempt`` (0-based): doubling from ``initial`` up to ``maximum``,
    as the Logstash outputs' retry_initial_interval/retry_max_interval."""
    return float(min(maximum, initial * (2 ** min(attempt, 30))))


def commit_offsets(positions: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int], int]:
    """What to commit for the messages of an acknowledged batch, (topic, partition, offset)
    each: per partition the last offset + 1, the next message to read (Kafka's committed
    offset convention)."""
    out: dict[tuple[str, int], int] = {}
    for topic, partition, offset in positions:
        out[(topic, partition)] = max(out.get((topic, partition), -1), offset + 1)
    return out


def dead_letter_headers(config: ServiceConfig, reason: str, status: str, topic: str,
                        partition: int, offset: int) -> list[tuple[str, bytes]]:
    fields = {"reason": reason[:2000], "status": status, "cluster": config.cluster,
              "pipeline": config.pipeline, "service": config.service, "topic": topic,
              "partition": str(partition), "offset": str(offset)}
    return [(HEADER_PREFIX + k, v.encode()) for k, v in fields.items()]


# ---------------------------------------------------------------------------------------------
# Lag: how far a group is behind, in messages and in seconds

@dataclass(frozen=True)
class PartitionLag:
    """One partition's lag. ``messages``/``seconds`` None: unknown, ``reason`` says why and
    ``messages_at_most``/``seconds_at_most`` bound it when something is known. Never 0 when
    unknown: a 0 would read as "caught up"."""

    topic: str
    partition: int
    messages: int | None
    seconds: float | None
    messages_at_most: int | None = None
    seconds_at_most: float | None = None
    expired: int = 0  # messages deleted by retention before the group read them: lost to it
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.messages is not None and self.seconds is not None

    def text(self) -> str:
        where = f"{self.topic}[{self.partition}]"
        if self.messages is None:
            bound = (f" (at most {self.messages_at_most} messages)"
                     if self.messages_at_most is not None else "")
            return f"{where}: lag unknown{bound}: {self.reason}"
        seconds = (f"{self.seconds:.1f}s" if self.seconds is not None else
                   f"? s ({self.reason})")
        lost = f", {self.expired} expired unread" if self.expired else ""
        return f"{where}: {self.messages} messages, {seconds}{lost}"


def partition_lag(topic: str, partition: int, committed: int | None, low: int | None,
                  high: int | None, next_timestamp_ms: int | None, now_ms: int,
                  unreachable: str | None = None) -> PartitionLag:
    """Lag from the group's committed offset (None: it never committed here), the partition's
    watermarks (None: not readable) and the timestamp of the first message the group has not
    consumed (the one at the committed offset, or at ``low`` when there is no commit or it
    expired; None: not read)."""
    if unreachable is not None or low is None or high is None:
        return PartitionLag(topic, partition, None, None,
                            reason=unreachable or "the partition's offsets could not be read")
    age = (max(0.0, (now_ms - next_timestamp_ms) / 1000.0)
           if next_timestamp_ms is not None else None)
    if committed is None or committed < 0:
        # a new group starts at auto.offset.reset: earliest reads all that is retained
        return PartitionLag(topic, partition, None, None, messages_at_most=max(0, high - low),
                            seconds_at_most=age, reason="the group has no committed offset here")
    if committed >= high:
        return PartitionLag(topic, partition, 0, 0.0)
    expired = max(0, low - committed)
    messages = high - max(committed, low)
    if age is None:
        return PartitionLag(topic, partition, messages, None, expired=expired,
                            reason="the next message's timestamp could not be read")
    return PartitionLag(topic, partition, messages, age, expired=expired)


@dataclass(frozen=True)
class GroupLag:
    """A group's lag over its partitions: the sum of messages and the oldest unread message's
    age. ``messages`` None when any partition is unknown; ``messages_at_least`` then sums the
    known ones."""

    messages: int | None
    seconds: float | None
    messages_at_least: int
    expired: int
    partitions: tuple[PartitionLag, ...]
    # the cluster gave no answer at all (its metadata): why; the partitions then say nothing
    unreachable: str | None = None

    def text(self) -> str:
        if self.unreachable is not None:
            return f"lag unknown: {self.unreachable}"
        if self.messages is None:
            unknown = [p for p in self.partitions if p.messages is None]
            if not unknown:
                return "lag unknown: no partition could be read"
            bounds = [p.messages_at_most for p in unknown]
            most = ("" if any(b is None for b in bounds) else
                    f", at most {self.messages_at_least + sum(b or 0 for b in bounds)}")
            return (f"lag unknown (at least {self.messages_at_least} messages{most}; "
                    f"{len(unknown)} partition(s) unknown: {unknown[0].reason})")
        seconds = f"{self.seconds:.1f}s" if self.seconds is not None else "? s"
        lost = f", {self.expired} expired unread" if self.expired else ""
        return f"lag {self.messages} messages, {seconds}{lost}"


def group_lag(partitions: Sequence[PartitionLag], unreachable: str | None = None) -> GroupLag:
    known = [p.messages for p in partitions if p.messages is not None]
    messages = sum(known) if len(known) == len(partitions) and partitions else None
    ages = [p.seconds for p in partitions if p.messages]  # a caught-up partition adds no age
    seconds: float | None = 0.0
    if any(a is None for a in ages) or messages is None:
        seconds = None
    elif ages:
        seconds = max(a for a in ages if a is not None)
    return GroupLag(messages, seconds, sum(known), sum(p.expired for p in partitions),
                    tuple(partitions), unreachable)


def lag_summary(lags: Mapping[str, GroupLag]) -> list[str]:
    """One line per service, for the summary and ``esdr status``."""
    return [f"{service}: {lag.text()}" for service, lag in sorted(lags.items())]


# ---------------------------------------------------------------------------------------------
# Instances the estate no longer names on a host

def instance_of(unit: str) -> str | None:
    """The pipeline id of ``esdr-pipeline@<id>.service`` (None: not an instance of ours)."""
    prefix, suffix = "esdr-pipeline@", ".service"
    if unit.startswith(prefix) and unit.endswith(suffix) and len(unit) > len(prefix + suffix):
        return unit[len(prefix):-len(suffix)]
    return None


def leftover_instances(units: Sequence[str], configs: Sequence[str], keep: Sequence[str]
                       ) -> list[str]:
    """The pipeline ids a host still holds (a unit instance systemd knows, or a config file)
    that are not among ``keep``, the ids the estate has it run now: a pipeline dropped from the
    estate, a cluster it no longer feeds, or a host taken out of ``pipeline_hosts``. Left
    running, such an instance keeps consuming in its old group and writing to its old target."""
    held = {i for i in (instance_of(u) for u in units) if i} | set(configs)
    return sorted(held - set(keep))


def retire_commands(ident: str, paths: ServicePaths = ServicePaths()) -> list[str]:
    """Stop and disable the instance ``ident`` (``systemctl disable --now``: its .wants link
    goes, so it does not come back at boot;
    https://www.freedesktop.org/software/systemd/man/latest/systemctl.html#disable%20UNIT%E2%80%A6),
    forget a failed state, then remove its config, password, client certificate and key."""
    unit = shlex.quote(f"esdr-pipeline@{ident}.service")
    files = [f"{paths.conf_dir}/{ident}.json", f"{paths.conf_dir}/{ident}.password",
             f"{paths.tls_dir}/{ident}.crt", f"{paths.tls_dir}/{ident}.key"]
    return [
        # the instance may be unknown to systemd already (only its files were left): not an error
        f"systemctl disable --now {unit} 2>/dev/null || systemctl stop {unit} 2>/dev/null || true",
        f"systemctl reset-failed {unit} 2>/dev/null || true",
        "rm -f " + " ".join(shlex.quote(f) for f in files),
    ]


def retire_template_commands(paths: ServicePaths = ServicePaths()) -> list[str]:
    """A host that runs no pipeline service any more: the template unit goes too."""
    return [f"rm -f {shlex.quote(f'{paths.unit_dir}/{UNIT_TEMPLATE}')}", "systemctl daemon-reload"]
