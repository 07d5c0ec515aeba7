"""``esdr verify INVENTORY [PYTEST ARGS...]``: check the deployed hosts against the inventory
with the pytest-testinfra suite shipped in ``esdr.verify``."""

from __future__ import annotations

import click

from esdr.cli.args import INVENTORY
from esdr.cli.guard import guarded
from esdr.cli.prints import Printer
from esdr.project import load_valid_project


@click.command(context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@click.option("--health", "min_health", type=click.Choice(["green", "yellow", "red"]),
              default="green", show_default=True,
              help="The least cluster health that passes.")
@INVENTORY
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@guarded
def verify(printer: Printer, min_health: str, inventory: str, pytest_args: tuple[str, ...]) -> int:
    """Check every host of INVENTORY over SSH as the deploy left it: services, ports, the
    service account, owners and modes, rendered files, limits, kernel settings, TLS, each
    node's own view and the cluster. Arguments after INVENTORY go to pytest (-k, -x, -v, ...).
    Exit 0 all passed, 3 some check failed, 2 bad input, 1 could not run."""
    from esdr.verify.run import plan_for, run

    project, _ = load_valid_project(inventory)
    plan = plan_for(project, min_health)
    return run(plan, pytest_args, printer.say, printer.record, quiet=printer.as_json)
