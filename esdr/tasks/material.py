"""The security material the controller prepares once per run for a cluster.

Its own module because two others hold it: ``esdr.tasks.security`` makes it and
``esdr.tasks.context`` keeps it for the run; neither has to import the other for the type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from esdr.security import certs, store
from esdr.security.refs import Secret


@dataclass(frozen=True)
class Material:
    """What the controller prepared once per run for every node of the cluster."""

    certificates: certs.Certificates
    password: Secret  # the superuser's: elastic, or OpenSearch's admin
    marker_key: bytes
    admin_cert: tuple[bytes, bytes] | None = None  # OpenSearch: (cert, key) for securityadmin
    replication_password: Secret | None = None  # OpenSearch: the replication user's
    gateway_password: Secret | None = None  # the gateway's own user's (file realm / internal user)
    # What the secrets directory still lacks (new CA, certificates, marker key): written by
    # ``secrets_stored`` when the deploy executes, never while it is prepared or under --dry.
    staged: store.Staged = field(default_factory=store.Staged)
