"""Check the project once per run, before any operation is added: a bad topology or gateway
tier stops the run here, before any host is changed."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import gevent
from pyinfra import inventory, state
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import Link
from pyinfra.facts.systemd import SystemdStatus

from esdr.checks import validate
from esdr.checks.gateway import validate_tier
from esdr.errors import BadInput
from esdr.gateway.model import GatewayTier
from esdr.gateway.render import host_files
from esdr.kafka.model import KafkaEstate
from esdr.kafka.render import server_properties
from esdr.kafka.unit import unit as kafka_unit
from esdr.kafka.validate import check_section as check_kafka_section
from esdr.facts.elasticsearch import EsClusterHealth, EsElectedMaster, EsVersion
from esdr.model import Node, Topology
from esdr.node_api import NodeApi
from esdr.problems import Problem, errors
from esdr.project import estate_topologies
from esdr.render import distribution_rewrites, install_dir, install_link, node_files
from esdr.security import store
from esdr.tasks.context import fact, project, run_context
from esdr.upgrade import (
    INSTALL,
    NOTHING,
    REFUSED,
    UPGRADE,
    UpgradePlan,
    health_problem,
    installed_version,
    plan_lines,
    plan_topology_upgrade,
    plan_upgrade,
)


def topology() -> Topology:
    """The data centre's checked model."""
    context = run_context()
    model = project().topology
    if not context.topology_checked:
        _refuse_errors("topology", validate(model))
        _refuse_unrenderable("topology", lambda: [distribution_rewrites(model.cluster)] + [
            node_files(model, node, bootstrap=True) for node in model.cluster.nodes])
        context.topology_checked = True
    return model


def gateway_tier() -> GatewayTier | None:
    """The checked gateway tier of this inventory, None without gateway hosts."""
    context = run_context()
    model = project().tier
    if model is not None and not context.tier_checked:
        _refuse_errors("gateway tier", validate_tier(model))
        _refuse_unrenderable("gateway tier", lambda: [
            host_files(model, host) for host in (*model.gateways, *model.balancers)])
        context.tier_checked = True
    return model


def gateway_only() -> bool:
    """Gateway (and nginx) hosts without any Elasticsearch node: the cluster checks, which
    would refuse it for having no nodes, do not apply."""
    return project().gateway_only


@dataclass(frozen=True)
class UpgradeRun:
    """The rolling upgrade of this run: the plan, and what each step's node switches to."""

    plan: UpgradePlan
    install_dir: str  # the new version's directory, installed beside the old one
    link: str  # the ``current`` link the roll moves to it, node by node
    from_yellow: bool = False  # resumed: a yellow cluster may start it (``health_problem``)

    @property
    def nodes(self) -> set[str]:
        return {s.node for s in self.plan.steps} if self.plan.action == UPGRADE else set()


@dataclass(frozen=True)
class Observed:
    """What the preflight read of a cluster's versions, before any host is changed."""

    versions: dict[str, str | None]  # node -> the version it runs (or would start on)
    stopped: tuple[str, ...]  # nodes whose service is not running: their link's version
    elected: str | None
    health: str | None
    silent: tuple[str, ...] = ()  # nodes whose service runs but whose API did not answer
    # their ``current`` link's version (None: no link): what they were last started on
    silent_links: Mapping[str, str | None] = field(default_factory=dict)


def upgrade(model: Topology) -> UpgradeRun:
    """The version change this run makes, read and judged once per run, before any
    operation is added: every node's running version (``GET /``), the elected master and the
    health. A refused change (``esdr.upgrade``'s rules, or a cluster that is not green) stops
    the run here, with every problem named, before any host is changed."""
    context = run_context()
    if context.upgrade is None:
        run = state._get_module()

        def judge() -> UpgradeRun | PyinfraError:
            with ctx_state.use(run):
                try:
                    seen = observe(model)
                    # the other inventories are loaded only for an upgrade (followers' rule)
                    moving = plan_upgrade(model.cluster, seen.versions).action == UPGRADE
                    return judged(model, seen, designed_peers(model) if moving else None)
                except PyinfraError as refused:  # returned: a greenlet's error is printed
                    return refused  # with its traceback, and the refusal is one message

        context.upgrade = gevent.spawn(judge)
    job = context.upgrade
    gevent.joinall([job], raise_error=True)
    if isinstance(job.value, PyinfraError):
        raise job.value
    return job.value


def designed_peers(model: Topology) -> dict[str, str | None]:
    """Estate alias -> the ``es_version`` its inventory sets, for the estate's other clusters:
    a cluster that follows this one must not be left older than this one's new version. The
    designed version, as ``esdr.checks.upgrade`` judges it: this deploy does not reach the
    other data centres' nodes."""
    estate = model.estate
    if estate is None:
        return {}
    out: dict[str, str | None] = {}
    for other in estate_topologies(project())[1:]:
        alias = estate.alias_of(other.cluster.name)
        if alias is not None:
            out[alias] = other.cluster.version
    return out


def judged(model: Topology, seen: Observed,
           peers: Mapping[str, str | None] | None = None) -> UpgradeRun:
    """The plan for what ``seen`` shows, refused (``PyinfraError``) when a rule fails."""
    cluster = model.cluster
    plan = plan_topology_upgrade(model, seen.versions, seen.elected, peers=peers)
    unjudged = silent_elsewhere(model, seen, plan)
    if unjudged:
        _refuse_errors(f"version change to {plan.target}", unjudged)
    if plan.action == REFUSED:
        _refuse_errors(f"version change to {plan.target}",
                       list(plan.problems) + _unknown_notes(model, seen, plan))
    not_green = health_problem(plan, seen.health, seen.stopped)
    if not_green is not None:
        _refuse_errors(f"rolling upgrade to {plan.target}", [not_green])
    if plan.action == UPGRADE:
        for line in plan_lines(plan):
            print(f"[esdr] {line}", file=sys.stderr)
    return UpgradeRun(plan, install_dir(cluster), install_link(cluster),
                      from_yellow=plan.resumed or bool(seen.stopped))


def silent_elsewhere(model: Topology, seen: Observed, plan: UpgradePlan) -> list[Problem]:
    """Running nodes that did not say their version, installed at another version than the
    target: without this, a cluster none of whose nodes answered would read as "nothing
    installed" and the new version would be installed and started on all of them at once. A
    silent node on the target version (a rerun to fix it) is no version change and passes."""
    if plan.action not in (INSTALL, NOTHING):
        return []
    out = []
    for node in model.cluster.nodes:
        if node.name not in seen.silent:
            continue
        was = seen.silent_links.get(node.name)
        if was is not None and was == plan.target:
            continue
        out.append(Problem(
            f"host {node.host}", "upgrade-version-unknown",
            f"{node.name}: its service runs but GET _nodes/_local did not answer, and it was "
            f"started on {was or 'an install esdr cannot read'}, not {plan.target}: a version "
            "change needs every running node's version. Check its log and health (journalctl "
            f"-u {model.cluster.engine.service}), then rerun"))
    return out


def _unknown_notes(model: Topology, seen: Observed, plan: UpgradePlan) -> list[Problem]:
    """Which of the nodes with no version runs without answering and which has nothing
    installed: printed beside a refusal for an unknown version, as the fix differs."""
    if not any(p.rule == "upgrade-version-unknown" for p in plan.problems):
        return []
    out = []
    for node in model.cluster.nodes:
        if seen.versions.get(node.name) is not None:
            continue
        why = (f"{node.name}: its service runs but GET / did not answer (check its log and "
               "health)" if node.name in seen.silent else
               f"{node.name}: no {model.cluster.engine.name} is installed (no "
               f"{install_link(model.cluster)} link) and its service is stopped")
        out.append(Problem(f"host {node.host}", "upgrade-version-unknown", why, "warning"))
    return out


def observe(model: Topology) -> Observed:
    """Each node's version through the route the deploy uses for cluster APIs (``NodeApi``:
    curl on the node itself), read on all nodes at once; a node that does not answer and whose
    service is stopped counts with the version its ``current`` link would start (a run stopped
    mid-step leaves one so); one that runs but does not answer, or has nothing installed, is
    None (unknown)."""
    cluster = model.cluster
    run = state._get_module()
    silent_links: dict[str, str | None] = {}

    def one(node: Node) -> tuple[str | None, str]:
        """(version, "answered" | "stopped" | "silent" | "none")"""
        target = inventory.get_host(node.host)
        with ctx_state.use(run), ctx_host.use(target):
            version = NodeApi.for_node(model, node, target).read(EsVersion)
            if version is not None:
                return version, "answered"
            unit = f"{cluster.engine.service}.service"
            running = (fact(node.host, SystemdStatus, services=(unit,)) or {}).get(unit)
            link = fact(node.host, Link, path=install_link(cluster))
            target_dir = link.get("link_target") if isinstance(link, dict) else None
            found = installed_version(target_dir, cluster.engine.archive_prefix)
            if running:
                silent_links[node.name] = found
                return None, "silent"
            return found, "stopped" if found is not None else "none"

    jobs = {n.name: gevent.spawn(one, n) for n in cluster.nodes}
    gevent.joinall(list(jobs.values()), raise_error=True)
    versions = {name: job.value[0] for name, job in jobs.items()}
    stopped = tuple(sorted(name for name, job in jobs.items() if job.value[1] == "stopped"))
    silent = tuple(sorted(name for name, job in jobs.items() if job.value[1] == "silent"))
    elected = health = None
    for node in cluster.master_eligible:
        if versions.get(node.name) is None or node.name in stopped:
            continue
        target = inventory.get_host(node.host)
        with ctx_host.use(target):
            api = NodeApi.for_node(model, node, target)
            answer = api.read(EsClusterHealth)
            if isinstance(answer, dict):
                health = answer.get("status")
                elected = api.read(EsElectedMaster)
                break
    return Observed(versions, stopped, elected, health, silent, silent_links)


def _refuse_errors(what: str, problems: list[Problem]) -> None:
    for problem in problems:
        if problem.severity != "error":
            print(f"[esdr] {problem}", file=sys.stderr)  # stdout is pyinfra's --json document
    bad = errors(problems)
    if bad:
        raise PyinfraError(
            f"esdr refuses this {what} ({len(bad)} problem(s)); nothing was changed:\n"
            + "\n".join(f"  {p}" for p in bad)
        )


def _refuse_unrenderable(what: str, render_all) -> None:
    """Render every file once: a value its file's format cannot carry stops the run here, not
    half-way through the hosts."""
    try:
        render_all()
    except BadInput as exc:
        raise PyinfraError(f"esdr refuses this {what}; nothing was changed:\n  {exc}") from None


# --- Kafka (the estate's `kafka:` section, esdr.kafka) -------------------------------------------

_CHECKED = "kafka_checked"  # kept on the run's context: the checked model (or None), once


def kafka_estate() -> tuple[KafkaEstate, str] | None:
    """The estate's checked Kafka design and the seed of its cluster ids (the estate's name),
    None when the estate has no ``kafka:`` section. Refused, before any host is touched, when
    its shape is wrong, a design rule fails (``esdr.kafka.validate``, each problem naming the
    host, cluster or topic and the rule), it cannot be installed (no checked archive), or a
    file would not render, or its pipeline hosts have no wheelhouse to install from."""
    context = run_context()
    if hasattr(context, _CHECKED):
        return getattr(context, _CHECKED)
    topology = project().topology
    model, problems = check_kafka_section(topology.cluster.settings.get("es_estate"))
    if model is None and not problems:
        setattr(context, _CHECKED, None)
        return None
    _refuse_errors("Kafka estate", problems)
    assert model is not None

    def render_all() -> list:
        out = []
        for name, cluster in model.kafka_clusters.items():
            for host_name in cluster.hosts:
                try:
                    out.append(server_properties(name, cluster, host_name))
                    out.append(kafka_unit(name, cluster, host_name))
                except ValueError as exc:
                    raise BadInput(f"host {host_name}: server.properties: {exc}") from None
        return out

    _refuse_unrenderable("Kafka estate", render_all)
    checked = (model, store.estate_name(topology.cluster))
    setattr(context, _CHECKED, checked)
    return checked
