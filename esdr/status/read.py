"""Gather what ``esdr status`` reports, every read bounded by one deadline.

Every read of every DC starts at once, each in its own daemon thread, and the caller waits for
them until one deadline (the CLI gives what is left of ``status_timeout``, 2.2 s from the
command's start by default), never longer: a DC whose hosts were cut answers nothing (its
packets are dropped, no connection is refused), and waiting for each of its TCP or SSH connects
in turn would take a timeout per node and per request. What has not answered by then is
reported as not known, and a DC whose health did not answer as unreachable (CRITICAL), naming
the hosts tried. Threads still waiting are daemon threads, not a ``ThreadPoolExecutor``'s,
which the interpreter joins at exit
(https://docs.python.org/3/library/concurrent.futures.html#threadpoolexecutor): the command
ends at the deadline whatever the network does.

Read-only, but for one write kept from the earlier ``esdr status``: a follower seen in sync has
that time recorded in its cluster's ``esdr-managed`` document (the CLI's pair reader does it),
where ``esdr promote`` bounds the writes at risk.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from esdr.es import client
from esdr.es.client import API_ERRORS, Api
from esdr.es.connect import client_for
from esdr.kafka.model import KafkaCluster
from esdr.kafka.pipeline_service import GroupLag
from esdr.model import Node, Topology
from esdr.reconcile import run
from esdr.security import config as security
from esdr.security.certs import ca_status, certificate_status
from esdr.status.report import (
    Certificate,
    DcStatus,
    Figure,
    FollowerLink,
    PipelineLag,
    Queue,
    Remote,
    Snapshot,
    Thresholds,
    Zone,
    schedule_period,
)


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None
    late: bool = False  # not answered by the deadline


def run_all(calls: Mapping[Any, Callable[[], Any]], deadline: float,
            clock: Callable[[], float] = time.monotonic) -> dict[Any, Outcome]:
    """Every call at once, each in a daemon thread; what each gave by ``deadline`` (a
    ``clock`` time), the others ``late``. Never waits past the deadline."""
    done: dict[Any, Outcome] = {}
    lock = threading.Lock()

    def one(key: Any, call: Callable[[], Any]) -> None:
        try:
            outcome = Outcome(call())
        except BaseException as error:  # reported as this read's answer, never raised here
            outcome = Outcome(error=error)
        with lock:
            done[key] = outcome

    threads = [threading.Thread(target=one, args=item, daemon=True, name=f"esdr-status {item[0]}")
               for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - clock()))
    with lock:
        return {key: done.get(key, Outcome(late=True)) for key in calls}


# the reason inside the client libraries' nested connection errors: the forward's own words
# ("ssh 10.88.0.23:22: timed out") or the connection's ("127.0.0.2:9200: [Errno 111] ...")
_INNER = (re.compile(r"'(ssh [^']*)'"),
          re.compile(r"((?:\d{1,3}\.){3}\d{1,3}:\d+: [^()']*(?:\([^()']*\))?)"))


def describe(error: BaseException) -> str:
    text = client.describe(error) if isinstance(error, API_ERRORS) else str(error)
    for pattern in _INNER:
        inner = pattern.findall(text)
        if inner:
            text = inner[-1]
            break
    return " ".join(text.split())[:300] or type(error).__name__


@dataclass
class Target:
    """One inventory to read: its cluster (None: gateways only) and the CLI's extra readers
    (pairs and gateways come through the CLI's own modules)."""

    dc: str
    inventory: str
    topology: Topology | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    error: str | None = None  # not loaded
    pairs: Callable[[Api, float], list[FollowerLink]] | None = None
    gateways: Mapping[str, Callable[[], list[Queue]]] | None = None  # gateway -> its reader


def hosts_of(topology: Topology) -> tuple[str, ...]:
    port = topology.cluster.settings.get("es_http_port")
    return tuple(f"{n.address}:{port}" for n in topology.cluster.nodes)


def dc_client(topology: Topology, timeout: float, nodes: list[Node] | None = None) -> Api:
    """A client (to ``nodes``, default every node) whose every request and connect is bounded
    by ``timeout``; each node is tried once (a node down costs one connect, then the next)."""
    connect = float(topology.cluster.settings.get("es_remote_connect_timeout") or 1)
    chosen = list(topology.cluster.nodes) if nodes is None else nodes
    return client_for(topology, chosen, request_timeout=timeout,
                      max_retries=max(0, len(chosen) - 1),
                      connect_timeout=min(connect, timeout))


REMOTES = "remotes@"  # + a node's name: its GET _remote/info
GATEWAY = "gateway@"  # + a gateway's name: its queues
PIPELINE = "pipeline@"  # + a pipeline's and a search cluster's names: its group's lag
KAFKA_MARGIN = 0.15  # seconds a Kafka read ends before the run's deadline


def remote_client_nodes(topology: Topology) -> list[Node]:
    """The nodes holding remote connections (every node when none has the role: the
    engine's default roles include it)."""
    nodes = [n for n in topology.cluster.nodes if "remote_cluster_client" in n.roles]
    return nodes or list(topology.cluster.nodes)


def read_all(targets: list[Target], timeout: float, now: datetime | None = None,
             clock: Callable[[], float] = time.monotonic) -> list[DcStatus]:
    """Every target's reads at once; DcStatus per target, in order, by ``timeout`` seconds."""
    start = clock()
    deadline = start + timeout
    now = now or datetime.now(timezone.utc)
    calls: dict[tuple[int, str], Callable[[], Any]] = {}
    errors: dict[int, str] = {}
    claimed: set[tuple[str, str]] = set()  # (pipeline, search cluster) read by a target
    pipes: dict[int, dict[str, PipelineRead]] = {}
    for i, target in enumerate(targets):
        if target.error is not None:
            continue
        try:
            for name, call in _calls(target, timeout, deadline, clock, now).items():
                calls[(i, name)] = call
        except Exception as error:  # a client that cannot be built: its setting is wrong
            errors[i] = describe(error)
            continue
        if target.topology is not None:
            try:
                pipes[i] = pipeline_reads(target.topology, claimed)
            except Exception as error:  # the kafka section: esdr validate says what is wrong
                pipes[i] = {f"{PIPELINE}*": PipelineRead(
                    "(all)", "(all)", "unknown", "unknown", (), "",
                    error=f"the estate's kafka section: {describe(error)}")}
            for name, ref in pipes[i].items():
                if ref.error is None:
                    calls[(i, name)] = lambda ref=ref: lag_of(ref, timeout, deadline, clock)
    outcomes = run_all(calls, deadline, clock)
    seconds = round(clock() - start, 2)
    out = []
    for i, target in enumerate(targets):
        if target.error is not None or i in errors:
            out.append(DcStatus(target.dc, target.inventory, thresholds=target.thresholds,
                                error=target.error or errors[i]))
            continue
        mine = {name: o for (j, name), o in outcomes.items() if j == i}
        found = _status(target, mine, now, timeout, seconds)
        if pipes.get(i):
            found = replace(found, pipelines=tuple(
                pipeline_lag(ref, mine.get(name), timeout) for name, ref in pipes[i].items()))
        out.append(found)
    return out


# --- the MQ pipelines' consumer lag (docs/kafka-dual-write.md) -----------------------------
@dataclass(frozen=True)
class PipelineRead:
    """One consumer group to read: a pipeline feeding one search cluster, and how to reach its
    Kafka cluster (``settings``: librdkafka's, file paths only, never a secret)."""

    pipeline: str
    cluster: str
    kafka: str
    group: str
    topics: tuple[str, ...]
    bootstrap: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None  # esdr cannot ask: why
    # the shortest time-based retention of its topics, as the estate sets it (None: unlimited):
    # a lag that reaches it loses messages (esdr.kafka.model.KafkaCluster.retention_ms)
    retention_ms: int | None = None


def pipeline_reads(topology: Topology, claimed: set[tuple[str, str]]
                   ) -> dict[str, PipelineRead]:
    """The consumer groups of the estate's pipelines (``kafka:`` section) not yet in
    ``claimed`` (added there): one per pipeline and search cluster, the group the Logstash
    pipeline and esdr's pipeline service use (``esdr.kafka.logstash.pipeline_id``). Kafka is
    reached from this machine as ``esdr.kafka_io.cluster`` reaches it for topics: every
    broker's advertised listener, over TLS with the ``esdr-admin`` identity from the estate's
    secrets directory. confluent-kafka is imported only for an estate with pipelines."""
    raw = topology.cluster.settings.get("es_estate")
    if not isinstance(raw, Mapping) or not (raw.get("kafka") or {}).get("pipelines"):
        return {}
    from esdr.kafka.logstash import pipeline_id
    from esdr.kafka.render import bootstrap_servers
    from esdr.kafka_io.cluster import kafka_estate_of

    estate = kafka_estate_of(topology)  # the inventory loaded valid: this section is too
    if estate is None:
        return {}
    out: dict[str, PipelineRead] = {}
    clients: dict[str, tuple[Mapping[str, Any], str | None]] = {}
    for name, pipeline in sorted(estate.pipelines.items()):
        kafka = estate.kafka_clusters[pipeline.kafka_cluster]
        if pipeline.kafka_cluster not in clients:
            clients[pipeline.kafka_cluster] = kafka_client(topology, pipeline.kafka_cluster,
                                                           kafka)
        settings, error = clients[pipeline.kafka_cluster]
        for cluster in pipeline.clusters:
            if (name, cluster) in claimed:
                continue
            claimed.add((name, cluster))
            out[f"{PIPELINE}{name}@{cluster}"] = PipelineRead(
                name, cluster, pipeline.kafka_cluster, pipeline_id(name, cluster),
                tuple(pipeline.topics), bootstrap_servers(kafka), settings, error,
                _shortest_retention(kafka, pipeline.topics))
    return out


def local_pipeline_lags(topology: Topology, timeout: float = 5.0, within: float = 8.0,
                        clock: Callable[[], float] = time.monotonic) -> list[PipelineLag]:
    """The lag of each pipeline group feeding this inventory's cluster (named in the estate's
    ``search_clusters`` by its cluster name or estate alias), read as ``esdr status`` reads
    it, the whole read bounded by ``within`` seconds: what is not read by then is unknown,
    saying why, never 0. None read for an estate without pipelines."""
    refs = pipeline_reads(topology, set())
    _, alias = _estate(topology)
    names = {topology.cluster.name, alias}
    deadline = clock() + within
    out = []
    for ref in refs.values():
        if ref.cluster not in names:
            continue
        got: GroupLag | None = None
        if ref.error is None:
            try:
                got = lag_of(ref, timeout, deadline, clock)
            except Exception as error:  # noqa: BLE001 -- a summary line, not a failed deploy
                why = f"Kafka {ref.kafka} ({ref.bootstrap}): {describe(error)}"
                out.append(PipelineLag(ref.pipeline, ref.cluster, ref.kafka, ref.group,
                                       ref.topics, messages=Figure.missing(why, " msg"),
                                       seconds=Figure.missing(why, " s"), unreachable=why))
                continue
        out.append(pipeline_lag(ref, got, timeout))
    return out


def _shortest_retention(kafka: KafkaCluster, topics: list[str]) -> int | None:
    kept = [kafka.retention_ms(t) for t in topics if t in kafka.topics]
    bounded = [ms for ms in kept if ms is not None]
    return min(bounded) if bounded else None


def kafka_client(topology: Topology, name: str, kafka: KafkaCluster
                 ) -> tuple[Mapping[str, Any], str | None]:
    """librdkafka's settings to reach Kafka cluster ``name`` as esdr-admin, or why not."""
    from esdr.errors import EsdrError
    from esdr.kafka.render import bootstrap_servers
    from esdr.kafka_io.admin import client_config
    from esdr.kafka_io.cluster import tls_of

    try:
        tls = tls_of(topology, name, kafka)
    except EsdrError as error:
        return {}, error.message
    # log_level 0: librdkafka's own error lines would go to stderr; the line says why
    return client_config(bootstrap_servers(kafka), tls, extra={"log_level": 0}), None


def lag_of(ref: PipelineRead, timeout: float, deadline: float,
           clock: Callable[[], float] = time.monotonic) -> GroupLag:
    """The group's lag, every request and the whole read bounded by the run's deadline."""
    from esdr.kafka_io.lag import read_lag

    # a little before the run's deadline, so that Kafka's own reason (a refused connection, a
    # TLS failure) is still collected rather than only "no answer"
    left = max(0.0, deadline - clock() - KAFKA_MARGIN)
    # librdkafka takes no connection setup bound under 1 s (socket.connection.setup.timeout.ms)
    bound = max(1.0, left)
    settings = {**ref.settings, "socket.timeout.ms": int(bound * 1000),
                "socket.connection.setup.timeout.ms": int(bound * 1000)}
    return read_lag(settings, ref.group, ref.topics, timeout=min(timeout, left),
                    deadline=time.monotonic() + left)


def pipeline_lag(ref: PipelineRead, got: Outcome | GroupLag | None, timeout: float
                 ) -> PipelineLag:
    """What the status shows for one group from what its read gave: figures known, bounded or
    unknown with why, never a 0 that was not read."""
    base = dict(pipeline=ref.pipeline, cluster=ref.cluster, kafka=ref.kafka, group=ref.group,
                topics=ref.topics,
                retention_seconds=None if ref.retention_ms is None else ref.retention_ms / 1000)
    where = f"Kafka {ref.kafka} ({ref.bootstrap})"
    if ref.error is not None:
        return PipelineLag(**base, messages=Figure.missing(ref.error, " msg"),
                           seconds=Figure.missing(ref.error, " s"), error=ref.error)
    if isinstance(got, Outcome):
        if got.late or got.error is not None:
            why = f"{where}: {_why(got, timeout)}"
            if got.error is not None:  # not Kafka's answer: the client could not be made
                return PipelineLag(**base, messages=Figure.missing(why, " msg"),
                                   seconds=Figure.missing(why, " s"), error=why)
            return PipelineLag(**base, messages=Figure.missing(why, " msg"),
                               seconds=Figure.missing(why, " s"), unreachable=why)
        got = got.value
    if not isinstance(got, GroupLag):
        why = f"{where}: not read"
        return PipelineLag(**base, messages=Figure.missing(why, " msg"),
                           seconds=Figure.missing(why, " s"), unreachable=why)
    if got.unreachable is not None:
        cause = got.unreachable.removeprefix("Kafka unreachable: ")
        why = f"{where} did not answer within {timeout:g} s: {cause}"
        return PipelineLag(**base, messages=Figure.missing(why, " msg"),
                           seconds=Figure.missing(why, " s"), unreachable=why)
    parts = got.partitions
    unknown = [p for p in parts if p.messages is None]
    if got.messages is not None:
        messages = Figure(got.messages, " msg")
    else:
        bounds = [p.messages_at_most for p in unknown]
        at_most = (None if not unknown or any(b is None for b in bounds)
                   else got.messages_at_least + sum(b or 0 for b in bounds))
        first = unknown[0].reason if unknown else "no partition read"
        messages = Figure.missing(f"{len(unknown)} of {len(parts)} partition(s) unknown "
                                  f"({first}); at least {got.messages_at_least}", " msg",
                                  at_most)
    if got.seconds is not None:
        seconds = Figure(round(got.seconds, 1), " s")
    else:
        # each partition with messages left: its age, or for a group that never committed the
        # age of the oldest retained message (all it could have to read)
        ages = [p.seconds if p.seconds is not None else p.seconds_at_most
                for p in parts if p.messages != 0 and p.messages_at_most != 0]
        at_most = (round(max(a for a in ages if a is not None), 1)
                   if ages and all(a is not None for a in ages) else None)
        first = next((p.reason for p in parts if p.seconds is None and p.reason),
                     "no partition read")
        seconds = Figure.missing(first, " s", at_most)
    return PipelineLag(**base, messages=messages, seconds=seconds, expired=got.expired)


def _calls(target: Target, timeout: float, deadline: float, clock: Callable[[], float],
           now: datetime) -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {}
    topology = target.topology
    if topology is not None and topology.cluster.nodes:
        es = dc_client(topology, timeout)
        opensearch = client.is_opensearch(es)
        # the health call's own timeout (a query parameter) below the deadline: a red cluster
        # still answers
        # (https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-health.html)
        calls["health"] = lambda: client.get_cluster_health(es, f"{max(1, int(timeout / 2))}s")
        calls["nodes"] = lambda: client.request(
            es, "GET", "/_nodes", params={"filter_path": "nodes.*.name,nodes.*.attributes"})
        # OpenSearch 2 names it cluster_manager (_cat/master is deprecated there):
        # https://opensearch.org/docs/latest/api-reference/cat/cat-cluster_manager/
        calls["master"] = lambda: client.request(
            es, "GET", "/_cat/cluster_manager" if opensearch else "/_cat/master",
            params={"format": "json"})
        calls["certificate"] = lambda: certificate(topology, now)
        calls["drift"] = lambda: len(run.plan_cluster(topology).drift)
        estate, alias = _estate(topology)
        if estate is not None and any(k.source == alias for k in estate.links):
            # each remote-cluster-client node holds its own connections and _remote/info
            # answers for the node asked (a node without the role has none): every such node
            # is asked, as esdr.reconcile.run does
            for node in remote_client_nodes(topology):
                view = dc_client(topology, timeout, [node])
                calls[f"{REMOTES}{node.name}"] = lambda v=view: client.get_remote_info(v)
        if estate is not None and any(p.cluster == alias for p in estate.slm) and not opensearch:
            calls["slm"] = lambda: client.get_slm_policies(es)
        if target.pairs is not None:
            pairs = target.pairs
            calls["pairs"] = lambda: pairs(es, max(0.0, deadline - clock()))
    for name, read in (target.gateways or {}).items():  # each gateway in its own read
        calls[f"{GATEWAY}{name}"] = read
    return calls


def _estate(topology: Topology):
    try:
        estate = topology.estate
    except Exception:  # an unreadable estate is esdr validate's to report
        return None, None
    return estate, estate.alias_of(topology.cluster.name) if estate else None


def _why(outcome: Outcome | None, timeout: float) -> str:
    if outcome is None:
        return "not read"
    if outcome.late:
        return f"no answer within {timeout:g} s"
    return describe(outcome.error) if outcome.error is not None else "no answer"


def _status(target: Target, got: dict[str, Outcome], now: datetime, timeout: float,
            seconds: float) -> DcStatus:
    topology = target.topology
    base = dict(dc=target.dc, inventory=target.inventory, thresholds=target.thresholds,
                seconds=seconds,
                queues=tuple(q for name in target.gateways or {}
                             for q in _queues(name, got.get(f"{GATEWAY}{name}"), timeout)))
    if topology is None or not topology.cluster.nodes:
        return DcStatus(**base)
    cluster = str(topology.cluster.name)
    base.update(cluster=cluster, hosts=hosts_of(topology))
    health = got["health"]
    if health.late or (health.error is not None and client.status_of(health.error) is None):
        # no HTTP answer at all: the DC (or this machine's way to it) is down
        return DcStatus(**base, reachable=False, reason=_why(health, timeout))
    out: dict[str, Any] = {}
    if health.error is None:
        out["health"] = str(health.value.get("status"))
    else:
        out["health_note"] = _why(health, timeout)
    out.update(_nodes(topology, got["nodes"], got["master"], timeout))
    remotes = {k[len(REMOTES):]: o for k, o in got.items() if k.startswith(REMOTES)}
    if remotes:
        out.update(_remotes(topology, remotes, timeout))
    out.update(_snapshots(topology, got.get("slm"), now, timeout))
    c = got["certificate"]
    out["certificate"] = (c.value if c.error is None and not c.late else Certificate(
        None, None, Figure.missing(_why(c, timeout))))
    p = got.get("pairs")
    if p is not None and p.error is None and not p.late:
        out["links"] = tuple(p.value or ())
    elif p is not None:
        out["links_note"] = _why(p, timeout)
    d = got["drift"]
    out["drift"] = (Figure(d.value) if d.error is None and not d.late
                    else Figure.missing(f"the plan: {_why(d, timeout)}"))
    return DcStatus(**base, reachable=True, **out)


def _nodes(topology: Topology, nodes: Outcome, master: Outcome, timeout: float) -> dict:
    cluster = topology.cluster
    expected = Counter(n.zone or "-" for n in cluster.nodes)
    data = {n.zone or "-" for n in cluster.nodes if n.holds_data}
    zone_of = {n.name: n.zone or "-" for n in cluster.nodes}
    out: dict[str, Any] = {}
    if nodes.error is None and not nodes.late:
        attribute = str(cluster.settings.get("es_awareness_attribute") or "zone")
        seen: Counter = Counter()
        for node in ((nodes.value or {}).get("nodes") or {}).values():
            name = str(node.get("name"))
            zone = (node.get("attributes") or {}).get(attribute) or zone_of.get(name, "-")
            zone_of.setdefault(name, zone)
            seen[zone] += 1
        out["zones"] = tuple(Zone(z, expected.get(z, 0), seen.get(z, 0), z in data)
                             for z in sorted(set(expected) | set(seen)))
    else:
        out["zones"] = tuple(Zone(z, n, None, z in data) for z, n in sorted(expected.items()))
        out["nodes_note"] = _why(nodes, timeout)
    if master.error is None and not master.late:
        rows = master.value if isinstance(master.value, list) else []
        name = str(rows[0].get("node")) if rows and rows[0].get("node") not in (None, "-") else None
        if name is None:
            out["master_note"] = "none elected"
        else:
            out["master"], out["master_zone"] = name, zone_of.get(name)
    else:
        out["master_note"] = _why(master, timeout)
    return out


def _remotes(topology: Topology, got: Mapping[str, Outcome], timeout: float) -> dict:
    """Each remote of this DC from every remote-cluster-client node's ``_remote/info`` (node
    name -> its answer): connected when every node that answered is, with the fewest nodes or
    sockets any of them holds; unknown when none answered."""
    estate, alias = _estate(topology)
    wanted = sorted({k.target for k in estate.links if k.source == alias})
    answers = {n: o.value or {} for n, o in got.items() if o.error is None and not o.late}
    if not answers:
        why = "; ".join(sorted({_why(o, timeout) for o in got.values()})) or "not read"
        return {"remotes": tuple(Remote(a, None, reason=why) for a in wanted)}
    out = []
    # _remote/info: connected, and num_nodes_connected (sniff) or num_proxy_sockets_connected
    # (proxy):
    # https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-remote-info.html
    for a in sorted(set(wanted).union(*answers.values())):
        down, counts = [], []
        for node, answer in sorted(answers.items()):
            info = answer.get(a)
            if info is None or not info.get("connected"):
                down.append(node if info is not None else f"{node} (not configured there)")
                continue
            count = info.get("num_nodes_connected", info.get("num_proxy_sockets_connected"))
            counts.append(count if isinstance(count, int) else None)
        if down:
            out.append(Remote(a, False, 0 if not counts else None,
                              reason=f"not connected on {', '.join(down)}"))
        else:
            known = [c for c in counts if c is not None]
            out.append(Remote(a, True, min(known) if len(known) == len(counts) else None))
    return {"remotes": tuple(out)}


def _snapshots(topology: Topology, got: Outcome | None, now: datetime, timeout: float) -> dict:
    estate, alias = _estate(topology)
    if estate is None:
        return {}
    policies = [p for p in estate.slm if p.cluster == alias]
    if not policies:
        writes = [r.name for r in estate.repositories if r.writer == alias]
        if writes:
            return {"snapshots_note": f"no SLM policy of {alias} in the estate for "
                    f"{', '.join(writes)}: snapshot age not checked"}
        return {}
    if got is None:
        return {"snapshots_note": "unknown: SLM is an Elasticsearch API (OpenSearch's snapshot "
                "management is not read yet)"}
    if got.error is not None or got.late:
        return {"snapshots_note": f"unknown: GET _slm/policy: {_why(got, timeout)}"}
    return {"snapshots": tuple(slm_snapshot(p.id, p.repository, p.schedule,
                                            (got.value or {}).get(p.id), now)
                               for p in policies)}


def _millis(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return None


def slm_snapshot(policy_id: str, repository: str, schedule: str, found: Mapping | None,
                 now: datetime) -> Snapshot:
    """One SLM policy from ``GET _slm/policy``: ``last_success.time`` and ``last_failure.time``
    are epoch milliseconds
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/slm-api-get-policy.html)."""
    period = schedule_period(schedule)
    if found is None:
        return Snapshot(repository, policy_id, schedule, None,
                        Figure.missing("policy not on the cluster", " s"), period,
                        "the policy is not on the cluster: esdr plan shows it")
    policy = found.get("policy") or {}
    repository = str(policy.get("repository") or repository)
    schedule = str(policy.get("schedule") or schedule)
    period = schedule_period(schedule)
    success = _millis((found.get("last_success") or {}).get("time"))
    failure = _millis((found.get("last_failure") or {}).get("time"))
    note = None
    if failure is not None and (success is None or failure > success):
        note = f"last attempt failed at {failure:%Y-%m-%d %H:%M}Z"
    if success is None:
        return Snapshot(repository, policy_id, schedule, None,
                        Figure.missing("never succeeded", " s"), period, note)
    age = max(0.0, (now - success).total_seconds())
    return Snapshot(repository, policy_id, schedule, success, Figure(round(age)), period, note)


def certificate(topology: Topology, now: datetime) -> Certificate:
    """The nearest expiry among the estate CA and this cluster's node certificates, from the
    files in the secrets directory (the ones the deploy installs)."""
    cluster = topology.cluster
    if not security.enabled(cluster):
        return Certificate(None, None, Figure.missing("security off"),
                           note="security off (es_security: false): no certificates")
    ca = ca_status(topology, now)
    rows = certificate_status(topology, now)
    candidates = ([("CA", ca.not_after)] if ca else []) + [
        (r.node, r.not_after) for r in rows if r.not_after is not None]
    if not candidates:
        return Certificate(None, None, Figure.missing(
            "no CA or node certificate in the secrets directory yet (the deploy issues them)"))
    which, at = min(candidates, key=lambda c: c[1])
    return Certificate(which, at, Figure(round((at - now).total_seconds() / 86400, 1)))


def _queues(gateway: str, got: Outcome | None, timeout: float) -> list[Queue]:
    if got is None:
        return []
    if got.error is not None or got.late:
        why = _why(got, timeout)
        return [Queue(gateway, None, None, Figure.missing(why), None,
                      f"gateway {gateway}: queues unknown ({why})")]
    return list(got.value or [])
