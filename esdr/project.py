"""One inventory, loaded once: the cluster's topology (its estate parsed on it), the gateway tier
and the host data. Every command loads through ``load_project``; the deploy, which pyinfra has
already given its ``Inventory``, through ``project_from_inventory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import Inventory

from esdr.checks import gateway_only, validate, validate_inventory
from esdr.errors import BadInput, EsdrError, InvalidProject
from esdr.gateway.model import GatewayTier, tier_from_inventory
from esdr.inventory import datacentre_of, load_inventory, project_root_for
from esdr.model import Topology, topology_from_inventory
from esdr.problems import Problem, errors


@dataclass(frozen=True)
class Project:
    source: str  # the inventory file, for messages
    inventory: Inventory  # pyinfra's hosts with their merged group and host data
    topology: Topology  # the cluster; ``topology.estate`` is the cross-DC design, parsed once
    tier: GatewayTier | None  # the gateway tier, None without gateway hosts

    @property
    def root(self) -> Path:
        """The directory holding ``inventories/`` and ``group_data/`` (estate paths start here)."""
        return project_root_for(self.source)

    @property
    def gateway_only(self) -> bool:
        return gateway_only(self.topology, self.tier)

    def problems(self) -> list[Problem]:
        """Every problem of the inventory: its cluster and estate, then its gateway tier."""
        return validate_inventory(self.topology, self.tier)


def project_from_inventory(inventory: Inventory, source: str = "") -> Project:
    """The project of an inventory pyinfra already holds (the deploy's preflight)."""
    try:
        topology = topology_from_inventory(inventory, datacentre_of(inventory), source)
        tier = tier_from_inventory(inventory, source)
    except BadInput:
        raise
    except EsdrError as error:  # a wrong shape in the group data is bad input, not a failure
        raise BadInput(error.message, error.hint) from error
    return Project(source, inventory, topology, tier)


def load_project(inventory_path: str | Path) -> Project:
    """Load INVENTORY and its group data once, as ``pyinfra INVENTORY ...`` would."""
    return project_from_inventory(load_inventory(inventory_path), str(inventory_path))


def load_valid_project(inventory_path: str | Path) -> tuple[Project, list[Problem]]:
    """The project, or ``InvalidProject`` listing every problem; warnings come back with it."""
    project = load_project(inventory_path)
    return project, raise_on_errors(project.source, project.problems())


def valid_topology(project: Project) -> tuple[Topology, list[Problem]]:
    """The cluster's topology when it passes its checks (the gateway tier is not looked at)."""
    return project.topology, raise_on_errors(project.source, validate(project.topology))


def raise_on_errors(source: str, problems: list[Problem]) -> list[Problem]:
    if errors(problems):
        raise InvalidProject(source, problems)
    return problems
