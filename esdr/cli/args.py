"""What several commands take the same way: the INVENTORY argument and its validated topology."""

from __future__ import annotations

import click

from esdr.model import Topology
from esdr.project import load_project, valid_topology

INVENTORY = click.argument("inventory", type=click.Path(dir_okay=False))


def topology_of(inventory: str) -> Topology:
    """The cluster's validated topology (its ``estate`` is the cross-DC design); bad input
    raises, and the guard turns it into exit 2."""
    topology, _ = valid_topology(load_project(inventory))
    return topology
