"""Restart changed nodes one at a time, each gated on the cluster's health (Elastic's procedure)."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pyinfra import host, state
from pyinfra.api import FunctionCommand, operation
from pyinfra.api.operation import OperationMeta

from esdr.errors import EsdrError
from esdr.model import Node, Topology
from esdr.facts.elasticsearch import (
    RESTART_MARKER,
    EsClusterSettings,
    EsElectedMaster,
    EsClusterHealth,
    EsShards,
    EsVersion,
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


@dataclass(frozen=True)
class Upgrade:
    """A rolling upgrade carried by this roll (decided by ``esdr.upgrade.plan_upgrade`` before
    any host changed): the nodes it moves to ``version``, whose ``link`` moves to
    ``install_dir`` (installed beside the running version) inside each node's own step."""

    version: str
    install_dir: str
    link: str
    nodes: frozenset[str]
    from_yellow: bool = False  # a resumed upgrade: yellow is enough to start

    def moves(self, node: str) -> bool:
        return node in self.nodes


@operation(is_idempotent=False)
def rolling_restart(
    topology: Topology, needed: Mapping[str, OperationMeta], service: str, timeout: int = 300,
    upgrade: Upgrade | None = None,
):
    """
    Restart the nodes whose configuration changed while they were running, one at a time.

    + topology: the data centre's model (gives order, ports and addresses)
    + needed: node name -> its ``restart_needed`` operation, filled while the deploy prepares
    + service: the systemd unit
    + timeout: seconds each node may take to rejoin and the cluster to return to its health
    + upgrade: the rolling upgrade this run makes, if any: its nodes stop, switch their
      ``current`` link to the new version and start, one at a time in the same order

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
        yield FunctionCommand(_roll, (topology, names, service, timeout, upgrade), {})
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
# esdr's record that the hold is its own, written in the same settings update as the hold and
# removed in the same update as the give-back, so the two cannot part: a deploy that dies
# mid-roll leaves both, and the next deploy gives back exactly what the record says. Keys under
# ``cluster.metadata.`` are free-form cluster settings kept for this (Elasticsearch and
# OpenSearch alike): https://www.elastic.co/guide/en/elasticsearch/reference/current/misc-cluster-settings.html#user-defined-data
# Its value is JSON: {"restore": the persistent value before the hold (null: unset, the default
# all), "node": the node being restarted, "since": UTC time}.
HOLD_RECORD = "cluster.metadata.esdr_allocation_hold"
# Transient cluster settings override persistent ones ("transient, then persistent, then
# elasticsearch.yml, then the default"), and Elastic no longer recommends them: they can clear
# unexpectedly. https://www.elastic.co/guide/en/elasticsearch/reference/current/settings.html#cluster-setting-types
# A transient allocation.enable therefore makes the persistent hold a no-op (or, if it is a hold
# itself, one that may vanish mid-roll). esdr refuses to roll while one is set rather than hold
# through a transient setting of its own: the operator clears it with one request, and the hold
# stays durable (persistent), recorded and restorable by the next deploy.
CLEAR_TRANSIENT = f'PUT _cluster/settings {{"transient": {{"{ALLOCATION}": null}}}}'


def _allows_replicas(value: str | None) -> bool:
    """Whether ``value`` of allocation.enable lets replicas allocate (unset: the default, all)."""
    return value is None or str(value).strip().lower() == "all"


def _shown(value: str | None) -> str:
    return "all (the default)" if value is None else str(value)


@dataclass(frozen=True)
class AllocationState:
    """What the cluster's settings say about allocation.enable, and whether esdr holds it."""

    persistent: str | None
    transient: str | None
    record: dict | None  # esdr's hold record (HOLD_RECORD); None: no hold of esdr's

    @classmethod
    def of(cls, settings: Mapping) -> AllocationState:
        persistent = settings.get("persistent") or {}
        transient = settings.get("transient") or {}
        record = None
        if HOLD_RECORD in persistent:
            try:
                record = json.loads(persistent[HOLD_RECORD])
            except (TypeError, ValueError):
                record = None
            if not isinstance(record, dict):
                record = {}  # unreadable, still esdr's: give back the default
        return cls(persistent.get(ALLOCATION), transient.get(ALLOCATION), record)

    @property
    def restore(self) -> str | None:
        """The persistent value esdr's hold gives back (None: unset, the default all)."""
        value = (self.record or {}).get("restore")
        return value if isinstance(value, str) else None

    @property
    def held_by_esdr(self) -> bool:
        return self.record is not None

    @property
    def operator_value(self) -> str | None:
        """A persistent value set outside esdr that already keeps replicas back (primaries,
        new_primaries, none): esdr keeps it and holds nothing itself."""
        if self.held_by_esdr or _allows_replicas(self.persistent):
            return None
        return self.persistent


def _read_state(topology: Topology, names: list[str]) -> tuple[str, AllocationState] | None:
    """(the node that answered, the allocation state) through the first of ``names`` that does."""
    for name in names:
        settings = _api_for(topology, name).read(EsClusterSettings)
        if isinstance(settings, dict):
            return name, AllocationState.of(settings)
    return None


def _refuse_transient(now: AllocationState, where: str) -> None:
    if now.transient is not None:
        raise EsdrError(
            f"{ALLOCATION} is set as a transient cluster setting ({now.transient}, read through "
            f"{where}): transient settings override persistent ones, so the persistent hold of "
            "replica allocation the rolling restart sets would not hold",
            hint=f"clear it ({CLEAR_TRANSIENT}; set it persistent instead if it is meant to stay)"
            " and rerun the deploy: the nodes still to restart stay marked",
        )


class AllocationHold:
    """Replica allocation held for one node's restart, and given back on every way out.

    It gives back what was there before (an operator's explicit ``all`` stays explicit), holds
    nothing when an operator's persistent value already keeps replicas back (``primaries``, or
    the stricter ``new_primaries``/``none``, which a hold of ``primaries`` would loosen: kept as
    it is), and refuses a transient value (see ``CLEAR_TRANSIENT``)."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.held = False
        self.restore: str | None = None  # the persistent value the hold gives back

    def hold(self, api: NodeApi, node: str, where: str) -> None:
        settings = api.read(EsClusterSettings)
        if not isinstance(settings, dict):
            raise EsdrError(f"could not read the cluster settings (through {where}) before "
                            f"restarting {node}",
                            hint="check the cluster's health and rerun the deploy")
        now = AllocationState.of(settings)
        _refuse_transient(now, where)
        if now.operator_value is not None:
            return  # the operator's own hold: kept, nothing to set or give back
        # esdr's record still there (a give-back that did not land): it knows what to give back
        self.restore = now.restore if now.held_by_esdr else now.persistent
        self.held = True  # before the write: a write that lands without an answer is undone too
        ok, answer = _set_allocation(api, HELD, _record(self.restore, node))
        if not ok:
            raise EsdrError(f"could not set {ALLOCATION}: {HELD} before the restart of {node} "
                            f"(through {where}: {answer})",
                            hint="check the cluster's health and rerun the deploy")

    def release(self, api: NodeApi) -> None:
        if not self.held:
            return
        ok, answer = _set_allocation(api, self.restore, None)
        if not ok:
            raise EsdrError(f"could not set {ALLOCATION} back to {_shown(self.restore)} after "
                            f"the restart ({answer})", hint="check the cluster's health and rerun the deploy")
        self.held = False

    def give_back(self) -> None:
        """After a restart that stopped early: back to what it was, through any node that
        answers; said either way, as the cluster keeps no replicas while it stays held."""
        if not self.held:
            return
        node = restore_allocation(self.topology, self.restore)
        if node:
            _say(f"replica allocation restored ({ALLOCATION}: {_shown(self.restore)}, through "
                 f"{node}) after the rolling restart stopped")
            self.held = False
        else:
            _say(f"error: could not restore {ALLOCATION} (no node answered); it is still "
                 f"{HELD}, recorded as esdr's ({HOLD_RECORD}): the next deploy restores it")


def _record(restore: str | None, node: str) -> str:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"restore": restore, "node": node, "since": since}, sort_keys=True)


# A settings update is answered once every node has acknowledged the new cluster state, or
# after the ack ``timeout``; it may first wait ``master_timeout`` for a master. Both default to
# 30 s (https://www.elastic.co/guide/en/elasticsearch/reference/current/cluster-update-settings.html#cluster-update-settings-api-query-params),
# longer than the 20 s curl gives every call (esdr.facts.elasticsearch.curl_command): asked for
# 8 s each, the node answers itself, inside curl's limit. With a node that does not acknowledge
# (in the lab, a paused one: tests/integration/test_failed_roll_lab.py) the answer is
# ``200 {"acknowledged": false}`` although the master committed the change; the roll used to
# take that for a refused hold and stop.
SETTINGS_WRITE = "_cluster/settings?master_timeout=8s&timeout=8s"


def _set_allocation(api: NodeApi, value: str | None, record: str | None) -> tuple[bool, str]:
    """One settings update: allocation.enable and esdr's record of its hold, both or neither;
    (in force, what the node answered: the reason a failed hold is reported with).

    Unacknowledged is not undone: the master committed the change, and some node had not applied
    it yet when the ack timeout ran out. So an unacknowledged (or unanswered) write is read back:
    the settings the master serves say whether it is in force."""
    body = {"persistent": {ALLOCATION: value, HOLD_RECORD: record}}
    status, answer = api.request("PUT", SETTINGS_WRITE, body)
    if status == 200 and isinstance(answer, dict) and answer.get("acknowledged"):
        return True, _described(status, answer)
    if _in_force(api, value, record):
        return True, f"{_described(status, answer)}; read back: in force"
    return False, _described(status, answer)


def _in_force(api: NodeApi, value: str | None, record: str | None) -> bool:
    settings = api.read(EsClusterSettings)
    if not isinstance(settings, dict):
        return False
    persistent = settings.get("persistent") or {}
    return persistent.get(ALLOCATION) == value and persistent.get(HOLD_RECORD) == record


def _described(status: int, answer: object) -> str:
    if status == 0:
        return "no answer: connection, TLS or the 20 s request timeout"
    error = answer.get("error") if isinstance(answer, dict) else None
    reason = error.get("reason") if isinstance(error, dict) else error
    if status == 200:
        return "answered 200 but not acknowledged (the master did not confirm in time)"
    return f"answered {status}" + (f": {reason}" if reason else "")


def _answering_order(topology: Topology) -> list[str]:
    cluster = topology.cluster
    return [n.name for n in
            [*cluster.master_eligible, *(n for n in cluster.nodes if not n.is_master_eligible)]]


def restore_allocation(topology: Topology, value: str | None) -> str | None:
    """Give allocation back to ``value`` (None: the default) and drop esdr's record, through the
    first node that acknowledges it; returns that node's name (None: none did)."""
    for name in _answering_order(topology):
        if _set_allocation(_api_for(topology, name), value, None)[0]:
            return name
    return None


def _drop_record(topology: Topology) -> str | None:
    """Drop esdr's record only, leaving allocation.enable as it is; the node that acknowledged."""
    for name in _answering_order(topology):
        status, answer = _api_for(topology, name).request(
            "PUT", SETTINGS_WRITE, {"persistent": {HOLD_RECORD: None}})
        if status == 200 and isinstance(answer, dict) and answer.get("acknowledged"):
            return name
    return None


def leftover_hold(topology: Topology) -> str | None:
    """The node that reports allocation still held by an earlier rolling restart of esdr's that
    stopped half-way (None: no such hold, or no master-eligible node answers). Only esdr's own
    hold counts (its record, ``HOLD_RECORD``): an operator's ``primaries`` is theirs to keep."""
    found = _read_state(topology, [n.name for n in topology.cluster.master_eligible])
    if found is None:
        return None
    name, now = found
    return name if now.held_by_esdr else None


def _allocation_notes(now: AllocationState) -> list[str]:
    """What the deploy says about allocation.enable values set outside esdr (never changed)."""
    notes = []
    if now.operator_value is not None:
        notes.append(f"{ALLOCATION} is {now.operator_value} (persistent, not set by esdr): kept "
                     "as it is; while it holds replicas back, a restarted node's replicas stay "
                     "unassigned and the health may not return")
    if now.transient is not None:
        notes.append(f"{ALLOCATION} is {now.transient} as a transient setting: it overrides "
                     f"the persistent hold, so a rolling restart refuses to run until it is "
                     f"cleared ({CLEAR_TRANSIENT})")
    return notes


def _restore_leftover(state, host, topology: Topology) -> bool:
    found = _read_state(topology, [n.name for n in topology.cluster.master_eligible])
    if found is None or not found[1].held_by_esdr:
        return True  # gone since it was seen (another deploy restored it)
    now = found[1]
    if now.persistent is None or str(now.persistent).strip().lower() != HELD:
        # changed by someone since esdr's roll stopped: theirs now, only esdr's record goes
        node = _drop_record(topology)
        if node is None:
            _say(f"error: {HOLD_RECORD}, left by a rolling restart that stopped, could not be "
                 "removed: no node acknowledged it")
            return False
        _say(f"{ALLOCATION} is {_shown(now.persistent)}, changed since a rolling restart of "
             f"esdr's stopped holding it: kept; esdr's record of the hold removed (through {node})")
        return True
    node = restore_allocation(topology, now.restore)
    if node is None:
        _say(f"error: {ALLOCATION} is {HELD}, left by a rolling restart that stopped; no node "
             "acknowledged setting it back")
        return False
    _say(f"{ALLOCATION} was {HELD}, left by a rolling restart that stopped: restored to "
         f"{_shown(now.restore)} (through {node})")
    return True


def _roll(state, host, topology: Topology, names: list[str], service: str, timeout: int,
          upgrade: Upgrade | None = None):
    # pyinfra passes (state, host) only to functions whose arguments carry exactly these names
    cluster = topology.cluster
    observers = [n.name for n in cluster.master_eligible]
    elected = _elected_master(topology, observers)
    order = restart_order(cluster, names, elected)
    _say(f"rolling restart of {len(order)} node(s): {', '.join(n.name for n in order)}")
    hold = AllocationHold(topology)
    node = None
    try:
        # Checked before any node goes down; each hold reads the settings again (and stops the
        # roll if it cannot), so one that changes mid-roll is caught too.
        found = _read_state(topology, observers)
        if found is not None:
            if any(n.holds_data for n in order):  # a roll of nodes without shards holds nothing
                _refuse_transient(found[1], found[0])
            for note in _allocation_notes(found[1]):
                _say(f"note: {note}")
        moving = [n.name for n in order if upgrade is not None and upgrade.moves(n.name)]
        if moving:
            _refuse_unhealthy(topology, observers, upgrade, moving)
        for node in order:
            _restart_one(topology, node, observers, service, timeout, hold, upgrade)
    except EsdrError as error:
        where = f"stopped at {node.name}" if node else "not started"
        _say(f"error: rolling restart {where}: {error}")
        return False
    finally:
        hold.give_back()  # anything else (a dropped SSH connection, a bug) leaves nothing held
    return True


def _refuse_unhealthy(topology: Topology, observers: list[str], upgrade: Upgrade,
                      moving: list[str]) -> None:
    """Elastic's rolling upgrade starts from a green cluster
    (https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster/elasticsearch):
    checked again here, as the preflight's read is older than the install that ran since."""
    wanted = "yellow" if upgrade.from_yellow else "green"
    status = None
    for name in observers:
        health = _api_for(topology, name).read(EsClusterHealth)
        if isinstance(health, dict):
            status = health.get("status")
            break
    if HEALTH_ORDER.get(status or "", -1) < HEALTH_ORDER[wanted]:
        raise EsdrError(
            f"the cluster is {status or 'not answering'}: the rolling upgrade to "
            f"{upgrade.version} ({', '.join(moving)}) starts only from a {wanted} cluster; no "
            "node was restarted",
            hint="bring the cluster back to green (GET _cluster/health, GET "
            "_cluster/allocation/explain) and rerun the deploy: the new version is installed "
            "beside the old one and the nodes still to upgrade are planned again")
    _say(f"rolling upgrade to {upgrade.version}: cluster {status}, "
         f"{len(moving)} node(s) to move: {', '.join(moving)}")


def _switch(target: NodeApi, node: Node, service: str, upgrade: Upgrade, timeout: int) -> None:
    """Stop the node, move its ``current`` link to the new version, start it: Elastic's
    "stop, upgrade, start" of one node
    (https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster/elasticsearch)."""
    unit = shlex.quote(service)
    steps = [
        (f"systemctl stop {unit}", f"systemctl stop {service} failed on {node.name}"),
        (f"ln -sfn {shlex.quote(upgrade.install_dir)} {shlex.quote(upgrade.link)}",
         f"could not point {upgrade.link} at {upgrade.install_dir} on {node.name} (the node is "
         "stopped)"),
        (f"systemctl start {unit}", f"systemctl start {service} failed on {node.name} after "
         f"its link moved to {upgrade.version}"),
    ]
    for command, what in steps:
        ok, _ = target.run(command, timeout=timeout)
        if not ok:
            raise EsdrError(what, hint=f"see journalctl -u {service} on {node.host}, fix it and "
                            "rerun the deploy: it resumes the upgrade with this node")
    _say(f"{node.name}: stopped, {upgrade.link} -> {upgrade.install_dir}, started")


def _restart_one(topology: Topology, node: Node, observers: list[str], service: str,
                 timeout: int, hold: AllocationHold, upgrade: Upgrade | None = None) -> None:
    watcher = next(o for o in observers if o != node.name)
    observer = _api_for(topology, watcher)
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
        hold.hold(observer, node.name, watcher)
        observer.request("POST", "_flush")
    target = _api_for(topology, node.name)
    moving = upgrade is not None and upgrade.moves(node.name)
    if moving:
        _switch(target, node, service, upgrade, timeout)
    else:
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
    if moving:
        runs = target.read(EsVersion)
        if runs != upgrade.version:
            raise EsdrError(f"{node.name} answers with version {runs} after its link moved to "
                            f"{upgrade.install_dir}, not {upgrade.version}",
                            hint=f"check {upgrade.link} and the unit's ExecStart on {node.host} "
                            "and rerun the deploy")
    # restarted: the node runs its current configuration, nothing is pending for it any more
    marker = restart_marker(topology)
    done, _ = target.run(f"rm -f {shlex.quote(marker)}", timeout=30)
    if not done:
        _say(f"warning: {node.name}: could not remove {marker}; the next deploy restarts it again")
    if node.holds_data:
        hold.release(observer)
    wanted = before if HEALTH_ORDER.get(before, 0) > 0 else "yellow"
    if moving:
        # Elastic waits for green before the next node of an upgrade: the node's replicas are
        # back on it, so the next one can go down
        wanted = "green"
    wait_until(
        f"cluster health {wanted} after restarting {node.name}",
        lambda: health_at_least(observer, wanted),
        timeout=timeout,
    )
    done = f"upgraded {node.name} to {upgrade.version}" if moving else f"restarted {node.name}"
    _say(f"{done}: back, health {wanted} ({time.monotonic() - started:.1f}s)")


def _stopped(target: NodeApi, node: Node, service: str) -> bool:
    """False while the service runs; raises as soon as it has stopped (a node that cannot start,
    e.g. on a setting it refuses, exits within seconds: waiting out the timeout tells nothing)."""
    _, state = target.run(f"systemctl is-active {shlex.quote(service)} || true", timeout=30)
    if state.strip() not in ("failed", "inactive"):
        return False
    _, journal = target.run(_last_run_journal(service), timeout=30)
    reason = _reason(journal)
    raise EsdrError(
        f"{service} on {node.name} stopped while starting ({state.strip()})"
        + (f": {reason}" if reason else ""),
        hint=f"see journalctl -u {service} on {node.host}, fix the node's configuration and rerun "
        "the deploy",
    )


def _last_run_journal(service: str) -> str:
    """The journal of the service's last run only (its invocation id,
    https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#%24INVOCATION_ID):
    the last lines of the unit's journal also hold the previous run's shutdown, whose
    exceptions (a ClosedChannelException as its transport closes) are not why it stopped."""
    unit = shlex.quote(service)
    return (f"id=$(systemctl show -p InvocationID --value {unit}); "
            f"if [ -n \"$id\" ]; then journalctl _SYSTEMD_INVOCATION_ID=\"$id\" -n 80 "
            f"--no-pager -o cat; else journalctl -u {unit} -n 40 --no-pager -o cat; fi || true")


# What a node logs on the way down, whatever stopped it: never the reason when another is there.
_SYMPTOMS = re.compile(r"ClosedChannelException|NodeClosedException|InterruptedException|"
                       r"AlreadyClosedException|ExecutionException: java\.nio\.channels")


def _reason(journal: str) -> str:
    """The line of the node's log that says why it stopped (its first exception that is not a
    symptom of stopping), short."""
    lines = [line.strip() for line in journal.splitlines() if line.strip()]
    found = []
    for line in lines:
        # the JVM's exception line; journald may glue it to the log line before it
        match = re.search(r"([\w.$]+(?:Exception|Error)): (.+)", line)
        if match:
            found.append((bool(_SYMPTOMS.search(line)),
                          f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"[:300]))
    causes = [text for symptom, text in found if not symptom] or [text for _, text in found]
    if causes:
        return causes[0]
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
            read = _read_state(topology, observers)
            if read is not None and read[1].held_by_esdr:
                found += f"; {ALLOCATION} is {HELD}, left by a rolling restart that stopped: " \
                         f"the deploy restores it to {_shown(read[1].restore)}"
            for note in _allocation_notes(read[1]) if read is not None else []:
                found += f"; {note}"
            break
    _say(f"rolling restart reads: {found}; it restarts the nodes whose config changed")
    host.noop(f"{found}; changed nodes are restarted once their config ops have run")
