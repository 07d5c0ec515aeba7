"""Planned switchover: move the active side of one replicated index to the DC that follows it,
without losing an acknowledged write (``esdr switchover``).

Phases, in order (``PHASES``): checked -> leader-blocked (a write block on the leader index) ->
in-sync (the leader's and the follower's checkpoints equal, read after the block) ->
follower-stopped (the follower made a writable index: the engine's ``WRITABLE`` steps) ->
alias-moved (the write alias made this index's write index, one ``_aliases`` call) ->
reverse-following (the old leader index, blocked and identical, replaced by a follower of the
new leader) -> done. Writes are refused from the block until the alias moved: that is the write
window the command measures and prints.

Before each step that a rerun must finish or undo (the block, the stop, the delete of the old
copy) the phase and the pair are recorded in both clusters' ``esdr-managed`` document
(``switchover``), so a run that was interrupted is picked up by the next one, which says which
it does: before the follower was stopped it rolls back (the block lifted, the record deleted:
the old side never stopped being the leader) and starts afresh; from the stop on it only goes
forward, every step checking what is already done. At most one switchover is in flight.

Reverse replication replaces the old leader index: neither engine turns an existing index into
a follower (Elasticsearch's put-follow creates the follower index,
https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-put-follow.html;
OpenSearch's ``_start`` refuses an existing index, "Delete the index", and bootstraps a full
copy from the leader:
https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/api/). It runs after
the alias moved, outside the write window; the old copy is deleted only while it still carries
the block set here, so it holds nothing the new leader lacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.reconcile import registry
from esdr.reconcile.retry import with_retries
from esdr.reconcile.run import in_parallel
from esdr.replication import Replication
from esdr.replication.base import Lag
from esdr.replication.in_sync import primary_seq_nos
from esdr.replication.opensearch import OpenSearchReplication
from esdr.runbooks.steps import Step, run_step

PHASES = ("checked", "leader-blocked", "in-sync", "follower-stopped", "alias-moved",
          "reverse-following", "done")
FORWARD_ONLY = "follower-stopped"  # from this phase on, the old side may have lost its lead
RECORD = "switchover"  # key of the in-flight record in the registry document
# phases recorded in both registries before their step runs (each starts something that must
# be finished or undone by a rerun)
RECORDED = ("leader-blocked", "follower-stopped", "reverse-following")
POLL = 0.1  # seconds between two checkpoint reads while waiting for the follower
NEAR = 10  # operations the follower may be behind when writes are blocked

Say = Callable[[str], None]


@dataclass(frozen=True)
class Pair:
    """One replicated index and the direction it is switched in."""

    index: str  # the follower index on ``new``, the leader after the switchover
    new: str  # estate alias of the DC that becomes active
    old: str  # estate alias of the DC active now
    leader_index: str  # the leader index on ``old``, a follower after the switchover
    write_alias: str | None = None

    def line(self) -> str:
        return f"{self.index} {self.old} → {self.new}"

    def record(self, phase: str, **extra: Any) -> dict[str, Any]:
        return {"index": self.index, "new": self.new, "old": self.old,
                "leader_index": self.leader_index, "write_alias": self.write_alias,
                "phase": phase, **extra}

    @classmethod
    def from_record(cls, entry: Mapping[str, Any]) -> Pair:
        return cls(entry["index"], entry["new"], entry["old"], entry["leader_index"],
                   entry.get("write_alias"))


# --- the pure state machine ------------------------------------------------------------------
def phase_rank(phase: str | None) -> int:
    return PHASES.index(phase) if phase in PHASES else -1


def latest(*records: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The most advanced of the records found on the two sides (a run killed while writing
    them may have written one only); None when neither has one."""
    found = [dict(r) for r in records if r]
    return max(found, key=lambda r: phase_rank(r.get("phase"))) if found else None


def decide(recorded: Mapping[str, Any] | None) -> str:
    """What a run does first: ``fresh`` (nothing in flight), ``rollback`` (interrupted before
    the follower was stopped: the old side is still the only writer, undo the block) or
    ``resume`` (interrupted after: only forward)."""
    if not recorded:
        return "fresh"
    if phase_rank(recorded.get("phase")) < phase_rank(FORWARD_ONLY):
        return "rollback"
    return "resume"


def resume_from(phase: str) -> str:
    """The phase a forward run restarts at: the recorded one, except that a stop that may not
    have happened is preceded by the in-sync check again (it skips once the follower is
    stopped; the block has been on all along, so it finds the follower in sync)."""
    return "in-sync" if phase == FORWARD_ONLY else phase


def switchover_steps(pair: Pair, new: type[Replication] | Replication,
                     old: type[Replication] | Replication, timeout: float,
                     start: str = "leader-blocked") -> list[tuple[str, Step]]:
    """(phase, step) in order from ``start``. ``new``/``old``: the adapters (or classes) of the
    two sides; their engine decides the steps that make a follower writable and whether a new
    follower's aliases are its leader's (OpenSearch copies them and refuses changes)."""
    by_phase: dict[str, list[Step]] = {
        "leader-blocked": [Step(pair.old, "block_writes", pair.leader_index)],
        "in-sync": [Step(pair.new, "wait_in_sync", pair.index,
                         {"leader_index": pair.leader_index, "timeout": f"{timeout:g}s"})],
        "follower-stopped": [Step(pair.new, action, pair.index) for action in new.WRITABLE],
        "alias-moved": ([Step(pair.new, "switch_alias", pair.index,
                              {"alias": pair.write_alias, "write": True})]
                        if pair.write_alias else []),
        "reverse-following": [
            Step(pair.old, "delete", pair.leader_index),
            Step(pair.old, "follow", pair.leader_index,
                 {"remote_cluster": pair.new, "leader_index": pair.index}),
            *([Step(pair.old, "switch_alias", pair.leader_index,
                    {"alias": pair.write_alias, "write": False})]
              if pair.write_alias and not old.ALIASES_FROM_LEADER else []),
        ],
    }
    first = phase_rank(start)
    return [(phase, step) for phase in PHASES if phase in by_phase and phase_rank(phase) >= first
            for step in by_phase[phase]]


def rollback_steps(pair: Pair) -> list[Step]:
    return [Step(pair.old, "unblock_writes", pair.leader_index)]


# --- reading the checkpoints -----------------------------------------------------------------
@dataclass(frozen=True)
class Sync:
    """Checkpoints per shard (key ``all`` when the engine gives only their sum)."""

    leader: dict[str, int] = field(default_factory=dict)
    follower: dict[str, int] = field(default_factory=dict)
    note: str | None = None  # why it cannot be in sync now (no reading, not replicating)

    @property
    def in_sync(self) -> bool:
        return self.note is None and bool(self.leader) and self.leader == self.follower

    @property
    def behind(self) -> int | None:
        if self.note is not None or not self.leader:
            return None
        return sum(max(0, v - self.follower.get(k, -1)) for k, v in self.leader.items())

    def line(self) -> str:
        if self.note is not None:
            return self.note
        return (f"{self.behind} operation(s) behind (leader checkpoint "
                f"{_show(self.leader)}, follower {_show(self.follower)})")


def _show(checkpoints: dict[str, int]) -> str:
    if list(checkpoints) == ["all"]:
        return str(checkpoints["all"])
    return ", ".join(f"shard {k}: {v}" for k, v in sorted(checkpoints.items()))


def leader_checkpoints(stats: Mapping[str, Any], index: str) -> dict[str, int] | str:
    """Shard -> the primary's global checkpoint, from the leader's own ``_stats?level=shards``
    (asked live: the follower's view of the leader is only as fresh as its last read); a
    string says why not (a primary not reported)."""
    return primary_seq_nos(stats, index, "global_checkpoint", who="the leader")


def follower_checkpoints_ccr(stats: Mapping[str, Any] | None, index: str) -> dict[str, int]:
    """Shard -> ``follower_global_checkpoint`` from ``GET /<follower>/_ccr/stats``
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html)."""
    return {str(s["shard_id"]): int(s["follower_global_checkpoint"])
            for i in (stats or {}).get("indices", []) if i.get("index") == index
            for s in i.get("shards", [])}


def sync_ccr(leader_stats: Mapping[str, Any], leader_index: str,
             follow_stats: Mapping[str, Any] | None, index: str) -> Sync:
    leader = leader_checkpoints(leader_stats, leader_index)
    if isinstance(leader, str):
        return Sync(note=leader)
    follower = follower_checkpoints_ccr(follow_stats, index)
    if not follower:
        return Sync(leader, note=f"{index} has no follow stats: it is not following")
    return Sync(leader, follower)


def sync_opensearch(leader_stats: Mapping[str, Any], leader_index: str,
                    status: Mapping[str, Any] | None) -> Sync:
    """OpenSearch's ``_status`` gives the follower's checkpoint summed over its shards
    (``syncing_details.follower_checkpoint``). A follower's checkpoint never passes its
    leader's on any shard, so the sums are equal exactly when every shard is. The leader's side
    is read from the leader itself: ``_status`` reports, for a shard the leader did not answer
    for, the follower's own checkpoint as the leader's (TransportReplicationStatusAction.kt)."""
    leader = leader_checkpoints(leader_stats, leader_index)
    if isinstance(leader, str):
        return Sync(note=leader)
    state = str((status or {}).get("status") or "no status")
    details = (status or {}).get("syncing_details") or {}
    if state != "SYNCING" or "follower_checkpoint" not in details:
        return Sync({"all": sum(leader.values())}, note=f"replication of the follower is {state}")
    return Sync({"all": sum(leader.values())}, {"all": int(details["follower_checkpoint"])})


def read_sync(new: Replication, old: Replication, index: str, leader_index: str) -> Sync:
    leader_stats = client.get_shard_stats(old.es, leader_index)
    if isinstance(new, OpenSearchReplication):
        return sync_opensearch(leader_stats, leader_index, new.status(index))
    return sync_ccr(leader_stats, leader_index, client.get_follow_stats(new.es, index), index)


# --- running it ------------------------------------------------------------------------------
@dataclass
class Outcome:
    pair: Pair
    how: str  # fresh, resumed, rolled back (+ fresh), rolled back
    window_s: float | None = None  # writes blocked: block -> alias moved
    steps: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


class Run:
    """One run of the runbook against the two sides (``adapters``: estate alias -> adapter)."""

    def __init__(self, pair: Pair, adapters: Mapping[str, Replication], timeout: float,
                 say: Say, *, active_key: str | None = None):
        self.pair = pair
        self.adapters = adapters
        self.timeout = timeout
        self.say = say
        self.active_key = active_key
        self.record: dict[str, Any] = {}

    @property
    def new(self) -> Replication:
        return self.adapters[self.pair.new]

    @property
    def old(self) -> Replication:
        return self.adapters[self.pair.old]

    # --- records ---------------------------------------------------------------------------
    def save(self, phase: str) -> None:
        """The phase and the pair in both registries, before the phase's step runs."""
        self.record = self.pair.record(phase, **{k: v for k, v in self.record.items()
                                                 if k in ("started_at", "blocked_at")})
        in_parallel([lambda a=a: _put_record(a.es, self.record)
                     for a in (self.old, self.new)])

    def forget(self, finished: bool) -> None:
        """Delete the record on both sides; after a finished switchover also record the new
        active side in both registries (``registry.record_active``), so ``esdr plan`` and the
        deploy keep the new direction instead of following as the estate designs."""
        p = self.pair

        def update(alias: str, es: Api) -> None:
            reg = registry.read(es)
            reg.pop(RECORD, None)
            if finished:  # neither index is a promotion waiting for a failback any more
                reg.get("promoted", {}).pop(p.leader_index if alias == p.old else p.index, None)
                # the old side follows now, the new one leads: recorded as a deploy would
                reg = registry.with_follower_roles(reg, following=[p.leader_index]) \
                    if alias == p.old else registry.with_follower_roles(reg, leading=[p.index])
            registry.write(es, reg)

        for alias, es in ((p.old, self.old.es), (p.new, self.new.es)):
            with_retries(f"switchover: esdr's registry on {alias}",
                         lambda alias=alias, es=es: update(alias, es))
        if finished and self.active_key:
            missed = registry.record_active({p.old: self.old, p.new: self.new},
                                            self.active_key, p.new, "switchover")
            if missed:
                self.say(f"WARNING: the new active side ({p.new}) could not be recorded on "
                         f"{', '.join(missed)}: `esdr plan` reads it from the other DC; run "
                         "`esdr plan` on both before the next deploy")

    # --- steps -----------------------------------------------------------------------------
    def run(self, steps: list[tuple[str, Step]], window_from: float | None) -> float | None:
        """Run ``steps``; returns the seconds writes were blocked, from the block (this run's,
        or the interrupted run's ``window_from``) until the alias moved (None: the alias had
        moved before this run)."""
        ends = [s for ph, s in steps if ph == "alias-moved"] or \
            [s for ph, s in steps if ph == "follower-stopped"]
        end = ends[-1] if ends else None
        window = None
        for number, (phase, step) in enumerate(steps, 1):
            if phase in RECORDED and self.record.get("phase") != phase:
                self.save(phase)
            self.say(f"step {number}/{len(steps)} [{phase}]: {step.line()}")
            started = time.monotonic()
            if step.action == "block_writes":
                window_from = time.time()
                self.record["blocked_at"] = window_from
            self.execute(step)
            self.say(f"  done in {time.monotonic() - started:.2f} s")
            if step is end and window_from is not None:
                window = time.time() - window_from
        return window

    def execute(self, step: Step) -> None:
        adapter = self.adapters[step.cluster]
        action = {"block_writes": self._block, "unblock_writes": self._unblock,
                  "wait_in_sync": self._wait_in_sync, "delete": self._delete_old,
                  "follow": self._follow}.get(step.action)
        if action is not None:
            action(adapter, step)
            return
        if step.action in self.new.WRITABLE and step.cluster == self.pair.new:
            if self._skip_writable(step):
                return
        run_step(adapter, step)

    def _block(self, adapter: Replication, step: Step) -> None:
        client.add_write_block(adapter.es, step.index)

    def _unblock(self, adapter: Replication, step: Step) -> None:
        if client.index_exists(adapter.es, step.index) and adapter.follower(step.index) == {}:
            client.remove_write_block(adapter.es, step.index)

    def _wait_in_sync(self, adapter: Replication, step: Step) -> None:
        p = self.pair
        found = adapter.follower(p.index)
        if found == {}:
            self.say(f"  {p.new}:{p.index} is no longer a follower (stopped by the interrupted "
                     "run): nothing to wait for")
            return
        if self.record.get("phase") == FORWARD_ONLY and (found or {}).get("status") != "active":
            self._stopping_already(p)
            return
        deadline = time.monotonic() + self.timeout
        while True:
            sync = read_sync(self.new, self.old, p.index, p.leader_index)
            if sync.in_sync:
                self.say(f"  in sync: checkpoints {_show(sync.leader)} on both sides")
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        self.say(f"  not in sync after {self.timeout:g} s: {sync.line()}; rolling back")
        self.rollback()
        raise EsdrError(
            f"switchover {p.line()} refused: {p.new}:{p.index} did not catch up with "
            f"{p.old}:{p.leader_index} within {self.timeout:g} s with writes blocked "
            f"({sync.line()}); rolled back: writes on {p.old} unblocked, nothing else changed",
            hint=f"check the replication of {p.index} on {p.new} (its status and lag), then "
                 "rerun, or allow longer with --timeout")

    def _stopping_already(self, p: Pair) -> None:
        """A forward run finds the follower paused (or closed): the interrupted run began the
        engine's stop. Elasticsearch takes four requests for it (pause_follow, close, unfollow,
        open: https://www.elastic.co/guide/en/elasticsearch/reference/current/
        ccr-post-unfollow.html), and a paused follower has no follow stats (404 "No shard
        follow tasks for follower indices", TransportFollowStatsAction), so waiting for them
        would time out and roll back a follower already stopped. The phase was recorded only
        after the follower was found in sync with the leader's write block on; while the block
        is still there nothing can have reached the leader since, so it is in sync still and
        the stop goes on."""
        blocked = client.get_index_setting(self.old.es, p.leader_index, "index.blocks.write")
        if str(blocked).lower() == "true":
            self.say(f"  {p.new}:{p.index} was paused by the interrupted run once in sync, and "
                     f"{p.old}:{p.leader_index} has kept its write block since: nothing to "
                     "wait for")
            return
        raise EsdrError(
            f"switchover {p.line()}: {p.new}:{p.index} was paused by the interrupted run, and "
            f"{p.old}:{p.leader_index} no longer has the write block this switchover set, so "
            f"it may hold writes {p.new}:{p.index} lacks; nothing was changed (a stopped "
            "follower cannot be rolled back)",
            hint=f"set the block again (PUT /{p.leader_index}/_block/write on {p.old}), resume "
                 f"the follower on {p.new} (POST /{p.index}/_ccr/resume_follow; open it first "
                 "if it is closed), let it catch up, then rerun")

    def _skip_writable(self, step: Step) -> bool:
        """A forward run after an interruption: the engine steps already done are skipped
        (a stopped follower answers errors to being stopped again)."""
        found = self.new.follower(step.index)
        if found == {}:  # a regular index: only reopening may be left (CCR closes it)
            if step.action == "open":
                return False
            self.say("  already done")
            return True
        if step.action == "pause_follow" and (found or {}).get("status") == "paused":
            self.say("  already paused")
            return True
        return False

    def _delete_old(self, adapter: Replication, step: Step) -> None:
        """Only the copy this runbook blocked, which holds nothing the new leader lacks."""
        p = self.pair
        if not client.index_exists(adapter.es, step.index):
            self.say("  already deleted")
            return
        found = adapter.follower(step.index)
        if found:
            if (found.get("remote_cluster"), found.get("leader_index")) == (p.new, p.index):
                self.say(f"  already following {p.new}:{p.index}")
                return
        blocked = client.get_index_setting(adapter.es, step.index, "index.blocks.write")
        if str(blocked).lower() != "true":
            raise EsdrError(
                f"switchover {p.line()}: {p.old}:{step.index} no longer has the write block "
                "this switchover set, so it may hold writes that "
                f"{p.new}:{p.index} lacks; nothing was deleted",
                hint=f"compare the two copies; if {p.old}:{step.index} holds nothing more, set "
                     "the block again (PUT /<index>/_block/write) and rerun")
        run_step(adapter, step)

    def _follow(self, adapter: Replication, step: Step) -> None:
        found = adapter.follower(step.index)
        if found and (found.get("remote_cluster"), found.get("leader_index")) == (
                self.pair.new, self.pair.index):
            self.say("  already following")
            return
        run_step(adapter, step)

    def rollback(self) -> None:
        for step in rollback_steps(self.pair):
            self.say(f"rollback: {step.line()}")
            self.execute(step)
        self.forget(finished=False)


def _put_record(es: Api, record: dict[str, Any]) -> None:
    with_retries("switchover: its record in esdr's registry",
                 lambda: _put_record_once(es, record))


def _put_record_once(es: Api, record: dict[str, Any]) -> None:
    reg = registry.read(es)
    reg[RECORD] = record
    # while writes are blocked every second counts: a GET by id reads it back real-time
    registry.write(es, reg, wait_for_refresh=False)


def in_flight(es: Api) -> dict[str, Any] | None:
    """The switchover record on ``es``. Both DCs are up for a switchover (``check`` refuses
    otherwise), so a busy answer (429 Too Many Requests, https://www.rfc-editor.org/rfc/
    rfc6585#section-4, or 503) is waited out, as every registry read and write here is, not
    taken as a failure half-way through the steps (esdr.reconcile.retry: bounded)."""
    return with_retries("switchover: esdr's registry", lambda: registry.read(es)).get(
        RECORD) or None


def check(pair: Pair, adapters: Mapping[str, Replication], say: Say,
          timeout: float = 30) -> None:
    """Refuse unless both DCs are healthy, the index follows the leader now, the old side can
    follow the new one back, and nobody else blocked the leader."""
    new, old = adapters[pair.new], adapters[pair.old]
    for alias, adapter in ((pair.old, old), (pair.new, new)):
        try:
            health = client.get_cluster_health(adapter.es, timeout="5s")
        except client.API_ERRORS as error:
            health = {"status": f"not answering ({client.describe(error)})"}
        status = str(health.get("status"))
        if status not in ("green", "yellow"):
            raise EsdrError(
                f"switchover {pair.line()} refused: {alias} is {status}; a planned switchover "
                "needs both data centres healthy", hint=f"bring {alias} back to green or "
                "yellow first; if the active DC is lost, use `esdr promote` instead")
        say(f"{alias}: {status}")
    found = new.follower(pair.index)
    want = (pair.old, pair.leader_index)
    if not found or (found.get("remote_cluster"), found.get("leader_index")) != want \
            or found.get("status") != "active":
        what = ("does not exist" if found is None else "is a regular index" if found == {}
                else f"follows {found.get('remote_cluster')}:{found.get('leader_index')} "
                     f"({found.get('status')})")
        raise EsdrError(f"switchover {pair.line()} refused: {pair.new}:{pair.index} {what}, "
                        f"not an active follower of {pair.old}:{pair.leader_index}",
                        hint="run it on the DC whose follower should become the leader; "
                             "resume a paused follower first (`pyinfra ... deploys/site.py`)")
    remotes = client.get_remote_info(old.es)
    if not (remotes.get(pair.new) or {}).get("connected"):
        raise EsdrError(f"switchover {pair.line()} refused: {pair.old} is not connected to "
                        f"{pair.new} (GET _remote/info), so {pair.old}:{pair.leader_index} could "
                        f"not follow {pair.new} afterwards",
                        hint=f"add the link {pair.old}->{pair.new} to the estate and deploy "
                             f"{pair.old}")
    blocked = client.get_index_setting(old.es, pair.leader_index, "index.blocks.write")
    if str(blocked).lower() == "true":
        raise EsdrError(f"switchover {pair.line()} refused: {pair.old}:{pair.leader_index} "
                        "already has a write block esdr did not set",
                        hint="find who set it and why; lift it "
                             "(PUT /<index>/_settings {\"index.blocks.write\": null}) and rerun")
    lag = _near(new, pair.index, timeout)
    say(f"lag before blocking writes: {lag.line()}")


def _near(new: Replication, index: str, timeout: float) -> Lag:
    """Wait (at most ``timeout``) until the follower is within ``NEAR`` operations of its
    leader before blocking writes, so the wait with writes blocked is short: seen in the lab,
    a follower 25 operations behind took 8 s to catch up with the block on. Blocking anyway
    after the wait is still safe: the in-sync wait is bounded and rolls back."""
    deadline = time.monotonic() + timeout
    while True:
        lag = new.lag(index)
        if lag.operations is not None and lag.operations <= NEAR:
            return lag
        if time.monotonic() >= deadline:
            return lag
        time.sleep(POLL * 5)


def switchover(
    pair: Pair,
    adapters: Mapping[str, Replication],
    *,
    timeout: float,
    dry: bool,
    say: Say,
    rollback_only: bool = False,
    active_key: str | None = None,
) -> Outcome:
    """``pair``: what to switch (its record, when one is in flight, wins: see ``pair_in_flight``);
    ``adapters``: estate alias -> adapter for ``pair.new`` and ``pair.old``; ``active_key``: the
    estate's key of the pair (``esdr.crossdc.active_side.key_for``), under which a finished
    switchover records ``pair.new`` as the active side on both clusters."""
    new, old = adapters[pair.new], adapters[pair.old]
    recorded = latest(in_flight(old.es), in_flight(new.es))
    if recorded is not None and Pair.from_record(recorded) != pair:
        other = Pair.from_record(recorded)
        raise EsdrError(f"switchover {pair.line()} refused: switchover {other.line()} is in "
                        f"flight (phase {recorded.get('phase')})",
                        hint=f"finish it first: rerun `esdr switchover` with {other.new}'s "
                             f"inventory and --index {other.index} (or --rollback)")
    decision = decide(recorded)
    run = Run(pair, adapters, timeout, say, active_key=active_key)
    outcome = Outcome(pair, "fresh")
    if decision == "rollback":
        say(f"switchover {pair.line()} was interrupted at phase {recorded['phase']}, before its "
            f"follower was stopped: {pair.old} is still the only writer; rolling back")
        if dry:
            for step in rollback_steps(pair):
                say(f"  would {step.line()}")
        else:
            run.record = dict(recorded)
            run.rollback()
            say("rolled back: the write block is lifted and the record deleted")
        outcome.how = "rolled back"
        if rollback_only:
            return outcome
    elif decision == "resume":
        if rollback_only:
            raise EsdrError(f"switchover {pair.line()} cannot be rolled back: it stopped the "
                            f"follower (phase {recorded['phase']}), so {pair.new}:{pair.index} "
                            "may hold writes already", hint="rerun without --rollback to "
                            "finish it")
        say(f"switchover {pair.line()} was interrupted at phase {recorded['phase']}, after its "
            "follower was stopped: only forward; resuming")
        run.record = dict(recorded)
        steps = switchover_steps(pair, new, old, timeout, resume_from(recorded["phase"]))
        return _go(run, steps, outcome, dry, resumed=True)
    elif rollback_only:
        say(f"nothing to roll back: no switchover of {pair.index} in flight")
        outcome.how = "nothing"
        return outcome
    check(pair, adapters, say, timeout)  # reads only: a dry run refuses what the real one would
    steps = switchover_steps(pair, new, old, timeout)
    outcome.how = "rolled back, then fresh" if decision == "rollback" else "fresh"
    return _go(run, steps, outcome, dry, resumed=False)


def _go(run: Run, steps: list[tuple[str, Step]], outcome: Outcome, dry: bool,
        resumed: bool) -> Outcome:
    say, pair = run.say, run.pair
    outcome.steps = [f"[{phase}] {step.line()}" for phase, step in steps]
    if dry:
        say(f"dry run: {len(steps)} step(s), nothing changed:")
        for line in outcome.steps:
            say(f"  {line}")
        return outcome
    if not resumed:
        run.record["started_at"] = _iso(_now())
    blocked_at = run.record.get("blocked_at")
    outcome.window_s = run.run(steps, blocked_at if isinstance(blocked_at, float) else None)
    run.forget(finished=True)
    if resumed:
        outcome.how = "resumed"
    window = ("" if outcome.window_s is None else
              f": writes blocked for {outcome.window_s:.1f} s"
              + (" (since the interrupted run blocked them)" if resumed else ""))
    say(f"switchover {pair.index} {pair.old} → {pair.new}{window}")
    return outcome
