"""From an inventory path to a validated model: the one entry point CLI commands share."""

from __future__ import annotations

from pathlib import Path

from esdr.errors import EsdrError
from esdr.inventory import datacentre_of, load_inventory
from esdr.model import Topology, topology_from_inventory
from esdr.validate import Problem, errors, validate


def load_topology(inventory_path: str | Path) -> Topology:
    inventory = load_inventory(inventory_path)
    return topology_from_inventory(inventory, datacentre_of(inventory), str(inventory_path))


def load_valid_topology(inventory_path: str | Path) -> tuple[Topology, list[Problem]]:
    """The model, or ``InvalidTopology`` listing every error; warnings come back with it."""
    topology = load_topology(inventory_path)
    problems = validate(topology)
    if errors(problems):
        raise InvalidTopology(str(inventory_path), problems)
    return topology, problems


class InvalidTopology(EsdrError):
    def __init__(self, source: str, problems: list[Problem]):
        self.problems = problems
        count = len(errors(problems))
        super().__init__(
            f"{source}: {count} problem(s), nothing was changed:\n"
            + "\n".join(f"  {p}" for p in problems),
            hint=None,
        )
