"""``esdr diagram``: a Mermaid picture of an inventory's data centre (and the estate around it),
or of a whole estate file. Reads files only; asks no host."""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.guard import guarded
from esdr.cli.prints import Printer
from esdr.crossdc.estate import Estate, load_estate_file, parse_estate
from esdr.diagram import Site, diagram as mermaid
from esdr.errors import BadInput
from esdr.inventory import project_root_for
from esdr.project import Project, load_project


def _estate_root(estate_file: Path) -> Path:
    """The project root of an estate file: the directory above its ``group_data/``, where the
    estate's ``inventory`` paths start (``group_data/estates/prod.yml`` -> ``.``)."""
    for parent in estate_file.resolve().parents:
        if parent.name == "group_data":
            return parent.parent
    return Path.cwd()


def _sites(estate: Estate, root: Path, known: dict[str, Project]) -> list[Site]:
    """Every data centre the estate names whose inventory it gives, loaded once."""
    sites = []
    for alias, ref in estate.clusters.items():
        if not ref.inventory:
            continue
        path = (root / ref.inventory).resolve()
        project = known.get(str(path)) or load_project(path)
        sites.append(Site(project.topology, alias, project.tier))
    return sites


def sites_of(source: str) -> tuple[list[Site], Estate | None]:
    """What ``esdr diagram SOURCE`` draws: the data centres and the estate between them.
    An inventory brings the estate it belongs to, and that estate its other inventories."""
    path = Path(source)
    if path.suffix in (".yml", ".yaml"):
        estate = parse_estate(load_estate_file(str(path.resolve().parent / "x"), path.name))
        return _sites(estate, _estate_root(path), {}), estate
    if path.suffix != ".py":
        raise BadInput(f"{source}: not an inventory (.py) or an estate file (.yml)")
    project = load_project(path)
    estate = project.topology.estate
    if estate is None:
        return [Site(project.topology, None, project.tier)], None
    sites = _sites(estate, project_root_for(path), {str(path.resolve()): project})
    if not any(s.topology.cluster.name == project.topology.cluster.name for s in sites):
        sites.insert(0, Site(project.topology, None, project.tier))
    return sites, estate


@click.command()
@click.argument("source", metavar="INVENTORY|ESTATE", type=click.Path(dir_okay=False))
@guarded
def diagram(printer: Printer, source: str) -> int:
    """Print a Mermaid diagram of INVENTORY (with the estate it belongs to) or of an ESTATE
    file: data centres, zones, nodes and roles, links, followers, gateways and the VIP."""
    sites, estate = sites_of(source)
    printer.say(mermaid(sites, estate).rstrip("\n"))
    return 0
