"""Cross-cluster replication, one adapter per engine behind one interface (``base.Replication``).

``adapter_for(topology)`` picks the adapter from the topology's engine and builds its clients
(OpenSearch: the superuser's and the replication user's); ``as_adapter(x)`` accepts an adapter
or a bare client (the client's class says the engine), so reconcilers and runbooks take either.
"""

from __future__ import annotations

from esdr.es.client import Api, is_opensearch
from esdr.model import Topology
from esdr.replication.base import FeatureCheck, Lag, Replication
from esdr.replication.ccr import CcrReplication
from esdr.replication.opensearch import OpenSearchReplication

ADAPTERS: dict[str, type[Replication]] = {
    CcrReplication.engine: CcrReplication,
    OpenSearchReplication.engine: OpenSearchReplication,
}

__all__ = ["ADAPTERS", "FeatureCheck", "Lag", "Replication", "adapter_for", "adapter_class",
           "as_adapter"]


def adapter_class(engine: str) -> type[Replication]:
    return ADAPTERS.get(engine, CcrReplication)


def adapter_for(topology: Topology, es: Api | None = None,
                replicator: Api | None = None) -> Replication:
    """The topology's adapter; missing clients are built with ``client_for``.

    OpenSearch: replication requests and replication reads go to the nodes with the
    remote_cluster_client role, or the plugin refuses them ("this node does not have the
    remote_cluster_client role"; ``_status`` then answers 500 "failed to fetch replication
    status", which would read as a lost leader). Writes as the replication user (with security
    on), reads as the superuser (the replication user may not read follower or auto-follow stats).
    """
    from esdr.es.connect import client_for
    from esdr.security import config as security

    cls = adapter_class(topology.cluster.engine.name)
    es = es if es is not None else client_for(topology)
    if cls is not OpenSearchReplication:
        return cls(es, replicator)
    nodes = [n for n in topology.cluster.nodes if "remote_cluster_client" in n.roles] or None
    if replicator is None:
        user = "replication" if security.enabled(topology.cluster) else None
        replicator = client_for(topology, nodes, user=user)
    return cls(es, replicator, reader=client_for(topology, nodes) if nodes else es)


def as_adapter(target: Replication | Api) -> Replication:
    """An adapter as is; a bare client wrapped in its engine's adapter (one client for all)."""
    if isinstance(target, Replication):
        return target
    return (OpenSearchReplication if is_opensearch(target) else CcrReplication)(target)
