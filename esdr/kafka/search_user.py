"""Each pipeline's own user in the search clusters it feeds, when the estate gives the cluster
no credentials of its own (``SearchCluster.esdr_users``). Pure: names, the role's privileges
and the bodies the engines' security APIs take; ``esdr.reconcile.pipeline_user`` observes,
plans and applies them.

One role and one user per pipeline and cluster, both named after the pipeline id
(``esdr-<pipeline>-<cluster>``, the consumer group's name too), holding only what the pipeline
does to the cluster:

- on its target (the alias or index the estate names, and nothing else): create the index when
  it is missing, and write documents the way the pipeline's ``action`` does. Elasticsearch:
  ``index`` (index and update, for action ``index``) or ``create_doc`` (only new documents, for
  action ``create``), plus ``create_index``; never ``write``, which also grants delete
  (https://www.elastic.co/docs/reference/elasticsearch/security-privileges#privileges-list-indices).
  OpenSearch has no create-only group: its ``index`` and ``create_index`` action groups
  (https://docs.opensearch.org/latest/security/access-control/default-action-groups/);
- on the cluster: ``monitor`` / ``cluster_monitor`` (read-only: the Logstash output's health
  check and version probe, ``GET /``, need it), and on OpenSearch the bulk action itself, which
  the security plugin checks as a cluster permission (``indices:data/write/bulk``,
  https://docs.opensearch.org/latest/security/access-control/permissions/).

The password is generated once per user and kept in the estate's secrets directory
(``password_name``); it is never in a command line, a log or a plan line. Neither engine's API
returns a password, so the user carries an HMAC of it from the estate key
(``esdr.security.config.marker``) in its metadata (Elasticsearch) or attributes (OpenSearch):
a changed or newly generated password shows as drift, and the marker tells nothing without the
key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esdr.kafka.logstash import pipeline_id
from esdr.kafka.model import KafkaEstate

MARKER_FIELD = "esdr_password_marker"
MARKER_PURPOSE = "pipeline-user-password"
DESCRIPTION = "esdr: Kafka pipeline {ident} (writes to {target} only)"


@dataclass(frozen=True)
class PipelineUser:
    """What one pipeline's user in one search cluster must be."""

    ident: str  # the user's and the role's name: the pipeline id
    pipeline: str
    cluster: str  # the search cluster, as the estate's kafka section names it
    engine: str  # as the estate's kafka section says; the reconciler uses the cluster's own
    target: str  # the alias or index it writes to
    action: str  # "index" | "create"


def user_name(pipeline_name: str, cluster_name: str) -> str:
    return pipeline_id(pipeline_name, cluster_name)


def password_name(ident: str) -> str:
    """The password's file in the estate's secrets directory (0600, generated once)."""
    return f"pipeline-user-{ident}-password"


def role_body(engine: str, target: str, action: str, ident: str) -> dict[str, Any]:
    """The role as the engine's role API takes it (and, normalized, as it answers)."""
    description = DESCRIPTION.format(ident=ident, target=target)
    if engine == "opensearch":
        return {
            "description": description,
            "cluster_permissions": ["cluster_monitor", "indices:data/write/bulk"],
            "index_permissions": [{"index_patterns": [target],
                                   "allowed_actions": ["create_index", "index"]}],
        }
    write = "create_doc" if action == "create" else "index"
    return {
        "cluster": ["monitor"],
        "indices": [{"names": [target], "privileges": sorted(["create_index", write])}],
        "metadata": {"esdr": description},
    }


def user_body(engine: str, ident: str, role: str, password: str, marker: str
              ) -> dict[str, Any]:
    """The user as the engine's user API takes it: with its password (never shown)."""
    description = f"esdr: Kafka pipeline {ident}"
    if engine == "opensearch":
        return {"password": password, "opendistro_security_roles": [role],
                "backend_roles": [], "attributes": {MARKER_FIELD: marker},
                "description": description}
    return {"password": password, "roles": [role], "full_name": description,
            "metadata": {MARKER_FIELD: marker}, "enabled": True}


def wanted_user(role: str, marker: str | None) -> dict[str, Any]:
    """The user's observable shape (no password: ``marker`` stands for it; None when the
    password is not generated yet, so the user is drift until it is)."""
    return {"roles": [role], "marker": marker, "enabled": True}


def observed_role(engine: str, answer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The role's shape as the engine answers it, reduced to what ``role_body`` sets (the
    engines add defaults: empty lists, ``reserved``, ``allow_restricted_indices``, ...)."""
    if answer is None:
        return None
    if engine == "opensearch":
        return {
            "description": answer.get("description", ""),
            "cluster_permissions": sorted(answer.get("cluster_permissions") or []),
            "index_permissions": [
                {"index_patterns": sorted(p.get("index_patterns") or []),
                 "allowed_actions": sorted(p.get("allowed_actions") or [])}
                for p in answer.get("index_permissions") or []],
        }
    return {
        "cluster": sorted(answer.get("cluster") or []),
        "indices": [{"names": sorted(p.get("names") or []),
                     "privileges": sorted(p.get("privileges") or [])}
                    for p in answer.get("indices") or []],
        "metadata": {"esdr": (answer.get("metadata") or {}).get("esdr")},
    }


def normalized_role(engine: str, body: dict[str, Any]) -> dict[str, Any]:
    """``role_body`` in the order ``observed_role`` puts an answer."""
    found = observed_role(engine, body)
    assert found is not None
    return found


def observed_user(engine: str, answer: dict[str, Any] | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    if engine == "opensearch":
        return {"roles": sorted(answer.get("opendistro_security_roles") or []),
                "marker": (answer.get("attributes") or {}).get(MARKER_FIELD),
                "enabled": True}  # the plugin's internal users have no enabled flag
    return {"roles": sorted(answer.get("roles") or []),
            "marker": (answer.get("metadata") or {}).get(MARKER_FIELD),
            "enabled": bool(answer.get("enabled", True))}


def local_clusters(estate: KafkaEstate, names: set[str]) -> list[str]:
    """The search clusters of the estate that are this esdr cluster: named by its cluster name
    or its estate alias (``names``), as ``esdr status`` matches them."""
    return sorted(n for n in estate.search_clusters if n in names)


def pipeline_users(estate: KafkaEstate, clusters: list[str]) -> dict[str, PipelineUser]:
    """The users esdr keeps in ``clusters`` (those of them without credentials in the estate):
    one per pipeline feeding each, by name."""
    out = {}
    for cluster in clusters:
        target = estate.search_clusters[cluster]
        if not target.esdr_users:
            continue
        for name in estate.fed_by(cluster):
            pipeline = estate.pipelines[name]
            ident = user_name(name, cluster)
            out[ident] = PipelineUser(ident, name, cluster, target.engine, pipeline.target,
                                      pipeline.action)
    return out
