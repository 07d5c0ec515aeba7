"""All the ``esdr`` command's output: text lines as they happen, or with ``--json`` one JSON
object at the end (``exit``, ``problems``, ``messages``, ``errors`` and what the command
recorded), so scripts never parse text."""

from __future__ import annotations

import json
from typing import Any

import click

from esdr.problems import Problem


class Printer:
    def __init__(self, as_json: bool = False):
        self.as_json = as_json
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.problems: list[Problem] = []
        self.data: dict[str, Any] = {}

    def say(self, message: str = "", err: bool = False) -> None:
        """One line; ``err`` sends it to stderr (text) or ``errors`` (JSON). Fits runbooks'
        ``say`` callbacks, which take click.echo's arguments."""
        if not self.as_json:
            click.echo(message, err=err)
        else:
            (self.errors if err else self.messages).append(message)

    def problem(self, problem: Problem) -> None:
        """A check's problem: errors to stderr, warnings to stdout, one line each."""
        self.problems.append(problem)
        if not self.as_json:
            click.echo(str(problem), err=problem.severity == "error")

    def record(self, **fields: Any) -> None:
        """Structured results for ``--json`` (text output says the same in its lines)."""
        self.data.update(fields)

    def finish(self, code: int) -> None:
        if self.as_json:
            click.echo(json.dumps({
                "exit": code,
                "problems": [vars(p) for p in self.problems],
                "messages": self.messages,
                "errors": self.errors,
                **self.data,
            }, indent=2, default=str))
