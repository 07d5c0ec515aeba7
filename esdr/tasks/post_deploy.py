"""After the nodes converged: the shared snapshot directories, then every cluster-level object.

``cluster_objects`` runs the reconcilers once per run. It plans while pyinfra executes (the
cluster may not exist while the deploy is prepared) and yields a command only when the plan has
drift, so a rerun on a converged estate reports no change. ``pyinfra --dry`` cannot show the
cluster-level diff (nothing executes), so the operation points at ``esdr plan`` instead.
"""

from __future__ import annotations

import sys

from pyinfra import host, state
from pyinfra.api import FunctionCommand, operation
from pyinfra.api.exceptions import OperationValueError

from esdr import layout
from esdr.errors import EsdrError
from esdr.es import client
from esdr.model import Node, Topology
from esdr.reconcile import registry
from esdr.reconcile.run import ClusterPlan, apply_plan, clients_for, plan_cluster, plan_lines
from esdr.tasks import known
from esdr.tasks.context import staged_secrets


def _say(message: str) -> None:
    print(f"[esdr] {message}", file=sys.stderr, flush=True)


def snapshot_directories(topology: Topology, node: Node) -> None:
    """Every path.repo entry and the shared mount of each fs repository, usable by the service
    user on every master and data node (root keeps ownership; the group gets rwx, nobody else
    anything). Before the node starts: OpenSearch refuses to start on a path.repo it cannot
    read."""
    for d in layout.snapshot_directories(topology, node):
        known.directory(f"Snapshot directory {d.path} usable by {d.group}", d.path, d.user,
                        d.group, d.mode)


def snapshot_paths(topology: Topology) -> list[str]:
    return layout.snapshot_paths(topology)


# The deploy's switch for destructive cluster-level changes: `pyinfra --data allow_destructive=true`
# (pyinfra turns "true"/"false" into booleans); `esdr apply --allow-destructive` is the same switch.
SWITCH = "allow_destructive"


def destructive_switch(given: bool | None = None) -> bool:
    """``given``, else this run's ``--data allow_destructive=...``; off unless it says true.

    Only the command line may say it: pyinfra merges ``--data`` into the same host data as the
    inventory's group and host data (https://docs.pyinfra.com/en/3.x/inventory-data.html, data
    hierarchy), so a switch left in group data would arm every later deploy without anyone
    asking. Raised while pyinfra prepares the run, before any host is changed.
    """
    if given is not None:
        value = given
    else:
        _refuse_switch_in_inventory()
        value = host.data.get(SWITCH, False)
    if not isinstance(value, bool):
        raise OperationValueError(
            f"{SWITCH} must be true or false, not {value!r}: pyinfra --data {SWITCH}=true")
    return value


def _refuse_switch_in_inventory() -> None:
    inventory = getattr(host, "inventory", None)
    if inventory is None:  # not a pyinfra host: no inventory data to come from
        return
    places = [("host data", f"host {host.name}", inventory.get_host_data(host.name))]
    places += [("group data", f"group {group}", inventory.get_group_data(group))
               for group in host.groups]
    places.append(("group data", "group all", inventory.get_data()))
    for kind, name, data in places:
        if SWITCH in (data or {}):
            raise OperationValueError(
                f"{SWITCH} is set in the {kind} of {name}: it would allow destructive changes "
                f"on every deploy; remove it there and pass it for one run only: pyinfra "
                f"--data {SWITCH}=true")


@operation(is_idempotent=False)
def cluster_objects(topology: Topology, allow_destructive: bool | None = None):
    """
    Converge the cluster-level objects (awareness and remote-cluster settings, snapshot
    repositories, SLM, CCR followers and auto-follow patterns, aliases) to the estate.

    + topology: the data centre's model (its ``es_estate`` is the cross-DC design)
    + allow_destructive: also unfollow / recreate followers / delete managed objects (otherwise
      listed and skipped); ``None`` reads the run's ``pyinfra --data allow_destructive=true``

    Run it once (``_run_once=True``) after the nodes converged.
    """
    allow = destructive_switch(allow_destructive)
    if not state.is_executing:
        _say(f"cluster-level objects of {topology.cluster.name} are reconciled after the nodes "
             f"converge; to preview them (pyinfra --dry cannot): esdr plan {topology.source or 'INVENTORY'}")
        return
    try:
        # the deploy's staging: a pipeline user's password this run's pipeline hosts generated
        plan = plan_cluster(topology, staged=staged_secrets(topology.cluster.name))
    except EsdrError as error:
        yield FunctionCommand(_fail, (str(error),), {})
        return
    for line in plan_lines(plan):
        _say(line)
    if plan.problems:
        yield FunctionCommand(_fail, ("; ".join(plan.problems),), {})
        return
    if not plan.needs_write:
        host.noop(f"cluster-level objects of {plan.cluster} are converged")
        return
    yield FunctionCommand(_apply, (topology, plan, allow), {})


# pyinfra passes state and host to a FunctionCommand only when the parameters carry exactly
# these names (and only then uses the return value as the command's status).
def _fail(state, host, message: str) -> bool:
    _say(f"error: {message}")
    return False


def _apply(state, host, topology: Topology, plan: ClusterPlan, allow_destructive: bool) -> bool:
    try:
        clients = clients_for(topology)
        applied, skipped, after = apply_plan(topology, plan, allow_destructive=allow_destructive,
                                             clients=clients)
        registry.record_destructive(clients.es, applied, by=f"deploy --data {SWITCH}=true")
    except (EsdrError, *client.API_ERRORS) as error:  # one clear line, not a traceback
        _say(f"error: {plan.cluster}: {error}")
        return False
    for change in applied:
        mark = (f" (DESTRUCTIVE, allowed by {SWITCH}=true; recorded in {registry.INDEX})"
                if change.destructive else "")
        _say(f"{plan.cluster}: {change.kind} {change.name} {change.action}{mark}")
    for note in skipped + after.notes:
        _say(f"{plan.cluster}: {note.line()}")
    if skipped:
        _say(f"{plan.cluster}: {len(skipped)} destructive change(s) not made: rerun the deploy "
             f"with --data {SWITCH}=true, or run esdr apply {topology.source or 'INVENTORY'} "
             "--allow-destructive")
    return True
