"""What every check returns: one ``Problem`` per defect, naming where, what and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    where: str  # "host dc1-data-az1", "group es_tiebreaker", "cluster esdr-dc1", ...
    rule: str  # short rule id, stable for tests and docs
    message: str  # what is wrong and how to fix it
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message} [{self.rule}]"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
