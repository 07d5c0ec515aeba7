"""Clients for a data centre's cluster, built from the model: elasticsearch-py for the
Elasticsearch engine, opensearch-py for OpenSearch (the elasticsearch client refuses to talk to
OpenSearch).

Every cluster-API caller (post-deploy reconcilers, esdr commands, tests) gets its client here,
so transport security is added in one place: with security on (the default, both engines) the
client speaks HTTPS, verifies every node against the estate CA (hostname checks included) and
authenticates as the engine's superuser (``elastic`` / ``admin``) with the password the
inventory references, or, with ``user="replication"``, as OpenSearch's least-privilege
replication user. Passwords are read here and go only into the client; they are never logged.

Transport: these clients still connect to each node's HTTP port directly. esdr's one transport
for cluster APIs is over SSH, from a node (README, "How the deploy reaches a cluster's API");
moving these clients onto an SSH local forward waits for the model to keep each node's SSH route.
"""

from __future__ import annotations

from collections.abc import Iterable

from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

from esdr.errors import EsdrError
from esdr.model import Node, Topology
from esdr.security import config as security
from esdr.security.certs import ca_pem_path
from esdr.security.refs import resolve_setting

USERS = ("superuser", "replication")


def node_urls(topology: Topology, nodes: Iterable[Node] | None = None) -> list[str]:
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    scheme = security.scheme(cluster)
    return [f"{scheme}://{n.address}:{cluster['es_http_port']}" for n in chosen]


def credentials(topology: Topology, user: str | None = None) -> tuple[str, str]:
    """(user name, password) the client authenticates with; the password is revealed here only
    to hand it to the client library."""
    cluster = topology.cluster
    if user in (None, "superuser"):
        name, key = security.superuser(cluster)
    elif user == "replication":
        if cluster.engine.name != "opensearch":
            raise EsdrError(
                f"cluster {cluster.name}: the replication user exists on OpenSearch only",
                hint="Elasticsearch's CCR runs as the superuser's client; drop user=",
            )
        name, key = security.REPLICATION_USER, "es_replication_password"
    else:
        raise EsdrError(f"client user {user!r}: use one of {', '.join(USERS)}")
    password = resolve_setting(cluster[key], f"{key} of {cluster.name}")
    return name, password.reveal()


def _ca(topology: Topology) -> str:
    ca = ca_pem_path(topology)
    if not ca.is_file():
        raise EsdrError(
            f"cluster {topology.cluster.name}: no CA certificate at {ca}",
            hint="run the deploy once (it creates the estate CA) or set es_secrets_dir/es_ca",
        )
    return str(ca)


def client_for(
    topology: Topology,
    nodes: Iterable[Node] | None = None,
    *,
    request_timeout: float = 30,
    user: str | None = None,
    max_retries: int = 3,
) -> Elasticsearch | OpenSearch:
    """A client to ``nodes`` (default: every node) of the topology's cluster, as ``user``
    (default: the engine's superuser; ``"replication"``: OpenSearch's replication user).
    ``max_retries``: further nodes a failed request is tried on (timeouts included)."""
    cluster = topology.cluster
    urls = node_urls(topology, nodes)
    secure = security.enabled(cluster)
    if cluster.engine.name == "opensearch":
        return _opensearch(topology, urls, request_timeout, user if secure else None, secure,
                           max_retries)
    options: dict = {}
    if secure:
        options = {"ca_certs": _ca(topology), "verify_certs": True,
                   "basic_auth": credentials(topology, user)}
    elif user not in (None, "superuser"):
        credentials(topology, user)  # the same refusal with security off
    return Elasticsearch(urls, request_timeout=request_timeout, max_retries=max_retries,
                         retry_on_timeout=True, **options)


def _opensearch(topology: Topology, urls: list[str], request_timeout: float, user: str | None,
                secure: bool, max_retries: int = 3) -> OpenSearch:
    options: dict = {}
    if secure:
        # verify_certs with a CA: urllib3 then requires a valid chain AND a certificate that
        # names the host connected to (https://opensearch.org/docs/latest/clients/python-low-level/).
        options = {"use_ssl": True, "verify_certs": True, "ssl_show_warn": True,
                   "ca_certs": _ca(topology), "http_auth": credentials(topology, user)}
    return OpenSearch(urls, timeout=request_timeout, max_retries=max_retries,
                      retry_on_timeout=True,
                      **options)
