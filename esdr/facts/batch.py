"""Several facts read in one round trip to the host.

pyinfra 3 runs one shell command per ``host.get_fact`` and keeps no cache, and it prepares the
deploy one host after another: every fact a deploy reads while it is prepared is a round trip
that the next host waits for. ``Batch`` runs the commands of several facts in one shell and
hands each fact's own output to its own ``process``, so a value is the same as a separate
``get_fact`` would give.
"""

from __future__ import annotations

import re
from typing import Any

from pyinfra.api import FactBase, StringCommand

# Ends each fact's output, with that fact's exit status (a fact that failed gets its default)
END = "@@esdr-batch-end"
_END_LINE = re.compile(rf"^{re.escape(END)} (\d+) (\d+)$")

# One read: the fact class and its keyword arguments, as (name, value) pairs
Read = tuple[type[FactBase], tuple[tuple[str, Any], ...]]


def read(fact: type[FactBase], **kwargs: Any) -> Read:
    return fact, tuple(sorted(kwargs.items()))


def _command_of(fact: FactBase, kwargs: dict[str, Any]):
    command = fact.command(**kwargs) if callable(fact.command) else fact.command
    requires = fact.requires_command
    requires = requires(**kwargs) if callable(requires) else requires
    if requires:  # missing binary: a failed read, i.e. the fact's default, as pyinfra prepares
        return StringCommand("if command -v", requires, ">/dev/null 2>&1; then (", command,
                             "); else false; fi")
    return StringCommand("(", command, ")")


class Batch(FactBase):
    """
    The values of several facts, in the order asked, from one shell command.

    .. code:: python

        host.get_fact(Batch, reads=(read(MaxMapCount), read(EsdrMarker, path="/x")))
        ({"value": 262144, "writable": False}, None)
    """

    def command(self, reads: tuple[Read, ...]) -> StringCommand:
        bits: list[Any] = []
        for number, (fact, kwargs) in enumerate(reads):
            bits += [_command_of(fact(), dict(kwargs)), "2>/dev/null; echo", f"{END} {number} $?;"]
        return StringCommand(*bits)

    def process(self, output):
        chunks: dict[int, tuple[int, list[str]]] = {}
        lines: list[str] = []
        for line in output:
            end = _END_LINE.match(line.strip())
            if end:
                chunks[int(end.group(1))] = (int(end.group(2)), lines)
                lines = []
            else:
                lines.append(line)
        return chunks

    @staticmethod
    def values(reads: tuple[Read, ...], chunks: dict[int, tuple[int, list[str]]] | None) -> list:
        """Each read's value: its fact's ``process`` of its own output, or its default when it
        failed, printed nothing, or did not run."""
        values = []
        for number, (fact_cls, kwargs) in enumerate(reads):
            fact = fact_cls()
            _command_of(fact, dict(kwargs))  # as pyinfra does: some facts keep their arguments
            status, lines = (chunks or {}).get(number, (1, []))
            values.append(fact.process(lines) if status == 0 and lines else fact.default())
        return values
