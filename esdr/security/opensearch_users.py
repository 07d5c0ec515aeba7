"""The OpenSearch security plugin's users and role mappings esdr owns, as the plugin's YAML files.

Pure. ``internal_users.yml`` holds bcrypt hashes, never passwords. A bcrypt hash is salted, so
hashing afresh on every run would change the file, restart nothing but reload the security
configuration on every deploy; the salt is derived from the estate's marker key instead, which
makes the file stable for a stable password and unpredictable to anyone without the key.
File formats: https://opensearch.org/docs/latest/security/configuration/yaml/
"""

from __future__ import annotations

import json

from esdr.security import config
from esdr.security.keyed_bcrypt import keyed_hash

BCRYPT_ROUNDS = 12  # the plugin's own hash tool's default


def password_hash(password: str, marker_key: bytes, user: str) -> str:
    return keyed_hash(password, marker_key, f"bcrypt-salt\0{user}", "2b", BCRYPT_ROUNDS)


def _yaml(meta_type: str, entries: dict[str, dict]) -> str:
    # JSON is YAML: every value reads back exactly, whatever characters a hash holds
    lines = ["---", "# Managed by esdr: edits here are overwritten on the next deploy.",
             "_meta:", f"  type: {json.dumps(meta_type)}", "  config_version: 2"]
    for name, entry in entries.items():
        lines.append(f"{json.dumps(name)}:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def internal_users_yml(admin_hash: str, replication_hash: str | None,
                       gateway: tuple[str, str] | None = None) -> str:
    """``gateway``: (user, hash) of the INFINI Gateway's own user (esdr.gateway.cluster_user,
    passed in by the deploy: esdr.security does not import esdr.gateway)."""
    users = {
        config.OPENSEARCH_ADMIN_USER: {
            "hash": admin_hash, "reserved": True, "backend_roles": ["admin"],
            "description": "superuser of the deploy and the esdr commands",
        },
    }
    if replication_hash:
        users[config.REPLICATION_USER] = {
            "hash": replication_hash, "reserved": True,
            "description": "cross-cluster replication: the same user on every cluster of the estate",
        }
    if gateway:
        gateway_user, gateway_hash = gateway
        users[gateway_user] = {
            "hash": gateway_hash, "reserved": True,
            "description": "the INFINI Gateway's own login: health checks and node reads only",
        }
    return _yaml("internalusers", users)


def roles_mapping_yml(replication: bool, gateway: tuple[str, str] | None = None) -> str:
    """``gateway``: (role, user) of the INFINI Gateway's own user, mapped to its role alone."""
    mappings: dict[str, dict] = {
        "all_access": {"reserved": True, "backend_roles": ["admin"]},
    }
    if replication:
        # Each cluster leads some indices and follows others (bi-directional, failback), so the
        # replication user holds both of the plugin's built-in roles everywhere.
        for role in (config.REPLICATION_LEADER_ROLE, config.REPLICATION_FOLLOWER_ROLE):
            mappings[role] = {"reserved": True, "users": [config.REPLICATION_USER]}
    if gateway:
        role, user = gateway
        mappings[role] = {"reserved": True, "users": [user]}
    return _yaml("rolesmapping", mappings)


# The gateway's role goes into the plugin's own roles.yml, which esdr does not render: the
# plugin installs it with roles esdr relies on (cross_cluster_replication_leader_full_access
# and _follower_, which the replication user is mapped to) and no static role grants
# ``cluster_monitor`` alone. So the deploy keeps one marked block at its end (pyinfra
# ``files.block``) and leaves the rest as the plugin wrote it. Markers: plain words, as
# ``files.block`` matches them as awk regular expressions.
GATEWAY_ROLE_MARKER = "# {mark} ESDR GATEWAY ROLE"
# OpenSearch's action group for the cluster:monitor/* actions (health, nodes, cluster state,
# GET /): https://opensearch.org/docs/latest/security/access-control/default-action-groups/
GATEWAY_CLUSTER_PERMISSIONS = ("cluster_monitor",)


def gateway_role_block(role: str) -> str:
    """The lines between the markers: role ``role`` (``esdr_gateway``) with ``cluster_monitor``
    and no index permission (esdr.gateway.cluster_user says why the gateway's login needs no
    more).
    Top-level YAML, so it reads the same appended after any of the plugin's roles."""
    return "\n".join([
        "# Managed by esdr (the INFINI Gateway own user): edits here are lost at the next deploy.",
        f"{json.dumps(role)}:",
        "  reserved: true",
        '  description: "INFINI Gateway: health checks and node reads only"',
        f"  cluster_permissions: {json.dumps(list(GATEWAY_CLUSTER_PERMISSIONS))}",
        "  index_permissions: []",
    ])
