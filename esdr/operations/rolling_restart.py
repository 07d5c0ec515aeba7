"""Restart changed nodes one at a time, each gated on the cluster's health (Elastic's procedure)."""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Mapping

from pyinfra import host, state
from pyinfra.api import FunctionCommand, operation
from pyinfra.api.operation import OperationMeta

from esdr.errors import EsdrError
from esdr.model import Node, Topology
from esdr.facts.elasticsearch import (
    RESTART_MARKER,
    EsClusterSettings,
    EsElectedMaster,
    EsShards,
)
from esdr.node_api import HEALTH_ORDER, NodeApi, health_at_least, wait_until
from esdr.operations.elasticsearch import marker_write
from esdr.restart_plan import restart_order, sole_copies


@operation(is_idempotent=False)
def restart_needed(node_name: str, marker: str | None = None):
    """
    Mark this node for the rolling restart; give it ``_if=`` the reason to restart.

    + node_name: the node, as the topology names it
    + marker: a file on the node that keeps the mark until the node has been restarted
      (``restart_marker``), so a roll that stops before this node leaves it marked for the next
      deploy; ``None`` keeps the mark for this run only

    Changes nothing else: when its ``_if=`` holds, it "changes", and ``rolling_restart``
    restarts the nodes whose mark changed, in a safe order. Restarting here instead would
    restart every changed node at once.

    **Example:**

    .. code:: python

        restart_needed(
            name="Restart needed",
            node_name="dc1-data-az1",
            marker="/var/lib/elasticsearch/esdr-restart-pending",
            _if=lambda: config.did_change(),
        )
    """
    if marker is not None:
        yield marker_write(marker, node_name)  # not "echo >": the data dir is the service user's
    yield FunctionCommand(_marked, (node_name,), {})


def restart_marker(topology: Topology) -> str:
    """Where a node keeps its pending restart (beside the cluster-formed marker)."""
    return f"{topology.cluster['es_data_dir']}/{RESTART_MARKER}"


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
    held_by = leftover_hold(topology)
    if held_by:  # a roll stopped before it gave allocation back: give it back first
        yield FunctionCommand(_restore_leftover, (topology,), {})
    if names:
        yield FunctionCommand(_roll, (topology, names, service, timeout), {})
    elif not held_by:
        host.noop("no node needs a restart")


def _say(message: str) -> None:
    print(f"[esdr] {message}", file=sys.stderr, flush=True)


def _api_for(topology: Topology, name: str) -> NodeApi:
    return NodeApi.for_node(topology, topology.cluster.node(name))


# Elastic's rolling restart holds replica allocation while a node is away and gives it back once
# the node has rejoined:
# https://www.elastic.co/guide/en/elasticsearch/reference/current/restart-cluster.html#restart-cluster-rolling
ALLOCATION = "cluster.routing.allocation.enable"
HELD = "primaries"


class AllocationHold:
    """Replica allocation held for one node's restart, and given back on every way out."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.held = False

    def hold(self, api: NodeApi) -> None:
        self.held = True  # before the write: a write that lands without an answer is undone too
        if not _set_allocation(api, HELD):
            raise EsdrError(f"could not set {ALLOCATION}: {HELD} before the restart",
                            hint="check the cluster's health and rerun the deploy")

    def release(self, api: NodeApi) -> None:
        if not _set_allocation(api, None):
            raise EsdrError(f"could not set {ALLOCATION} back to all after the restart",
                            hint="check the cluster's health and rerun the deploy")
        self.held = False

    def give_back(self) -> None:
        """After a restart that stopped early: back to the default (all), through any node that
        answers; said either way, as the cluster keeps no replicas while it stays held."""
        if not self.held:
            return
        node = restore_allocation(self.topology)
        if node:
            _say(f"replica allocation restored ({ALLOCATION}: all, through {node}) after the "
                 "rolling restart stopped")
            self.held = False
        else:
            _say(f"error: could not restore {ALLOCATION} (no node answered); it is still "
                 f"{HELD}: the next deploy restores it")


def _set_allocation(api: NodeApi, value: str | None) -> bool:
    status, body = api.request("PUT", "_cluster/settings", {"persistent": {ALLOCATION: value}})
    return status == 200 and isinstance(body, dict) and bool(body.get("acknowledged"))


def restore_allocation(topology: Topology) -> str | None:
    """Set allocation back to the default through the first node that acknowledges it; returns
    that node's name (None: none did)."""
    cluster = topology.cluster
    for node in [*cluster.master_eligible, *(n for n in cluster.nodes if not n.is_master_eligible)]:
        if _set_allocation(_api_for(topology, node.name), None):
            return node.name
    return None


def leftover_hold(topology: Topology) -> str | None:
    """The node that reports allocation still held by an earlier rolling restart that stopped
    half-way (None: not held, or no master-eligible node answers)."""
    for node in topology.cluster.master_eligible:
        settings = _api_for(topology, node.name).read(EsClusterSettings)
        if settings is not None:
            held = (settings.get("persistent") or {}).get(ALLOCATION) == HELD
            return node.name if held else None
    return None


def _restore_leftover(state, host, topology: Topology) -> bool:
    node = restore_allocation(topology)
    if node is None:
        _say(f"error: {ALLOCATION} is {HELD}, left by a rolling restart that stopped; no node "
             "acknowledged setting it back")
        return False
    _say(f"{ALLOCATION} was {HELD}, left by a rolling restart that stopped: restored to all "
         f"(through {node})")
    return True


def _roll(state, host, topology: Topology, names: list[str], service: str, timeout: int):
    # pyinfra passes (state, host) only to functions whose arguments carry exactly these names
    cluster = topology.cluster
    observers = [n.name for n in cluster.master_eligible]
    elected = _elected_master(topology, observers)
    order = restart_order(cluster, names, elected)
    _say(f"rolling restart of {len(order)} node(s): {', '.join(n.name for n in order)}")
    hold = AllocationHold(topology)
    node = None
    try:
        for node in order:
            _restart_one(topology, node, observers, service, timeout, hold)
    except EsdrError as error:
        _say(f"error: rolling restart stopped at {node.name if node else '?'}: {error}")
        return False
    finally:
        hold.give_back()  # anything else (a dropped SSH connection, a bug) leaves nothing held
    return True


def _restart_one(topology: Topology, node: Node, observers: list[str], service: str,
                 timeout: int, hold: AllocationHold) -> None:
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
        hold.hold(observer)
        observer.request("POST", "_flush")
    target = _api_for(topology, node.name)
    ok, _ = target.run(f"systemctl restart {shlex.quote(service)}", timeout=timeout)
    if not ok:
        raise EsdrError(f"systemctl restart {service} failed on {node.name}",
                        hint=f"see journalctl -u {service} on {node.host}, fix it and rerun")
    wait_until(
        f"{node.name} to rejoin",
        lambda: node.name in observer.node_names() or _stopped(target, node, service),
        timeout=timeout,
    )
    # A node is listed by the master once it joins, before its own HTTP port is bound:
    # clients that reach it directly (with its new certificate) must find it answering. The
    # master may also still list the node that just stopped (it is removed only once the
    # master notices), so a node that cannot start is looked for here too: named within
    # seconds, not after the whole timeout.
    wait_until(
        f"{node.name} to answer on its own HTTP port",
        lambda: target.health() is not None or _stopped(target, node, service),
        timeout=timeout,
    )
    # restarted: the node runs its current configuration, nothing is pending for it any more
    marker = restart_marker(topology)
    done, _ = target.run(f"rm -f {shlex.quote(marker)}", timeout=30)
    if not done:
        _say(f"warning: {node.name}: could not remove {marker}; the next deploy restarts it again")
    if node.holds_data:
        hold.release(observer)
    wanted = before if HEALTH_ORDER.get(before, 0) > 0 else "yellow"
    wait_until(
        f"cluster health {wanted} after restarting {node.name}",
        lambda: health_at_least(observer, wanted),
        timeout=timeout,
    )
    _say(f"restarted {node.name}: back, health {wanted} ({time.monotonic() - started:.1f}s)")


def _stopped(target: NodeApi, node: Node, service: str) -> bool:
    """False while the service runs; raises as soon as it has stopped (a node that cannot start,
    e.g. on a setting it refuses, exits within seconds: waiting out the timeout tells nothing)."""
    _, state = target.run(f"systemctl is-active {shlex.quote(service)} || true", timeout=30)
    if state.strip() not in ("failed", "inactive"):
        return False
    _, journal = target.run(
        f"journalctl -u {shlex.quote(service)} -n 40 --no-pager -o cat || true", timeout=30)
    reason = _reason(journal)
    raise EsdrError(
        f"{service} on {node.name} stopped while starting ({state.strip()})"
        + (f": {reason}" if reason else ""),
        hint=f"see journalctl -u {service} on {node.host}, fix the node's configuration and rerun "
        "the deploy",
    )


def _reason(journal: str) -> str:
    """The line of the node's log that says why it stopped (its first exception), short."""
    lines = [line.strip() for line in journal.splitlines() if line.strip()]
    for line in lines:
        # the JVM's exception line; journald may glue it to the log line before it
        found = re.search(r"([\w.$]+(?:Exception|Error)): (.+)", line)
        if found:
            return f"{found.group(1).rsplit('.', 1)[-1]}: {found.group(2)}"[:300]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return errors[-1][:300] if errors else ""


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
            if leftover_hold(topology):
                found += f"; {ALLOCATION} is {HELD}, left by a rolling restart that stopped: " \
                         "the deploy restores it"
            break
    _say(f"rolling restart reads: {found}; it restarts the nodes whose config changed")
    host.noop(f"{found}; changed nodes are restarted once their config ops have run")
