"""Clients for a data centre's cluster, built from the model: elasticsearch-py for the
Elasticsearch engine, opensearch-py for OpenSearch (the elasticsearch client refuses to talk to
OpenSearch).

Every cluster-API caller (post-deploy reconcilers, esdr commands, tests) gets its client here,
so transport security is added in one place: with security on (the default, both engines) the
client speaks HTTPS, verifies every node against the estate CA (hostname checks included) and
authenticates as the engine's superuser (``elastic`` / ``admin``) with the password the
inventory references, or, with ``user="replication"``, as OpenSearch's least-privilege
replication user. Passwords are read here and go only into the client; they are never logged.

Transport (README, "How the deploy reaches a cluster's API"): with ``es_api_transport: ssh``
(the default) every connection goes through an SSH forward that the node itself opens to its own
HTTP port (``esdr.es.tunnel``); the URL stays the node's real address, so TLS verifies the
certificate for that address as a direct connection would. ``es_api_transport: direct``
connects to each node's HTTP port from the controller.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Iterable

from elastic_transport import NodeConfig, Urllib3HttpNode
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch, Urllib3HttpConnection

from esdr.errors import EsdrError
from esdr.es.tunnel import Forward, route_pool
from esdr.model import Node, Topology
from esdr.security import config as security
from esdr.security.certs import ca_pem_path
from esdr.security.refs import resolve_setting

USERS = ("superuser", "replication")
TRANSPORTS = ("ssh", "direct")
CONNECT_TIMEOUT = 5.0  # seconds to reach a node of the cluster being deployed or planned
_FORWARD = "esdr.forward"  # NodeConfig._extras key: elastic-transport's slot for such data


def node_urls(topology: Topology, nodes: Iterable[Node] | None = None) -> list[str]:
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    scheme = security.scheme(cluster)
    return [f"{scheme}://{n.address}:{cluster['es_http_port']}" for n in chosen]


def transport(topology: Topology) -> str:
    value = topology.cluster.settings.get("es_api_transport") or "ssh"
    if value not in TRANSPORTS:
        raise EsdrError(
            f"cluster {topology.cluster.name}: es_api_transport {value!r} is not one of "
            f"{', '.join(TRANSPORTS)}",
            hint='set es_api_transport: "ssh" (through each node, the default) or "direct"')
    return value


def forwards(topology: Topology, nodes: Iterable[Node] | None = None,
             connect_timeout: float = CONNECT_TIMEOUT) -> list[Forward]:
    """One forward per node: through the node's own SSH route to the node's own address and
    HTTP port (with ``es_api_transport: direct``, no route: a TCP connection from here). Both
    bound the connect by ``connect_timeout``."""
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    direct = transport(topology) == "direct"
    routes = tuple(None if direct else _route(n) for n in chosen)
    port = int(cluster["es_http_port"])
    group = tuple(r for r in routes if r is not None)
    return [Forward(route, (n.address, port), float(connect_timeout), group)
            for n, route in zip(chosen, routes)]


def _route(node: Node):
    if node.ssh is None:
        raise EsdrError(f"node {node.name}: no SSH route in the model",
                        hint="build the topology with esdr.model.topology_from_hosts")
    return node.ssh


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
    connect_timeout: float = CONNECT_TIMEOUT,
) -> Elasticsearch | OpenSearch:
    """A client to ``nodes`` (default: every node) of the topology's cluster, as ``user``
    (default: the engine's superuser; ``"replication"``: OpenSearch's replication user).
    ``max_retries``: further nodes a failed request is tried on (timeouts included).
    ``connect_timeout``: how long reaching one node may take (the SSH connection through it);
    another DC is reached with its ``es_remote_connect_timeout``."""
    cluster = topology.cluster
    chosen = list(nodes) if nodes is not None else list(cluster.nodes)
    routed = forwards(topology, chosen, connect_timeout)
    secure = security.enabled(cluster)
    if cluster.engine.name == "opensearch":
        return _opensearch(topology, request_timeout, user if secure else None, secure,
                           max_retries, routed)
    options: dict = {}
    if secure:
        ca = _ca(topology)
        options = {"basic_auth": credentials(topology, user)}
    elif user not in (None, "superuser"):
        credentials(topology, user)  # the same refusal with security off
    scheme, port = security.scheme(cluster), int(cluster["es_http_port"])
    tls = {"ssl_context": _tls_context(ca)} if secure else {}
    hosts = [NodeConfig(scheme, f.target[0], port, _extras={_FORWARD: f}, **tls) for f in routed]
    return Elasticsearch(hosts, node_class=ForwardedNode, request_timeout=request_timeout,
                         max_retries=max_retries, retry_on_timeout=True, **options)


def _tls_context(ca: str) -> ssl.SSLContext:
    """One TLS context per CA file for every node of every client in this process. Without it
    elastic-transport builds one per node (``ssl.create_default_context`` reads the system's
    whole CA store each time: ~35 ms, 7 times per plan on the lab). Verification is the stock
    node's, except that the chain must lead to the estate CA and nothing else: elastic-transport
    names certifi's public roots as the pool's ``ca_certs`` when a context is given, and urllib3
    then loads them into the shared context on every new connection (~30 ms each, several per
    plan); no node certificate chains to them (the estate CA, or es_ca, issues them), so
    ``ForwardedNode`` leaves them out. urllib3 matches the node's address against the
    certificate (the context's own check is off, as elastic-transport turns it off for an IP
    address, and urllib3 then checks; a node named by a DNS name is checked the same way)."""
    return _tls_context_of(ca, os.stat(ca).st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _tls_context_of(ca: str, version: int) -> ssl.SSLContext:  # version: a rotated CA is reread
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False  # urllib3 matches the hostname itself (assert_hostname)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class ForwardedNode(Urllib3HttpNode):
    """elastic-transport's urllib3 node whose connections go through the node's forward; TLS
    settings (CA, hostname check against the node's address) are the stock node's."""

    def __init__(self, config: NodeConfig):
        super().__init__(config)
        forward = config._extras.get(_FORWARD)
        if forward is not None:
            route_pool(self.pool, forward)
        if config.ssl_context is not None:  # client_for's: it trusts the estate CA
            self.pool.ca_certs = None  # no roots loaded into it again on every connection


class ForwardedConnection(Urllib3HttpConnection):
    """opensearch-py's urllib3 connection, through the node's forward (``esdr_forward``)."""

    def __init__(self, *args, esdr_forward: Forward | None = None, **kwargs):
        self._esdr_forward = esdr_forward
        super().__init__(*args, **kwargs)

    def _create_urllib3_pool(self) -> None:
        super()._create_urllib3_pool()
        if self._esdr_forward is not None and self.pool is not None:
            route_pool(self.pool, self._esdr_forward)


def _opensearch(topology: Topology, request_timeout: float, user: str | None, secure: bool,
                max_retries: int, routed: list[Forward]) -> OpenSearch:
    options: dict = {}
    if secure:
        # verify_certs with a CA: urllib3 then requires a valid chain AND a certificate that
        # names the host connected to (https://opensearch.org/docs/latest/clients/python-low-level/).
        options = {"use_ssl": True, "verify_certs": True, "ssl_show_warn": True,
                   "ca_certs": _ca(topology), "http_auth": credentials(topology, user)}
    port = int(topology.cluster["es_http_port"])
    hosts = [{"host": f.target[0], "port": port, "esdr_forward": f} for f in routed]
    return OpenSearch(hosts, connection_class=ForwardedConnection, timeout=request_timeout,
                      max_retries=max_retries, retry_on_timeout=True, **options)
