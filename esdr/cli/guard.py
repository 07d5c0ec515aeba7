"""The one place that turns what a command raised into its exit code, one line per problem.

| code | meaning |
|---|---|
| 0 | done: valid, no drift, nothing to do |
| 1 | a runtime failure (a cluster API refusal, an unreachable data centre, ...) |
| 2 | bad input: the inventory, group data or estate cannot be loaded, parsed or validated |
| 3 | drift or action needed (``plan``, ``certs status``) |

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from esdr.errors import BadInput, EsdrError, InvalidProject
from esdr.es import client
from esdr.es.client import API_ERRORS
from esdr.cli.prints import Printer

OK, FAILURE, BAD_INPUT, DRIFT = 0, 1, 2, 3


def exit_code(printer: Printer, run: Callable[[], int | None]) -> int:
    """Run a command body; what it returns (None is 0) or raised, as an exit code."""
    try:
        return run() or OK
    except InvalidProject as error:
        for problem in error.problems:
            printer.problem(problem)
        printer.say(f"esdr: {error.message.splitlines()[0].rstrip(':')}", err=True)
        return BAD_INPUT
    except BadInput as error:
        printer.say(f"esdr: {error}", err=True)
        return BAD_INPUT
    except EsdrError as error:
        printer.say(f"esdr: {error}", err=True)
        return FAILURE
    except API_ERRORS as error:  # either engine's client library: one line, not a traceback
        printer.say(f"esdr: the cluster API failed: {client.describe(error)} (fix: check that "
                    "the cluster is up and this machine reaches its HTTP port, then rerun)",
                    err=True)
        return FAILURE


def guarded(command: Callable[..., int | None]) -> Callable[..., None]:
    """A click command body that takes the ``Printer`` first and returns its exit code: what it
    returns or raises becomes the exit code, and ``--json`` output is written at the end."""

    @functools.wraps(command)
    def run(*args, **kwargs) -> None:
        printer = printer_of(click.get_current_context())
        code = exit_code(printer, lambda: command(printer, *args, **kwargs))
        printer.finish(code)
        click.get_current_context().exit(code)

    return run


def printer_of(ctx: click.Context) -> Printer:
    """The ``esdr`` group's printer (``--json``), or a text printer for a command run alone."""
    return ctx.find_object(Printer) or Printer()
