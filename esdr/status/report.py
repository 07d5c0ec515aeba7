"""What ``esdr status`` observed, how it is judged, and how it is shown. Pure: no network, no
deploy tool; ``esdr.status.read`` fills these dataclasses, the CLI prints what this renders.

Verdicts and exit codes follow the monitoring-plugin convention
(https://nagios-plugins.org/doc/guidelines.html#AEN78): 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN. The guidelines keep UNKNOWN for a check that could not run (bad arguments, an
internal failure) and say a timeout is not UNKNOWN: so a data centre that does not answer is
CRITICAL, a figure that a reachable cluster did not give in time is a WARNING (esdr cannot vouch
for it), and UNKNOWN is an inventory esdr cannot load. The overall code is the worst line's,
CRITICAL > UNKNOWN > WARNING > OK (the order Icinga sorts states by severity:
https://icinga.com/docs/icinga-2/latest/doc/03-monitoring-basics/#service-states).

A figure esdr does not know (a lag, a count) is a ``Figure`` without a value: it renders as
``unknown (≤ bound)`` when a bound is known, else ``unknown: reason``, and never as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
_RANK = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}


def worst(codes: Iterable[int]) -> int:
    return max(codes, key=_RANK.__getitem__, default=OK)


# --- thresholds --------------------------------------------------------------------------------
# Group data settings (declared, typed and documented in esdr.schema.NodeData); the defaults
# here are the ones the schema shows.
DEFAULTS: dict[str, Any] = {
    "status_timeout": 2.2,  # seconds from the command's start to its answer, all DCs at once
    "status_snapshot_age_factor": 2.0,  # WARNING past this many SLM schedule periods
    "status_cert_warn_days": None,  # None: the renewal window, es_cert_renew_days
    "status_cert_critical_days": 7,
    "status_lag_warn_seconds": 300,
    "status_lag_critical_seconds": 3600,
    # an MQ pipeline's consumer group: the age of the oldest message it has not consumed
    "status_pipeline_lag_warn_seconds": 300,
    "status_pipeline_lag_critical_seconds": 3600,
}


@dataclass(frozen=True)
class Thresholds:
    timeout: float = DEFAULTS["status_timeout"]
    snapshot_age_factor: float = DEFAULTS["status_snapshot_age_factor"]
    cert_warn_days: float = 30
    cert_critical_days: float = DEFAULTS["status_cert_critical_days"]
    lag_warn_seconds: float = DEFAULTS["status_lag_warn_seconds"]
    lag_critical_seconds: float = DEFAULTS["status_lag_critical_seconds"]
    pipeline_lag_warn_seconds: float = DEFAULTS["status_pipeline_lag_warn_seconds"]
    pipeline_lag_critical_seconds: float = DEFAULTS["status_pipeline_lag_critical_seconds"]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], renew_days: int = 30) -> Thresholds:
        """From one inventory's host data (``status_*`` keys) and its ``es_cert_renew_days``:
        a certificate inside the window the deploy renews it in is a WARNING."""
        s = {**DEFAULTS, **{k: v for k, v in settings.items() if k in DEFAULTS and v is not None}}
        warn = s["status_cert_warn_days"]
        return cls(float(s["status_timeout"]), float(s["status_snapshot_age_factor"]),
                   float(renew_days if warn is None else warn),
                   float(s["status_cert_critical_days"]), float(s["status_lag_warn_seconds"]),
                   float(s["status_lag_critical_seconds"]),
                   float(s["status_pipeline_lag_warn_seconds"]),
                   float(s["status_pipeline_lag_critical_seconds"]))


# --- figures -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A number as observed, or unknown with why and, when known, an upper bound."""

    value: float | None
    unit: str = ""
    unknown: str | None = None  # why it is not known
    at_most: float | None = None  # a bound it is known to stay within

    @classmethod
    def missing(cls, reason: str, unit: str = "", at_most: float | None = None) -> Figure:
        return cls(None, unit, reason, at_most)

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def upper(self) -> float | None:
        """The value, or its bound: what a threshold is checked against."""
        return self.value if self.value is not None else self.at_most

    def text(self) -> str:
        if self.value is not None:
            return f"{_num(self.value)}{self.unit}"
        if self.at_most is not None:
            return f"unknown (≤ {_num(self.at_most)}{self.unit})"
        return f"unknown: {self.unknown or 'not reported'}"

    def json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit.strip() or None,
                "unknown": None if self.value is not None else (self.unknown or "not reported"),
                "at_most": self.at_most}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# --- observations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Zone:
    zone: str
    expected: int
    seen: int | None  # None: the node list was not read
    holds_data: bool = True  # the inventory places data nodes there


@dataclass(frozen=True)
class Remote:
    alias: str  # the remote cluster, as this DC names it
    connected: bool | None
    nodes: int | None = None  # connected nodes (sniff) or sockets (proxy)
    reason: str | None = None  # why unknown or not connected (the nodes that are not)


@dataclass(frozen=True)
class Snapshot:
    repository: str
    policy: str | None
    schedule: str | None
    last_success: datetime | None
    age: Figure  # seconds since the last success
    period: float | None = None  # seconds between two scheduled runs (longest gap)
    note: str | None = None  # a later failure, no policy, not readable


@dataclass(frozen=True)
class Certificate:
    """The nearest expiry of the DC's certificates, the CA's included."""

    which: str | None  # "CA" or a node name; None: not known
    not_after: datetime | None
    days_left: Figure
    note: str | None = None  # security off, no CA yet


@dataclass(frozen=True)
class Queue:
    gateway: str
    queue: str | None  # None: no queue named (not read, or the gateway has none yet)
    messages: int | None
    lag_bytes: Figure
    caught_up: bool | None  # None: the gateway's queues were not read
    line: str  # the gateway module's own words for it


@dataclass(frozen=True)
class FollowerLink:
    """One replicated pair (or bi-directional follower): its active side and its follower."""

    pair: str
    index: str  # the leading index, on the active side
    leader: str  # alias of the active side
    follower: str
    follower_index: str
    designed_leader: str
    by: str | None = None  # promote | failback | switchover, when recorded
    since: str | None = None
    bidirectional: str | None = None  # the pair's read alias
    state: str | None = None  # active, paused, failed, missing, regular index; None: unknown
    state_note: str | None = None  # why unknown, or the engine's reason
    lag_operations: Figure = field(default_factory=lambda: Figure.missing("not read"))
    lag_seconds: Figure = field(default_factory=lambda: Figure.missing("not read", " s"))
    last_in_sync: str | None = None
    # the follower seen in sync by this run: "recorded" (in its esdr-managed document, where
    # `esdr promote` starts the window at risk) or "not recorded" (the write failed); None: not
    seen_now: str | None = None

    @property
    def flipped(self) -> bool:
        return self.leader != self.designed_leader

    def active_text(self) -> str:
        if self.bidirectional:
            return f"bi-directional {self.bidirectional}: {self.index} written by {self.leader}"
        how = (f"recorded by {self.by} at {self.since or 'an unknown time'}" if self.by
               else "as designed, nothing recorded")
        turned = f"; the estate designs {self.designed_leader}" if self.flipped else ""
        return f"active side: {self.index} → {self.leader} ({how}{turned})"


def merge_links(seen: Iterable[Iterable[FollowerLink]]) -> list[FollowerLink]:
    """One row per pair from what each DC's reading gave: a DC reads its own followers and
    knows the others' only as pairs it takes part in, so the row with the follower's state
    wins; a pair whose follower's DC did not answer keeps the other side's row (state
    unknown, saying why)."""
    out: dict[str, FollowerLink] = {}
    for links in seen:
        for link in links:
            held = out.get(link.pair)
            if held is None or (held.state is None and link.state is not None):
                out[link.pair] = link
    return [out[k] for k in sorted(out)]


@dataclass(frozen=True)
class PipelineLag:
    """One MQ pipeline's consumer group feeding one search cluster (docs/kafka-dual-write.md):
    how far it is behind its Kafka topics, in messages and in the age of the oldest message it
    has not consumed. Its group commits only what reached the cluster, so this is the cluster's
    lag behind Kafka."""

    pipeline: str
    cluster: str  # the search cluster it feeds, as the estate's kafka section names it
    kafka: str  # the Kafka cluster it consumes from
    group: str  # the consumer group (esdr.kafka.logstash.pipeline_id)
    topics: tuple[str, ...] = ()
    messages: Figure = field(default_factory=lambda: Figure.missing("not read", " msg"))
    seconds: Figure = field(default_factory=lambda: Figure.missing("not read", " s"))
    expired: int = 0  # messages retention deleted before the group read them
    unreachable: str | None = None  # Kafka gave no answer by the deadline: why, brokers tried
    # the shortest time-based retention of its topics (None: unlimited, or not known)
    retention_seconds: float | None = None
    error: str | None = None  # esdr could not ask (no client identity, a setting): why


@dataclass(frozen=True)
class DcStatus:
    """One inventory's data centre as read within the deadline."""

    dc: str  # the estate's alias, else the inventory's data-centre name
    inventory: str
    cluster: str | None = None
    hosts: tuple[str, ...] = ()  # the addresses tried
    thresholds: Thresholds = field(default_factory=Thresholds)
    error: str | None = None  # the inventory could not be loaded: UNKNOWN
    reachable: bool | None = None  # None: no cluster in this inventory (gateways only)
    reason: str | None = None  # why unreachable
    health: str | None = None  # green | yellow | red; None: unknown
    health_note: str | None = None
    zones: tuple[Zone, ...] = ()
    nodes_note: str | None = None
    master: str | None = None
    master_zone: str | None = None
    master_note: str | None = None
    remotes: tuple[Remote, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    snapshots_note: str | None = None
    certificate: Certificate | None = None
    queues: tuple[Queue, ...] = ()
    drift: Figure | None = None  # objects the plan would change; None: not asked
    links: tuple[FollowerLink, ...] = ()  # the pairs this DC takes part in, as it read them
    links_note: str | None = None  # why its pairs are not known
    # the estate's MQ pipelines read through this DC's inventory (each pipeline and search
    # cluster by one DC only: the first one read whose estate names it)
    pipelines: tuple[PipelineLag, ...] = ()
    seconds: float | None = None  # how long the reads took


# --- the SLM schedule ---------------------------------------------------------------------------
_STEP = re.compile(r"^(\*|\d+)/(\d+)$")


def _gap(text: str, unit: float, span: int) -> float | None:
    """The longest gap between two runs from one cron field, in seconds; None when the field
    fires once per larger unit (a fixed value)."""
    if text in ("*", "?"):
        return unit
    step = _STEP.match(text)
    if step:
        return unit * int(step.group(2))
    if "," in text:
        try:
            values = sorted(int(v) for v in text.split(","))
        except ValueError:
            return None
        gaps = [b - a for a, b in zip(values, values[1:])] + [span - values[-1] + values[0]]
        return unit * max(gaps)
    if "-" in text:
        return unit  # a range fires every unit within it
    return None


def schedule_period(cron: str | None) -> float | None:
    """The longest time between two runs of an Elastic cron schedule (seconds minutes hours
    day-of-month month day-of-week [year],
    https://www.elastic.co/guide/en/elasticsearch/reference/current/api-conventions.html#api-cron-expressions),
    read field by field from the smallest unit up; approximate by design (a day-of-month rule
    is taken as monthly, a day-of-week rule as weekly); None when it cannot be read."""
    fields = (cron or "").split()
    if not 6 <= len(fields) <= 7:
        return None
    for text, unit, span in ((fields[0], 1, 60), (fields[1], 60, 60), (fields[2], 3600, 24)):
        if text in ("*", "?") or _STEP.match(text) or "," in text or "-" in text:
            return _gap(text, unit, span)
    dom, month, dow = fields[3], fields[4], fields[5]
    if month not in ("*", "?"):
        return 366 * 86400.0
    if dom not in ("*", "?"):
        return 31 * 86400.0
    if dow not in ("*", "?"):
        return 7 * 86400.0
    return 86400.0


# --- verdicts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One judged line of a table."""

    what: str  # health, nodes, master, remote dc2, snapshot repo, certificates, drift, ...
    value: str  # as shown
    code: int
    why: str | None = None  # what made it WARNING/CRITICAL/UNKNOWN
    data: Mapping[str, Any] = field(default_factory=dict)  # for --json

    def json(self) -> dict[str, Any]:
        return {"what": self.what, "value": self.value, "verdict": NAMES[self.code],
                "code": self.code, "why": self.why, **self.data}


@dataclass(frozen=True)
class Table:
    name: str
    lines: tuple[Line, ...]

    @property
    def code(self) -> int:
        return worst(line.code for line in self.lines)


def _days(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"


def dc_lines(dc: DcStatus, now: datetime) -> list[Line]:
    t = dc.thresholds
    if dc.error is not None:
        return [Line("inventory", f"not loaded: {dc.error}", UNKNOWN,
                     "esdr cannot read this inventory: fix it (esdr validate)")]
    out: list[Line] = []
    if dc.reachable is False:
        tried = ", ".join(dc.hosts) or "no host"
        out.append(Line("cluster", f"{dc.dc} UNREACHABLE (tried {tried}): {dc.reason}", CRITICAL,
                        f"{dc.dc} did not answer within {_num(t.timeout)} s",
                        {"reachable": False, "hosts": list(dc.hosts), "reason": dc.reason}))
    elif dc.reachable:
        out += _cluster_lines(dc, now)
    out += _queue_lines(dc)
    return out


def _cluster_lines(dc: DcStatus, now: datetime) -> list[Line]:
    t = dc.thresholds
    out = []
    code = {"green": OK, "yellow": WARNING, "red": CRITICAL}.get(dc.health or "", WARNING)
    shown = dc.health or f"unknown: {dc.health_note or 'not answered in time'}"
    out.append(Line("health", shown, code, None if code == OK else f"health {shown}",
                    {"health": dc.health, "cluster": dc.cluster}))
    if dc.zones:
        out.append(_zones_line(dc))
    if dc.master:
        value, code = f"{dc.master} (zone {dc.master_zone or 'unknown'})", OK
    elif dc.master_note == "none elected":
        value, code = "none elected", CRITICAL
    else:
        value, code = f"unknown: {dc.master_note or 'not answered in time'}", WARNING
    out.append(Line("elected master", value, code, None if code == OK else f"master {value}",
                    {"master": dc.master, "zone": dc.master_zone}))
    for s in dc.snapshots:
        out.append(_snapshot_line(s, t))
    if dc.snapshots_note:
        out.append(Line("snapshots", dc.snapshots_note,
                        WARNING if dc.snapshots_note.startswith("unknown") else OK))
    if dc.certificate is not None:
        out.append(_certificate_line(dc.certificate, t))
    if dc.drift is not None:
        d = dc.drift
        code = OK if d.value == 0 else WARNING
        why = (f"{d.text()} object(s) would change: esdr plan shows them" if d.known
               else f"drift {d.text()}")
        out.append(Line("pending drift", d.text() if not d.known else f"{_num(d.value)} object(s)",
                        code, None if code == OK else why, {"drift": d.json()}))
    return out


def _zones_line(dc: DcStatus) -> Line:
    code, whys = OK, []
    for z in dc.zones:
        if z.seen is None:
            code = worst([code, WARNING])
        elif z.seen == 0 < z.expected and z.holds_data:
            # a data zone gone: every shard is down to the copies in the other zones
            code = worst([code, CRITICAL])
            whys.append(f"zone {z.zone}: no node")
        elif z.seen != z.expected:
            code = worst([code, WARNING])
            whys.append(f"zone {z.zone}: {z.seen} of {z.expected} node(s)")
    value = ", ".join(f"{z.zone} {'unknown' if z.seen is None else z.seen}/{z.expected}"
                      for z in dc.zones)
    if any(z.seen is None for z in dc.zones):
        whys.append(f"nodes unknown: {dc.nodes_note or 'not answered in time'}")
    else:
        value += (f" ({sum(z.seen or 0 for z in dc.zones)} of "
                  f"{sum(z.expected for z in dc.zones)} nodes)")
    return Line("nodes per zone", value, code, "; ".join(whys) or None,
                {"zones": [vars(z) for z in dc.zones]})


def _snapshot_line(s: Snapshot, t: Thresholds) -> Line:
    what = f"snapshot {s.repository}" + (f" ({s.policy})" if s.policy else "")
    data = {"repository": s.repository, "policy": s.policy, "schedule": s.schedule,
            "last_success": s.last_success.isoformat() if s.last_success else None,
            "age_seconds": s.age.json(), "period_seconds": s.period}
    if s.last_success is None:
        value = f"no successful snapshot{': ' + s.note if s.note else ''}"
        return Line(what, value, WARNING, value, data)
    age = s.age.upper
    value = f"{s.last_success:%Y-%m-%d %H:%M}Z, {_days(age or 0)} ago"
    if s.period:
        value += f" (schedule every ≤ {_days(s.period)})"
    if s.note:
        value += f"; {s.note}"
    allowed = s.period * t.snapshot_age_factor if s.period else None
    if allowed is not None and age is not None and age > allowed:
        return Line(what, value, WARNING, f"the last successful snapshot is {_days(age)} old, "
                    f"more than {_num(t.snapshot_age_factor)} × its schedule ({_days(allowed)})",
                    data)
    return Line(what, value, OK, None, data)


def _certificate_line(c: Certificate, t: Thresholds) -> Line:
    data = {"which": c.which, "not_after": c.not_after.isoformat() if c.not_after else None,
            "days_left": c.days_left.json()}
    if c.which is None:
        value = c.note or c.days_left.text()  # a note: nothing to expire (security off)
        return Line("nearest certificate expiry", value, OK if c.note else WARNING,
                    None if c.note else f"certificates {value}", data)
    left = c.days_left.upper
    value = f"{c.which} {c.not_after:%Y-%m-%d} ({c.days_left.text()} d left)"
    if left is not None and left <= t.cert_critical_days:
        return Line("nearest certificate expiry", value, CRITICAL,
                    f"{c.which} expires within {_num(t.cert_critical_days)} days", data)
    if left is not None and left <= t.cert_warn_days:
        fix = "esdr certs rotate-ca" if c.which == "CA" else "the next deploy reissues it"
        return Line("nearest certificate expiry", value, WARNING,
                    f"{c.which} is inside its renewal window ({_num(t.cert_warn_days)} days): "
                    f"{fix}", data)
    return Line("nearest certificate expiry", value, OK, None, data)


def _queue_lines(dc: DcStatus) -> list[Line]:
    out = []
    for q in dc.queues:
        if q.caught_up is None:  # not read: the gateway did not answer
            code = CRITICAL
        elif q.caught_up:
            code = OK
        else:
            code = WARNING
        out.append(Line(f"gateway {q.gateway}", q.line, code, None if code == OK else q.line,
                        {"gateway": q.gateway, "queue": q.queue, "messages": q.messages,
                         "lag_bytes": q.lag_bytes.json(), "caught_up": q.caught_up}))
    return out


def link_lines(dcs: Iterable[DcStatus], links: Iterable[FollowerLink],
               thresholds: Mapping[str, Thresholds]) -> list[Line]:
    """The remote connections each DC holds, then each pair's active side and follower."""
    out = []
    for dc in dcs:
        if not dc.reachable:
            continue
        for r in dc.remotes:
            if r.connected is None:
                value, code = f"unknown: {r.reason or 'not answered in time'}", WARNING
            else:
                value = ("connected" if r.connected else "NOT connected") + (
                    f", {r.nodes} node(s)/socket(s)" if r.nodes is not None else "") + (
                    f" ({r.reason})" if r.reason and not r.connected else "")
                code = OK if r.connected else WARNING
            out.append(Line(f"remote {dc.dc} → {r.alias}", value, code,
                            None if code == OK else f"{dc.dc} → {r.alias} {value}",
                            {"from": dc.dc, "to": r.alias, "connected": r.connected,
                             "nodes": r.nodes}))
        if dc.links_note:
            out.append(Line(f"pairs of {dc.dc}", f"unknown: {dc.links_note}", WARNING,
                            f"pairs of {dc.dc} unknown: {dc.links_note}"))
    for link in links:
        out.append(_follower_line(link, thresholds.get(link.follower) or Thresholds()))
    return out


def _follower_line(f: FollowerLink, t: Thresholds) -> Line:
    state = f.state or f"unknown: {f.state_note or 'not read'}"
    if f.state and f.state_note:
        state += f" ({f.state_note})"
    value = (f"{f.active_text()}; follower {f.follower}:{f.follower_index} {state}; lag "
             f"{f.lag_operations.text()} op(s), {f.lag_seconds.text()}; last in sync "
             f"{f.last_in_sync or 'unknown'}"
             + (f" (seen now; {f.seen_now})" if f.seen_now else "")
             + (": esdr promote will bound the data at risk by an older record"
                if f.seen_now == "not recorded" else ""))
    if f.state is None:
        code, why = WARNING, f"follower {f.follower}:{f.follower_index} {state}"
    elif f.state in ("failed", "missing", "a regular index, not following"):
        code, why = CRITICAL, f"follower {f.follower}:{f.follower_index} {state}: no DR copy"
    elif f.state != "active":
        code, why = WARNING, f"follower {f.follower}:{f.follower_index} {state}"
    else:
        seconds = f.lag_seconds.upper
        if seconds is not None and seconds > t.lag_critical_seconds:
            code, why = CRITICAL, f"{f.follower_index} lags {f.lag_seconds.text()}"
        elif seconds is not None and seconds > t.lag_warn_seconds:
            code, why = WARNING, f"{f.follower_index} lags {f.lag_seconds.text()}"
        elif not f.lag_operations.known and not f.lag_seconds.known:
            code, why = WARNING, f"{f.follower_index}: lag {f.lag_operations.text()}"
        else:
            code, why = OK, None
    data = {"pair": f.pair, "index": f.index, "active_side": f.leader, "follower": f.follower,
            "follower_index": f.follower_index, "designed_leader": f.designed_leader,
            "recorded_by": f.by, "since": f.since, "bidirectional": f.bidirectional,
            "state": f.state, "state_note": f.state_note,
            "lag_operations": f.lag_operations.json(), "lag_seconds": f.lag_seconds.json(),
            "last_in_sync": f.last_in_sync, "seen_now": f.seen_now}
    return Line(f"pair {f.pair}", value, code, why, data)


# A pipeline whose oldest unconsumed message is this close to its topics' retention is
# CRITICAL whatever the lag thresholds say: Kafka deletes by age
# (https://kafka.apache.org/44/configuration/topic-configs/#topicconfigs_retention.ms), and what
# it deletes unread never reaches that cluster.
RETENTION_CRITICAL_FRACTION = 0.8


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:g} d" if hours >= 48 else f"{hours:g} h"


def pipeline_line(p: PipelineLag, t: Thresholds) -> Line:
    """One pipeline and the search cluster it feeds. Kafka not answering is CRITICAL, as a
    silent DC or gateway is (a timeout is not UNKNOWN in the plugin guidelines); esdr unable
    to ask at all is UNKNOWN; a figure it could not read is a WARNING, or worse when its bound
    already passes a threshold."""
    value = (f"lag {p.messages.text()}, oldest unconsumed {p.seconds.text()}"
             + (f", {p.expired} expired unread" if p.expired else "")
             + f" (group {p.group} on {p.kafka})")
    data = {"pipeline": p.pipeline, "cluster": p.cluster, "kafka": p.kafka, "group": p.group,
            "topics": list(p.topics), "lag_messages": p.messages.json(),
            "lag_seconds": p.seconds.json(), "expired": p.expired,
            "retention_seconds": p.retention_seconds,
            "reachable": None if p.error else p.unreachable is None,
            "reason": p.error or p.unreachable}
    what = f"pipeline {p.pipeline} → {p.cluster}"
    seconds = p.seconds.upper
    if p.error is not None:
        value = f"lag unknown: {p.error} (group {p.group} on {p.kafka})"
        code, why = UNKNOWN, f"{what}: lag not checked: {p.error}"
    elif p.unreachable is not None:
        value = f"lag unknown: {p.unreachable} (group {p.group})"
        code, why = CRITICAL, f"{what}: {p.unreachable}"
    elif p.expired:
        code, why = CRITICAL, (f"{what}: {p.expired} message(s) deleted by retention before "
                               f"{p.group} read them: {p.cluster} misses them")
    elif (seconds is not None and p.retention_seconds is not None
          and seconds >= RETENTION_CRITICAL_FRACTION * p.retention_seconds):
        code, why = CRITICAL, (
            f"{what} lags {p.seconds.text()}, {seconds / p.retention_seconds:.0%} of its topics' "
            f"retention ({_hours(p.retention_seconds)}): Kafka is about to delete messages "
            f"{p.cluster} has not consumed; bring its pipeline back now, or raise retention.ms "
            "(docs/kafka-dual-write.md, \"Retention and the longest tolerated lag\")")
    elif seconds is not None and seconds > t.pipeline_lag_critical_seconds:
        code, why = CRITICAL, f"{what} lags {p.seconds.text()}"
    elif seconds is not None and seconds > t.pipeline_lag_warn_seconds:
        code, why = WARNING, f"{what} lags {p.seconds.text()}"
    elif not p.messages.known or not p.seconds.known:
        shown = p.messages if not p.messages.known else p.seconds
        code, why = WARNING, f"{what}: lag {shown.text()}"
    else:
        code, why = OK, None
    return Line(what, value, code, why, data)


def pipeline_lines(dcs: Iterable[DcStatus]) -> list[Line]:
    """Each pipeline and search cluster once, judged by the thresholds of the DC whose cluster
    it feeds (its alias or cluster name), else of the DC that read it."""
    dcs = list(dcs)
    by_name = {name: dc.thresholds for dc in dcs for name in (dc.cluster, dc.dc) if name}
    seen: dict[tuple[str, str], Line] = {}
    for dc in dcs:
        for p in dc.pipelines:
            if (p.pipeline, p.cluster) not in seen:
                seen[(p.pipeline, p.cluster)] = pipeline_line(
                    p, by_name.get(p.cluster) or dc.thresholds)
    return [seen[k] for k in sorted(seen)]


@dataclass(frozen=True)
class Report:
    tables: tuple[Table, ...]

    @property
    def code(self) -> int:
        return worst(t.code for t in self.tables)

    def summary(self) -> str:
        """The first line, as the plugin guidelines ask: the state and what made it so
        (https://nagios-plugins.org/doc/guidelines.html#AEN33)."""
        bad = sorted((line for t in self.tables for line in t.lines if line.code != OK),
                     key=lambda line: -_RANK[line.code])
        if not bad:
            return f"ESDR {NAMES[OK]} - every line OK"
        shown = "; ".join(line.why or f"{line.what} {line.value}" for line in bad[:3])
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        return f"ESDR {NAMES[self.code]} - {shown}{more}"


def evaluate(dcs: Iterable[DcStatus], now: datetime) -> Report:
    """Every DC's table, then the links: each DC's remotes and every pair once (each judged
    by the thresholds of the DC that holds its follower), then the MQ pipelines: each
    pipeline and search cluster once."""
    dcs = list(dcs)
    tables = [Table(f"{dc.dc} ({dc.cluster or dc.inventory})", tuple(dc_lines(dc, now)))
              for dc in dcs]
    lines = link_lines(dcs, merge_links(dc.links for dc in dcs),
                       {dc.dc: dc.thresholds for dc in dcs})
    if lines:
        tables.append(Table("links", tuple(lines)))
    pipelines = pipeline_lines(dcs)
    if pipelines:
        tables.append(Table("pipelines", tuple(pipelines)))
    return Report(tuple(tables))


# --- rendering ---------------------------------------------------------------------------------
def render_text(report: Report) -> list[str]:
    """The summary line, then one table per DC, one for the links and one for the MQ
    pipelines: verdict, what, value."""
    out = [report.summary()]
    for table in report.tables:
        out += ["", f"== {table.name}: {NAMES[table.code]}"]
        width = max([len(line.what) for line in table.lines] or [0])
        for line in table.lines:
            out.append(f"{NAMES[line.code]:<8}  {line.what.ljust(width)}  {line.value}")
    return out


JSON_VERSION = 1


def render_json(report: Report) -> dict[str, Any]:
    """Stable keys for machines: ``verdict``, ``code``, ``summary``, then ``tables`` (each:
    ``name``, ``verdict``, ``code``, ``lines``). A figure is ``{"value", "unit", "unknown",
    "at_most"}``: ``value`` null with ``unknown`` saying why when esdr does not know it."""
    return {"version": JSON_VERSION, "verdict": NAMES[report.code], "code": report.code,
            "summary": report.summary(),
            "tables": [{"name": t.name, "verdict": NAMES[t.code], "code": t.code,
                        "lines": [line.json() for line in t.lines]} for t in report.tables]}
