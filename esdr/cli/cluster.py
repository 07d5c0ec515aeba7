"""``esdr plan``, ``promote`` and ``failback``: the commands that talk to the cluster APIs.

Each loads the project, connects, calls the reconcilers or a runbook, prints, and returns its
exit code; ``esdr.cli.guard`` turns what they raise into one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.args import INVENTORY, topology_of
from esdr.cli.guard import DRIFT, OK, guarded
from esdr.cli.prints import Printer
from esdr import desired, replication
from esdr.crossdc import active_side
from esdr.crossdc.estate import Estate
from esdr.errors import BadInput, EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.es.connect import client_for
from esdr.inventory import project_root_for
from esdr.kafka import topics as kafka_topics
from esdr.kafka_io import cluster as kafka_cluster
from esdr.model import Topology
from esdr.reconcile import registry, run
from esdr.runbooks import failback as failback_runbook
from esdr.runbooks import promote as promote_runbook
from esdr import upgrade



@click.command()
@INVENTORY
@click.option("--verbose", is_flag=True, help="Also list the objects that are unchanged.")
@guarded
def plan(printer: Printer, inventory: str, verbose: bool) -> int:
    """Show the cluster-level diff of INVENTORY's cluster, and the topic diff of the estate's
    Kafka clusters whose hosts it holds; changes nothing.

    Each replicated pair is planned the way its newest recorded active side says (this
    cluster's registry and, when they answer, the other estate clusters'), never as a change
    that would undo a failover.

    Exit 0: no drift; 3: drift (the per-object diff is printed), or something blocks the plan
    that a deploy cannot fix; 1/2: cannot tell.
    """
    topology = topology_of(inventory)
    others, unread = other_records(inventory, topology)
    cluster_plan = run.plan_cluster(topology, others=others)
    for line in run.plan_lines(cluster_plan, verbose):
        printer.say(line)
    for alias in unread:
        printer.say(f"  ! {alias}: its esdr-managed records could not be read: the active sides "
                    "above are this cluster's own records")
    # es_version against the versions the nodes run: the deploy's rolling upgrade, node by node
    version_plan = run.plan_version(topology)
    if version_plan.action in (upgrade.UPGRADE, upgrade.REFUSED):
        for line in upgrade.plan_lines(version_plan):
            printer.say(line)
    # The estate's Kafka topics, when this inventory holds a Kafka cluster's hosts: reached
    # from this machine, directly (esdr.kafka_io.cluster says why)
    topic_plans = kafka_cluster.plan_inventory_topics(topology)
    for topic_plan in topic_plans:
        for line in kafka_topics.plan_lines(topic_plan, verbose):
            printer.say(line)
    drifting = (cluster_plan.drift + [c for p in topic_plans for c in p.drift]
                + upgrade.changes(version_plan))
    blocking = [n for n in cluster_plan.notes if n.blocking]
    blocking += [n for p in topic_plans for n in p.blocking]
    refused = [str(p) for p in version_plan.problems]  # a deploy refuses it: the user fixes it
    printer.record(drift=[f"{c.kind} {c.name}: {c.action}" for c in drifting],
                   blocking=list(cluster_plan.problems) + [n.line() for n in blocking] + refused,
                   active=[s.summary() for s in cluster_plan.sides])
    if drifting:
        printer.say(f"{inventory}: drift in {len(drifting)} object(s); `pyinfra -y "
                    f"{inventory} deploys/site.py` converges it", err=True)
        return DRIFT
    if cluster_plan.has_drift or blocking or refused:  # a deploy cannot fix these
        errors = len(cluster_plan.problems) + len(refused)
        what = [f"{errors} error(s)"] if errors else []
        what += [f"{len(blocking)} blocking note(s)"] if blocking else []
        printer.say(f"{inventory}: nothing a deploy converges, but {' and '.join(what)} above "
                    "need(s) you first", err=True)
        return DRIFT
    printer.say(f"{inventory}: no drift")
    return OK


def other_records(inventory: str, topology: Topology) -> tuple[list[dict], list[str]]:
    """The ``active`` records of the estate's other clusters that share a replicated pair with
    this one, read through their own inventories, all at once (a lost DC costs one connect
    timeout); the aliases that could not be read. A promotion made while this DC was lost is
    recorded only over there: without it, the returning DC would plan as designed."""
    estate = topology.estate
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None:
        return [], []
    partners = sorted({a for f in estate.followers if alias in (f.cluster, f.remote)
                       for a in (f.cluster, f.remote)} - {alias})
    reachable: list[tuple[str, Api]] = []
    unread = []
    for other in partners:  # inventories load one after the other (pyinfra's loader state)
        try:
            es = remote_client(inventory, estate, other)
        except EsdrError:
            es = None
        if es is None:
            unread.append(other)
        else:
            reachable.append((other, es))

    def read(es: Api) -> dict | None:
        try:
            return registry.active_records(registry.read(es))
        except client.API_ERRORS:  # a lost DC is an expected answer
            return None

    found = run.in_parallel([lambda es=es: read(es) for _, es in reachable])
    unread += [a for (a, _), records in zip(reachable, found) if records is None]
    return [r for r in found if r is not None], sorted(unread)


def _estate_alias(topology: Topology) -> tuple[Estate, str]:
    estate = topology.estate
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None:
        raise BadInput(f"cluster {topology.cluster.name} has no cross-DC design (es_estate)",
                        hint="load group_data/estates/<name>.yml into es_estate")
    return estate, alias


def remotetopology_of(inventory: str, estate: Estate, alias: str) -> Topology | None:
    """Another cluster of the estate, through its own inventory (None if unknown)."""
    ref = estate.clusters.get(alias)
    if ref is None or not ref.inventory:
        return None
    path = project_root_for(inventory) / ref.inventory
    if not Path(path).is_file():
        return None
    return topology_of(str(path))


def remote_client(inventory: str, estate: Estate, alias: str) -> Api | None:
    """A client to another cluster of the estate, through its own inventory (None if unknown)."""
    other = remotetopology_of(inventory, estate, alias)
    if other is None:
        return None
    # A lost DC answers nothing: each node is tried once, its connection bounded by
    # es_remote_connect_timeout and opened in parallel with the others' (esdr.es.tunnel), and a
    # node found down is not waited on again, so deciding "unreachable" costs about that long.
    return client_for(other, request_timeout=5, max_retries=max(0, len(other.cluster.nodes) - 1),
                      connect_timeout=remote_connect_timeout(other))


def remote_connect_timeout(topology: Topology) -> float:
    return float(topology.cluster.settings.get("es_remote_connect_timeout") or 1)


def _health(es: Api | None) -> dict | None:
    if es is None:
        return None
    try:
        return client.get_cluster_health(es, timeout="5s")
    except Exception:  # unreachable is the expected answer during a disaster
        return None


@click.command()
@INVENTORY
@click.option("--index", "indices", multiple=True, help="A follower index to promote (repeatable).")
@click.option("--all", "all_", is_flag=True, help="Promote every follower of this cluster.")
@click.option("--dry", is_flag=True, help="Show the steps, change nothing.")
@click.option("--force", is_flag=True, help="Promote even though the remote DC is healthy.")
@click.option("--break-bidirectional", "break_bidirectional", is_flag=True,
              help="Also promote a follower of a bi-directional pair named with --index (it "
              "needs no promotion: its DC's writers go to this DC's own index).")
@guarded
def promote(printer: Printer, inventory: str, indices: tuple[str, ...], all_: bool, dry: bool,
            force: bool, break_bidirectional: bool) -> int:
    """On the surviving DC, turn followers into writable indices and switch write aliases.

    Followers of bi-directional pairs stay followers (nothing to promote: each DC writes its
    own index); promote reports what their lost DC may have acknowledged that is not here."""
    topology = topology_of(inventory)
    estate, alias = _estate_alias(topology)
    adapter = replication.adapter_for(topology)
    reg = registry.read(adapter.es)
    # the followers here as the recorded active side has it (after a failback in reverse, the
    # designed leader's index is the follower)
    directed = active_side.directed(estate, active_side.newest([registry.active_records(reg)]))
    followers = desired.desired_for(directed, topology).followers
    recorded = set(reg.get("promoted", {}))
    chosen = promote_runbook.choose(followers, list(indices), all_, recorded)
    chosen, kept = active_side.split_bidirectional(chosen, estate, alias, named=indices,
                                                   allow=break_bidirectional)
    if not chosen and not kept:
        printer.say("nothing to promote: every chosen follower was promoted already")
        return OK
    unreachable = []
    remotes = sorted({f.remote for f in chosen} | {k.writer for k in kept})
    # inventories load one after the other (pyinfra's loader keeps global state); the leaders
    # are then asked at once, so two lost DCs cost one connect timeout
    leaders = [remote_client(inventory, estate, r) for r in remotes]
    probes = run.in_parallel([lambda r=r, c=c: promote_runbook.probe(r, c)
                              for r, c in zip(remotes, leaders)])
    for leader in probes:
        printer.say(f"leader data centre {leader.remote}: {leader.state}")
        if not dry:
            promote_runbook.refuse_unless_lost(leader, force)
        if leader.unreachable:
            unreachable.append(leader.remote)
    detached = {}
    if adapter.WRITABLE_WAITS_ON_LEADER:
        # only for followers made writable: a bi-directional follower left following needs
        # the link to catch up when its DC returns
        for remote in [r for r in unreachable if any(f.remote == r for f in chosen)]:
            if dry:
                printer.say(f"would detach the link {alias}->{remote} first (it is unreachable)")
                continue
            detached[remote] = promote_runbook.detach_link(adapter.es, remote)
            printer.say(f"detached the link {alias}->{remote} (unreachable) so making the "
                        f"followers writable does not wait on it; `esdr failback` restores it")
    # the data at risk is measured only from a leader that answered; esdr's in-sync records
    # bound it when the leader did not (esdr.runbooks.at_risk)
    bidi = active_side.bidirectional_followers(estate, alias)
    risks = (promote_runbook.promote(
        adapter, alias, chosen, dry=dry, say=printer.say, detached=detached,
        leaders={p.remote: p for p in probes}, in_sync=reg.get(registry.IN_SYNC) or {},
        bidirectional={f.index: bidi[f.index].alias for f in chosen if f.index in bidi})
        if chosen else [])
    kept_risks = promote_runbook.report_kept(adapter, kept, say=printer.say,
                                             leaders={p.remote: p for p in probes},
                                             in_sync=reg.get(registry.IN_SYNC) or {})
    printer.record(data_at_risk={r.index: r.record() for r in risks},
                   bidirectional_kept={k.index: {**k.summary(), **r.record()}
                                       for k, r in zip(kept, kept_risks)})
    if not dry:
        reachable = {r: c for r, c in zip(remotes, leaders) if r not in unreachable}
        _record_active(printer, estate, alias, [f.index for f in chosen], alias, "promote",
                       {alias: adapter, **{r: reachable.get(r) for r in remotes}})
    return OK


def _record_active(printer: Printer, estate: Estate, cluster: str, indices: list[str],
                   leader: str, by: str, clients: dict) -> None:
    """Record ``leader`` as the active side of each pair of ``indices`` (on ``cluster``) in
    every registry of ``clients`` (None: a DC known lost; it reads the record from the others
    when it returns: ``esdr plan``), and say so."""
    for index in indices:
        key = active_side.key_for(estate, cluster, index)
        if key is None:
            continue
        missed = registry.record_active(clients, key, leader, by)
        where = ", ".join(sorted(set(clients) - set(missed)))
        printer.say(f"active side of {index}: {leader}, recorded in {where or 'no registry'}"
                    + (f" (not in {', '.join(missed)}: unreachable)" if missed else ""))


@click.command()
@INVENTORY
@click.option(
    "--direction",
    type=click.Choice(["reverse", "original"]),
    default="reverse",
    help="reverse: the returning DC follows this one; original: this DC follows the old leader "
    "again (its writes since the promotion are lost).",
)
@click.option("--index", "indices", multiple=True, help="A promoted index (repeatable).")
@click.option("--allow-delete", is_flag=True, help="Delete the stale copy that must be replaced.")
@click.option(
    "--salvage-into",
    type=click.Choice(["side", "live"]),
    default="side",
    help="reverse: keep what the old leader holds and this DC does not, first. side: into "
    "<index>-salvaged-<time> here; live: create-only into the promoted index (conflicts listed "
    "and kept in the side index).",
)
@click.option("--no-salvage", is_flag=True,
              help="Keep nothing of the old leader's copy (it is deleted as it is).")
@click.option("--dry", is_flag=True, help="Show the steps and count what would be salvaged; "
              "change nothing.")
@guarded
def failback(printer: Printer, inventory: str, direction: str, indices: tuple[str, ...],
             allow_delete: bool, salvage_into: str, no_salvage: bool, dry: bool) -> int:
    """After the old primary returns, re-establish replication for promoted indices."""
    topology = topology_of(inventory)
    estate, alias = _estate_alias(topology)
    adapter = replication.adapter_for(topology)
    recorded = registry.read(adapter.es).get("promoted", {})
    # a follower of a bi-directional pair promoted on request: reverse is refused for it
    bidi = active_side.bidirectional_followers(estate, alias)
    promoted = [failback_runbook.Promoted.from_registry(
                    alias, index, entry, bidi[index].alias if index in bidi else None)
                for index, entry in sorted(recorded.items()) if not indices or index in indices]
    if not promoted:
        printer.say(f"nothing to fail back: no promotion recorded on {alias}")
        return OK
    clients = {alias: adapter}
    for remote in sorted({p.remote for p in promoted}):
        clients[remote] = _returned_primary(inventory, estate, alias, remote, direction)
    failback_runbook.failback(clients, promoted, direction, allow_delete=allow_delete, dry=dry,
                              say=printer.say, salvage=None if no_salvage else salvage_into)
    if not dry:
        for p in promoted:
            _record_active(printer, estate, alias, [p.index],
                           alias if direction == "reverse" else p.remote, "failback",
                           {alias: adapter, p.remote: clients[p.remote]})
    return OK


def _returned_primary(inventory: str, estate: Estate, alias: str, remote: str,
                      direction: str) -> replication.Replication:
    """The old primary's adapter, once it is back, linked and healthy."""
    if direction == "reverse" and not estate.link(remote, alias):
        raise BadInput(f"{remote} cannot follow {alias}: the estate has no link "
                        f"{remote}->{alias}", hint="add it under `links` and deploy first")
    other = remotetopology_of(inventory, estate, remote)
    if other is None or _health(client_for(
            other, request_timeout=10, connect_timeout=remote_connect_timeout(other))) is None:
        raise EsdrError(f"the old primary {remote} is not reachable and healthy yet",
                        hint="bring it back first; failback needs both data centres")
    return replication.adapter_for(other)
