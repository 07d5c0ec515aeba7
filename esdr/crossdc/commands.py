"""The ``esdr plan``, ``promote`` and ``failback`` commands: load, connect, call, print, exit code.

Exit codes: 0 done / no drift; 1 a clear error (printed on one line); 2 invalid topology;
3 (plan only) drift exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from esdr.crossdc.estate import Estate
from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import API_ERRORS, Api
from esdr.es.connect import client_for
from esdr.inventory import project_root_for
from esdr.model import Topology
from esdr.topology_io import InvalidTopology, load_valid_topology

DRIFT = 3
Say = Callable[..., None]


def _load(inventory: str) -> tuple[Topology, Estate | None]:
    from esdr.reconcile.run import estate_of

    topology, _ = load_valid_topology(inventory)
    return topology, estate_of(topology)


def _guard(run: Callable[[], int], say: Say) -> int:
    try:
        return run()
    except InvalidTopology as error:
        say(f"esdr: {error}", err=True)
        return 2
    except EsdrError as error:
        say(f"esdr: {error}", err=True)
        return 1
    except API_ERRORS as error:  # either engine's client library: one line, not a traceback
        say(f"esdr: {inventory_hint(error)}", err=True)
        return 1


def inventory_hint(error: Exception) -> str:
    return (f"the cluster API failed: {client.describe(error)} (fix: check that the cluster is "
            "up and this machine reaches its HTTP port, then rerun)")


def plan_command(inventory: str, verbose: bool, say: Say) -> int:
    from esdr.reconcile.run import plan_cluster, plan_lines

    def run() -> int:
        topology, _ = _load(inventory)
        plan = plan_cluster(topology)
        for line in plan_lines(plan, verbose):
            say(line)
        if plan.has_drift:
            say(f"{inventory}: drift in {len(plan.drift)} object(s); `pyinfra -y {inventory} "
                "deploys/site.py` converges it", err=True)
            return DRIFT
        say(f"{inventory}: no drift")
        return 0

    return _guard(run, say)


def _estate_alias(topology: Topology, estate: Estate | None) -> str:
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None:
        raise EsdrError(f"cluster {topology.cluster.name} has no cross-DC design (es_estate)",
                        hint="load group_data/estates/<name>.yml into es_estate")
    return alias


def remote_topology(inventory: str, estate: Estate, alias: str) -> Topology | None:
    """Another cluster of the estate, through its own inventory (None if unknown)."""
    ref = estate.clusters.get(alias)
    if ref is None or not ref.inventory:
        return None
    path = project_root_for(inventory) / ref.inventory
    if not Path(path).is_file():
        return None
    other, _ = load_valid_topology(path)
    return other


def remote_client(inventory: str, estate: Estate, alias: str) -> Api | None:
    """A client to another cluster of the estate, through its own inventory (None if unknown)."""
    other = remote_topology(inventory, estate, alias)
    return None if other is None else client_for(other, request_timeout=10)


def _health(es: Api | None) -> dict | None:
    if es is None:
        return None
    try:
        return client.get_cluster_health(es, timeout="5s")
    except Exception:  # unreachable is the expected answer during a disaster
        return None


def promote_command(inventory: str, names: list[str], all_: bool, dry: bool, force: bool,
                    say: Say) -> int:
    from esdr.crossdc.desired import desired_for
    from esdr.reconcile import registry
    from esdr.replication import adapter_for
    from esdr.runbooks import promote

    def run() -> int:
        topology, estate = _load(inventory)
        alias = _estate_alias(topology, estate)
        adapter = adapter_for(topology)
        followers = desired_for(estate, topology).followers
        recorded = set(registry.read(adapter.es).get("promoted", {}))
        chosen = promote.choose(followers, names, all_, recorded)
        if not chosen:
            say("nothing to promote: every chosen follower was promoted already")
            return 0
        for remote in sorted({f.remote for f in chosen}):
            health = _health(remote_client(inventory, estate, remote))
            state = health.get("status") if health else "unreachable"
            say(f"leader data centre {remote}: {state}")
            if not dry:
                promote.refuse_if_remote_healthy(remote, health, force)
        promote.promote(adapter, alias, chosen, dry=dry, say=say)
        return 0

    return _guard(run, say)


def failback_command(inventory: str, direction: str, names: list[str], allow_delete: bool,
                     dry: bool, say: Say) -> int:
    from esdr.reconcile import registry
    from esdr.replication import adapter_for
    from esdr.runbooks import failback

    def run() -> int:
        topology, estate = _load(inventory)
        alias = _estate_alias(topology, estate)
        adapter = adapter_for(topology)
        recorded = registry.read(adapter.es).get("promoted", {})
        promoted = [failback.Promoted.from_registry(alias, i, e) for i, e in sorted(recorded.items())
                    if not names or i in names]
        if not promoted:
            say(f"nothing to fail back: no promotion recorded on {alias}")
            return 0
        clients = {alias: adapter}
        for remote in sorted({p.remote for p in promoted}):
            if direction == "reverse" and not estate.link(remote, alias):
                raise EsdrError(f"{remote} cannot follow {alias}: the estate has no link "
                                f"{remote}->{alias}", hint="add it under `links` and deploy first")
            other = remote_topology(inventory, estate, remote)
            if other is None or _health(client_for(other, request_timeout=10)) is None:
                raise EsdrError(f"the old primary {remote} is not reachable and healthy yet",
                                hint="bring it back first; failback needs both data centres")
            clients[remote] = adapter_for(other)
        failback.failback(clients, promoted, direction, allow_delete=allow_delete, dry=dry, say=say)
        return 0

    return _guard(run, say)
