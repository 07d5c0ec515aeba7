"""Group data the lab's gateway tiers share; `group_data/lab_gateways*.py` star-import it.

The three tiers (keepalived with a stand-in, Nginx with a stand-in, keepalived with the real
binary) sit between the same two lab clusters: each file then says only its front door and how
it gets the binary.
"""

from __future__ import annotations

from esdr.gateway.cluster_user import GATEWAY_USER as _GATEWAY_USER
from esdr.gateway.cluster_user import PASSWORD_FILE as _GATEWAY_PASSWORD_FILE
from esdr.security.store import default_root as _secrets_root
from esdr.security.store import generated_secret_file as _generated
from esdr_lab import constants as _lab

# the SSH lines every lab host shares, named once (esdr_lab/group_settings.py)
from esdr_lab.group_settings import (  # noqa: F401
    ssh_key,
    ssh_known_hosts_file,
    ssh_strict_host_key_checking,
    ssh_user,
)

__all__ = [
    "ssh_user",
    "ssh_key",
    "ssh_strict_host_key_checking",
    "ssh_known_hosts_file",
    "gateway_allow_plain_http",
    "gateway_clusters",
]

# The lab's clusters answer plain HTTP on a private bridge (10.88.0.0/24): credentials over
# http:// are allowed for the lab alone. Versions and distributions are pinned so the gateway
# skips its GET / probe and starts while a cluster is down.
gateway_allow_plain_http = True


def _cluster(name: str, addresses: tuple[str, ...], scheme: str = "http",
             username: str = "esdr_gateway",
             password: dict | None = None, version: str = _lab.ES_VERSION,
             distribution: str = "elasticsearch") -> dict:
    return {
        "name": name,
        "endpoints": [f"{scheme}://{address}:9200" for address in addresses],
        "username": username,
        "password": password or {"env": "ESDR_LAB_GATEWAY_PASSWORD"},
        "version": version,
        "distribution": distribution,
    }


# DC1's data nodes (inventories/lab.py) and DC2's (inventories/lab_dc2.py: its master+data pair)
PRIMARY_DATA_NODES = ("10.88.0.14", "10.88.0.15")
BACKUP_DATA_NODES = ("10.88.0.21", "10.88.0.22")

# role in the gateway's config, cluster name, data nodes
_LAB_CLUSTERS = (
    ("primary", "lab-dc1", PRIMARY_DATA_NODES),
    ("backup", "lab-dc2", BACKUP_DATA_NODES),
)

gateway_clusters = {role: _cluster(name, addresses) for role, name, addresses in _LAB_CLUSTERS}


# The OpenSearch lab's DC1 (inventories/lab_os.py) and DC2 (inventories/lab_os_dc2.py): each
# DC's two cluster-manager+data nodes (the az3 manager holds no shards)
OS_PRIMARY_DATA_NODES = ("10.88.0.51", "10.88.0.52")
OS_BACKUP_DATA_NODES = ("10.88.0.41", "10.88.0.42")
_OS_LAB_CLUSTERS = (
    ("primary", "lab-os-dc1", OS_PRIMARY_DATA_NODES),
    ("backup", "lab-os-dc2", OS_BACKUP_DATA_NODES),
)


def _https(clusters: tuple, user: str, password_file: str, version: str,
           distribution: str) -> dict:
    password = {"file": _generated(_secrets_root() / password_file)}
    return {
        role: _cluster(name, addresses, "https", user, password, version, distribution)
        for role, name, addresses in clusters
    }


def real_clusters() -> dict:
    """The two Elasticsearch lab clusters as they run when deployed: HTTPS, and the gateway's
    own user.

    The gateway logs in as ``esdr_gateway``, the file-realm user with the ``monitor`` cluster
    privilege alone that the Elasticsearch deploy puts on every node (esdr/gateway/
    cluster_user.py; a file-realm user, as the lab's Elasticsearch cannot store a native one:
    no ``analysis-common`` module, so no ``.security`` index, README "Security"). Its password
    is the lab estate's generated ``gateway-password``, shared by both DCs, read from the
    estate's secrets directory at each load (it follows XDG_DATA_HOME).
    """
    return _https(_LAB_CLUSTERS, _GATEWAY_USER, f"lab/{_GATEWAY_PASSWORD_FILE}",
                  _lab.ES_VERSION, "elasticsearch")


def real_os_clusters() -> dict:
    """The two OpenSearch lab clusters as deployed (security plugin, HTTPS): the gateway logs in
    as ``esdr_gateway``, the internal user the OpenSearch deploy puts in the security plugin's
    configuration (role ``esdr_gateway`` = ``cluster_monitor`` alone, esdr.security.
    opensearch_users), with the lab_os estate's generated ``gateway-password``, shared by both
    DCs."""
    return _https(_OS_LAB_CLUSTERS, _GATEWAY_USER, f"lab_os/{_GATEWAY_PASSWORD_FILE}",
                  _lab.OS_VERSION, "opensearch")


KEEPALIVED_FRONT_DOOR = {
    "kind": "keepalived",
    "interface": "eth0",
    "nopreempt": False,
    "unicast": True,
    "vips": [
        {
            "address": "10.88.0.100/24",
            "virtual_router_id": 88,
            "priorities": {"gw1": 150, "gw2": 100},
        }
    ],
}
