"""``esdr gateway lint FILE``: check a gateway.yml on its own (``esdr validate`` lints every
rendered one)."""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.guard import BAD_INPUT, OK, guarded
from esdr.cli.prints import Printer
from esdr.errors import BadInput
from esdr.gateway.lint import lint_text
from esdr.problems import errors


@click.group()
def gateway() -> None:
    """The INFINI Gateway tier."""


@gateway.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--references/--no-references",
    default=False,
    help="Passwords must be $[[env.NAME]] references (esdr validate always checks this).",
)
@guarded
def lint(printer: Printer, file: str, references: bool) -> int:
    """Check a gateway.yml; exit 0 when it works as primary/backup, 2 with one line per problem."""
    try:
        text = Path(file).read_text()
    except OSError as exc:
        raise BadInput(f"{file}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{file}: not a text file (not UTF-8 at byte {exc.start})",
                       hint="pass the gateway.yml itself") from exc
    problems = lint_text(text, file, references)
    for problem in problems:
        printer.problem(problem)
    if errors(problems):
        printer.say(f"{file}: {len(errors(problems))} error(s)", err=True)
        return BAD_INPUT
    printer.say(f"{file}: ok")
    return OK
