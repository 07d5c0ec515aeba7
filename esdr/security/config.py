"""What the model says about security: on or off, files on the node, elasticsearch.yml settings.

Pure: no I/O. ``esdr.render`` renders ``yml_settings``; the deploy (``esdr.tasks.security``) puts
the files at ``NodePaths``; clients on the controller (``esdr.es.connect``) and on the nodes
(``esdr.node_api``) read ``scheme``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from esdr.model import Cluster

ELASTIC_USER = "elastic"
# OpenSearch's security plugin: the built-in superuser, and the least-privilege user esdr
# creates on every cluster of an estate for cross-cluster replication (mapped to the plugin's
# built-in leader and follower roles, see
# https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/permissions/).
OPENSEARCH_ADMIN_USER = "admin"
REPLICATION_USER = "esdr-replication"
REPLICATION_LEADER_ROLE = "cross_cluster_replication_leader_full_access"
REPLICATION_FOLLOWER_ROLE = "cross_cluster_replication_follower_full_access"
# Root-only directory on every node: the deploy's curl config, keystore markers, upload staging.
ESDR_ETC = "/etc/esdr"
CURL_CONFIG = f"{ESDR_ETC}/es-api.curlrc"
CERTS_SUBDIR = "certs"  # under the config dir: Elasticsearch reads TLS files from there
# OpenSearch's security plugin tells nodes from clients by the certificate's DN
# (plugins.security.nodes_dn) and lets only the admin DN change its configuration
# (https://opensearch.org/docs/latest/security/configuration/tls/). esdr's node certificates
# carry NODE_DN_SUFFIX and its admin certificate ADMIN_DN, so a pattern matches every node of
# every cluster of the estate (both data centres trust each other) and never the admin.
NODE_DN_SUFFIX = "OU=nodes,O=esdr"
ADMIN_DN = "CN=esdr-admin,OU=admin,O=esdr"
ADMIN_CERT = f"{ESDR_ETC}/admin.crt"  # root-only: used by the deploy's securityadmin runs alone
ADMIN_KEY = f"{ESDR_ETC}/admin.key"
SECURITY_CONFIG_SUBDIR = "opensearch-security"  # under the config dir, as the plugin installs it


def enabled(cluster: Cluster) -> bool:
    """Security is on, for both engines, unless ``es_security = False`` (labs only, validated)."""
    return cluster.settings.get("es_security") is not False


def superuser(cluster: Cluster) -> tuple[str, str]:
    """(user name, the group-data key that references its password) for the cluster's engine."""
    if cluster.engine.name == "opensearch":
        return OPENSEARCH_ADMIN_USER, "es_admin_password"
    return ELASTIC_USER, "es_elastic_password"


def scheme(cluster: Cluster) -> str:
    return "https" if enabled(cluster) else "http"


@dataclass(frozen=True)
class NodePaths:
    conf_dir: str

    @property
    def certs_dir(self) -> str:
        return f"{self.conf_dir}/{CERTS_SUBDIR}"

    @property
    def ca_cert(self) -> str:
        return f"{self.certs_dir}/ca.crt"

    @property
    def node_cert(self) -> str:
        return f"{self.certs_dir}/node.crt"

    @property
    def node_key(self) -> str:
        return f"{self.certs_dir}/node.key"


def node_paths(cluster: Cluster) -> NodePaths:
    return NodePaths(str(cluster["es_conf_dir"]))


def yml_settings(cluster: Cluster) -> list[tuple[str, Any]]:
    """The security section of the node's config file, for the cluster's engine."""
    if cluster.engine.name == "opensearch":
        return _opensearch_settings(cluster)
    if not enabled(cluster):
        return [("xpack.security.enabled", False)]
    # Relative paths resolve against the config dir, where Elasticsearch may read files.
    key, cert, ca = (f"{CERTS_SUBDIR}/{f}" for f in ("node.key", "node.crt", "ca.crt"))
    return [
        ("xpack.security.enabled", True),
        # Enrollment tokens and auto-configuration are for hand-made clusters; esdr wires TLS.
        ("xpack.security.enrollment.enabled", False),
        ("xpack.security.transport.ssl.enabled", True),
        # full: the peer's certificate must be signed by the estate CA AND name the address
        # this node connected to (the peer's publish IP: see esdr.checks.security).
        ("xpack.security.transport.ssl.verification_mode", "full"),
        ("xpack.security.transport.ssl.client_authentication", "required"),
        ("xpack.security.transport.ssl.key", key),
        ("xpack.security.transport.ssl.certificate", cert),
        ("xpack.security.transport.ssl.certificate_authorities", [ca]),
        ("xpack.security.http.ssl.enabled", True),
        ("xpack.security.http.ssl.key", key),
        ("xpack.security.http.ssl.certificate", cert),
        ("xpack.security.http.ssl.certificate_authorities", [ca]),
    ]


def _opensearch_settings(cluster: Cluster) -> list[tuple[str, Any]]:
    """The security plugin's settings: TLS on transport and HTTP from the estate CA, node and
    admin DNs. Reference: https://opensearch.org/docs/latest/security/configuration/yaml/"""
    if not enabled(cluster):
        return [("plugins.security.disabled", True)]
    key, cert, ca = (f"{CERTS_SUBDIR}/{f}" for f in ("node.key", "node.crt", "ca.crt"))
    return [
        ("plugins.security.ssl.transport.pemkey_filepath", key),
        ("plugins.security.ssl.transport.pemcert_filepath", cert),
        ("plugins.security.ssl.transport.pemtrustedcas_filepath", ca),
        # The peer's certificate must name the address connected to (its publish IP or name),
        # as Elasticsearch's verification_mode full does; no reverse DNS lookups.
        ("plugins.security.ssl.transport.enforce_hostname_verification", True),
        ("plugins.security.ssl.transport.resolve_hostname", False),
        ("plugins.security.ssl.http.enabled", True),
        ("plugins.security.ssl.http.pemkey_filepath", key),
        ("plugins.security.ssl.http.pemcert_filepath", cert),
        ("plugins.security.ssl.http.pemtrustedcas_filepath", ca),
        ("plugins.security.nodes_dn", [f"CN=*,{NODE_DN_SUFFIX}"]),
        ("plugins.security.authcz.admin_dn", [ADMIN_DN]),
        # The first start of a new cluster builds the security index from the files esdr
        # renders into opensearch-security/; later changes go through securityadmin.
        ("plugins.security.allow_default_init_securityindex", True),
        ("plugins.security.restapi.roles_enabled", ["all_access", "security_rest_api_access"]),
        ("plugins.security.system_indices.enabled", True),
    ]


def marker(key: bytes, purpose: str, value: str) -> str:
    """HMAC of a secret for a change check on a host; useless to anyone without the estate key."""
    return hmac.new(key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


def _curl_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def curl_config(password: str, ca_cert: str, salt: str, user: str = ELASTIC_USER) -> str:
    """curl ``-K`` file: credentials and CA for the deploy's API calls on the node (0600 root).

    ``salt`` (an HMAC from the estate key) makes the file's checksum, which pyinfra compares,
    say nothing about the password.
    """
    if "\n" in password:
        raise ValueError("a password with a newline cannot go into a curl config")
    return (
        "# esdr: credentials for the deploy's own API calls on this node. Mode 0600, root.\n"
        f"# {salt}\n"
        f"user = {_curl_quote(user + ':' + password)}\n"
        f"cacert = {_curl_quote(ca_cert)}\n"
    )
