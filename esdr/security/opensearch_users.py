"""The OpenSearch security plugin's users and role mappings esdr owns, as the plugin's YAML files.

Pure. ``internal_users.yml`` holds bcrypt hashes, never passwords. A bcrypt hash is salted, so
hashing afresh on every run would change the file, restart nothing but reload the security
configuration on every deploy; the salt is derived from the estate's marker key instead, which
makes the file stable for a stable password and unpredictable to anyone without the key.
File formats: https://opensearch.org/docs/latest/security/configuration/yaml/
"""

from __future__ import annotations

import hashlib
import hmac
import json

import bcrypt

from esdr.security import config

BCRYPT_ROUNDS = 12  # the plugin's own hash tool's default
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _salt(marker_key: bytes, user: str) -> bytes:
    digest = hmac.new(marker_key, f"bcrypt-salt\0{user}".encode(), hashlib.sha256).digest()
    # 22 characters of bcrypt's base64 carry the 128-bit salt; the last one only 4 bits of it
    text = "".join(_BCRYPT_ALPHABET[b % 64] for b in digest[:21])
    text += _BCRYPT_ALPHABET[(digest[21] % 4) * 16]
    return f"$2b${BCRYPT_ROUNDS:02d}${text}".encode()


def password_hash(password: str, marker_key: bytes, user: str) -> str:
    return bcrypt.hashpw(password.encode(), _salt(marker_key, user)).decode()


def _yaml(meta_type: str, entries: dict[str, dict]) -> str:
    # JSON is YAML: every value reads back exactly, whatever characters a hash holds
    lines = ["---", "# Managed by esdr: edits here are overwritten on the next deploy.",
             "_meta:", f"  type: {json.dumps(meta_type)}", "  config_version: 2"]
    for name, entry in entries.items():
        lines.append(f"{json.dumps(name)}:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def internal_users_yml(admin_hash: str, replication_hash: str | None) -> str:
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
    return _yaml("internalusers", users)


def roles_mapping_yml(replication: bool) -> str:
    mappings: dict[str, dict] = {
        "all_access": {"reserved": True, "backend_roles": ["admin"]},
    }
    if replication:
        # Each cluster leads some indices and follows others (bi-directional, failback), so the
        # replication user holds both of the plugin's built-in roles everywhere.
        for role in (config.REPLICATION_LEADER_ROLE, config.REPLICATION_FOLLOWER_ROLE):
            mappings[role] = {"reserved": True, "users": [config.REPLICATION_USER]}
    return _yaml("rolesmapping", mappings)
