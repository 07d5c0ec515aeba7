"""Plan and apply every cluster-level object of one data centre, in a fixed order.

``plan_cluster`` only reads; ``apply_plan`` writes what the plan says, then observes again and
insists the new plan is empty (a write that did not stick is an error, not a silent success).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from esdr.desired import Desired, desired_for
from esdr.crossdc import active_side
from esdr.crossdc.estate import ClusterRef, Estate
from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.es.connect import client_for
from esdr.model import Topology
from esdr.reconcile import (
    alias,
    auto_follow,
    cluster_settings,
    follower_index,
    pipeline_user,
    registry,
    slm_policy,
    snapshot_repository,
)
from esdr.changes import Change, Note, drift
from esdr.reconcile.retry import with_retries
from esdr.replication import Replication, adapter_for, as_adapter
from esdr.upgrade import UpgradePlan, node_versions, plan_topology_upgrade
from esdr.security.config import enabled as security_enabled
from esdr.security import store

ORDER = ("licence", "cluster_settings", "remote_cluster", "snapshot_repository", "slm_policy",
         "follower_index", "auto_follow", "index", "alias", "pipeline_user")
# Deletes go last, in the reverse order, as Terraform destroys dependents before what they
# depend on (https://developer.hashicorp.com/terraform/internals/graph): the followers and
# auto-follow rules before their remote, an SLM policy before its repository.
DELETE_ORDER = tuple(reversed(ORDER))


def apply_order(changes: list[Change]) -> list[Change]:
    """The drifting changes as they are applied: creates and changes in ORDER, then deletes in
    DELETE_ORDER."""
    drifting = drift(changes)
    return ([c for kind in ORDER for c in drifting if c.kind == kind and c.action != "deleted"]
            + [c for kind in DELETE_ORDER for c in drifting
               if c.kind == kind and c.action == "deleted"])


@dataclass
class ClusterPlan:
    cluster: str
    alias: str
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # features that cannot be used: blocking
    registry_before: dict[str, Any] = field(default_factory=registry.empty)
    registry_after: dict[str, Any] = field(default_factory=registry.empty)
    # the active side of each replicated pair this cluster takes part in, and the records
    # (own registry's and any others' given) it was decided from: esdr.crossdc.active_side
    sides: list[active_side.Side] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    # this cluster's followers in bi-directional pairs (no active side: both DCs write)
    bidirectional: dict[str, active_side.BidiFollower] = field(default_factory=dict)
    # remotes whose link `esdr promote` detached and the plan holds absent until failback
    held_links: list[str] = field(default_factory=list)
    # where the Kafka pipelines' users get their passwords (None: the cluster has none)
    secrets: pipeline_user.UserSecrets | None = None

    @property
    def drift(self) -> list[Change]:
        return drift(self.changes)

    @property
    def has_drift(self) -> bool:
        return bool(self.drift or self.problems or any(n.blocking for n in self.notes))

    @property
    def needs_write(self) -> bool:
        return bool(self.drift) or self.registry_after != self.registry_before


@dataclass(frozen=True)
class Clients:
    """The cluster's client, one per node that holds remote connections (each such node
    connects to remotes on its own, and ``_remote/info`` answers for the node it reaches), and
    the engine's replication adapter (``esdr.replication``)."""

    es: Api
    remote_views: tuple[Api, ...]
    replication: Replication | None = None

    @property
    def adapter(self) -> Replication:
        return self.replication if self.replication is not None else as_adapter(self.es)


def clients_for(topology: Topology) -> Clients:
    nodes = [n for n in topology.cluster.nodes if "remote_cluster_client" in n.roles]
    views = tuple(client_for(topology, [n]) for n in nodes) or (client_for(topology),)
    es = client_for(topology)
    return Clients(es, views, adapter_for(topology, es=es))


def desired_of(topology: Topology, records: dict[str, dict[str, Any]] | None = None) -> Desired:
    """What the cluster must hold; ``records``: the active side of each pair as recorded
    (``registry.ACTIVE``), which turns the pairs it names the way they are now."""
    estate = topology.estate
    if estate is None:  # no cross-DC design: only the awareness settings are owned
        local = ClusterRef(topology.datacentre, str(topology.cluster.name))
        estate = Estate(source="-", clusters={local.alias: local})
    elif records:
        estate = active_side.directed(estate, records)
    return desired_for(estate, topology)


def _r(what: str, call):
    """Bounded retries; a refusal that retrying cannot fix becomes one EsdrError line naming what
    was asked (callers such as the deploy handle EsdrError, whichever client library raised)."""
    try:
        return with_retries(what, call)
    except client.API_ERRORS as error:
        raise EsdrError(f"{what}: refused by the cluster: {client.describe(error)}",
                        hint="fix what the cluster says, then rerun") from error


def plan_cluster(topology: Topology, clients: Clients | None = None,
                 others: list[dict[str, dict[str, Any]]] | None = None,
                 staged: store.Staged | None = None) -> ClusterPlan:
    """Read the cluster and diff it against the estate, each replicated pair turned the way
    its newest record says (``others``: the ``active`` records of other clusters' registries,
    when the caller could read them; the cluster's own are read here). Changes nothing.
    ``staged``: the deploy's staging of the secrets directory (the pipeline users' passwords
    its pipeline hosts' part generated)."""
    clients = clients or clients_for(topology)
    es = clients.es
    designed = desired_of(topology)  # the links, and so the remotes, do not turn with a pair
    name = str(topology.cluster.name)
    timeout = float(topology.cluster.settings.get("es_remote_connect_timeout") or 1)
    # A remote that is down costs the remote checks up to es_remote_connect_timeout (the nodes
    # try it once more): they run while this cluster's own objects are read, so that wait
    # overlaps the reads instead of following them.
    remote_infos = in_background(lambda: _remote_infos(clients, designed, name, timeout))
    reg = _r(f"{name}: read {registry.INDEX}", lambda: registry.read(es))
    # the own registry last: it wins a tie of generations
    records = active_side.newest([*(others or []), registry.active_records(reg)])
    desired = desired_of(topology, records)
    plan = ClusterPlan(cluster=name, alias=desired.alias, registry_before=reg, records=records)
    if topology.estate is not None:
        plan.sides = active_side.side_of(topology.estate, records, desired.alias)
        plan.bidirectional = active_side.bidirectional_followers(topology.estate,
                                                                 desired.alias)
    usable = _features(clients.adapter, desired, reg, plan)
    persistent = _r(f"{name}: GET _cluster/settings", lambda: cluster_settings.observe_persistent(es))
    repos = _r(f"{name}: GET _snapshot", lambda: snapshot_repository.observe_snapshot_repositories(es))
    slm = (_r(f"{name}: GET _slm/policy", lambda: slm_policy.observe_slm_policies(es))
           if "slm" in usable else None)
    _add(plan, (cluster_settings.plan_awareness(desired.awareness, persistent), []))
    _add(plan, (cluster_settings.plan_owned("replication", desired.replication, persistent), []))
    desired = _without_detached(desired, reg, persistent, plan)
    _add(plan, cluster_settings.plan_remote_clusters(
        desired.remotes, persistent, registry.managed(reg, "remote_cluster")))
    connected = _connected(clients, desired, plan, timeout, infos=remote_infos())
    _add(plan, snapshot_repository.plan_snapshot_repositories(
        desired.repositories, repos, registry.managed(reg, "snapshot_repository")))
    if slm is not None:
        _add(plan, slm_policy.plan_slm_policies(
            desired.slm, slm, registry.managed(reg, "slm_policy")))
    users = _plan_ccr(clients.adapter, desired, reg, connected, plan) if "ccr" in usable else None
    _keep_used_remotes(plan, clients.adapter, users)
    _plan_aliases(es, desired, reg, plan)
    _plan_pipeline_users(es, topology, desired.alias, reg, plan, staged)
    plan.registry_after = _registry_after(reg, plan.changes)
    return plan


def plan_version(topology: Topology, es: Api | None = None) -> UpgradePlan:
    """The version change a deploy of ``topology`` would make, as the cluster answers: each
    member's version (``GET _nodes``: a node that is not in the cluster counts as unknown) and
    the elected master (last in the order). The deploy reads each node itself instead
    (``esdr.tasks.preflight.observe``); the rules are the same (``esdr.upgrade``)."""
    es = es or client_for(topology)
    nodes = _r(f"{topology.cluster.name}: GET _nodes", lambda: client.request(
        es, "GET", "/_nodes", params={"filter_path": "nodes.*.name,nodes.*.version"}))
    master = _r(f"{topology.cluster.name}: GET _cat/master", lambda: client.request(
        es, "GET", "/_cat/master", params={"format": "json", "h": "node"}))
    elected = master[0].get("node") if isinstance(master, list) and master \
        and isinstance(master[0], dict) else None
    return plan_topology_upgrade(topology, node_versions(nodes), elected)


def _plan_pipeline_users(es: Api, topology: Topology, alias: str, reg: dict, plan: ClusterPlan,
                         staged: store.Staged | None) -> None:
    """The Kafka pipelines' own users here (esdr.reconcile.pipeline_user): those the estate's
    ``kafka:`` section has write to this cluster, and those esdr made before. Only with
    security on: without it the cluster has no users, and the pipeline's login is ignored."""
    cluster = topology.cluster
    if not security_enabled(cluster):
        return
    users = pipeline_user.users_of(cluster.settings.get("es_estate"), {plan.cluster, alias})
    managed = registry.managed(reg, pipeline_user.KIND)
    if not users and not managed:
        return
    plan.secrets = pipeline_user.UserSecrets(store.secrets_dir(cluster), staged)
    desired = pipeline_user.desired_pipeline_users(users, plan.secrets, cluster.engine.name)
    observed = _r(f"{plan.cluster}: read pipeline users and roles",
                  lambda: pipeline_user.observe_pipeline_users(es, set(desired) | managed))
    _add(plan, pipeline_user.plan_pipeline_users(desired, observed, managed))


def _add(plan: ClusterPlan, result: tuple[list[Change], list[Note]]) -> None:
    plan.changes += result[0]
    plan.notes += result[1]


def _features(adapter: Replication, desired: Desired, reg: dict, plan: ClusterPlan) -> set[str]:
    """Features whose objects can be planned; a needed but unusable one becomes a problem."""
    needs = adapter.needs(desired.needs, desired.leads)
    if reg.get("follower_index") or reg.get("auto_follow"):
        needs.add("ccr")  # esdr created CCR objects before: they may have to be removed
    if reg.get("slm_policy"):
        needs.add("slm")
    usable = set()
    for feature in sorted(needs):
        check = _r(f"{plan.cluster}: feature check",
                   lambda f=feature: adapter.check_feature(f, plan.cluster, desired.licence))
        if check.trial and not any(c.kind == "licence" for c in plan.changes):
            plan.changes.append(Change("licence", "trial", "changed",
                                       {"type": check.licence_type}, {"type": "trial"}))
        if check.problem:
            plan.problems.append(check.problem)
        else:
            usable.add(feature)
    return usable


T = TypeVar("T")


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Every call at once, each in its own thread; results in order, the first error raised.
    Checks of another DC run this way so a DC that is down costs one timeout, not one each."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as error:  # handed to the caller below
            errors[i] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results


def in_background(call: Callable[[], T]) -> Callable[[], T]:
    """Start ``call`` in its own thread now; the function returned waits for it and returns its
    result or raises its error."""
    done: list[Any] = []

    def run() -> None:
        try:
            done.append((True, call()))
        except BaseException as error:  # handed to whoever waits for the result
            done.append((False, error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return value

    return result


def unreachable_note(alias: str) -> Note:
    return Note("remote_cluster", alias, f"{alias} unreachable: remote checks skipped (not "
                "connected in GET _remote/info; the settings are in place, it connects when the "
                "remote is reachable)")


def _connected(clients: Clients, desired: Desired, plan: ClusterPlan, timeout: float = 1,
               infos: list[dict] | None = None) -> set[str]:
    """Remotes the remote-cluster-client nodes are connected to, asked of every such node at
    once (``infos``: their answers, when ``_remote_infos`` asked already); a remote none of
    them reaches is reported once and its checks are skipped."""
    if not desired.remotes:
        return set()
    if infos is None:
        infos = _remote_infos(clients, desired, plan.cluster, timeout)
    merged: dict[str, dict] = {}
    for info in infos:
        for alias in desired.remotes:
            if alias not in merged or not (info.get(alias) or {}).get("connected"):
                merged[alias] = info.get(alias) or {}
    plan.notes += [unreachable_note(a) for a in sorted(desired.remotes)
                   if not (merged.get(a) or {}).get("connected")]
    return {a for a, i in merged.items() if i.get("connected")}


def _remote_infos(clients: Clients, desired: Desired, cluster: str, timeout: float) -> list[dict]:
    """``GET _remote/info`` of every remote-cluster-client node, all at once (none: no remotes)."""
    if not desired.remotes:
        return []
    return in_parallel([lambda v=view: _remote_info(v, desired, cluster, timeout)
                        for view in clients.remote_views])


def _remote_info(view: Api, desired: Desired, cluster: str, timeout: float = 1) -> dict:
    info = _r(f"{cluster}: GET _remote/info", lambda: client.get_remote_info(view))
    down = [a for a in desired.remotes if a in info and not info[a].get("connected")]
    if not down:
        return info
    # A remote that was down when its settings were applied is not retried by the node on its
    # own: resolving it makes this node try once more (a read, bounded by es_remote_connect_
    # timeout; every down remote at once).
    in_parallel([lambda a=alias: client.resolve_remote(view, a, timeout) for alias in down])
    return _r(f"{cluster}: GET _remote/info", lambda: client.get_remote_info(view))


def _without_detached(desired: Desired, reg: dict, persistent: dict[str, Any],
                      plan: ClusterPlan) -> Desired:
    """``esdr promote`` removes the survivor's link to a lost leader when the engine's
    promotion waits on it (OpenSearch), and records it under the promotion; ``esdr failback``
    puts it back. Until then a plan that recreated it would undo part of the failover: the
    link is held (only while it is absent: a link someone put back is planned as usual)."""
    present = cluster_settings.remote_aliases(persistent)
    detached = {p.get("remote") for p in (reg.get("promoted") or {}).values()
                if isinstance(p, dict) and p.get("detached_link")} - present
    held = sorted(a for a in detached if a in desired.remotes)
    if not held:
        return desired
    plan.held_links = held
    plan.notes += [Note("remote_cluster", a, f"detached by `esdr promote` while {a} was lost: "
                        "held until `esdr failback` restores it") for a in held]
    return replace(desired, remotes={a: r for a, r in desired.remotes.items() if a not in held})


def _recorded_here(plan: ClusterPlan) -> set[str]:
    """This cluster's indices in pairs whose active side is recorded: the records, not the
    older "promoted" hold, decide them."""
    return {s.designed.index if s.designed.cluster == plan.alias else s.designed.leader_index
            for s in plan.sides if s.record is not None}


def _held(reg: dict, plan: ClusterPlan) -> dict[str, dict[str, Any]]:
    """Promotions recorded by ``esdr promote`` (``registry["promoted"]``) that no active-side
    record covers (a registry written by an esdr that kept no such record): held as before,
    until ``esdr failback``."""
    recorded = _recorded_here(plan)
    return {i: p for i, p in (reg.get("promoted") or {}).items() if i not in recorded}


def _awaiting_failback(plan: ClusterPlan, index: str, observed: Any) -> Note | None:
    """A regular index here that its record says should follow the other side, after a
    promotion: the old leader came back and was not failed back yet. Not drift: only
    ``esdr failback`` turns it into a follower (it replaces this copy's data)."""
    if observed != {}:
        return None
    for s in plan.sides:
        if (s.record is not None and s.leader != plan.alias and s.follower_index == index
                and s.recorded_by == "promote"):
            return Note(follower_index.KIND, index,
                        f"{s.leader} leads {s.index} since {s.since or 'an unknown time'} "
                        f"(promote): run `esdr failback` to follow it")
    return None


def _catching_up(plan: ClusterPlan, index: str, observed: Any,
                 connected: set[str]) -> Note | None:
    """A follower of a bi-directional pair whose DC is lost, and whose status the engine
    cannot tell (OpenSearch's ``_status`` asks the leader): nothing to do. By Elastic's recipe
    (https://www.elastic.co/guide/en/elasticsearch/reference/8.17/
    ccr-disaster-recovery-bi-directional-tutorial.html) its DC's writers go to this DC's own
    index and it catches up on the DC's return. Not a blocking note: the plan has nothing for
    the user to fix."""
    bidi = plan.bidirectional.get(index)
    if bidi is None or not observed or observed.get("status") != "unknown" \
            or bidi.writer in connected:
        return None
    return Note(follower_index.KIND, index,
                f"{bidi.writer} unreachable: {bidi.writer}'s own index in the bi-directional "
                f"pair {bidi.alias}; it catches up when {bidi.writer} returns")


def _link_held(plan: ClusterPlan, index: str, want: Any, observed: Any) -> Note | None:
    """Another follower of a leader whose link `esdr promote` detached (a bi-directional
    pair's, or one not promoted): with no link the engine cannot tell its state (OpenSearch's
    ``_status`` then answers as for a regular index) and nothing can be done until the link is
    back. Not blocking: `esdr failback` restores the link, and the next deploy resumes it."""
    if observed is None or want.remote not in plan.held_links:
        return None
    return Note(follower_index.KIND, index,
                f"its leader {want.remote} is unlinked (detached by `esdr promote` while "
                f"{want.remote} was lost): left as it is until `esdr failback` restores the "
                "link; the next deploy then resumes it")


def _plan_ccr(adapter: Replication, desired: Desired, reg: dict, connected: set[str],
              plan: ClusterPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan the followers esdr knows (the estate's and those it created) and every auto-follow
    rule; returns what was observed of both, for ``_keep_used_remotes``."""
    managed = registry.managed(reg, "follower_index")
    promoted = set(_held(reg, plan))
    names = set(desired.followers) | managed
    observed = _r(f"{plan.cluster}: read followers",
                  lambda: follower_index.observe_followers(adapter, names))
    for index in sorted(names):
        want = desired.followers.get(index)
        waiting = _awaiting_failback(plan, index, observed.get(index)) if want else None
        waiting = waiting or (_catching_up(plan, index, observed.get(index), connected)
                              if want else None)
        waiting = waiting or (_link_held(plan, index, want, observed.get(index))
                              if want else None)
        if waiting is not None:
            plan.notes.append(waiting)
            continue
        _add(plan, follower_index.plan_follower(
            index, want, observed.get(index), managed, promoted,
            connected=want is None or want.remote in connected))
    patterns = _r(f"{plan.cluster}: read auto-follow rules",
                  lambda: auto_follow.observe_auto_follow(adapter))
    _add(plan, auto_follow.plan_auto_follows(
        desired.auto_follow, patterns, registry.managed(reg, "auto_follow")))
    return observed, patterns


def _keep_used_remotes(plan: ClusterPlan, adapter: Replication,
                       users: tuple[dict[str, Any], dict[str, Any]] | None) -> None:
    """A remote esdr would delete while a follower or an auto-follow rule here still uses it
    and this plan does not remove that user (held, foreign, status unknown): the delete is
    dropped and a blocking note says what keeps it. Deleting it first would leave the follower
    with no remote to follow or be unfollowed from. ``users``: the followers and rules
    ``_plan_ccr`` observed; None when replication was not planned (esdr holds no follower or
    rule), and the rules are then read here."""
    deletes = [c for c in plan.changes if c.kind == "remote_cluster" and c.action == "deleted"]
    if not deletes:
        return
    if users is None:
        try:
            users = ({}, adapter.auto_follows())
        except client.API_ERRORS as error:
            for change in deletes:
                _keep(plan, change, "its auto-follow rules could not be read "
                      f"({client.describe(error)})")
            return
    followers, patterns = users
    going = {(c.kind, c.name) for c in plan.changes
             if c.action == "deleted" or (c.action == "changed" and c.kind == "follower_index")}
    for change in deletes:
        using = sorted(
            [f"follower index {index}" for index, seen in followers.items()
             if seen and seen.get("remote_cluster") == change.name
             and (follower_index.KIND, index) not in going]
            + [f"auto-follow rule {name}" for name, rule in patterns.items()
               if (rule or {}).get("remote_cluster") == change.name
               and (auto_follow.KIND, name) not in going])
        if using:
            _keep(plan, change, f"still used by {', '.join(using)}; remove those first (or "
                  "bring the link back into the estate)")


def _keep(plan: ClusterPlan, change: Change, why: str) -> None:
    plan.changes.remove(change)
    plan.notes.append(Note(change.kind, change.name, f"not deleted: {why}", blocking=True))


def _plan_aliases(es, desired: Desired, reg: dict, plan: ClusterPlan) -> None:
    managed = registry.managed(reg, "alias")
    names = set(desired.aliases) | managed
    indices = {i for a in desired.aliases.values() for i in a.members} | set(desired.indices)
    if not names and not indices:
        return
    # One GET _alias for every alias and index, not one read per object; an index it does not
    # list (a hidden one) is asked on its own, so "missing" is never a guess.
    everything = _r(f"{plan.cluster}: GET _alias", lambda: client.get_aliases(es))
    existing = {i for i in sorted(indices) if i in everything
                or _r(f"{plan.cluster}: HEAD {i}", lambda i=i: client.index_exists(es, i))}
    plan.changes += alias.plan_indices(desired.indices, existing)
    existing |= set(desired.indices)  # created before the aliases are applied
    promoted = _held(reg, plan)
    held = {p.get("write_alias") for p in promoted.values() if p.get("write_alias")}
    for name in sorted(names):
        observed = alias.aliases_from(everything, name)
        _add(plan, alias.plan_alias(name, desired.aliases.get(name), observed, existing, managed,
                                    held=name in held, replicated=set(desired.followers)))


def _registry_after(reg: dict[str, Any], changes: list[Change]) -> dict[str, Any]:
    """esdr manages what it planned to hold (minus what it deletes), plus what it held before."""
    after = {**reg}
    for kind in registry.KINDS:
        held = registry.managed(reg, kind)
        held |= {c.name for c in changes if c.kind == kind and c.action != "deleted"}
        held -= {c.name for c in changes if c.kind == kind and c.action == "deleted"}
        after[kind] = sorted(held)
    return after


APPLY = {
    "cluster_settings": cluster_settings.apply_cluster_settings,
    "remote_cluster": cluster_settings.apply_cluster_settings,
    "snapshot_repository": snapshot_repository.apply_snapshot_repositories,
    "slm_policy": slm_policy.apply_slm_policies,
    "follower_index": follower_index.apply_followers,
    "auto_follow": auto_follow.apply_auto_follows,
    "index": alias.apply_indices,
    "alias": alias.apply_aliases,
}


# An applied change can unblock others (a new remote connects, and the followers that waited
# for it can be created): apply again, at most this many passes, before calling it drift.
APPLY_PASSES = 3


def apply_plan(
    topology: Topology, plan: ClusterPlan, *, allow_destructive: bool = False,
    clients: Clients | None = None,
) -> tuple[list[Change], list[Note], ClusterPlan]:
    """Apply in ``apply_order``; returns (applied, skipped notes, the plan observed afterwards).

    After each pass the cluster is observed again. A change applied in a pass that still shows
    is a write that did not stick: an error. A change that was not planned before (it was
    blocked, e.g. waiting for its remote) is applied in the next pass."""
    if plan.problems:
        raise EsdrError(plan.problems[0], hint=None)
    clients = clients or clients_for(topology)
    applied: list[Change] = []
    skipped: list[Note] = []
    for _ in range(APPLY_PASSES):
        done, passed = _apply_pass(clients, plan, allow_destructive)
        applied += done
        skipped += passed
        skipped_names = {(n.kind, n.name) for n in skipped}
        after = plan_cluster(topology, clients, others=[plan.records],
                             staged=plan.secrets.staged if plan.secrets else None)
        left = [c for c in after.drift if (c.kind, c.name) not in skipped_names]
        stuck = {(c.kind, c.name) for c in done} & {(c.kind, c.name) for c in left}
        if stuck or not left:
            break
        plan = after
    if left:
        raise EsdrError(
            f"cluster {plan.cluster}: still drifting after apply: "
            + "; ".join(f"{c.kind} {c.name} {c.action}" for c in left),
            hint="another writer may be changing these objects; run `esdr plan` to see the diff",
        )
    unique = {(n.kind, n.name): n for n in skipped}  # a later pass skips the same change again
    return applied, list(unique.values()), after


def _apply_pass(
    clients: Clients, plan: ClusterPlan, allow_destructive: bool
) -> tuple[list[Change], list[Note]]:
    """Every drifting change of the plan in ``apply_order``, destructive ones only when allowed;
    then the registry of what esdr manages."""
    applied: list[Change] = []
    skipped: list[Note] = []
    for change in apply_order(plan.changes):
        if change.destructive and not allow_destructive:
            skipped.append(Note(change.kind, change.name, f"{change.action} is destructive: "
                                "skipped; rerun with --allow-destructive to do it"))
            continue
        _apply_one(clients, change, plan.cluster, plan.secrets)
        applied.append(change)
    skipped_names = {(n.kind, n.name) for n in skipped}
    reg_after = _registry_after(plan.registry_before,
                                [c for c in plan.changes if (c.kind, c.name) not in skipped_names])
    if reg_after != plan.registry_before:
        _r(f"{plan.cluster}: write {registry.INDEX}", lambda: registry.write(clients.es, reg_after))
    return applied, skipped


REPLICATION_KINDS = frozenset({"follower_index", "auto_follow"})


def _apply_one(clients: Clients, change: Change, cluster: str,
               secrets: pipeline_user.UserSecrets | None = None) -> None:
    """One change; a refusal is one EsdrError line naming the object (``_r``)."""
    es = clients.es
    if change.kind == pipeline_user.KIND:
        assert secrets is not None  # planned only with them
        _r(f"cluster {cluster}: {change.kind} {change.name} {change.action}",
           lambda: pipeline_user.apply_pipeline_users(es, [change], secrets))
        return
    target = clients.adapter if change.kind in REPLICATION_KINDS else es
    if change.kind == "licence":
        _r(f"cluster {cluster}: start trial", lambda: client.post_start_trial(es))
        return
    _r(f"cluster {cluster}: {change.kind} {change.name} {change.action}",
       lambda: APPLY[change.kind](target, [change]))


def plan_lines(plan: ClusterPlan, verbose: bool = False) -> list[str]:
    """The per-object diff as printed by `esdr plan` and the deploy."""
    lines = [f"cluster {plan.cluster} ({plan.alias}):"]
    lines += [f"  {s.line()}" for s in plan.sides]
    lines += [f"  {line}" for line in sorted({
        f"bi-directional {b.alias}: both DCs write, each its own index (no active side)"
        for b in plan.bidirectional.values()})]
    lines += [f"  error: {p}" for p in plan.problems]
    shown = plan.changes if verbose else plan.drift
    lines += ["  " + line for c in shown for line in c.line().splitlines()]
    lines += ["  " + n.line() for n in plan.notes]
    counts = {a: sum(1 for c in plan.changes if c.action == a)
              for a in ("created", "changed", "deleted", "unchanged")}
    lines.append("  " + ", ".join(f"{n} {a}" for a, n in counts.items()))
    lines += [f"  {line}" for line in registry_lines(plan.registry_before, plan.registry_after)]
    return lines


def registry_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What the apply records in the registry beyond the objects' own changes: a deploy that
    writes it says so, instead of reporting nothing changed while its operation changed."""
    lines = []
    for kind in registry.KINDS:
        was, now = registry.managed(before, kind), registry.managed(after, kind)
        if now - was:
            lines.append(f"registry {registry.INDEX}: records {kind} "
                         f"{', '.join(sorted(now - was))} as managed by esdr")
        if was - now:
            lines.append(f"registry {registry.INDEX}: no longer records {kind} "
                         f"{', '.join(sorted(was - now))}")
        if was == now and before.get(kind) != after.get(kind):
            lines.append(f"registry {registry.INDEX}: rewrites its {kind} list "
                         f"({before.get(kind)!r} -> {after.get(kind)!r})")
    others = sorted(k for k in set(before) | set(after)
                    if k not in registry.KINDS and before.get(k) != after.get(k))
    if others:
        lines.append(f"registry {registry.INDEX}: rewrites {', '.join(others)}")
    return lines
