"""Restart changed nodes one at a time, each gated on the cluster's health (Elastic's procedure)."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping

from pyinfra import host, state
from pyinfra.api import FunctionCommand, operation
from pyinfra.api.operation import OperationMeta

from esdr.model import Topology
from esdr.facts.elasticsearch import EsElectedMaster, EsShards
from esdr.node_api import HEALTH_ORDER, NodeApi, health_at_least, wait_until
from esdr.restart_plan import restart_order, sole_copies


@operation(is_idempotent=False)
def restart_needed(node_name: str):
    """
    Mark this node for the rolling restart; give it ``_if=`` the reason to restart.

    + node_name: the node, as the topology names it

    Changes nothing itself: when its ``_if=`` holds, it "changes", and ``rolling_restart``
    restarts the nodes whose mark changed, in a safe order. Restarting here instead would
    restart every changed node at once.

    **Example:**

    .. code:: python

        restart_needed(
            name="Restart needed",
            node_name="dc1-data-az1",
            _if=lambda: config.did_change(),
        )
    """
    yield FunctionCommand(_marked, (node_name,), {})


def _marked(node_name: str) -> bool:
    _say(f"{node_name}: restart needed")
    return True


def _changed(needed: Mapping[str, OperationMeta]) -> list[str]:
    """The nodes whose ``restart_needed`` ran and changed (a failed host's never completes)."""
    return [name for name, op in needed.items() if op.is_complete() and op.did_change()]


@operation(is_idempotent=False)
def rolling_restart(
    topology: Topology, needed: Mapping[str, OperationMeta], service: str, timeout: int = 300
):
    """
    Restart the nodes whose configuration changed while they were running, one at a time.

    + topology: the data centre's model (gives order, ports and addresses)
    + needed: node name -> its ``restart_needed`` operation, filled while the deploy prepares
    + service: the systemd unit
    + timeout: seconds each node may take to rejoin and the cluster to return to its health

    Run it once per deploy (``_run_once=True``) after every configuration operation.
    """
    if not state.is_executing:
        _show_reads(topology)
        return  # which configs changed is only known once they have run
    names = _changed(needed)
    if not names:
        host.noop("no node needs a restart")
        return
    yield FunctionCommand(_roll, (topology, names, service, timeout), {})


def _say(message: str) -> None:
    print(f"[esdr] {message}", file=sys.stderr, flush=True)


def _api_for(topology: Topology, name: str) -> NodeApi:
    return NodeApi.for_node(topology, topology.cluster.node(name))


def _roll(state, host, topology: Topology, names: list[str], service: str, timeout: int):
    # pyinfra passes (state, host) only to functions whose arguments carry exactly these names
    cluster = topology.cluster
    observers = [n.name for n in cluster.master_eligible]
    elected = _elected_master(topology, observers)
    order = restart_order(cluster, names, elected)
    _say(f"rolling restart of {len(order)} node(s): {', '.join(n.name for n in order)}")
    for node in order:
        observer = _api_for(topology, next(o for o in observers if o != node.name))
        before = (observer.health() or {}).get("status", "red")
        started = time.monotonic()
        if node.holds_data:
            # Green is not enough: an index with auto_expand_replicas (.security, esdr's own
            # registry) is green with 0 replicas right after the previous node rejoined, and
            # stopping the node with its only copy turns the cluster red.
            wait_until(
                f"every shard on {node.name} to have a started copy on another node",
                lambda: not sole_copies(observer.read(EsShards) or [], node.name),
                timeout=timeout,
            )
            # Elastic's rolling restart: keep replicas where they are while the node is away
            observer.request(
                "PUT",
                "_cluster/settings",
                {"persistent": {"cluster.routing.allocation.enable": "primaries"}},
            )
            observer.request("POST", "_flush")
        target = _api_for(topology, node.name)
        ok, _ = target.run(f"systemctl restart {service}", timeout=timeout)
        if not ok:
            raise RuntimeError(f"systemctl restart {service} failed on {node.name}")
        wait_until(
            f"{node.name} to rejoin",
            lambda: node.name in observer.node_names(),
            timeout=timeout,
        )
        # A node is listed by the master once it joins, before its own HTTP port is bound:
        # clients that reach it directly (with its new certificate) must find it answering.
        wait_until(
            f"{node.name} to answer on its own HTTP port",
            lambda: target.health() is not None,
            timeout=timeout,
        )
        if node.holds_data:
            observer.request(
                "PUT",
                "_cluster/settings",
                {"persistent": {"cluster.routing.allocation.enable": None}},
            )
        wanted = before if HEALTH_ORDER.get(before, 0) > 0 else "yellow"
        wait_until(
            f"cluster health {wanted} after restarting {node.name}",
            lambda: health_at_least(observer, wanted),
            timeout=timeout,
        )
        _say(f"restarted {node.name}: back, health {wanted} ({time.monotonic() - started:.1f}s)")
    return True


def _elected_master(topology: Topology, observers: list[str]) -> str | None:
    for name in observers:
        elected = _api_for(topology, name).read(EsElectedMaster)
        if elected:
            return elected
    return None


def _show_reads(topology: Topology) -> None:
    """While the deploy is prepared (``--dry`` included): what the restart would start from."""
    observers = [n.name for n in topology.cluster.master_eligible]
    found = "cluster does not answer yet"
    for name in observers:
        health = _api_for(topology, name).health()
        if health:
            elected = _elected_master(topology, observers)
            found = f"cluster {health.get('status')}, elected master {elected or 'unknown'}"
            break
    _say(f"rolling restart reads: {found}; it restarts the nodes whose config changed")
    host.noop(f"{found}; changed nodes are restarted once their config ops have run")
