"""Build and validate the data centre's model once per run, before any operation is added."""

from __future__ import annotations

from pyinfra import inventory, state
from pyinfra.api.exceptions import PyinfraError

from esdr.checks import validate
from esdr.model import Topology
from esdr.problems import errors
from esdr.project import project_from_inventory

_CACHE: dict[int, Topology] = {}


def topology() -> Topology:
    """The validated model; a bad topology stops the run here, before any host is changed."""
    key = id(state)
    if key not in _CACHE:
        model = project_from_inventory(inventory).topology
        problems = validate(model)
        for problem in problems:
            if problem.severity != "error":
                print(f"[esdr] {problem}")
        bad = errors(problems)
        if bad:
            raise PyinfraError(
                f"esdr refuses this topology ({len(bad)} problem(s)); nothing was changed:\n"
                + "\n".join(f"  {p}" for p in bad)
            )
        _CACHE[key] = model
    return _CACHE[key]
