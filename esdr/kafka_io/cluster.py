"""One Kafka cluster of the estate, reached from this machine: its topics planned against the
estate (``esdr plan``) and converged (the deploy's step after the brokers run), with the record
of the topics esdr manages (``esdr.kafka_io.record``).

How esdr reaches the brokers, and why not as it reaches Elasticsearch: the deploy's cluster-API
calls go through SSH, from each node to its own HTTP port (``esdr.es.connect``,
``esdr.node_api``), because one HTTP request needs one node. A Kafka client does not stay on the
address it was given: ``bootstrap.servers`` is used "for establishing the initial connection to
the Kafka cluster ... the client will make use of all servers irrespective of which servers are
specified here for bootstrapping" (https://kafka.apache.org/44/configuration/admin-configs/#adminclientconfigs_bootstrap.servers);
it then connects to each broker at the address that broker advertises
(``advertised.listeners``, https://kafka.apache.org/44/configuration/broker-configs/#brokerconfigs_advertised.listeners):
the partition leaders for metadata and configs, the controller for topic creation. One SSH
tunnel to one broker would hand the client the other brokers' addresses, which it then dials
directly. So esdr's admin client connects from the machine running esdr or pyinfra straight
to every broker's advertised listener, over TLS (the estate CA), authenticated by the client
certificate ``esdr-admin`` that the deploy issues from the estate CA beside ``tls.clients``
(``esdr.tasks.kafka``, secrets directory ``kafka/<cluster>/clients/esdr-admin.{crt,key}``).
That machine must reach every broker's listener port; when none answers within the bound, the
run stops with one line naming the brokers it tried and how to fix it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka.admin import AdminClient

from esdr.changes import Change, Note
from esdr.errors import BadInput, EsdrError, InvalidProject
from esdr.kafka.model import ADMIN_CLIENT, KafkaCluster, KafkaEstate, parse_kafka_estate
from esdr.kafka.render import bootstrap_servers
from esdr.kafka.topics import (
    KIND,
    REGISTRY_TOPIC,
    TopicPlan,
    plan_of,
    registry_topic,
    with_topics,
)
from esdr.kafka_io.admin import (
    CONVERGE_TIMEOUT,
    TIMEOUT,
    Tls,
    _error,
    admin_client,
    converge_topics,
    observe_topics,
)
from esdr.kafka.validate import validate_estate
from esdr.kafka_io.record import read_record, write_record
from esdr.model import Topology
from esdr.problems import errors
from esdr.paths import confined
from esdr.security import store
from esdr.security.certs import ca_pem_path

# On a deploy, how long the brokers may take to register with the controllers after their
# (re)start (a broker of the lab answers within ~12 s of its start) before topics are planned.
BROKERS_WAIT = 60.0


def admin_identity(topology: Topology, cluster_name: str) -> tuple[Path, Path]:
    """Where the deploy keeps esdr's admin client certificate and key for ``cluster_name``."""
    directory = store.secrets_dir(topology.cluster)
    return tuple(confined(directory / "kafka", cluster_name, "clients", f"{ADMIN_CLIENT}.{ext}",
                          what=f"Kafka admin identity of {cluster_name!r}", follow_links=False)
                 for ext in ("crt", "key"))  # type: ignore[return-value]


def tls_of(topology: Topology, cluster_name: str, cluster: KafkaCluster) -> Tls | None:
    """The client side of the cluster's listeners: None when TLS is off (a lab only)."""
    if not cluster.tls.enabled:
        return None
    ca = ca_pem_path(topology)
    cert, key = admin_identity(topology, cluster_name)
    missing = [str(p) for p in (ca, cert, key) if not p.is_file()]
    if missing:
        raise EsdrError(
            f"kafka {cluster_name}: no {ADMIN_CLIENT} client identity to reach the brokers "
            f"with (missing: {', '.join(missing)})",
            hint=f"run the deploy once: it issues {ADMIN_CLIENT} from the estate CA into the "
            "secrets directory")
    return Tls(str(ca), str(cert), str(key))


def where_of(cluster_name: str, cluster: KafkaCluster) -> str:
    return f"{cluster_name} ({bootstrap_servers(cluster)})"


def admin_for(topology: Topology, cluster_name: str, cluster: KafkaCluster,
              timeout: float = TIMEOUT) -> AdminClient:
    return admin_client(bootstrap_servers(cluster), tls_of(topology, cluster_name, cluster),
                        timeout=timeout)


def registered_brokers(admin: AdminClient, where: str, timeout: float = TIMEOUT) -> set[int]:
    """The node ids of the brokers the cluster knows now (DescribeCluster), bounded."""
    future = admin.describe_cluster(request_timeout=timeout)
    deadline = time.monotonic() + timeout + 5
    while not future.done():  # polled, as admin._results does (threads and gevent alike)
        if time.monotonic() > deadline:
            raise _error("describing the cluster", where,
                         TimeoutError(f"no answer within {timeout + 5:.0f}s"))
        time.sleep(0.02)
    try:
        described = future.result(timeout=0)
    except Exception as error:  # KafkaException: the client's or the broker's answer
        raise _error("describing the cluster", where, error) from None
    return {node.id for node in described.nodes}


def reach(admin: AdminClient, cluster_name: str, cluster: KafkaCluster, *, wait: float = 0.0,
          timeout: float = TIMEOUT) -> list[str]:
    """The estate's brokers not registered in the cluster, after waiting up to ``wait`` seconds
    for all of them. Refused, in one line naming the brokers tried, when none answered."""
    where = where_of(cluster_name, cluster)
    expected = {node.node_id: host for host, node in cluster.brokers.items()}
    deadline = time.monotonic() + wait
    while True:
        try:
            seen = registered_brokers(admin, where, timeout)
        except EsdrError as error:
            if time.monotonic() < deadline:
                time.sleep(1)
                continue
            cause = error.message.removeprefix(f"kafka {where}: ")
            raise EsdrError(
                f"kafka {cluster_name}: no broker answered this machine within "
                f"{max(wait, timeout):.0f}s (tried {bootstrap_servers(cluster)}): {cause}",
                hint="esdr converges topics from the machine running it, connecting to every "
                "broker's advertised listener over TLS with the esdr-admin certificate; let "
                "this machine reach each broker's port (or run esdr from one that can)") \
                from None
        missing = sorted(host for node_id, host in expected.items() if node_id not in seen)
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(1)


def plan_cluster_topics(admin: AdminClient, cluster_name: str, cluster: KafkaCluster, *,
                        wait: float = 0.0, timeout: float = TIMEOUT) -> TopicPlan:
    """Observe the topics and the record, and plan the estate's topics against them; reads
    only. ``wait``: how long the brokers may take to register (a deploy that just started
    them)."""
    where = where_of(cluster_name, cluster)
    missing = reach(admin, cluster_name, cluster, wait=wait, timeout=timeout)
    observed = observe_topics(admin, timeout, where)
    record = read_record(admin.esdr_config, where, timeout) if REGISTRY_TOPIC in observed \
        else None
    notes = [Note("kafka_cluster", cluster_name,
                  f"broker(s) {', '.join(missing)} not registered: a topic whose factor exceeds "
                  "the live brokers cannot be created until they run")] if missing else []
    return plan_of(cluster_name, cluster, observed, record, where, notes)


def converge_cluster_topics(admin: AdminClient, plan: TopicPlan, cluster: KafkaCluster, *,
                            allow_destructive: bool = False, by: str = "deploy",
                            timeout: float = TIMEOUT, settle: float = CONVERGE_TIMEOUT
                            ) -> tuple[list[Change], list[Note], list[Change]]:
    """Apply ``plan`` (observed again, so a change made since is seen) with ``converge_topics``,
    then write the record when what esdr manages changed or a destructive change was made.
    Returns (applied, notes, the topics' changes observed afterwards)."""
    applied, notes, after = converge_topics(
        admin, plan.desired, plan.managed, allow_destructive=allow_destructive,
        timeout=timeout, settle=settle, where=plan.where)
    deleted = {c.name for c in applied if c.kind == KIND and c.action == "deleted"}
    managed = (plan.managed | set(plan.desired)) - deleted
    if managed != plan.managed or any(c.destructive for c in applied):
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_record(admin, with_topics(plan.record, managed, applied, by, at),
                     registry_topic(cluster), plan.where, timeout)
    return applied, notes, after


# --- `esdr plan`: the topics of the inventory's Kafka clusters ---------------------------------


def kafka_estate_of(topology: Topology) -> KafkaEstate | None:
    """The estate's checked Kafka design, None without a ``kafka:`` section; refused (every
    problem listed, as `esdr validate` lists them) when its shape or a design rule is wrong."""
    raw = topology.cluster.settings.get("es_estate")
    section = raw.get("kafka") if isinstance(raw, Mapping) else None
    if section is None:
        return None
    source = f"estate {raw.get('_source', 'estate')}: kafka"
    if not isinstance(section, Mapping):
        raise BadInput(f"{source}: must be a mapping of kafka_clusters, search_clusters, "
                       "pipelines [input-wrong-type]")
    model, problems = parse_kafka_estate(section, source)
    if model is not None:
        problems += validate_estate(model)
    if errors(problems) or model is None:
        raise InvalidProject(source, problems)
    return model


def inventory_hosts(topology: Topology) -> set[str]:
    """Every host of the inventory: its Elasticsearch nodes and the hosts in no es_* group."""
    return {node.host for node in topology.cluster.nodes} | set(topology.ignored_hosts)


def clusters_of(estate: KafkaEstate, hosts: set[str]) -> list[str]:
    """The Kafka clusters an inventory's deploy converges topics of: those whose estate names
    topics and that have a controller or broker among ``hosts``."""
    return sorted(name for name, cluster in estate.kafka_clusters.items()
                  if cluster.topics and set(cluster.hosts) & hosts)


def plan_inventory_topics(topology: Topology, timeout: float = TIMEOUT) -> list[TopicPlan]:
    """The topic plans `esdr plan` shows for this inventory (none without Kafka topics)."""
    estate = kafka_estate_of(topology)
    if estate is None:
        return []
    plans = []
    for name in clusters_of(estate, inventory_hosts(topology)):
        cluster = estate.kafka_clusters[name]
        admin = admin_for(topology, name, cluster, timeout)
        plans.append(plan_cluster_topics(admin, name, cluster, timeout=timeout))
    return plans
