"""``esdr status INVENTORY...``: the estate at a glance, for the on-call and for monitoring.

One table per DC (health, nodes per zone, the elected master, snapshots, the nearest
certificate expiry, gateway queues, pending drift), one for the links (remote connections,
each replicated pair's active side, its follower's state, lag and last time in sync) and one for
the MQ pipelines (each consumer group's lag, ``esdr.status.read.pipeline_reads``), judged by
``esdr.status.report`` and read by ``esdr.status.read`` within one deadline; exit codes follow
the monitoring-plugin convention (docs/status.md). The pair and gateway readers live here, beside
the command modules they reuse (``esdr.cli.cluster``, ``esdr.cli.gateway``).

It changes no configuration. It writes one thing: when it sees a follower in sync with its
leader (``esdr.replication.in_sync``, both clusters answering), that time goes into the
follower cluster's ``esdr-managed`` document, where ``esdr promote`` finds it if the leader is
later lost: the window it reports as at risk starts there. Run it often (a systemd timer or
cron, every minute) to keep that window short (docs/failover-report.md).
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import click

from esdr.cli.cluster import other_records, remote_client, remotetopology_of
from esdr.cli.gateway import gateway_queues
from esdr.cli.guard import DRIFT, FAILURE, OK, exit_code, printer_of
from esdr.cli.prints import Printer
from esdr.errors import EsdrError, InvalidProject
from esdr.es import client
from esdr.es.client import API_ERRORS
from esdr.crossdc import active_side
from esdr.project import load_valid_project
from esdr.reconcile import registry
from esdr.replication import Replication, adapter_for
from esdr.replication.base import seen_in_sync
from esdr.replication.in_sync import WAIT, InSync, probe
from esdr.gateway.queues import summary_lines
from esdr.problems import errors
from esdr.status.read import Target, read_all
from esdr.status.report import (
    DEFAULTS,
    UNKNOWN,
    Figure,
    FollowerLink,
    Queue,
    Thresholds,
    evaluate,
    render_json,
    render_text,
)

# The earlier command's one line per pair (``_pairs``, ``_follower_view``): the command now
# reads pairs with ``_links``; these stay for their tests (tests/crossdc) until those move.
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
              last: str, wait: float | None = None) -> str:
    """Probe the pair (``esdr.replication.in_sync``); when the follower is in sync, record it
    in the follower cluster's ``esdr-managed`` document. The "last in sync" text to print.
    ``wait``: how long the probe may wait for the follower (default: the probe's own)."""
    if leader is None:
        return f"{last} (not probed: no client to {side.leader})"
    try:
        seen = probe(leader, side.index, follower.es, side.follower_index,
                     **({} if wait is None else {"wait": wait}))
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


def _links(inventory: str, topology, es, remaining: float) -> list[FollowerLink]:
    """Every replicated pair this DC takes part in: its active side (the newest record of the
    clusters that answer) and, for the followers this DC holds, their state, lag and last time
    in sync; a follower seen in sync now is recorded as ``_seen_now`` records it. A pair whose
    follower lives in another DC is left for that DC's reading (``merge_links``)."""
    deadline = time.monotonic() + remaining
    estate = topology.estate
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None or not (estate.followers or estate.bidirectional):
        return []
    here = adapter_for(topology, es=es)
    own = registry.read(here.es)
    others, _ = other_records(inventory, topology)
    records = active_side.newest([*others, registry.active_records(own)])
    out = []
    for side in [*active_side.side_of(estate, records, alias),
                 *active_side.bidirectional_sides(estate, alias)]:
        link = FollowerLink(
            pair=side.key, index=side.index, leader=side.leader, follower=side.follower,
            follower_index=side.follower_index, designed_leader=side.designed.remote,
            by=side.recorded_by, since=side.since,
            bidirectional=getattr(side, "alias", None) or None,
            state_note=f"{side.follower} did not report it (unreachable, or not read)")
        if side.follower == alias:
            link = _follower_link(inventory, estate, here, side, own, link, deadline)
        out.append(link)
    return out


def _follower_link(inventory: str, estate, here: Replication, side: active_side.Side,
                   own: dict, link: FollowerLink, deadline: float) -> FollowerLink:
    index = side.follower_index
    before = datetime.now(timezone.utc)
    try:
        observed = here.follower(index)
    except API_ERRORS as error:
        return replace(link, state=None, state_note=client.describe(error))
    lag, why = None, "not following"
    try:
        lag = here.lag(index) if observed else None
    except API_ERRORS as error:  # the state stands; the lag is unknown, never 0
        why = client.describe(error)
    note = None
    if observed is None:
        state = "missing"
    elif observed == {}:
        state = "a regular index, not following"
    else:
        state = str(observed.get("status"))
        note = observed.get("reason") or None
    record = registry.last_in_sync(own, index) or {}
    seen = seen_in_sync(lag, before) if lag is not None and not lag.live else None
    now_in_sync, seen_now = False, None
    # the probe asks the leader's own numbers (both sides answering) and records a follower
    # seen in sync, as `esdr status` always did; it waits no longer than the deadline leaves
    if state == "active" and deadline - time.monotonic() > 0.2:
        # the leader's client loads its DC's inventory first: the wait is what is left after
        leader = _client_of(inventory, estate, side.leader)
        left = deadline - time.monotonic() - 0.2
        if leader is not None and left > 0:
            found = _seen_now(Printer(as_json=True), leader, here, side, "",
                              wait=min(WAIT, left))
            if found[:4].isdigit():  # "<ISO time> (seen now; ...)": in sync now
                seen, now_in_sync = datetime.fromisoformat(found.split(" ")[0]), True
                seen_now = "not recorded" if "not recorded" in found else "recorded"
    last = seen or _time(record.get("at"))
    if lag is not None and lag.operations is not None and lag.current:
        operations = Figure(lag.operations)
    elif lag is not None and lag.operations is not None:
        operations = Figure.missing(f"{lag.operations} as of the follower's last read of the "
                                    f"leader ({lag.note or 'not current'})")
    else:
        operations = Figure.missing(lag.note if lag is not None and lag.note else why)
    if now_in_sync:
        seconds = Figure(0, " s")
    elif last is not None:
        seconds = Figure.missing("not measured: bounded by the time since last seen in sync",
                                 " s", round(max(0.0, (before - last).total_seconds())))
    else:
        seconds = Figure.missing("never seen in sync", " s")
    return replace(link, state=state, state_note=note, lag_operations=operations,
                   lag_seconds=seconds,
                   last_in_sync=last.isoformat(timespec="seconds") if last else None,
                   seen_now=seen_now)


def _time(text: object) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


def _gateway_readers(tier) -> dict[str, Callable[[], list[Queue]]]:
    """One reader per gateway (each one read of the deadline: a silent gateway leaves the
    others' queues known)."""
    return {gw.name: (lambda gw=gw: _gateway_queues(tier, gw)) for gw in tier.gateways}


def _gateway_queues(tier, gw) -> list[Queue]:
    states, error = gateway_queues(tier, gw)
    line = summary_lines(gw.name, states, error)
    if states is None:
        return [Queue(gw.name, None, None, Figure.missing(error or "no answer"), None, line[0])]
    if not states:  # it answered: nothing written through it yet, nothing owed
        return [Queue(gw.name, None, 0, Figure(0, " B"), True, line[0])]
    out = []
    for state, text in zip(states, line):
        # esdr.gateway.queues.lag: exact within one queue file, else a lower bound
        if state.consumer is None:
            lag = Figure.missing("no replay consumer yet", " B")
        elif state.exact and state.lag_bytes is not None:
            lag = Figure(state.lag_bytes, " B")
        elif state.lag_bytes:
            lag = Figure.missing(f"at least {state.lag_bytes} B", " B")
        else:
            lag = Figure.missing("not readable until the next write", " B")
        out.append(Queue(gw.name, state.name, state.messages, lag, state.caught_up, text))
    return out


def _targets(inventories: tuple[str, ...], with_estate: bool) -> list[Target]:
    """One target per inventory named, then (``with_estate``) each other cluster of their
    estates through the inventory the estate names for it: a DC that is down is then reported
    even when only the surviving DC's inventory was named."""
    out: list[Target] = []
    seen: set[Path] = set()
    queue = list(inventories)
    while queue:
        inventory = queue.pop(0)
        key = Path(inventory).resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            project, _ = load_valid_project(inventory)
        except InvalidProject as error:  # the first error says what to fix; validate says all
            found = errors(error.problems)
            more = f" (+{len(found) - 1} more: esdr validate)" if len(found) > 1 else ""
            out.append(Target(Path(inventory).stem, inventory,
                              error=f"{found[0] if found else error.message}{more}"))
            continue
        except EsdrError as error:
            out.append(Target(Path(inventory).stem, inventory, error=error.message.splitlines()[0]))
            continue
        topology = project.topology
        estate = _estate_or_none(topology)
        alias = estate.alias_of(topology.cluster.name) if estate else None
        settings = next((dict(h.data.dict()) for h in project.inventory
                         if any(k.startswith("status_") for k in h.data.dict())), {})
        thresholds = Thresholds.from_settings(
            settings, int(topology.cluster.settings.get("es_cert_renew_days") or 30))
        tier = project.tier if project.tier is not None and project.tier.gateways else None
        out.append(Target(
            alias or topology.datacentre, inventory,
            topology if topology.cluster.nodes else None, thresholds,
            pairs=(lambda es, left, i=inventory, t=topology: _links(i, t, es, left))
            if topology.cluster.nodes else None,
            gateways=_gateway_readers(tier) if tier is not None else None))
        if with_estate and estate is not None:
            queue += [str(project.root / ref.inventory) for ref in estate.clusters.values()
                      if ref.inventory and (project.root / ref.inventory).is_file()]
    return out


def _estate_or_none(topology):
    try:
        return topology.estate
    except EsdrError:
        return None


MIN_READ = 1.0  # seconds the reads get however long the start took
FRESH = 5.0  # a process older than this did not start for this command (a test runner)


def _read_budget(total: float, started: float) -> float:
    """Seconds left for the reads of ``total`` counted from the start of the ``esdr`` process
    (the interpreter and imports take most of a second, more on a loaded machine: the bound a
    monitor sees is the whole command's), at least ``MIN_READ``. A process that did not start
    for this command counts from the command's start."""
    age = _process_age()
    spent = age if age is not None and age < FRESH else time.monotonic() - started
    return max(MIN_READ, total - spent)


def _process_age() -> float | None:
    """Seconds since this process started, from Linux's /proc (proc(5): /proc/pid/stat field
    22, starttime in clock ticks since boot, and /proc/uptime); None elsewhere."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            return max(0.0, float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


@click.command()
@click.argument("inventories", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--estate/--only", "with_estate", default=True,
              help="Also read every other cluster of the estate through the inventory it "
              "names (default), or only the inventories named.")
@click.option("--timeout", "-t", "timeout", type=click.FloatRange(min=0.5, max=60.0),
              default=None,
              help="Seconds from the start to the answer, instead of the inventories' "
              "status_timeout (the monitoring-plugin -t/--timeout).")
@click.pass_context
def status(ctx: click.Context, inventories: tuple[str, ...], with_estate: bool,
           timeout: float | None) -> None:
    """The estate at a glance: one table per DC (health, nodes per zone, elected master,
    snapshots, nearest certificate expiry, gateway queues, pending drift), one for the
    links (remote connections, each pair's active side and follower lag) and, for an estate
    with Kafka pipelines, one for each pipeline's consumer lag per search cluster.

    The command answers within status_timeout (2.2 s by default, counted from its start): a
    DC that does not answer by then is reported unreachable. A follower seen in sync is
    recorded (the time only, in its cluster's esdr-managed document): `esdr promote` starts
    the window at risk there.

    Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL (a DC
    unreachable, a follower failed, a certificate about to expire), 3 UNKNOWN (an inventory
    that cannot be loaded). docs/status.md lists every line and threshold.
    """
    printer = printer_of(ctx)
    verdict: list[int] = []
    started = time.monotonic()
    age = _process_age()
    if age is not None and age < FRESH:
        # the interpreter's last garbage collections at exit take 0.3-0.5 s on a loaded
        # machine, a sixth of the bound a monitor sees; objects frozen are not collected
        # again (https://docs.python.org/3/library/gc.html#gc.freeze), and the process ends
        atexit.register(gc.freeze)

    def body() -> int:
        targets = _targets(inventories, with_estate)
        total = timeout if timeout is not None else min(
            (t.thresholds.timeout for t in targets if t.error is None),
            default=DEFAULTS["status_timeout"])
        now = datetime.now(timezone.utc)
        dcs = read_all(targets, _read_budget(total, started), now)
        report = evaluate(dcs, now)
        verdict.append(report.code)
        if printer.as_json:
            printer.record(status=render_json(report))
        else:
            for line in render_text(report):
                printer.say(line)
        return report.code

    code = exit_code(printer, body)
    if not verdict:  # esdr could not run the check at all: UNKNOWN, not its own exit codes
        code = UNKNOWN
    printer.finish(code)
    ctx.exit(code)
