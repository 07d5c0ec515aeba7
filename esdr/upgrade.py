"""What a change of ``es_version`` asks of a cluster's nodes, and in which order. Pure: no
deploy tool, no network, so every rule is unit-tested.

Given the version the model wants (``es_version``) and the version each node runs (read by
the caller; ``None`` when a node is unreachable or has nothing installed), ``plan_upgrade``
decides one of: nothing to do, an install of the wanted version on nodes that have none, a
rolling upgrade with the nodes in order, or a refusal. A refusal is a list of ``Problem``s,
each naming where (the host or the cluster), what is wrong and how to fix it, under a rule id
(``[upgrade-downgrade]``, ...), as every other pre-deploy check of esdr reports.

The engines' rules it applies:

* Nodes cannot be downgraded; going back means a new install and a snapshot restore.
  Elastic: https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster
  OpenSearch: https://docs.opensearch.org/latest/install-and-configure/upgrade-opensearch/index/
* A rolling upgrade goes to the next major only, and only from the previous major's last minor
  (Elasticsearch 7.17 before 8.x, 8.18 before 9.0, 8.19 before 9.1 and later; OpenSearch 1.3
  before 2.x, 2.19 before 3.x): the same two pages, and OpenSearch's
  https://docs.opensearch.org/latest/migrate-or-upgrade/rolling-upgrade/
* Replication needs the follower cluster at the same or a newer version than its leader, so
  followers are upgraded first and leaders last: Elastic's
  https://www.elastic.co/docs/deploy-manage/tools/cross-cluster-replication/ccr-uni-directional-upgrade
  (a cluster that has not been upgraded rejects settings, mappings and Lucene files replicated
  from a newer one: https://www.elastic.co/docs/deploy-manage/tools/cross-cluster-replication/upgrading-clusters),
  and the cross-cluster replication section of OpenSearch's rolling-upgrade page above.
* Pre-release builds take no upgrade in either direction ("Upgrading from a release candidate
  build ... is not supported": https://www.elastic.co/guide/en/elastic-stack/8.19/upgrading-elastic-stack.html).

The order is the rolling restart's (``esdr.restart_plan.restart_order``): nodes that are not
master-eligible first, then master-eligible ones, the elected master last, so the cluster
holds one election, at the end, instead of one per master.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import total_ordering

from esdr.changes import Change
from esdr.crossdc.estate import Estate
from esdr.model import Cluster, Topology
from esdr.problems import Problem
from esdr.restart_plan import restart_order

ELASTIC_UPGRADE = "https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster"
OPENSEARCH_UPGRADE = "https://docs.opensearch.org/latest/install-and-configure/upgrade-opensearch/index/"
CCR_UPGRADE = ("https://www.elastic.co/docs/deploy-manage/tools/cross-cluster-replication/"
               "ccr-uni-directional-upgrade")
CCR_BIDIRECTIONAL_UPGRADE = ("https://www.elastic.co/docs/deploy-manage/tools/"
                             "cross-cluster-replication/ccr-bi-directional-upgrade")
OPENSEARCH_ROLLING = "https://docs.opensearch.org/latest/migrate-or-upgrade/rolling-upgrade/"

# What the plan decides (``UpgradePlan.action``).
NOTHING = "nothing"  # every node runs the wanted version
INSTALL = "install"  # nodes with nothing installed get the wanted version; none is upgraded
UPGRADE = "upgrade"  # a rolling upgrade (or the rest of one: ``UpgradePlan.resumed``)
REFUSED = "refused"  # ``UpgradePlan.problems`` says why; no host may be changed

# The release names es_version accepts (esdr.schema): x.y.z, maybe a qualifier (-SNAPSHOT,
# -rc1). A node reports the same form as ``version.number`` of ``GET /``.
_VERSION = re.compile(r"^([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})(?:-([A-Za-z0-9][A-Za-z0-9.]{0,31}))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    qualifier: str = ""  # a pre-release (rc1, beta1, SNAPSHOT); "" for a release

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.qualifier}" if self.qualifier else "")

    @property
    def _key(self) -> tuple[int, int, int, int, str]:
        # Semantic versioning: a pre-release sorts before its release (https://semver.org/#spec-item-11).
        # Two pre-releases of one x.y.z compare by text only: an order between them is never
        # acted on, as neither can be upgraded from (``_prerelease``).
        return (self.major, self.minor, self.patch, 0 if self.qualifier else 1, self.qualifier)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key < other._key


def parse_version(text: object) -> Version | None:
    """``"8.19.21"`` -> ``Version(8, 19, 21)``; ``None`` for anything that is not a release
    name (``"8.19"``, ``"v8.19.21"``, a number, ``None``)."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text.strip())
    if not match:
        return None
    major, minor, patch, qualifier = match.groups()
    return Version(int(major), int(minor), int(patch), qualifier or "")


# The oldest version a rolling upgrade into a major starts from: (engine, target major, target
# minor or None for any) -> (major, minor). Sources: ELASTIC_UPGRADE ("upgrade to 7.17 before
# 8.x"; 9.0 from 8.18, 9.1 and later from 8.19) and OPENSEARCH_ROLLING ("only between adjacent
# major versions"; "the minimum required cluster version for upgrades to 3.x.x is 2.19.0";
# 2.x from 1.3). A major not listed here is held to the adjacent-major rule only.
_MAJOR_FROM: dict[tuple[str, int, int | None], tuple[int, int]] = {
    ("elasticsearch", 8, None): (7, 17),
    ("elasticsearch", 9, 0): (8, 18),
    ("elasticsearch", 9, None): (8, 19),
    ("opensearch", 2, None): (1, 3),
    ("opensearch", 3, None): (2, 19),
}


def major_upgrade_from(engine: str, target: Version) -> tuple[int, int] | None:
    """The (major, minor) a rolling upgrade to ``target`` must start from at least, when
    ``target`` is a new major the table knows; None otherwise."""
    return (_MAJOR_FROM.get((engine, target.major, target.minor))
            or _MAJOR_FROM.get((engine, target.major, None)))


def docs_for(engine: str) -> str:
    return OPENSEARCH_UPGRADE if engine == "opensearch" else ELASTIC_UPGRADE


def step_problem(engine: str, before: Version, target: Version) -> tuple[str, str] | None:
    """(rule, why) when a node on ``before`` cannot go to ``target`` in place; None when it
    can (or is there). What the rolling upgrade and the pre-deploy check both apply."""
    if before == target:
        return None
    docs = docs_for(engine)
    if target < before:
        return ("upgrade-downgrade",
                f"runs {before}, newer than es_version {target}: a node cannot be downgraded "
                f"(its data is written in the newer format; going back takes a new install "
                f"and a snapshot restore, {docs}). Set es_version back to {before}, or higher")
    if before.qualifier or target.qualifier:
        return ("upgrade-prerelease",
                f"runs {before} and es_version is {target}: the engines take no upgrade from or "
                f"to a pre-release build ({docs}); install a release in a new cluster and "
                "restore a snapshot into it")
    if target.major - before.major >= 2:
        return ("upgrade-skips-major",
                f"runs {before} and es_version {target} skips major version "
                f"{before.major + 1}: a rolling upgrade goes one major at a time, each from "
                f"the previous major's last minor ({docs}). Upgrade through "
                f"{' -> '.join(_major_path(engine, before, target))}, deploying each")
    if target.major == before.major + 1:
        start = major_upgrade_from(engine, target)
        if start is not None and (before.major, before.minor) < start:
            return ("upgrade-from-old-minor",
                    f"runs {before}: an upgrade to {target.major}.x starts from "
                    f"{start[0]}.{start[1]} or later ({docs}). Set es_version to the newest "
                    f"{start[0]}.{start[1]}.x release, deploy, then set {target}")
    return None


def _major_path(engine: str, before: Version, target: Version) -> list[str]:
    """The releases to go through from ``before`` to ``target``, one major at a time."""
    path = []
    enter = major_upgrade_from(engine, Version(before.major + 1, 0, 0))
    if enter and (before.major, before.minor) < enter:
        path.append(f"{enter[0]}.{enter[1]}")
    for major in range(before.major + 1, target.major):
        into = target if major + 1 == target.major else Version(major + 1, 0, 0)
        stop = major_upgrade_from(engine, into)
        path.append(f"{stop[0]}.{stop[1]}" if stop and stop[0] == major
                    else f"the last {major}.x minor")
    return path + [str(target)]


@dataclass(frozen=True)
class Step:
    """One node of a rolling upgrade: its engine and its plugins go to ``after`` together (the
    plugins are installed into the new version's directory before the node starts on it)."""

    node: str
    host: str
    before: str
    after: str
    plugins: tuple[str, ...] = ()
    elected_master: bool = False

    def line(self) -> str:
        text = f"~ upgrade {self.node}: {self.before} -> {self.after}"
        notes = []
        if self.plugins:
            notes.append(f"plugins {', '.join(self.plugins)} with it")
        if self.elected_master:
            notes.append("elected master, last")
        return text + (f" ({'; '.join(notes)})" if notes else "")


@dataclass(frozen=True)
class UpgradePlan:
    cluster: str
    action: str  # NOTHING, INSTALL, UPGRADE or REFUSED
    target: str | None  # es_version as the model gives it
    steps: tuple[Step, ...] = ()  # UPGRADE: the nodes still to upgrade, in order
    done: tuple[str, ...] = ()  # nodes already on the target (a resumed upgrade's first part)
    installs: tuple[str, ...] = ()  # INSTALL: nodes that have no version installed yet
    problems: tuple[Problem, ...] = field(default=())  # REFUSED: why

    @property
    def resumed(self) -> bool:
        """The rest of an upgrade to the same target that stopped half-way."""
        return self.action == UPGRADE and bool(self.done)


def plugin_names(cluster: Cluster) -> tuple[str, ...]:
    entries = cluster.settings.get("es_plugins") or []
    return tuple(str(e["name"]) for e in entries if isinstance(e, Mapping) and e.get("name"))


def _hosts(cluster: Cluster, names: Iterable[str]) -> str:
    hosts = sorted(cluster.node(n).host for n in names)
    return ("host " if len(hosts) == 1 else "hosts ") + ", ".join(hosts)


def _by_version(found: Mapping[str, Version]) -> dict[Version, list[str]]:
    groups: dict[Version, list[str]] = {}
    for name, version in found.items():
        groups.setdefault(version, []).append(name)
    return {v: sorted(groups[v]) for v in sorted(groups)}


def version_spread(found: Mapping[str, Version]) -> str:
    """``"8.19.21 on d1, d2; 8.18.8 on m1, m2"``: which nodes run which version, newest first."""
    groups = _by_version(found)
    return "; ".join(f"{v} on {', '.join(groups[v])}" for v in reversed(list(groups)))


def plan_upgrade(
    cluster: Cluster,
    observed: Mapping[str, str | None],
    elected_master: str | None = None,
) -> UpgradePlan:
    """What moving ``cluster``'s nodes to ``cluster.version`` takes.

    ``observed``: node name -> the version it runs (``None``: unreachable or nothing installed;
    a node missing from the mapping counts as ``None``). ``elected_master`` goes last.
    """
    name = str(cluster.name or "?")
    where = f"cluster {name}"
    engine = cluster.engine.name
    target = parse_version(cluster.version)
    if target is None:
        return UpgradePlan(name, REFUSED, cluster.version, problems=(Problem(
            where, "upgrade-version-unparseable",
            (f"es_version {cluster.version!r} is not a release name" if cluster.version
             else "es_version is not set") + ": write it as the engine names its release, "
            "e.g. 8.19.21 or 2.19.4"),))
    problems: list[Problem] = []
    found: dict[str, Version] = {}
    unknown: list[str] = []
    for node in cluster.nodes:
        raw = observed.get(node.name)
        if raw is None:
            unknown.append(node.name)
            continue
        version = parse_version(raw)
        if version is None:
            problems.append(Problem(
                f"host {node.host}", "upgrade-version-unparseable",
                f"node {node.name} reports version {str(raw)[:64]!r}, which is not a release name "
                "(x.y.z): check what runs there (GET / on the node) and rerun"))
        else:
            found[node.name] = version
    if not found and not problems:
        return UpgradePlan(name, INSTALL, str(target), installs=tuple(unknown))

    groups = _by_version(found)
    for version, names in groups.items():
        why = step_problem(engine, version, target)
        if why:
            problems.append(Problem(_hosts(cluster, names), why[0], why[1]))
    behind = [n for n, v in found.items() if v != target]
    if len(groups) > 1 and target not in groups:
        newest = max(groups)
        problems.append(Problem(
            where, "upgrade-half-done",
            f"an upgrade is half done: {version_spread(found)}. A new target ({target}) would "
            f"start another one on top of it. Rerun with es_version {newest} to resume and "
            f"finish it, then set {target}"))
    if unknown and behind:
        problems.append(Problem(
            _hosts(cluster, unknown), "upgrade-version-unknown",
            f"{', '.join(sorted(unknown))}: no version could be read (unreachable, or nothing "
            f"installed) while {len(behind)} node(s) need upgrading to {target}: a rolling "
            "upgrade needs every node up and known. Bring it back (or remove it from the "
            "inventory) and rerun; a node new to the cluster is deployed at the version the "
            "others run first, then es_version is changed"))
    if problems:
        return UpgradePlan(name, REFUSED, str(target), problems=tuple(problems))
    done = tuple(sorted(n for n, v in found.items() if v == target))
    if not behind:
        return (UpgradePlan(name, INSTALL, str(target), done=done, installs=tuple(unknown))
                if unknown else UpgradePlan(name, NOTHING, str(target), done=done))
    plugins = plugin_names(cluster)
    steps = tuple(
        Step(node.name, node.host, str(found[node.name]), str(target), plugins,
             elected_master=node.name == elected_master)
        for node in restart_order(cluster, behind, elected_master)
    )
    return UpgradePlan(name, UPGRADE, str(target), steps=steps, done=done)


# --- replication: followers at the same or a newer version than their leaders ---------------


def follows(estate: Estate) -> list[tuple[str, str, str]]:
    """(follower alias, leader alias, what) for every replication the estate designs: its
    ``followers`` and ``auto_follow`` rules (the cluster follows its ``remote``) and each
    ``bidirectional`` pair (each side follows the other). Pass the estate the way it is in
    place (``esdr.crossdc.active_side.directed``) to follow a promote."""
    out: dict[tuple[str, str], list[str]] = {}
    for f in estate.followers:
        out.setdefault((f.cluster, f.remote), []).append(f"follower {f.index}")
    for rule in estate.auto_follow:
        out.setdefault((rule.cluster, rule.remote), []).append(f"auto-follow {rule.name}")
    for pair in estate.bidirectional:
        for a in pair.indices:
            for b in pair.indices:
                if a != b:
                    out.setdefault((a, b), []).append(f"bidirectional {pair.alias}")
    return [(f, leader, ", ".join(whats)) for (f, leader), whats in sorted(out.items())]


def follower_problems(
    estate: Estate,
    versions: Mapping[str, str | None],
    names: Mapping[str, str] | None = None,
    engine: str = "elasticsearch",
    leader: str | None = None,
) -> list[Problem]:
    """A follower that would run an older version than its leader, one problem per pair.

    ``versions``: estate alias -> the version that cluster runs or would run (missing, ``None``
    or unparseable: that pair is not judged here). ``names``: alias -> cluster name, for
    messages (default: the estate's). ``leader``: only the pairs that alias leads."""
    pairs = follows(estate)
    names = {a: r.cluster_name for a, r in estate.clusters.items()} | dict(names or {})
    out: list[Problem] = []
    for follower, leads, what in pairs:
        if leader is not None and leads != leader:
            continue
        mine, theirs = parse_version(versions.get(follower)), parse_version(versions.get(leads))
        if mine is None or theirs is None or not mine < theirs:
            continue
        f_name, l_name = names.get(follower, follower), names.get(leads, leads)
        bidirectional = (leads, follower) in {(a, b) for a, b, _ in pairs}
        docs = OPENSEARCH_ROLLING if engine == "opensearch" else (
            CCR_BIDIRECTIONAL_UPGRADE if bidirectional else CCR_UPGRADE)
        fix = (f"the two follow each other ({what}): pause replication, upgrade both to "
               f"{theirs}, then resume it ({docs})" if bidirectional else
               f"upgrade followers first: set es_version {theirs} (or newer) on {f_name} and "
               f"deploy it before {l_name} ({docs})")
        out.append(Problem(
            f"cluster {f_name}", "upgrade-follower-older-than-leader",
            f"follows {l_name} ({what}) but would run {mine}, older than its leader's {theirs}: "
            "replication needs the follower at the same or a newer version than its leader; "
            + fix))
    return out


def plan_topology_upgrade(
    topology: Topology,
    observed: Mapping[str, str | None],
    elected_master: str | None = None,
    peers: Mapping[str, str | None] | None = None,
    estate: Estate | None = None,
) -> UpgradePlan:
    """``plan_upgrade`` for one data centre, refused as well when the upgrade would leave a
    cluster that follows this one older than it. ``peers``: estate alias -> the version each
    other cluster runs; ``estate``: the estate as it is in place (default: as designed)."""
    plan = plan_upgrade(topology.cluster, observed, elected_master)
    estate = estate if estate is not None else topology.estate
    if plan.action != UPGRADE or estate is None:
        return plan
    alias = estate.alias_of(topology.cluster.name)
    if alias is None:
        return plan
    versions = {**(peers or {}), alias: plan.target}
    # only the pairs this cluster leads: as a follower, going up never makes it older
    problems = follower_problems(estate, versions, engine=topology.cluster.engine.name,
                                 leader=alias)
    if not problems:
        return plan
    return UpgradePlan(plan.cluster, REFUSED, plan.target, problems=tuple(problems))


# --- `esdr plan` ------------------------------------------------------------------------------


def plan_lines(plan: UpgradePlan) -> list[str]:
    """The upgrade as ``esdr plan`` shows a planned change (``esdr.reconcile.run.plan_lines``):
    a heading for the cluster, then one indented line per node in the order it goes."""
    target = plan.target or "?"
    if plan.action == REFUSED:
        return ([f"cluster {plan.cluster}: version {target}: refused, no host is changed:"]
                + [f"  {p}" for p in plan.problems])  # a Problem reads "error: where: ..."
    if plan.action == NOTHING:
        return [f"cluster {plan.cluster}: version {target}: every node runs it"]
    if plan.action == INSTALL:
        return [f"cluster {plan.cluster}: version {target}: installed on "
                f"{len(plan.installs)} node(s) that have none"]
    head = (f"cluster {plan.cluster}: rolling upgrade to {target}, {len(plan.steps)} node(s), "
            "one at a time in this order")
    if plan.resumed:
        head += f" (resumed: {', '.join(plan.done)} already on {target})"
    return [head + ":"] + [f"  {step.line()}" for step in plan.steps]


def changes(plan: UpgradePlan) -> list[Change]:
    """The steps as ``Change``s (kind ``node_version``), for the plan's drift count."""
    return [Change("node_version", s.node, "changed", s.before, s.after) for s in plan.steps]


# --- what the deploy reads, judged here --------------------------------------------------------


def installed_version(link_target: object, archive_prefix: str) -> str | None:
    """The version a stopped node would start on: its ``current`` link points at the versioned
    directory the install made (``/opt/elasticsearch/elasticsearch-8.18.8`` -> ``8.18.8``);
    None without a link or for a directory esdr did not name."""
    if not isinstance(link_target, str) or not link_target.strip():
        return None
    base = link_target.rstrip("/").rsplit("/", 1)[-1]
    prefix = f"{archive_prefix}-"
    if not base.startswith(prefix):
        return None
    version = base[len(prefix):]
    return version if parse_version(version) is not None else None


def node_versions(nodes_body: object) -> dict[str, str]:
    """Node name -> version from ``GET _nodes?filter_path=nodes.*.name,nodes.*.version``: the
    nodes the cluster has, as its master sees them (a node away from it is not there)."""
    nodes = nodes_body.get("nodes") if isinstance(nodes_body, Mapping) else None
    out: dict[str, str] = {}
    for entry in (nodes or {}).values():
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str) \
                and isinstance(entry.get("version"), str):
            out[entry["name"]] = entry["version"]
    return out


def health_problem(plan: UpgradePlan, status: str | None,
                   stopped: Iterable[str] = ()) -> Problem | None:
    """Elastic's rolling upgrade starts from a healthy, green cluster and waits for green
    after each node
    (https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster/elasticsearch);
    OpenSearch's rolling-upgrade page checks for green the same way. A resumed upgrade (nodes
    already on the target, or a node a stopped run left down) may start from yellow: a node
    whose step was cut short is recovering its replicas, and the first step waits for them."""
    if plan.action != UPGRADE:
        return None
    stopped = sorted(stopped)
    wanted = "yellow" if (plan.resumed or stopped) else "green"
    if status == "green" or (wanted == "yellow" and status == "yellow"):
        return None
    shown = status or "unknown (no master-eligible node answered)"
    why = (f"the cluster is {shown}: a rolling upgrade to {plan.target} starts only from a "
           f"{wanted} cluster, as each node it takes down must leave every shard a started copy"
           + (" (resumed: yellow is accepted while the node a stopped run left behind recovers)"
              if wanted == "yellow" else ""))
    return Problem(f"cluster {plan.cluster}", "upgrade-not-green",
                   why + ". Bring it back to green (GET _cluster/health, "
                   "GET _cluster/allocation/explain) and rerun; no host was changed")
