"""The gateway's own user on an Elasticsearch cluster, as file-realm files. Pure, no I/O.

What the gateway does with the user of ``gateway_clusters`` (vendored framework bd9f1dad,
``core/elastic/auth.go`` applies it to the framework's own cluster client only): its health
check (``GET /_cluster/health``), its metadata refresh (``GET /_nodes``, ``GET
/_cluster/state/version,master_node,routing_table,metadata/*``, ``GET /_alias``) and, unless
``version``/``distribution`` are pinned, the ``GET /`` probe at start. Every one of them but
``_alias`` is a ``cluster:monitor/*`` action, granted by the ``monitor`` cluster privilege.
The writes and reads it proxies never use it: INFINI's ``elasticsearch`` filter
(``proxy/output/elastic/reverseproxy.go``) adds no credentials, so each carries the
application's own, and the queued copy replayed into the other cluster carries them too
(README "Gateway tier"). So the role grants ``monitor`` and no index privilege: the gateway
can read the clusters' health and node list, and no document, mapping or setting of an index.
``GET /_alias`` is then refused (403) and the gateway keeps no alias table, which none of the
flows esdr renders reads (they route by path and method).

Elasticsearch's file realm (on by default when no realm is configured, as esdr configures
none) reads ``users`` (``name:bcrypt-hash``) and ``users_roles`` (``role:user,...``) from the
node's config directory, and the file roles store reads ``roles.yml`` there; all three are
watched and reloaded without a restart. They hold only what esdr defines: edits are
overwritten on the next deploy.
https://www.elastic.co/guide/en/elasticsearch/reference/current/file-realm.html
https://www.elastic.co/guide/en/elasticsearch/reference/current/defining-roles.html

The lab's Elasticsearch has no ``.security`` index (no ``analysis-common`` module), so no
native user: a file-realm user works there as on any node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import bcrypt

from esdr.security.keyed_bcrypt import keyed_hash

GATEWAY_USER = "esdr_gateway"  # the name group_data/prod.py's gateway_clusters already uses
GATEWAY_ROLE = "esdr_gateway"
CLUSTER_PRIVILEGES = ("monitor",)
# The estate's generated password of that user, in its secrets directory (esdr.security.store):
# every cluster of the estate gets the same one, so one reference serves both of the gateway's
# clusters: gateway_clusters' password = {"file": "<secrets dir>/gateway-password"}.
PASSWORD_FILE = "gateway-password"

# Elasticsearch resolves a hash by its prefix, and only "$2a$" means bcrypt (x-pack
# Hasher.resolveFromHash; any other prefix falls through to a plain-text comparison, which
# never matches). Cost 10 is its own default (BCRYPT_DEFAULT_COST, what elasticsearch-users
# writes); the cost is read from the hash, so another one would work as well.
BCRYPT_PREFIX = "2a"
BCRYPT_COST = 10

HEADER = "# Managed by esdr (the INFINI Gateway's own user): edits are lost at the next deploy."


@dataclass(frozen=True)
class FileRealmPaths:
    conf_dir: str

    @property
    def roles(self) -> str:
        return f"{self.conf_dir}/roles.yml"

    @property
    def users(self) -> str:
        return f"{self.conf_dir}/users"

    @property
    def users_roles(self) -> str:
        return f"{self.conf_dir}/users_roles"


def bcrypt_matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash
        return False


def password_hash(password: str, marker_key: bytes, user: str = GATEWAY_USER) -> str:
    """Salted from the estate's marker key (esdr.security.keyed_bcrypt): the same password
    writes the same ``users`` file on every run and every node, so the realm does not reload
    and the deploy does not say "changed" for nothing."""
    return keyed_hash(password, marker_key, f"es-file-realm-salt\0{user}", BCRYPT_PREFIX,
                      BCRYPT_COST)


def roles_yml() -> str:
    """The role: ``monitor`` and nothing else (the module docstring says why)."""
    # JSON is YAML: every value reads back exactly
    return "\n".join([
        HEADER,
        f"# {GATEWAY_ROLE}: health checks and node reads (GET /_cluster/health, /_nodes,",
        "# /_cluster/state); the traffic it proxies carries the applications' own credentials.",
        f"{json.dumps(GATEWAY_ROLE)}:",
        f"  cluster: {json.dumps(list(CLUSTER_PRIVILEGES))}",
        "  indices: []",
    ]) + "\n"


def users_file(hashed: str) -> str:
    """``users``: one ``name:hash`` line. A secret's hash: the deploy puts it 0640 root, group
    of the Elasticsearch user, and never shows its content."""
    if not hashed.startswith(f"${BCRYPT_PREFIX}$") or "\n" in hashed or ":" in hashed:
        raise ValueError("not a $2a$ bcrypt hash")
    return f"{HEADER}\n{GATEWAY_USER}:{hashed}\n"


def users_roles_file() -> str:
    return f"{HEADER}\n{GATEWAY_ROLE}:{GATEWAY_USER}\n"


def login(secrets_dir: str) -> dict[str, object]:
    """The ``username`` and ``password`` of a ``gateway_clusters`` entry that logs the gateway
    in as this user: the password by reference to the estate's generated file (which the
    Elasticsearch deploy creates, 0600, in the estate's secrets directory ``secrets_dir``)."""
    return {"username": GATEWAY_USER, "password": {"file": f"{secrets_dir}/{PASSWORD_FILE}"}}
