"""``esdr switchover``: a planned, zero-loss change of the active side of one replicated index
(``esdr.runbooks.switchover``), run with the inventory of the DC that becomes active."""

from __future__ import annotations

import re

import click

from esdr import replication
from esdr.cli.args import INVENTORY, topology_of
from esdr.cli.cluster import _estate_alias, remotetopology_of
from esdr.cli.guard import OK, guarded
from esdr.cli.prints import Printer
from esdr.crossdc import active_side
from esdr.crossdc.estate import Estate
from esdr.errors import BadInput, EsdrError
from esdr.runbooks import switchover as runbook

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def seconds(value: str) -> float:
    """``30s``, ``1.5m``, ``500ms`` or a bare number of seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", value)
    if not found or float(found.group(1)) <= 0:
        raise BadInput(f"--timeout {value!r}: not a duration", hint="e.g. 30s, 2m, 500ms")
    return float(found.group(1)) * UNITS[found.group(2) or "s"]


def write_alias_of(estate: Estate, index: str, leader_index: str, sides: set[str]) -> str | None:
    """The estate's write alias of this pair, whichever direction the estate writes it in."""
    for f in estate.followers:
        if {f.cluster, f.remote} == sides and {f.index, f.leader_index} & {index, leader_index}:
            return f.write_alias
    return None


def refuse_bidirectional(estate: Estate, alias: str, index: str) -> None:
    """A bi-directional pair has no active side to move: each DC writes its own index and
    follows the others' (Elastic's recipe, https://www.elastic.co/guide/en/elasticsearch/
    reference/8.17/ccr-disaster-recovery-bi-directional-tutorial.html). Switching one of its
    followers over would make a second writer of another DC's own index."""
    pair = active_side.bidirectional_of(estate, alias, index)
    if pair is None:
        return
    follower = active_side.bidirectional_followers(estate, alias).get(index)
    writer = follower.writer if follower else alias
    own = follower.own if follower else index
    raise BadInput(
        f"switchover of {index}: {alias}:{index} is "
        + (f"{writer}'s own write index, followed here," if follower else f"{alias}'s own write "
           "index") + f" in the bi-directional pair {pair}: both DCs take writes, each into "
        "its own index, so there is no active side to move",
        hint=f"to take {writer} out (maintenance), send its writers to "
             + (f"{alias}'s own {own}" if follower else "the other DC's own index")
             + f" (the alias {pair} reads them all); its follower catches up when it returns")


@click.command()
@INVENTORY
@click.option("--index", required=True, help="The follower index here that becomes the leader.")
@click.option("--timeout", "timeout", default="30s", show_default=True,
              help="How long the follower may take to catch up once writes are blocked; "
                   "after it the switchover is rolled back.")
@click.option("--alias", "write_alias", default=None,
              help="The write alias to move (default: the estate's write_alias of the pair).")
@click.option("--rollback", "rollback_only", is_flag=True,
              help="Only roll back an interrupted switchover (refused once it stopped the "
                   "follower: it can then only be finished).")
@click.option("--dry", is_flag=True, help="Show the steps, change nothing.")
@guarded
def switchover(printer: Printer, inventory: str, index: str, timeout: str,
               write_alias: str | None, rollback_only: bool, dry: bool) -> int:
    """Make INVENTORY's DC the active side of INDEX, losing no acknowledged write: block writes
    on the leader, wait until the follower has every operation, stop it, move the write alias,
    make the old leader follow. A rerun finishes or rolls back an interrupted one."""
    bound = seconds(timeout)
    topology = topology_of(inventory)
    estate, alias = _estate_alias(topology)
    here = replication.adapter_for(topology)
    recorded = runbook.in_flight(here.es)
    if recorded and recorded.get("index") == index and recorded.get("new") == alias:
        pair = runbook.Pair.from_record(recorded)
    else:
        refuse_bidirectional(estate, alias, index)
        found = here.follower(index)
        if not found or not found.get("remote_cluster"):
            what = "does not exist" if found is None else "is not a follower"
            raise EsdrError(f"switchover of {index}: {alias}:{index} {what} and no switchover "
                            "of it is in flight here",
                            hint="run it with the inventory of the DC whose follower should "
                                 "become the leader")
        remote = str(found["remote_cluster"])
        leader_index = str(found.get("leader_index") or index)
        pair = runbook.Pair(index, alias, remote, leader_index,
                            write_alias or write_alias_of(estate, index, leader_index,
                                                          {alias, remote}))
    if write_alias and pair.write_alias != write_alias:
        raise BadInput(f"--alias {write_alias}: the switchover in flight moves "
                       f"{pair.write_alias}", hint="rerun without --alias")
    other = remotetopology_of(inventory, estate, pair.old)
    if other is None:
        raise BadInput(f"switchover {pair.line()}: the estate gives no inventory for {pair.old}",
                       hint=f"set clusters.{pair.old}.inventory to its inventory file")
    adapters = {alias: here, pair.old: replication.adapter_for(other)}
    outcome = runbook.switchover(pair, adapters, timeout=bound, dry=dry, say=printer.say,
                                 rollback_only=rollback_only,
                                 active_key=active_side.key_for(estate, alias, pair.index))
    printer.record(switchover={"index": pair.index, "from": pair.old, "to": pair.new,
                               "how": outcome.how, "write_window_s": outcome.window_s,
                               "steps": outcome.steps})
    return OK
