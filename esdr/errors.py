"""The kinds of failure a user can meet, each shown as one line (what, where, how to fix).

The CLI maps each kind to its exit code (``esdr.cli.guard``): ``BadInput`` 2, any other
``EsdrError`` 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from esdr.problems import Problem, errors


class EsdrError(Exception):
    """An expected failure at run time. ``str()`` is the one line shown to the user."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} (fix: {hint})")


class BadInput(EsdrError):
    """The inventory, its group data or the estate cannot be loaded, parsed or validated."""


class InvalidProject(BadInput):
    """Validation found errors; ``problems`` holds every problem, warnings included."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.problems = list(problems)
        count = len(errors(problems))
        super().__init__(
            f"{source}: {count} problem(s), nothing was changed:\n"
            + "\n".join(f"  {p}" for p in problems)
        )
