"""Failback after the old primary returned: re-establish replication in the chosen direction.

- ``reverse``: the returning DC follows the promoted index (its old leader copy is replaced);
- ``original``: this DC follows the old leader again (writes made here since the promotion
  are lost).

Either way one copy is replaced, and documents written on one side only are gone with it, so the
runbook prints both document counts loudly and refuses to delete anything without
``--allow-delete``. Going ``reverse``, it first salvages what the old leader holds and the
promoted index does not (``esdr.runbooks.salvage``): into a side index by default, or create-only
into the promoted index itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import Api
from esdr.reconcile import registry
from esdr.replication import Replication, as_adapter
from esdr.replication.ccr import CcrReplication
from esdr.runbooks import salvage as salvaging
from esdr.runbooks.steps import Step, run_steps


@dataclass(frozen=True)
class Promoted:
    """A promotion recorded by ``esdr promote`` on the surviving cluster."""

    index: str  # the promoted (formerly follower) index on the survivor
    survivor: str  # alias of the survivor
    remote: str  # alias of the returning, old primary
    leader_index: str  # its old leader index there
    write_alias: str | None = None
    # the survivor's link to the remote, removed by `esdr promote` while the remote was gone
    detached_link: dict[str, Any] = field(default_factory=dict)
    # the follower's checkpoint at promotion: summed over the shards, and per shard (promotions
    # recorded before esdr kept those have none); where salvage on failback starts reading
    follower_checkpoint: int | None = None
    shard_checkpoints: dict[str, int] = field(default_factory=dict)
    salvage_index: str | None = None  # the side index of a salvage begun by an earlier run
    # the read alias of the bi-directional pair the promoted follower belongs to (promoted only
    # when asked with --break-bidirectional): the index is the remote's own write index
    bidirectional: str | None = None

    @classmethod
    def from_registry(cls, survivor: str, index: str, entry: dict[str, Any],
                      bidirectional: str | None = None) -> Promoted:
        """``bidirectional``: the estate's pair of this index, when the caller knows it; else
        what the promotion recorded."""
        checkpoint = entry.get("follower_checkpoint")
        return cls(index, survivor, entry["remote"], entry["leader_index"], entry.get("write_alias"),
                   dict(entry.get("detached_link") or {}),
                   checkpoint if isinstance(checkpoint, int) else None,
                   dict(entry.get("shard_checkpoints") or {}), entry.get("salvage_index"),
                   bidirectional or entry.get("bidirectional"))


def refuse_reverse_of_bidirectional(promoted: list[Promoted], direction: str) -> None:
    """In a bi-directional pair (Elastic's recipe: https://www.elastic.co/guide/en/
    elasticsearch/reference/8.17/ccr-disaster-recovery-bi-directional-tutorial.html) the
    promoted follower is the returning DC's own write index: going ``reverse`` would make that
    DC's own index a follower, and the DC could no longer take writes. ``original`` restores
    the recipe: the copy here follows the returning DC's index again."""
    if direction != "reverse":
        return
    bidi = [p for p in promoted if p.bidirectional]
    if bidi:
        raise EsdrError(
            "failback --direction reverse of " + ", ".join(
                f"{p.index} ({p.remote}'s own write index in the bi-directional pair "
                f"{p.bidirectional})" for p in bidi)
            + f" would make {bidi[0].remote}'s own index a follower; nothing was changed",
            hint=f"rerun with {' '.join(f'--index {p.index}' for p in bidi)} --direction "
                 "original: this copy follows it again (writes made here since the promotion "
                 "are replaced: snapshot or reindex them first); fail the other promotions "
                 "back on their own with --index")


def failback_steps(p: Promoted, direction: str,
                   returning: type[Replication] | Replication = CcrReplication) -> list[Step]:
    """Ordered steps; the ``delete`` step is the one that needs --allow-delete. ``returning``:
    the old primary's adapter (its engine decides whether a new follower's aliases can be set;
    OpenSearch copies them from the leader and refuses changes)."""
    if direction == "reverse":  # the old primary follows the survivor
        steps = [Step(p.remote, "delete", p.leader_index),
                 Step(p.remote, "follow", p.leader_index,
                      {"remote_cluster": p.survivor, "leader_index": p.index})]
        if p.write_alias and not returning.ALIASES_FROM_LEADER:
            steps.append(Step(p.remote, "switch_alias", p.leader_index,
                              {"alias": p.write_alias, "write": False}))
        return steps
    if direction == "original":  # the survivor follows the old leader again
        steps = []
        if p.write_alias:
            steps.append(Step(p.survivor, "switch_alias", p.index,
                              {"alias": p.write_alias, "write": False}))
        steps += [Step(p.survivor, "delete", p.index),
                  Step(p.survivor, "follow", p.index,
                       {"remote_cluster": p.remote, "leader_index": p.leader_index})]
        return steps
    raise EsdrError(f"direction {direction!r}: use reverse or original")


def one_sided_warning(p: Promoted, direction: str, counts: dict[str, int | None]) -> str:
    """The loud part: which copy is replaced and how many documents it holds."""
    here, there = counts.get(p.survivor), counts.get(p.remote)
    lost = f"{p.remote}:{p.leader_index}" if direction == "reverse" else f"{p.survivor}:{p.index}"
    return (f"WARNING: {p.index}: {p.survivor} holds {here} document(s), {p.remote}:"
            f"{p.leader_index} holds {there}. Failback replaces {lost}: every document written "
            "there and not on the other side (writes after the outage began, or the lag at "
            "promotion) is lost. Snapshot it first if in doubt.")


def failback(
    clients: dict[str, Replication | Api],
    promoted: list[Promoted],
    direction: str,
    *,
    allow_delete: bool,
    dry: bool,
    say: Callable[[str], None],
    salvage: str | None = None,
    now: Callable[[], datetime] = salvaging.now,
) -> list[Step]:
    """``clients``: estate alias -> adapter (``esdr.replication.adapter_for``) or bare client.
    ``salvage``: ``side`` or ``live`` (``esdr.runbooks.salvage``), reverse only; None: none."""
    refuse_reverse_of_bidirectional(promoted, direction)
    adapters = {alias: as_adapter(c) for alias, c in clients.items()}
    steps: list[Step] = []
    counts_of: dict[str, int | None] = {}  # promoted index -> its old leader's count
    for p in promoted:
        counts = {p.survivor: client.count(adapters[p.survivor].es, p.index),
                  p.remote: client.count(adapters[p.remote].es, p.leader_index)}
        counts_of[p.index] = counts[p.remote]
        say(one_sided_warning(p, direction, counts))
        for step in failback_steps(p, direction, adapters[p.remote]):
            if step.action == "delete" and counts.get(step.cluster) is None:
                continue  # nothing there to replace
            steps.append(step)
    deletes = [s for s in steps if s.action == "delete"]
    salvaged = [p for p in promoted if counts_of[p.index] is not None] if salvage else []
    if salvage and direction != "reverse":
        say(f"no salvage going {direction}: it keeps the old leader's copy; what was written "
            "on the promoted index only is replaced")
        salvaged = []
    if dry:
        for p in salvaged:
            _salvage(adapters, p, salvage, dry=True, say=say, now=now)
        say(f"dry run: {len(steps)} step(s), nothing changed:")
        for step in steps:
            say(f"  {step.line()}")
        return steps
    if deletes and not allow_delete:
        raise EsdrError(
            "failback would delete " + ", ".join(f"{s.cluster}:{s.index}" for s in deletes)
            + " to replace it with a follower; nothing was changed",
            hint="read the warning above, snapshot what you need, then rerun with --allow-delete",
        )
    for p in salvaged:  # before anything is deleted; a failure stops the failback here
        _salvage(adapters, p, salvage, dry=False, say=say, now=now)
    _reattach_links(adapters, promoted, say)
    run_steps(steps, adapters, say)
    made = _followers_made(steps)
    for alias in sorted(set(made) - {p.survivor for p in promoted}):
        _record_followers(adapters[alias].es, made[alias])
    managed: dict[str, set[str]] = {}
    for p in promoted:
        managed[p.survivor] = registry.managed(
            _forget(adapters[p.survivor].es, p, made.get(p.survivor, set())), "follower_index")
    _resume_paused(adapters, promoted, managed, say)
    say("failback done: the direction now in place is recorded as the active side; `esdr plan` "
        "and the deploy keep it (the estate stays as it is)")
    return steps


def _salvage(adapters: dict[str, Replication], p: Promoted, mode: str, *, dry: bool,
             say: Callable[[str], None], now: Callable[[], datetime]) -> None:
    """Salvage the old leader's documents the promoted index lacks. The side index's name is
    recorded in the promotion record before anything is written, so a rerun writes into the
    same one (create-only: nothing twice)."""
    survivor = adapters[p.survivor].es
    side = p.salvage_index or salvaging.side_index_name(p.index, now())
    if not dry and not p.salvage_index:
        reg = registry.read(survivor)
        entry = reg.get("promoted", {}).get(p.index)
        if entry is not None:
            entry["salvage_index"] = side
            registry.write(survivor, reg)
    salvaging.salvage(salvaging.Where(p.remote, p.leader_index, adapters[p.remote].es),
                      salvaging.Where(p.survivor, p.index, survivor),
                      recorded=p.shard_checkpoints, summed=p.follower_checkpoint, mode=mode,
                      side_index=side, dry=dry, say=say)


def _reattach_links(adapters: dict[str, Replication], promoted: list[Promoted],
                    say: Callable[[str], None]) -> None:
    """Put back the links `esdr promote` detached from a remote that was gone; it is back now."""
    links: dict[str, dict[str, Any]] = {}
    for p in promoted:
        if p.detached_link:
            links.setdefault(p.survivor, {}).update(p.detached_link)
    for survivor, link in sorted(links.items()):
        es = adapters[survivor].es
        current = client.get_cluster_settings(es).get("persistent", {})
        missing = {k: v for k, v in link.items() if k not in current}
        if missing:
            client.put_cluster_settings(es, missing)
            say(f"[{survivor}] link restored: {', '.join(sorted(missing))}")


RESUME_WAIT = 30.0  # seconds a restored link may take to connect before a resume succeeds


def _resume_paused(adapters: dict[str, Replication], promoted: list[Promoted],
                   managed: dict[str, set[str]], say: Callable[[str], None],
                   wait: float = RESUME_WAIT,
                   sleep: Callable[[float], None] = time.sleep) -> None:
    """The survivor's other followers of the returned DC that paused while it was gone (the
    OpenSearch plugin pauses them when their leader cannot be reached, or once promote
    detached the link) follow again: the failback leaves no drift behind. Only followers esdr
    manages (``managed``: survivor -> ``registry.managed`` names); one that will not resume (OpenSearch refuses after 12 h
    paused) is named and left to `esdr plan` and the deploy."""
    returned: dict[str, set[str]] = {}
    for p in promoted:
        returned.setdefault(p.survivor, set()).add(p.remote)
    skip = {(p.survivor, p.index) for p in promoted}
    for survivor, remotes in sorted(returned.items()):
        adapter = adapters[survivor]
        for name in sorted(managed.get(survivor, ())):
            found = adapter.follower(name) if (survivor, name) not in skip else None
            if not found or found.get("status") != "paused" \
                    or found.get("remote_cluster") not in remotes:
                continue
            deadline = time.monotonic() + wait
            while True:
                try:
                    for action in adapter.RESUME:
                        adapter.run(action, name)
                    say(f"[{survivor}] {name} resumed (paused while "
                        f"{found['remote_cluster']} was away)")
                    break
                except client.API_ERRORS as error:
                    if time.monotonic() >= deadline:
                        say(f"[{survivor}] WARNING: {name} is still paused "
                            f"({client.describe(error)}): `esdr plan` shows it and the next "
                            "deploy resumes it")
                        break
                    sleep(1)


def _followers_made(steps: list[Step]) -> dict[str, set[str]]:
    """estate alias -> the indices the steps made followers there."""
    made: dict[str, set[str]] = {}
    for step in steps:
        if step.action == "follow":
            made.setdefault(step.cluster, set()).add(step.index)
    return made


def _record_followers(es: Api, names: set[str]) -> None:
    """The followers failback created on a cluster recorded as esdr's, as the deploy that
    creates one records it: the first deploy after the failback then writes nothing."""
    reg = registry.read(es)
    after = registry.with_follower_roles(reg, following=names)
    if after is not reg:
        registry.write(es, after)


def _forget(es: Api, p: Promoted, following: set[str]) -> dict[str, Any]:
    """The promotion dropped from the survivor's registry, with the followers the failback
    made here (``following``) recorded; returns the registry written."""
    reg = registry.read(es)
    reg.get("promoted", {}).pop(p.index, None)
    reg = registry.with_follower_roles(reg, following=following)
    registry.write(es, reg)
    return reg
