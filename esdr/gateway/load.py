"""From an inventory path to the gateway tier (and to the ES topology, when there is one)."""

from __future__ import annotations

from pathlib import Path

from esdr.gateway.model import GatewayTier, tier_from_inventory
from esdr.gateway.validate import validate_tier
from esdr.model import Topology
from esdr.validate import Problem, errors


def load_tier(inventory_path: str | Path) -> GatewayTier | None:
    from esdr.inventory import load_inventory

    return tier_from_inventory(load_inventory(inventory_path), str(inventory_path))


def gateway_only(topology: Topology, tier: GatewayTier | None) -> bool:
    """An inventory of gateways (and helpers) without Elasticsearch nodes: its ES checks,
    which would all say "no nodes", do not apply."""
    return tier is not None and not topology.cluster.nodes


def combined_problems(
    topology: Topology, es_problems: list[Problem], tier: GatewayTier | None
) -> list[Problem]:
    """ES problems (unless the inventory is gateway-only) followed by the tier's."""
    if tier is None:
        return es_problems
    base = [] if gateway_only(topology, tier) else es_problems
    return base + validate_tier(tier)


def tier_summary(tier: GatewayTier) -> str:
    fd = tier.front_door
    door = fd.kind if fd else "no front door"
    if fd is not None and fd.vips:
        door += " " + ", ".join(v.address for v in fd.vips)
    clusters = " -> ".join(c.name for c in tier.clusters)
    return f"gateways: {len(tier.gateways)} ({door}), clusters {clusters} (primary -> backup)"


def valid_tier_or_raise(tier: GatewayTier) -> list[Problem]:
    from esdr.topology_io import InvalidTopology

    problems = validate_tier(tier)
    if errors(problems):
        raise InvalidTopology(tier.source, problems)
    return problems
