"""One inventory, loaded once: the cluster's topology (its estate parsed on it), the gateway tier
and the host data. Every command loads through ``load_project``; the deploy, which pyinfra has
already given its ``Inventory``, through ``project_from_inventory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra.api import Inventory

from esdr.checks import gateway_only, validate, validate_inventory
from esdr.checks.topology import check_hosts_unique
from esdr.errors import BadInput, EsdrError, InvalidProject
from esdr.gateway.model import GatewayTier, tier_from_inventory
from esdr.inventory import HostEntries, datacentre_of, load_inventory_entries, project_root_for
from esdr.model import HostSpec, Topology, topology_from_inventory
from esdr.problems import Problem, errors
from esdr.schema import check_input


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


def project_from_inventory(
    inventory: Inventory, source: str = "", entries: HostEntries | None = None
) -> Project:
    """The project of an inventory pyinfra already holds (the deploy's preflight).

    Its input is checked for types, names and keys first (``esdr.schema``): anything wrong
    there raises ``InvalidProject`` with every such problem, before a model is built.
    ``entries`` (each host's entries as the inventory file lists them) adds the check for a
    host listed twice with different data; pyinfra's ``Inventory`` has already merged them.
    """
    specs = [HostSpec(h.name, tuple(h.groups), h.data.dict()) for h in inventory]
    problems = check_input(specs, inventory.groups, entries, source, datacentre_of(inventory))
    problems += _check_local_paths(specs, source)
    if errors(problems):
        raise InvalidProject(source or "inventory", problems)
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
    inventory, entries = load_inventory_entries(inventory_path)
    return project_from_inventory(inventory, str(inventory_path), entries)


def _check_local_paths(specs: list[HostSpec], source: str) -> list[Problem]:
    """Paths on this machine the deploy writes or reads: a file where a directory belongs
    would only fail half-way through issuing certificates."""
    out: list[Problem] = []
    where = f"group data of {source or 'the inventory'}"
    values = [s.data.get("es_secrets_dir") for s in specs]
    for value in sorted({v for v in values if isinstance(v, str) and v}):  # else: a type problem
        try:
            path = Path(value).expanduser()
            usable = not path.exists() or path.is_dir()
        except (OSError, RuntimeError) as exc:  # too long, no home directory for `~`
            out.append(Problem(where, "secrets-dir-unusable",
                               f"es_secrets_dir cannot be used here: {exc}"))
            continue
        if not usable:
            out.append(Problem(where, "secrets-dir-not-a-directory",
                               f"es_secrets_dir {value} is not a directory: point it at a "
                               "directory (esdr creates it, mode 0700)"))
    return out


def estate_problems(project: Project) -> list[Problem]:
    """Across the estate: no host in two clusters. The other clusters are read through the
    inventories the estate names; one that cannot be loaded is its own ``esdr validate``'s
    business, not this one's."""
    topologies = estate_topologies(project)
    return check_hosts_unique(topologies) if len(topologies) > 1 else []


def estate_topologies(project: Project) -> list[Topology]:
    """This project's topology, then those of the estate's other clusters, read through the
    inventories the estate names (one that cannot be loaded is left out: it is its own
    ``esdr validate``'s business); only this one without an estate."""
    try:
        estate = project.topology.estate
    except BadInput:
        return [project.topology]  # reported by the estate checks
    if estate is None or project.gateway_only:
        return [project.topology]
    here = Path(project.source).resolve()
    topologies = [project.topology]
    for ref in estate.clusters.values():
        path = project.root / ref.inventory if ref.inventory else None
        if path is None or not path.is_file() or path.resolve() == here:
            continue
        try:
            topologies.append(load_project(path).topology)
        except BadInput:
            continue
    return topologies


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
