"""What the deploy leaves on a host besides the rendered files: the service account, the
directories and the secret-bearing files, each with its owner, group and mode.

One list for two readers: the deploy (``esdr.tasks``) creates exactly these, and ``esdr verify``
(``esdr.verify``) checks exactly these, so a mode changed here changes both. Rendered files carry
their own owner and mode (``esdr.render.RenderedFile``). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from esdr.gateway import render as gateway_render
from esdr.gateway.model import GatewayTier
from esdr.model import Cluster, Node, Topology
from esdr.security import config as security

# The service accounts' login shell: a system user that runs a daemon and never logs in.
SERVICE_SHELL = "/usr/sbin/nologin"

# Elastic's minimum for mmapped index files (bootstrap check), and where the deploy persists it:
# https://www.elastic.co/guide/en/elasticsearch/reference/current/vm-max-map-count.html
MAX_MAP_COUNT = 262144
MAX_MAP_COUNT_FILE = "/etc/sysctl.d/90-esdr-elasticsearch.conf"


def max_map_count_conf() -> Managed:
    """The file that keeps it across a reboot; written only where the host lets the deploy set
    the value (not in a container)."""
    return Managed(MAX_MAP_COUNT_FILE, "root", "root", "644", optional=True)


MAX_MAP_COUNT_LINE = f"vm.max_map_count = {MAX_MAP_COUNT}\n"

# The keystore: the engine's tool writes it, the deploy sets owner and mode after it.
KEYSTORE_MODE = "660"


@dataclass(frozen=True)
class Managed:
    """A path the deploy creates with this owner, group and mode (an octal string, as pyinfra's
    operations take it). ``secret``: its content is never read back by a check."""

    path: str
    user: str
    group: str
    mode: str
    directory: bool = False
    secret: bool = False
    # the deploy makes it only when the host's kernel lets it (vm.max_map_count writable)
    optional: bool = False


def node_directories(cluster: Cluster) -> list[Managed]:
    """The directories of an engine node's install; their group is the service user's."""
    user = cluster["es_user"]
    conf = cluster["es_conf_dir"]
    return [
        Managed(cluster["es_data_dir"], user, user, "750", directory=True),
        Managed(cluster["es_log_dir"], user, user, "750", directory=True),
        Managed(conf, "root", user, "2750", directory=True),
        Managed(f"{conf}/jvm.options.d", "root", user, "2750", directory=True),
    ]


def keystore(cluster: Cluster) -> Managed:
    user = cluster["es_user"]
    path = f"{cluster['es_conf_dir']}/{cluster.engine.name}.keystore"
    return Managed(path, "root", user, KEYSTORE_MODE, secret=True)


# TLS files of a node: the directory and the three files, readable by the service's group only.
CERTS_DIR_MODE = "2750"
NODE_TLS_FILE_MODE = "640"
# /etc/esdr: root's staging, markers and the deploy's own API credentials.
ESDR_ETC_MODE = "700"
CURL_CONFIG_MODE = "600"
# The file realm (Elasticsearch): the gateway's user, read by the service's group.
FILE_REALM_MODE = "640"


def node_security(cluster: Cluster, file_realm: tuple[str, ...] = ()) -> list[Managed]:
    """The TLS files, the root-only directory and the deploy's API credentials (security on);
    ``file_realm``: the paths of the file realm's files (Elasticsearch)."""
    if not security.enabled(cluster):
        return []
    user = cluster["es_user"]
    paths = security.node_paths(cluster)
    return [
        Managed(security.ESDR_ETC, "root", "root", ESDR_ETC_MODE, directory=True),
        Managed(paths.certs_dir, "root", user, CERTS_DIR_MODE, directory=True),
        Managed(paths.ca_cert, "root", user, NODE_TLS_FILE_MODE),
        Managed(paths.node_cert, "root", user, NODE_TLS_FILE_MODE),
        Managed(paths.node_key, "root", user, NODE_TLS_FILE_MODE, secret=True),
        Managed(security.CURL_CONFIG, "root", "root", CURL_CONFIG_MODE, secret=True),
        *(Managed(p, "root", user, FILE_REALM_MODE, secret=p.endswith("/users"))
          for p in file_realm),
    ]


def fs_repository_dirs(topology: Topology) -> list[str]:
    """Locations of the fs repositories this cluster registers (writer or reader)."""
    estate = topology.estate
    alias = estate.alias_of(topology.cluster.name) if estate else None
    if estate is None or alias is None:
        return []
    return sorted({
        str(r.settings["location"])
        for r in estate.repositories
        if r.type == "fs" and r.settings.get("location")
        and (r.writer == alias or alias in r.readers)
    })


def snapshot_paths(topology: Topology) -> list[str]:
    paths = {str(p) for p in topology.cluster["es_path_repo"] or []}
    return sorted(paths | set(fs_repository_dirs(topology)))


def snapshot_directories(topology: Topology, node: Node) -> list[Managed]:
    """Every path.repo entry and the shared mount of each fs repository, usable by the service
    user on every master and data node (root keeps ownership; the group gets rwx, nobody else
    anything)."""
    if not (node.is_master_eligible or node.holds_data):
        return []
    user = topology.cluster["es_user"]
    return [Managed(path, "root", user, "770", directory=True) for path in snapshot_paths(topology)]


# OpenSearch's security plugin: the users and role mappings esdr writes (bcrypt hashes), read
# by the service's group; the admin certificate and key for securityadmin, root's alone.
SECURITY_PLUGIN_MODE = "640"
ADMIN_CERT_MODE = "600"


def opensearch_security(cluster: Cluster) -> list[Managed]:
    if cluster.engine.name != "opensearch" or not security.enabled(cluster):
        return []
    user = cluster["es_user"]
    directory = f"{cluster['es_conf_dir']}/{security.SECURITY_CONFIG_SUBDIR}"
    return [
        Managed(security.ADMIN_CERT, "root", "root", ADMIN_CERT_MODE),
        Managed(security.ADMIN_KEY, "root", "root", ADMIN_CERT_MODE, secret=True),
        Managed(f"{directory}/internal_users.yml", "root", user, SECURITY_PLUGIN_MODE,
                secret=True),
        Managed(f"{directory}/roles_mapping.yml", "root", user, SECURITY_PLUGIN_MODE),
    ]


def gateway_directories(tier: GatewayTier) -> list[Managed]:
    user = tier["gateway_user"]
    return [
        Managed(tier["gateway_data_dir"], user, user, "750", directory=True),
        Managed(tier["gateway_log_dir"], user, user, "750", directory=True),
        Managed(tier["gateway_conf_dir"], "root", user, "2750", directory=True),
    ]


# A gateway-tier host's TLS files: the certificate and the CA world-readable, the key its
# service's alone (the gateway user's; root's for Nginx, whose master reads it as root).
TIER_CERT_MODE = "644"
TIER_KEY_MODE = "600"
NGINX_TLS_DIR_MODE = "700"


def tier_tls(paths: gateway_render.TlsPaths, key_owner: str) -> list[Managed]:
    return [
        Managed(paths.ca, "root", "root", TIER_CERT_MODE),
        Managed(paths.cert, "root", "root", TIER_CERT_MODE),
        Managed(paths.key, key_owner, key_owner, TIER_KEY_MODE, secret=True),
    ]


def gateway_files(tier: GatewayTier) -> list[Managed]:
    """A gateway host's own files besides gateway.yml and the unit: the passwords'
    EnvironmentFile, and the entry's TLS files (or, plain entry to HTTPS clusters, the CA)."""
    secrets = gateway_render.env_path(tier)
    user = tier["gateway_user"]
    out = [Managed(secrets, user, user, gateway_render.SECRETS_MODE, secret=True)]
    if tier.tls:
        out += tier_tls(gateway_render.entry_tls_paths(tier), user)
    elif (ca := gateway_render.cluster_ca_path(tier)) is not None:
        out.append(Managed(ca, "root", "root", TIER_CERT_MODE))
    return out


def nginx_files(tier: GatewayTier) -> list[Managed]:
    if not tier.tls:
        return []
    return [Managed(gateway_render.NGINX_TLS_DIR, "root", "root", NGINX_TLS_DIR_MODE,
                    directory=True),
            *tier_tls(gateway_render.nginx_tls_paths(), "root")]
