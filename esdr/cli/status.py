"""``esdr status INVENTORY``: how the inventory's cluster is, its replicated pairs, and its
gateways' queues.

The cluster's health through the same client (and SSH forwards) as ``esdr plan``; for each
replicated pair of the estate this cluster takes part in, the active side (as recorded in the
clusters' ``esdr-managed`` documents, ``esdr.crossdc.active_side``), the follower's state, its
lag and when it was last known in sync; for an inventory with gateway hosts, each gateway's
queue depth and replay lag from its API, read as ``esdr gateway status`` reads them.

It changes no configuration. It writes one thing: when it sees a follower in sync with its
leader (``esdr.replication.in_sync``, both clusters answering), that time goes into the
follower cluster's ``esdr-managed`` document, where ``esdr promote`` finds it if the leader is
later lost: the window it reports as at risk starts there. Run it often (a systemd timer or
cron, every minute) to keep that window short (docs/failover-report.md).
"""

from __future__ import annotations

from datetime import datetime, timezone

import click

from esdr.cli.args import INVENTORY
from esdr.cli.cluster import other_records, remote_client, remotetopology_of
from esdr.cli.gateway import report_queues
from esdr.cli.guard import DRIFT, FAILURE, OK, guarded
from esdr.cli.prints import Printer
from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import API_ERRORS
from esdr.es.connect import client_for
from esdr.crossdc import active_side
from esdr.project import load_valid_project
from esdr.reconcile import registry
from esdr.replication import Replication, adapter_for
from esdr.replication.base import seen_in_sync
from esdr.replication.in_sync import InSync, probe

HEALTH_FIELDS = ("status", "number_of_nodes", "number_of_data_nodes", "active_shards",
                 "unassigned_shards")


def _cluster(printer: Printer, topology) -> int:
    cluster = topology.cluster
    try:
        # one try per node the client knows: a cluster with a node down still answers
        health = client.get_cluster_health(
            client_for(topology, request_timeout=10, max_retries=len(cluster.nodes)), "5s")
    except API_ERRORS as error:
        printer.say(f"cluster {cluster.name}: health unknown ({client.describe(error)})", err=True)
        printer.record(cluster={"name": cluster.name, "status": None})
        return FAILURE
    status = health.get("status")
    printer.say(f"cluster {cluster.name}: {status}, {health.get('number_of_nodes')} nodes "
                f"({health.get('number_of_data_nodes')} data), {health.get('active_shards')} "
                f"active shards, {health.get('unassigned_shards')} unassigned")
    printer.record(cluster={"name": cluster.name} | {k: health.get(k) for k in HEALTH_FIELDS})
    return OK if status == "green" else DRIFT


def _pairs(printer: Printer, inventory: str, topology) -> int:
    """One line per replicated pair: its active side, the follower's state, lag and last time
    in sync. A lag is printed only as the engine reported it (``Lag.line``): never a 0 that was
    not measured (docs/failover-report.md says why)."""
    estate = topology.estate
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None or not (estate.followers or estate.bidirectional):
        return OK
    here = adapter_for(topology)
    try:
        own = registry.read(here.es)
    except API_ERRORS as error:
        printer.say(f"replicated pairs: unknown (esdr-managed unreadable: "
                    f"{client.describe(error)})", err=True)
        return FAILURE
    others, _ = other_records(inventory, topology)
    records = active_side.newest([*others, registry.active_records(own)])
    codes, shown, bidi = [], [], []
    # bi-directional followers too: their in-sync record bounds what `esdr promote` reports
    # at risk for them when their DC is lost
    for side in [*active_side.side_of(estate, records, alias),
                 *active_side.bidirectional_sides(estate, alias)]:
        local = side.follower == alias
        follower = here if local else _adapter_of(inventory, estate, side.follower)
        state, lag, in_sync, code = _follower_view(follower, side, own if local else None)
        if state.split(" (")[0] == "active" and follower is not None:
            leader = here.es if side.leader == alias else _client_of(inventory, estate, side.leader)
            in_sync = _seen_now(printer, leader, follower, side, in_sync)
        printer.say(f"{side.line()}; follower {side.follower}:{side.follower_index}: {state}; "
                    f"{lag}; last in sync: {in_sync}")
        (bidi if isinstance(side, active_side.BidiSide) else shown).append(
            {**side.summary(), "follower_state": state, "lag": lag, "last_in_sync": in_sync})
        codes.append(code)
    printer.record(pairs=shown, bidirectional=bidi)
    return max(codes, default=OK)


def _client_of(inventory: str, estate, other: str):
    try:
        return remote_client(inventory, estate, other)
    except EsdrError:
        return None


def _seen_now(printer: Printer, leader, follower: Replication, side: active_side.Side,
              last: str) -> str:
    """Probe the pair (``esdr.replication.in_sync``); when the follower is in sync, record it
    in the follower cluster's ``esdr-managed`` document. The "last in sync" text to print."""
    if leader is None:
        return f"{last} (not probed: no client to {side.leader})"
    try:
        seen = probe(leader, side.index, follower.es, side.follower_index)
    except API_ERRORS as error:
        return f"{last} (not probed: {client.describe(error)})"
    if not isinstance(seen, InSync):
        return f"{last} (not in sync now: {seen})"
    at = seen.at.isoformat(timespec="seconds")
    try:
        registry.write(follower.es, registry.with_in_sync(
            registry.read(follower.es), {side.follower_index: seen.record()}))
    except API_ERRORS as error:
        printer.say(f"WARNING: {side.follower}:{side.follower_index} seen in sync at {at}, but "
                    f"not recorded in {registry.INDEX} ({client.describe(error)}): `esdr "
                    "promote` will bound the data at risk by an older record", err=True)
        return f"{at} (seen now; not recorded)"
    return f"{at} (seen now; recorded)"


def _adapter_of(inventory: str, estate, other: str) -> Replication | None:
    try:
        topology = remotetopology_of(inventory, estate, other)
    except EsdrError:
        return None
    return adapter_for(topology) if topology is not None else None


def _follower_view(adapter: Replication | None, side: active_side.Side,
                   reg: dict | None) -> tuple[str, str, str, int]:
    """(state, lag, last in sync, exit code) of the pair's follower, "unknown" where nothing
    tells."""
    index = side.follower_index
    if adapter is None:
        return f"unknown ({side.follower} has no inventory here)", "lag unknown", "unknown", DRIFT
    before = datetime.now(timezone.utc)
    try:
        observed = adapter.follower(index)
        if reg is None:
            reg = registry.read(adapter.es)
    except API_ERRORS as error:
        # the other DC not answering is the pair's state, not this cluster's: not exit 1
        return f"unknown ({client.describe(error)})", "lag unknown", "unknown", DRIFT
    lag, why = None, "not following"
    try:
        lag = adapter.lag(index) if observed else None
    except API_ERRORS as error:  # the state stands; the lag is unknown, never 0
        why = client.describe(error)
    following = bool(observed) and observed.get("status") == "active"
    if observed is None:
        state = "missing"
    elif observed == {}:
        state = "a regular index, not following"
    else:
        state = str(observed.get("status"))
        if observed.get("reason"):  # OpenSearch says why, even when active: "User initiated"
            state += f" ({observed['reason']})"
    record = registry.last_in_sync(reg or {}, index) or {}
    # a live reading (OpenSearch's _status) shows a shard the leader did not answer for as in
    # sync (esdr.replication.in_sync says why): only the follower's own stats count here
    seen = seen_in_sync(lag, before) if lag is not None and not lag.live else None
    in_sync = seen.isoformat(timespec="seconds") if seen else record.get("at") or "unknown"
    lag_text = lag.line() if lag is not None else f"{index}: lag unknown ({why})"
    healthy = following and lag is not None and lag.operations is not None
    return state, lag_text, in_sync, OK if healthy else DRIFT


@click.command()
@INVENTORY
@guarded
def status(printer: Printer, inventory: str) -> int:
    """The cluster's health, its replicated pairs and each gateway's queue depth and replay lag.

    A follower seen in sync with its leader is recorded (the time only, in the follower
    cluster's esdr-managed document): `esdr promote` starts the window of writes at risk there.

    Exit 0: the cluster is green, every follower of its pairs is active and every gateway's
    queues are caught up; 3: the cluster is yellow or red, a follower is not active or its lag
    unknown, or a replay lags (writes one cluster does not have yet); 1: the cluster or a
    gateway does not answer; 2: the inventory is not valid.
    """
    project, _ = load_valid_project(inventory)
    codes = []
    if project.topology.cluster.nodes:
        codes.append(_cluster(printer, project.topology))
        if codes[-1] != FAILURE:  # a cluster that does not answer has no pairs to read
            codes.append(_pairs(printer, inventory, project.topology))
    if project.tier is not None and project.tier.gateways:
        codes.append(report_queues(printer, project.tier))
    # a failure to answer outranks drift: it is the thing to fix first
    return FAILURE if FAILURE in codes else max(codes, default=OK)
