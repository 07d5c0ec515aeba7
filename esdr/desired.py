"""What one cluster must hold for its part of the estate: plain values the reconcilers compare.

Pure: ``desired_for(estate, topology)`` never talks to a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from esdr.crossdc.estate import Estate, Follower
from esdr.model import Topology


@dataclass(frozen=True)
class DesiredAlias:
    name: str
    members: dict[str, bool]  # index -> is_write_index


@dataclass(frozen=True)
class Desired:
    alias: str  # this cluster's alias in the estate
    awareness: dict[str, Any]  # persistent setting key -> value
    remotes: dict[str, dict[str, Any]]  # remote alias -> {mode, seeds|proxy_address, skip_unavailable}
    repositories: dict[str, dict[str, Any]]  # name -> {"type", "settings"}
    slm: dict[str, dict[str, Any]]  # policy id -> PUT body
    followers: dict[str, Follower]  # follower index -> the follow
    auto_follow: dict[str, dict[str, Any]]  # pattern name -> PUT body
    aliases: dict[str, DesiredAlias]
    indices: tuple[str, ...] = ()  # local write indices esdr creates (bi-directional recipe)
    licence: str = "basic"
    needs: frozenset[str] = field(default_factory=frozenset)  # features: "ccr", "slm"
    leads: bool = False  # another cluster of the estate replicates from this one
    replication: dict[str, Any] = field(default_factory=dict)  # follower's persistent settings


def awareness_settings(topology: Topology) -> dict[str, Any]:
    """The awareness settings the model owns, as persistent cluster settings (zones joined)."""
    return {key: ",".join(value) if isinstance(value, tuple) else value
            for key, value in topology.cluster.awareness.items()}


# OpenSearch's replication plugin fetches a follower shard's changes every poll_interval (50 ms
# by default). Its leader serves only operations its last translog fsync persisted; a fetch
# that comes before the next write's fsync fails with "global checkpoint not synced" and the
# follower retries it only after a hard-coded 10 s back-off (plugin source:
# TransportGetChangesAction.kt, ShardReplicationTask.kt, util/Extensions.kt). At a steady load
# the default poll falls into that race about every 10 s: staleness is a 0-10 s sawtooth. A
# poll of 500 ms lets writes land between two fetches. Range: the plugin's 1 ms to 1 s.
POLL_INTERVAL = "plugins.replication.follower.poll_interval"
DEFAULT_POLL_INTERVAL = "500ms"


def replication_settings(topology: Topology, follows: bool) -> dict[str, Any]:
    """The follower-side persistent settings of OpenSearch's replication plugin."""
    cluster = topology.cluster
    if cluster.engine.name != "opensearch" or not follows:
        return {}
    return {POLL_INTERVAL: cluster.settings.get("es_replication_poll_interval")
            or DEFAULT_POLL_INTERVAL}


def _remote_settings(link) -> dict[str, Any]:
    if link.mode == "proxy":
        return {"mode": "proxy", "proxy_address": link.proxy_address,
                "skip_unavailable": link.skip_unavailable}
    return {"mode": "sniff", "seeds": list(link.seeds), "skip_unavailable": link.skip_unavailable}


def _repositories(estate: Estate, alias: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for repo in estate.repositories:
        if alias == repo.writer:
            out[repo.name] = {"type": repo.type, "settings": dict(repo.settings)}
        elif alias in repo.readers:
            # Only one cluster may write a repository; the others must never write to it.
            out[repo.name] = {"type": repo.type, "settings": {**repo.settings, "readonly": True}}
    return out


def _followers(estate: Estate, alias: str) -> dict[str, Follower]:
    out = {f.index: f for f in estate.followers if f.cluster == alias}
    for pair in estate.bidirectional:
        if alias not in pair.indices:
            continue
        for other, index in pair.indices.items():
            if other != alias:
                out[index] = Follower(cluster=alias, index=index, remote=other, leader_index=index)
    return out


def _aliases(estate: Estate, alias: str) -> dict[str, DesiredAlias]:
    out: dict[str, DesiredAlias] = {}
    for pair in estate.bidirectional:
        if alias in pair.indices:
            # A read alias over the local index and the followed one, with no write index:
            # replication copies a leader's aliases onto its follower (Elasticsearch since 7.3,
            # https://github.com/elastic/elasticsearch/issues/41396; OpenSearch's plugin keeps
            # them equal), so a write flag set in one DC would reach the other as a second
            # write index. Each DC writes its own index by name (the estate names it).
            members = {index: False for index in pair.indices.values()}
            out[pair.alias] = DesiredAlias(pair.alias, members)
    for f in estate.followers:
        if not f.write_alias:
            continue
        if f.cluster == alias:  # a follower takes no writes: the alias only reads from it
            out[f.write_alias] = DesiredAlias(f.write_alias, {f.index: False})
        elif f.remote == alias:
            out[f.write_alias] = DesiredAlias(f.write_alias, {f.leader_index: True})
    return out


def _leads(estate: Estate, alias: str) -> bool:
    """Does another cluster follow an index of this one (OpenSearch's leader needs the
    replication plugin too)?"""
    return (any(f.remote == alias for f in estate.followers)
            or any(a.remote == alias for a in estate.auto_follow)
            or any(alias in p.indices and len(p.indices) > 1 for p in estate.bidirectional))


def desired_for(estate: Estate, topology: Topology) -> Desired:
    alias = estate.alias_of(topology.cluster.name)
    if alias is None:
        raise ValueError(f"cluster {topology.cluster.name} is not in {estate.source}")
    followers = _followers(estate, alias)
    auto = {
        a.name: {
            "remote_cluster": a.remote,
            "leader_index_patterns": list(a.leader_index_patterns),
            "leader_index_exclusion_patterns": list(a.leader_index_exclusion_patterns),
            "follow_index_pattern": a.follow_index_pattern,
        }
        for a in estate.auto_follow
        if a.cluster == alias
    }
    slm = {
        p.id: {"schedule": p.schedule, "name": p.snapshot_name, "repository": p.repository,
               "config": dict(p.config), "retention": dict(p.retention)}
        for p in estate.slm
        if p.cluster == alias
    }
    needs = frozenset(({"ccr"} if followers or auto else set()) | ({"slm"} if slm else set()))
    return Desired(
        alias=alias,
        awareness=awareness_settings(topology),
        remotes={k.target: _remote_settings(k) for k in estate.links if k.source == alias},
        repositories=_repositories(estate, alias),
        slm=slm,
        followers=followers,
        auto_follow=auto,
        aliases=_aliases(estate, alias),
        indices=tuple(p.indices[alias] for p in estate.bidirectional if alias in p.indices),
        licence=estate.licence,
        needs=needs,
        leads=_leads(estate, alias),
        replication=replication_settings(topology, bool(followers or auto)),
    )
