"""One function per Elasticsearch endpoint the reconcilers and runbooks use. No decisions here.

Named after the API (``get_follower_info``, ``pause_follow``, ``put_cluster_settings``); a 404 is
a value (``None``), anything else raises ``elasticsearch.ApiError``. Clients come from
``esdr.es.connect.client_for`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from elasticsearch import Elasticsearch, NotFoundError

T = TypeVar("T")


def or_none(call: Callable[[], T]) -> T | None:
    """Not found is a value: ``None`` on 404 (a missing index, repository, policy, ...)."""
    try:
        return call()
    except NotFoundError:
        return None


def body(response: Any) -> Any:
    return getattr(response, "body", response)


# --- cluster ---------------------------------------------------------------------------------
def get_cluster_settings(es: Elasticsearch) -> dict[str, Any]:
    return body(es.cluster.get_settings(flat_settings=True))


def put_cluster_settings(es: Elasticsearch, persistent: dict[str, Any]) -> dict[str, Any]:
    return body(es.cluster.put_settings(persistent=persistent, flat_settings=True))


def get_remote_info(es: Elasticsearch) -> dict[str, Any]:
    return body(es.cluster.remote_info())


def get_cluster_health(es: Elasticsearch, timeout: str = "5s") -> dict[str, Any]:
    return body(es.cluster.health(timeout=timeout))


# --- licence and features --------------------------------------------------------------------
def get_license(es: Elasticsearch) -> dict[str, Any] | None:
    return or_none(lambda: body(es.license.get()))


def post_start_trial(es: Elasticsearch) -> dict[str, Any]:
    return body(es.license.post_start_trial(acknowledge=True))


def get_xpack_info(es: Elasticsearch) -> dict[str, Any] | None:
    return or_none(lambda: body(es.xpack.info(categories="features,license")))


# --- snapshot repositories and snapshots -----------------------------------------------------
def get_repository(es: Elasticsearch, name: str) -> dict[str, Any] | None:
    found = or_none(lambda: body(es.snapshot.get_repository(name=name)))
    return found.get(name) if found else None


def get_repositories(es: Elasticsearch) -> dict[str, Any]:
    return body(es.snapshot.get_repository())


def put_repository(es: Elasticsearch, name: str, type_: str, settings: dict[str, Any]) -> Any:
    return body(es.snapshot.create_repository(
        name=name, repository={"type": type_, "settings": settings}))


def delete_repository(es: Elasticsearch, name: str) -> Any:
    return or_none(lambda: body(es.snapshot.delete_repository(name=name)))


def verify_repository(es: Elasticsearch, name: str) -> dict[str, Any]:
    return body(es.snapshot.verify_repository(name=name))


def create_snapshot(es: Elasticsearch, repository: str, snapshot: str, indices: str) -> Any:
    return body(es.snapshot.create(repository=repository, snapshot=snapshot, indices=indices,
                                   include_global_state=False, wait_for_completion=True))


def restore_snapshot(es: Elasticsearch, repository: str, snapshot: str, indices: str) -> Any:
    return body(es.snapshot.restore(repository=repository, snapshot=snapshot, indices=indices,
                                    include_global_state=False, wait_for_completion=True))


# --- SLM -------------------------------------------------------------------------------------
def get_slm_policy(es: Elasticsearch, policy_id: str) -> dict[str, Any] | None:
    found = or_none(lambda: body(es.slm.get_lifecycle(policy_id=policy_id)))
    return found.get(policy_id) if found else None


def get_slm_policies(es: Elasticsearch) -> dict[str, Any]:
    return or_none(lambda: body(es.slm.get_lifecycle())) or {}


def put_slm_policy(es: Elasticsearch, policy_id: str, policy: dict[str, Any]) -> Any:
    return body(es.slm.put_lifecycle(policy_id=policy_id, **policy))


def delete_slm_policy(es: Elasticsearch, policy_id: str) -> Any:
    return or_none(lambda: body(es.slm.delete_lifecycle(policy_id=policy_id)))


def execute_slm_policy(es: Elasticsearch, policy_id: str) -> dict[str, Any]:
    return body(es.slm.execute_lifecycle(policy_id=policy_id))


def get_slm_stats(es: Elasticsearch) -> dict[str, Any]:
    return body(es.slm.get_stats())


def get_slm_status(es: Elasticsearch) -> dict[str, Any]:
    return body(es.slm.get_status())


# --- CCR -------------------------------------------------------------------------------------
def get_follower_info(es: Elasticsearch, index: str) -> dict[str, Any] | None:
    """The index's entry of ``GET /<index>/_ccr/info``; ``{}`` for a regular index."""
    found = or_none(lambda: body(es.ccr.follow_info(index=index)))
    if found is None:
        return None
    return next((f for f in found.get("follower_indices", []) if f["follower_index"] == index), {})


def follow(es: Elasticsearch, index: str, remote_cluster: str, leader_index: str) -> Any:
    return body(es.ccr.follow(index=index, remote_cluster=remote_cluster,
                              leader_index=leader_index, wait_for_active_shards="1"))


def pause_follow(es: Elasticsearch, index: str) -> Any:
    return body(es.ccr.pause_follow(index=index))


def resume_follow(es: Elasticsearch, index: str) -> Any:
    return body(es.ccr.resume_follow(index=index))


def unfollow(es: Elasticsearch, index: str) -> Any:
    return body(es.ccr.unfollow(index=index))


def get_follow_stats(es: Elasticsearch, index: str) -> dict[str, Any] | None:
    return or_none(lambda: body(es.ccr.follow_stats(index=index)))


def get_auto_follow_pattern(es: Elasticsearch, name: str) -> dict[str, Any] | None:
    found = or_none(lambda: body(es.ccr.get_auto_follow_pattern(name=name)))
    if not found:
        return None
    return next((p for p in found.get("patterns", []) if p["name"] == name), None)


def get_auto_follow_patterns(es: Elasticsearch) -> list[dict[str, Any]]:
    found = or_none(lambda: body(es.ccr.get_auto_follow_pattern()))
    return (found or {}).get("patterns", [])


def put_auto_follow_pattern(es: Elasticsearch, name: str, pattern: dict[str, Any]) -> Any:
    return body(es.ccr.put_auto_follow_pattern(name=name, **pattern))


def delete_auto_follow_pattern(es: Elasticsearch, name: str) -> Any:
    return or_none(lambda: body(es.ccr.delete_auto_follow_pattern(name=name)))


def pause_auto_follow_pattern(es: Elasticsearch, name: str) -> Any:
    return body(es.ccr.pause_auto_follow_pattern(name=name))


def resume_auto_follow_pattern(es: Elasticsearch, name: str) -> Any:
    return body(es.ccr.resume_auto_follow_pattern(name=name))


# --- indices and aliases ---------------------------------------------------------------------
def index_exists(es: Elasticsearch, index: str) -> bool:
    return bool(es.indices.exists(index=index))


def create_index(es: Elasticsearch, index: str) -> Any:
    return body(es.indices.create(index=index))


def close_index(es: Elasticsearch, index: str) -> Any:
    return body(es.indices.close(index=index))


def open_index(es: Elasticsearch, index: str) -> Any:
    return body(es.indices.open(index=index))


def delete_index(es: Elasticsearch, index: str) -> Any:
    return or_none(lambda: body(es.indices.delete(index=index)))


def count(es: Elasticsearch, index: str) -> int | None:
    found = or_none(lambda: body(es.count(index=index)))
    return None if found is None else int(found["count"])


def get_alias(es: Elasticsearch, name: str) -> dict[str, Any] | None:
    """``{index: {"aliases": {name: {...}}}}`` or ``None`` when no index has the alias."""
    return or_none(lambda: body(es.indices.get_alias(name=name)))


def update_aliases(es: Elasticsearch, actions: list[dict[str, Any]]) -> Any:
    return body(es.indices.update_aliases(actions=actions))


def get_document(es: Elasticsearch, index: str, doc_id: str) -> dict[str, Any] | None:
    return or_none(lambda: body(es.get(index=index, id=doc_id)))


def put_document(es: Elasticsearch, index: str, doc_id: str, document: dict[str, Any]) -> Any:
    return body(es.index(index=index, id=doc_id, document=document, refresh="wait_for"))


def get_ccr_stats(es: Elasticsearch) -> dict[str, Any]:
    return body(es.ccr.stats())


def resolve_remote(es: Elasticsearch, alias: str) -> dict[str, Any] | None:
    """``GET /_resolve/cluster/<alias>:*``: also makes the node (re)connect to that remote."""
    try:
        quick = es.options(request_timeout=15, max_retries=0)
        return body(quick.indices.resolve_cluster(name=f"{alias}:*", timeout="5s"))
    except Exception:  # an unreachable remote is reported by _remote/info, not here
        return None
