"""Every check esdr runs before anything is touched, one domain per module, all pure.

``topology`` (the cluster's own rules), ``engine`` (what differs by engine), ``security``,
``estate`` (the cross-DC design), ``fault_detection`` (how fast a silent node is noticed) and
``gateway`` (the gateway tier) depend only on the models and ``esdr.problems``; this module runs them together. The CLI and the deploy print one line per
problem and stop when any is an error.
"""

from __future__ import annotations

from collections.abc import Iterable

from esdr.checks.engine import check_engine
from esdr.checks.estate import check_topology_estate
from esdr.checks.fault_detection import check_fault_detection
from esdr.checks.gateway import validate_tier
from esdr.checks.security import check_security
from esdr.checks.topology import check_hosts_unique, check_topology
from esdr.checks.upgrade import check_upgrade
from esdr.gateway.model import GatewayTier
from esdr.gateway.render import cluster_ca_path
from esdr.model import Topology
from esdr.problems import Problem


def validate(topology: Topology) -> list[Problem]:
    """Every problem of one data centre's cluster and its estate, in a stable order."""
    cluster = topology.cluster
    where = f"cluster {cluster.name or '?'} ({topology.source or topology.datacentre})"
    problems: list[Problem] = []
    for check in (check_topology, check_engine, check_security, check_fault_detection):
        problems.extend(check(cluster, where))
    problems.extend(check_topology_estate(topology))
    return problems


def validate_estate(topologies: Iterable[Topology]) -> list[Problem]:
    """Problems across data centres: each one validated, no host in two clusters, no follower
    older than its leader."""
    topologies = list(topologies)
    return ([p for t in topologies for p in validate(t)] + check_hosts_unique(topologies)
            + check_upgrade(topologies))


def validate_inventory(topology: Topology, tier: GatewayTier | None) -> list[Problem]:
    """One inventory: its cluster's problems (unless it holds only gateways), then the tier's."""
    if tier is None:
        return validate(topology)
    cluster_problems = [] if gateway_only(topology, tier) else validate(topology)
    return cluster_problems + validate_tier(tier) + _gateway_estate(topology, tier)


def _gateway_estate(topology: Topology, tier: GatewayTier) -> list[Problem]:
    """A tier on TLS (its entries) or before HTTPS clusters trusts and issues from the estate
    CA: in an inventory of gateways alone, only ``es_estate`` (or ``es_secrets_dir``) says
    which estate that is. Without it the CA would be a new one of its own ("default"), which
    signed none of the clusters' certificates: the gateway would refuse every cluster."""
    if not gateway_only(topology, tier):
        return []
    settings = topology.cluster.settings
    if settings.get("es_estate") or settings.get("es_secrets_dir"):
        return []
    if not (tier.tls or cluster_ca_path(tier)):
        return []
    hosts = ", ".join(h.name for h in (*tier.gateways, *tier.balancers))
    return [Problem(
        f"gateway tier ({hosts})", "gateway-estate-missing",
        "an inventory of gateways alone names no estate (es_estate): its TLS certificates and "
        "the CA it verifies its clusters with would come from a CA of its own, not the one "
        "that signed the clusters' certificates. Set es_estate in its group data to the "
        "clusters' estate file (load_estate_file(__file__, \"estates/<name>.yml\"))")]


def gateway_only(topology: Topology, tier: GatewayTier | None) -> bool:
    """An inventory of gateways (and helpers) without Elasticsearch nodes: its cluster checks,
    which would all say "no nodes", do not apply."""
    return tier is not None and not topology.cluster.nodes
