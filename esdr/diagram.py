"""A picture of what an inventory or an estate describes, as a Mermaid flowchart. Pure: the
models in, the diagram's text out.

One subgraph per data centre (its cluster), one per zone inside it, a node per host with its
roles; the zone that holds only voting-only masters is drawn as the hidden tie-breaker zone.
Between data centres: the remote-cluster links (who holds the connection to whom), the CCR
followers and auto-follow patterns drawn in the direction the documents flow (leader to
follower), the snapshot repositories (writer to readers). The gateway tier: its VIP, its
gateways, the primary cluster they write to and the backup they queue for.

Mermaid's flowchart syntax: https://mermaid.js.org/syntax/flowchart.html
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from esdr.crossdc.estate import Estate
from esdr.gateway.model import GatewayTier
from esdr.model import Node, Topology


@dataclass(frozen=True)
class Site:
    """One data centre as drawn: its cluster's topology, its estate alias (if the estate names
    it) and the gateway tier its inventory holds."""

    topology: Topology
    alias: str | None = None
    tier: GatewayTier | None = None


def _id(*parts: str) -> str:
    """A Mermaid node id: letters, digits and '_' only (a '-' or '.' would end the id)."""
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts)


def _label(text: str) -> str:
    """Quoted label text; Mermaid has no escape for '"' inside quotes but its entity."""
    return text.replace('"', "#quot;")


def _roles(node: Node) -> str:
    if node.is_voting_only:
        return "master, voting_only"
    return ", ".join(node.roles) if node.roles else "coordinating"


def _hidden_zone(topology: Topology, zone: str | None) -> bool:
    """A zone whose every node is a voting-only master: Elastic's third, tie-breaking zone
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/high-availability-cluster-design-large-clusters.html)."""
    nodes = [n for n in topology.cluster.nodes if n.zone == zone]
    return bool(nodes) and all(n.is_voting_only for n in nodes)


def _site_id(site: Site) -> str:
    return _id("dc", site.alias or site.topology.datacentre)


def _site_lines(site: Site) -> list[str]:
    topology = site.topology
    cluster = topology.cluster
    dc = _site_id(site)
    title = f"{site.alias or topology.datacentre}: cluster {cluster.name} ({cluster.engine.name}"
    title += f" {cluster.version})" if cluster.version else ")"
    lines = [f'  subgraph {dc}["{_label(title)}"]', "    direction TB"]
    zones: list[str | None] = []
    for node in cluster.nodes:
        if node.zone not in zones:
            zones.append(node.zone)
    for zone in zones:
        name = f"zone {zone}" if zone else "no zone"
        if _hidden_zone(topology, zone):
            name += " (hidden tie-breaker)"
        lines.append(f'    subgraph {_id(dc, "zone", str(zone))}["{_label(name)}"]')
        for node in cluster.nodes:
            if node.zone == zone:
                text = f"{node.name}<br/>{_roles(node)}"
                lines.append(f'      {_id(dc, "node", node.name)}["{_label(text)}"]')
        lines.append("    end")
    lines.append("  end")
    return lines


def _estate_lines(estate: Estate, drawn: dict[str, str]) -> list[str]:
    """Edges between the data centres the estate names; ``drawn`` maps alias -> subgraph id
    (an alias whose inventory was not drawn gets a plain node)."""
    lines: list[str] = []

    def at(alias: str) -> str:
        if alias not in drawn:
            drawn[alias] = _id("dc", alias)
            ref = estate.clusters.get(alias)
            text = f"{alias}: cluster {ref.cluster_name}" if ref else alias
            lines.append(f'  {drawn[alias]}["{_label(text)}"]')
        return drawn[alias]

    for link in estate.links:
        lines.append(f'  {at(link.source)} -. "remote cluster {link.target} ({link.mode})" .-> '
                     f'{at(link.target)}')
    for follower in estate.followers:
        text = f"CCR {follower.leader_index} to {follower.index}"
        if follower.write_alias:
            text += f" (alias {follower.write_alias})"
        lines.append(f'  {at(follower.remote)} == "{_label(text)}" ==> {at(follower.cluster)}')
    for rule in estate.auto_follow:
        text = f"auto-follow {', '.join(rule.leader_index_patterns)}"
        lines.append(f'  {at(rule.remote)} == "{_label(text)}" ==> {at(rule.cluster)}')
    for pair in estate.bidirectional:
        lines.append(f'  %% bi-directional alias {pair.alias}: '
                     + ", ".join(f"{c}:{i}" for c, i in sorted(pair.indices.items())))
    for repository in estate.repositories:
        repo = _id("repo", repository.name)
        lines.append(f'  {repo}[("repository {_label(repository.name)} ({repository.type})")]')
        if repository.writer:
            lines.append(f'  {at(repository.writer)} -- "snapshots" --> {repo}')
        for reader in repository.readers:
            lines.append(f'  {repo} -. "restore" .-> {at(reader)}')
    return lines


def _tier_lines(tier: GatewayTier, clusters: dict[str, str], prefix: str) -> list[str]:
    """The front door's VIPs, the gateways, and their primary (writes) and backup (queue)."""
    lines = [f'  subgraph {_id(prefix, "tier")}["gateway tier"]', "    direction TB"]
    gateways = [_id(prefix, "gw", g.name) for g in tier.gateways + tier.balancers]
    for host, gid in zip(tier.gateways + tier.balancers, gateways):
        kind = "nginx" if host in tier.balancers else "INFINI Gateway"
        lines.append(f'    {gid}["{_label(host.name)}<br/>{kind} {host.address}"]')
    vips = tier.front_door.vips if tier.front_door else ()
    for vip in vips:
        vid = _id(prefix, "vip", vip.address)
        lines.append(f'    {vid}(("VIP {_label(vip.address)}"))')
        lines += [f"    {vid} --> {gid}" for gid in gateways]
    lines.append("  end")
    for ref in tier.clusters:
        # by cluster name, else by an endpoint's host (the gateway's name for a cluster is its
        # own: it names the queue)
        hosts = [urlsplit(e if "//" in e else f"//{e}").hostname for e in ref.endpoints]
        target = clusters.get(ref.name) or next(
            (clusters[h] for h in hosts if h in clusters), None)
        if target is None:
            target = _id(prefix, "cluster", ref.name)
            lines.append(f'  {target}["cluster {_label(ref.name)}"]')
        edge = '-- "writes" -->' if ref.role == "primary" else '-. "queued replay" .->'
        lines.append(f"  {_id(prefix, 'tier')} {edge} {target}")
    return lines


def diagram(sites: Sequence[Site], estate: Estate | None = None) -> str:
    """The Mermaid flowchart of these data centres (and the estate between them).

    **Example:** ``diagram([Site(topology, "dc1")], topology.estate)``, as
    ``esdr diagram inventories/lab.py`` prints it.
    """
    lines = ["flowchart LR"]
    drawn: dict[str, str] = {}
    clusters: dict[str, str] = {}
    for site in sites:
        if site.topology.cluster.nodes:  # a gateway-only inventory has no cluster of its own
            lines += _site_lines(site)
        drawn[site.alias or site.topology.datacentre] = _site_id(site)
        if site.topology.cluster.name:
            clusters[site.topology.cluster.name] = _site_id(site)
        for node in site.topology.cluster.nodes:
            for key in (node.name, node.host, node.address):
                clusters.setdefault(key, _site_id(site))
    if estate is not None:
        lines += _estate_lines(estate, drawn)
    for site in sites:
        if site.tier is not None:
            lines += _tier_lines(site.tier, clusters, _site_id(site))
    return "\n".join(lines) + "\n"
