"""elasticsearch-py clients for a data centre's cluster, built from the model.

Every cluster-API caller (post-deploy reconcilers, esdr commands, tests) gets its client here,
so transport security (TLS, credentials) is added in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

from elasticsearch import Elasticsearch

from esdr.model import Node, Topology


def node_urls(topology: Topology, nodes: Iterable[Node] | None = None) -> list[str]:
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    return [f"http://{n.address}:{cluster['es_http_port']}" for n in chosen]


def client_for(
    topology: Topology, nodes: Iterable[Node] | None = None, *, request_timeout: float = 30
) -> Elasticsearch:
    """A client to ``nodes`` (default: every node) of the topology's cluster."""
    return Elasticsearch(
        node_urls(topology, nodes),
        request_timeout=request_timeout,
        max_retries=3,
        retry_on_timeout=True,
    )
