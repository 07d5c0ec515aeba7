"""elasticsearch-py clients for a data centre's cluster, built from the model.

Every cluster-API caller (post-deploy reconcilers, esdr commands, tests) gets its client here,
so transport security is added in one place: with security on (the default) the client speaks
HTTPS, verifies every node against the estate CA (hostname checks included) and authenticates
as ``elastic`` with the password the inventory references.
"""

from __future__ import annotations

from collections.abc import Iterable

from elasticsearch import Elasticsearch

from esdr.errors import EsdrError
from esdr.model import Node, Topology
from esdr.security import config as security
from esdr.security.certs import ca_pem_path
from esdr.security.refs import resolve_setting


def node_urls(topology: Topology, nodes: Iterable[Node] | None = None) -> list[str]:
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    scheme = security.scheme(cluster)
    return [f"{scheme}://{n.address}:{cluster['es_http_port']}" for n in chosen]


def client_for(
    topology: Topology, nodes: Iterable[Node] | None = None, *, request_timeout: float = 30
) -> Elasticsearch:
    """A client to ``nodes`` (default: every node) of the topology's cluster."""
    cluster = topology.cluster
    options: dict = {}
    if security.enabled(cluster):
        ca = ca_pem_path(topology)
        if not ca.is_file():
            raise EsdrError(
                f"cluster {cluster.name}: no CA certificate at {ca}",
                hint="run the deploy once (it creates the estate CA) or set es_secrets_dir/es_ca",
            )
        password = resolve_setting(
            cluster["es_elastic_password"], f"es_elastic_password of {cluster.name}"
        )
        options = {
            "ca_certs": str(ca),
            "verify_certs": True,
            "basic_auth": (security.ELASTIC_USER, password.reveal()),
        }
    return Elasticsearch(
        node_urls(topology, nodes),
        request_timeout=request_timeout,
        max_retries=3,
        retry_on_timeout=True,
        **options,
    )
