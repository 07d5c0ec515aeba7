"""``esdr apply``: converge INVENTORY's cluster-level objects now, as the deploy's last step does.

Destructive changes (unfollow, recreate a follower whose leader changed, delete an object esdr
created) cannot be undone: they are listed and skipped unless ``--allow-destructive`` is given,
and the ones made are recorded in the cluster's ``esdr-managed`` registry, printed, and listed
under ``destructive_applied`` in ``--json``.
"""

from __future__ import annotations

import click

from esdr.changes import Change
from esdr.cli.args import INVENTORY, topology_of
from esdr.cli.guard import DRIFT, OK, guarded
from esdr.cli.prints import Printer
from esdr.reconcile import registry, run



@click.command()
@INVENTORY
@click.option("--allow-destructive", is_flag=True,
              help="Also make the changes that cannot be undone (unfollow, recreate a follower, "
              "delete an object esdr created); without it they are listed and skipped.")
@guarded
def apply(printer: Printer, inventory: str, allow_destructive: bool) -> int:
    """Apply the cluster-level diff of INVENTORY's cluster (what `esdr plan` shows).

    Exit 0: applied, or nothing to do; 3: destructive changes left pending (rerun with
    --allow-destructive) or objects that need action; 1/2: cannot apply.
    """
    topology = topology_of(inventory)
    clients = run.clients_for(topology)
    plan = run.plan_cluster(topology, clients)
    for line in run.plan_lines(plan):
        printer.say(line)
    pending = [c for c in plan.drift if c.destructive]
    printer.record(applied=[], destructive_applied=[], destructive_skipped=[],
                   destructive_pending=[_named(c) for c in pending])
    if not plan.problems and not plan.needs_write:
        printer.say(f"{inventory}: nothing to apply")
        return _blocking(printer, inventory, plan.notes)
    applied, skipped, after = run.apply_plan(topology, plan, allow_destructive=allow_destructive,
                                             clients=clients)
    destructive = [c for c in applied if c.destructive]
    registry.record_destructive(clients.es, destructive, by="esdr apply --allow-destructive")
    for change in applied:
        mark = " (DESTRUCTIVE, allowed by --allow-destructive; recorded in " \
               f"{registry.INDEX})" if change.destructive else ""
        printer.say(f"applied: {change.kind} {change.name} {change.action}{mark}")
    for note in skipped:
        printer.say(f"skipped: {note.kind} {note.name}: {note.message}")
    for note in after.notes:
        if note not in plan.notes:
            printer.say(note.line())
    printer.record(applied=[_named(c) for c in applied],
                   destructive_applied=[_named(c) for c in destructive],
                   destructive_skipped=[f"{n.kind} {n.name}" for n in skipped])
    if skipped:
        printer.say(f"{inventory}: {len(skipped)} destructive change(s) not made; rerun with "
                    "--allow-destructive to make them", err=True)
        return DRIFT
    printer.say(f"{inventory}: applied {len(applied)} change(s)"
                + (f", {len(destructive)} destructive" if destructive else ""))
    return _blocking(printer, inventory, after.notes)


def _named(change: Change) -> str:
    return f"{change.kind} {change.name}: {change.action}"


def _blocking(printer: Printer, inventory: str, notes) -> int:
    """Objects esdr cannot reconcile until someone acts are action needed (3)."""
    blocking = [n for n in notes if n.blocking]
    if blocking:
        printer.say(f"{inventory}: {len(blocking)} object(s) need action (see the `!` lines)",
                    err=True)
        return DRIFT
    return OK
