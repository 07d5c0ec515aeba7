"""One function per cluster endpoint the reconcilers and runbooks use. No decisions here.

Named after the API (``get_follower_info``, ``pause_follow``, ``put_cluster_settings``); a 404 is
a value (``None``), anything else raises the client library's error (``elasticsearch.ApiError``
or ``opensearchpy.TransportError``; ``API_ERRORS`` holds both). Clients come from
``esdr.es.connect.client_for`` only: an ``elasticsearch.Elasticsearch`` or an
``opensearchpy.OpenSearch``. Every function goes through ``request``, the one place that knows
how each library sends a request, so the generic endpoints (settings, health, repositories,
indices, aliases, documents) are written once for both engines. The engine-specific ones (CCR,
SLM, licence here; OpenSearch's replication plugin in ``esdr.replication.opensearch``) use the
same helper.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import elasticsearch
import opensearchpy
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

T = TypeVar("T")
Api = Elasticsearch | OpenSearch

NOT_FOUND = (elasticsearch.NotFoundError, opensearchpy.NotFoundError)
# What a cluster call can raise: an HTTP error answer, or no answer at all.
API_ERRORS = (elasticsearch.ApiError, elasticsearch.TransportError, opensearchpy.TransportError)


def is_opensearch(api: Api) -> bool:
    return isinstance(api, OpenSearch)


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an API error of either library (None: no answer, e.g. refused)."""
    if isinstance(error, elasticsearch.ApiError):
        return error.meta.status
    code = getattr(error, "status_code", None)
    return code if isinstance(code, int) else None


def describe(error: BaseException) -> str:
    """One line for an API error of either library: status, error type and the cluster's reason
    (opensearch-py's own text drops the reason when the answer has no ``root_cause``)."""
    answer = error.body if isinstance(error, elasticsearch.ApiError) else getattr(error, "info", None)
    found = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(found, dict) and found.get("reason"):
        return f"{status_of(error)} {found.get('type', 'error')}: {found['reason']}"
    if isinstance(found, str):
        return f"{status_of(error)}: {found}"
    return str(error)


def or_none(call: Callable[[], T]) -> T | None:
    """Not found is a value: ``None`` on 404 (a missing index, repository, policy, ...)."""
    try:
        return call()
    except NOT_FOUND:
        return None


def body(response: Any) -> Any:
    return getattr(response, "body", response)


def path(*parts: str) -> str:
    """``/a/b`` with each part escaped as the clients escape path parameters (``,`` and ``*``
    stay: they are list and wildcard syntax)."""
    return "/" + "/".join(quote(str(p), ",*") for p in parts)


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Query values as the REST layer reads them: ``true``/``false``, comma-joined lists
    (opensearch-py would send Python's ``True``)."""
    if not params:
        return None
    out = {}
    for key, value in params.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out


def request(
    api: Api,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    request_timeout: float | None = None,
) -> Any:
    """One request through the client's own transport (retries, node pool, TLS, auth).

    Returns the decoded JSON body (``True``/``False`` for HEAD). Raises the library's error for
    any non-2xx answer but HEAD 404.
    """
    query = _query(params)
    if is_opensearch(api):
        # opensearch-py takes the HTTP timeout from a `timeout` query parameter unless one is
        # given explicitly, so it always is (``_cluster/health?timeout=5s`` must stay a query).
        timeout = request_timeout or api.transport.kwargs.get("timeout") or 30
        return api.transport.perform_request(method, url, params=query, body=body,
                                             timeout=timeout)
    headers = {"accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
    target = api if request_timeout is None else api.options(request_timeout=request_timeout,
                                                                   max_retries=0)
    response = target.perform_request(method, url, params=query, headers=headers, body=body)
    return response.body


def exists(api: Api, url: str) -> bool:
    return bool(request(api, "HEAD", url))


# --- cluster ---------------------------------------------------------------------------------
def get_cluster_settings(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_cluster/settings", params={"flat_settings": True})


def put_cluster_settings(es: Api, persistent: dict[str, Any]) -> dict[str, Any]:
    return request(es, "PUT", "/_cluster/settings", params={"flat_settings": True},
                   body={"persistent": persistent})


def get_remote_info(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_remote/info")


def get_cluster_health(es: Api, timeout: str = "5s") -> dict[str, Any]:
    return request(es, "GET", "/_cluster/health", params={"timeout": timeout})


def get_node_plugins(es: Api) -> dict[str, Any]:
    """``GET _nodes/plugins``: every node with the plugins it loaded (a node without any is
    listed too, which ``_cat/plugins`` would leave out)."""
    return request(es, "GET", "/_nodes/plugins")


# --- licence and features (Elasticsearch) ----------------------------------------------------
def get_license(es: Api) -> dict[str, Any] | None:
    return or_none(lambda: request(es, "GET", "/_license"))


def post_start_trial(es: Api) -> dict[str, Any]:
    return request(es, "POST", "/_license/start_trial", params={"acknowledge": True})


def get_xpack_info(es: Api) -> dict[str, Any] | None:
    return or_none(lambda: request(es, "GET", "/_xpack",
                                   params={"categories": "features,license"}))


# --- snapshot repositories and snapshots -----------------------------------------------------
def get_repository(es: Api, name: str) -> dict[str, Any] | None:
    found = or_none(lambda: request(es, "GET", path("_snapshot", name)))
    return found.get(name) if found else None


def get_repositories(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_snapshot")


def put_repository(es: Api, name: str, type_: str, settings: dict[str, Any]) -> Any:
    return request(es, "PUT", path("_snapshot", name), body={"type": type_, "settings": settings})


def delete_repository(es: Api, name: str) -> Any:
    return or_none(lambda: request(es, "DELETE", path("_snapshot", name)))


def verify_repository(es: Api, name: str) -> dict[str, Any]:
    return request(es, "POST", path("_snapshot", name, "_verify"))


def create_snapshot(es: Api, repository: str, snapshot: str, indices: str) -> Any:
    return request(es, "PUT", path("_snapshot", repository, snapshot),
                   params={"wait_for_completion": True},
                   body={"indices": indices, "include_global_state": False})


def restore_snapshot(es: Api, repository: str, snapshot: str, indices: str) -> Any:
    return request(es, "POST", path("_snapshot", repository, snapshot, "_restore"),
                   params={"wait_for_completion": True},
                   body={"indices": indices, "include_global_state": False})


# --- SLM (Elasticsearch) ---------------------------------------------------------------------
def get_slm_policy(es: Api, policy_id: str) -> dict[str, Any] | None:
    found = or_none(lambda: request(es, "GET", path("_slm", "policy", policy_id)))
    return found.get(policy_id) if found else None


def get_slm_policies(es: Api) -> dict[str, Any]:
    return or_none(lambda: request(es, "GET", "/_slm/policy")) or {}


def put_slm_policy(es: Api, policy_id: str, policy: dict[str, Any]) -> Any:
    return request(es, "PUT", path("_slm", "policy", policy_id), body=policy)


def delete_slm_policy(es: Api, policy_id: str) -> Any:
    return or_none(lambda: request(es, "DELETE", path("_slm", "policy", policy_id)))


def execute_slm_policy(es: Api, policy_id: str) -> dict[str, Any]:
    return request(es, "PUT", path("_slm", "policy", policy_id, "_execute"))


def get_slm_stats(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_slm/stats")


def get_slm_status(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_slm/status")


# --- CCR (Elasticsearch) ---------------------------------------------------------------------
def get_follower_info(es: Api, index: str) -> dict[str, Any] | None:
    """The index's entry of ``GET /<index>/_ccr/info``; ``{}`` for a regular index."""
    found = or_none(lambda: request(es, "GET", path(index, "_ccr", "info")))
    if found is None:
        return None
    return next((f for f in found.get("follower_indices", []) if f["follower_index"] == index), {})


def get_all_follower_info(es: Api) -> dict[str, dict[str, Any]]:
    """follower index -> its entry, from one ``GET /_all/_ccr/info``; ``{}`` when the cluster
    has no index at all (404)."""
    found = or_none(lambda: request(es, "GET", "/_all/_ccr/info")) or {}
    return {f["follower_index"]: f for f in found.get("follower_indices", [])}


def follow(es: Api, index: str, remote_cluster: str, leader_index: str) -> Any:
    return request(es, "PUT", path(index, "_ccr", "follow"),
                   params={"wait_for_active_shards": "1"},
                   body={"remote_cluster": remote_cluster, "leader_index": leader_index})


def pause_follow(es: Api, index: str) -> Any:
    return request(es, "POST", path(index, "_ccr", "pause_follow"))


def resume_follow(es: Api, index: str) -> Any:
    return request(es, "POST", path(index, "_ccr", "resume_follow"))


def unfollow(es: Api, index: str) -> Any:
    return request(es, "POST", path(index, "_ccr", "unfollow"))


def get_follow_stats(es: Api, index: str) -> dict[str, Any] | None:
    return or_none(lambda: request(es, "GET", path(index, "_ccr", "stats")))


def get_auto_follow_pattern(es: Api, name: str) -> dict[str, Any] | None:
    found = or_none(lambda: request(es, "GET", path("_ccr", "auto_follow", name)))
    if not found:
        return None
    return next((p for p in found.get("patterns", []) if p["name"] == name), None)


def get_auto_follow_patterns(es: Api) -> list[dict[str, Any]]:
    found = or_none(lambda: request(es, "GET", "/_ccr/auto_follow"))
    return (found or {}).get("patterns", [])


def put_auto_follow_pattern(es: Api, name: str, pattern: dict[str, Any]) -> Any:
    return request(es, "PUT", path("_ccr", "auto_follow", name), body=dict(pattern))


def delete_auto_follow_pattern(es: Api, name: str) -> Any:
    return or_none(lambda: request(es, "DELETE", path("_ccr", "auto_follow", name)))


def pause_auto_follow_pattern(es: Api, name: str) -> Any:
    return request(es, "POST", path("_ccr", "auto_follow", name, "pause"))


def resume_auto_follow_pattern(es: Api, name: str) -> Any:
    return request(es, "POST", path("_ccr", "auto_follow", name, "resume"))


def get_ccr_stats(es: Api) -> dict[str, Any]:
    return request(es, "GET", "/_ccr/stats")


# --- indices and aliases ---------------------------------------------------------------------
def index_exists(es: Api, index: str) -> bool:
    return exists(es, path(index))


def create_index(es: Api, index: str, settings: dict[str, Any] | None = None,
                 mappings: dict[str, Any] | None = None, *, exist_ok: bool = False) -> Any:
    """``PUT /<index>``; ``exist_ok``: an index that already exists is no error (a create that
    timed out is retried by the client and then finds its own index; a rerun finds the one an
    interrupted run made)."""
    body = {key: value for key, value in (("settings", settings), ("mappings", mappings))
            if value}
    try:
        return request(es, "PUT", path(index), body=body or None)
    except API_ERRORS as error:
        if exist_ok and "resource_already_exists_exception" in str(error):
            return None
        raise


def close_index(es: Api, index: str) -> Any:
    return request(es, "POST", path(index, "_close"))


def open_index(es: Api, index: str) -> Any:
    return request(es, "POST", path(index, "_open"))


def delete_index(es: Api, index: str) -> Any:
    return or_none(lambda: request(es, "DELETE", path(index)))


def count(es: Api, index: str) -> int | None:
    found = or_none(lambda: request(es, "POST", path(index, "_count")))
    return None if found is None else int(found["count"])


def refresh(es: Api, index: str) -> Any:
    return or_none(lambda: request(es, "POST", path(index, "_refresh")))


def get_alias(es: Api, name: str) -> dict[str, Any] | None:
    """``{index: {"aliases": {name: {...}}}}`` or ``None`` when no index has the alias."""
    return or_none(lambda: request(es, "GET", path("_alias", name)))


def get_aliases(es: Api) -> dict[str, Any]:
    """``GET /_alias``: every index with its aliases (``{"aliases": {}}`` for one without), so
    one read serves every alias and the existence of every index it lists."""
    return request(es, "GET", "/_alias")


def update_aliases(es: Api, actions: list[dict[str, Any]]) -> Any:
    return request(es, "POST", "/_aliases", body={"actions": actions})


def get_document(es: Api, index: str, doc_id: str) -> dict[str, Any] | None:
    return or_none(lambda: request(es, "GET", path(index, "_doc", doc_id)))


def put_document(es: Api, index: str, doc_id: str, document: dict[str, Any], *,
                 wait_for_refresh: bool = True) -> Any:
    """``wait_for_refresh=False``: answer without waiting for a refresh (a GET by id is
    real-time, so a document read back by id needs none; runbooks that write while writes are
    blocked)."""
    return request(es, "PUT", path(index, "_doc", doc_id),
                   params={"refresh": "wait_for"} if wait_for_refresh else None, body=document)


def resolve_remote(es: Api, alias: str, timeout: float = 5) -> dict[str, Any] | None:
    """Resolve ``<alias>:*``: also makes the node (re)connect to that remote.

    Elasticsearch: ``GET /_resolve/cluster/<alias>:*``; OpenSearch has no ``_resolve/cluster``
    (it forked before 8.13) and resolves the remote's indices instead:
    ``GET /_resolve/index/<alias>:*``
    (https://opensearch.org/docs/latest/api-reference/index-apis/resolve-index/).
    ``timeout``: seconds the node may spend on the remote (Elasticsearch's ``timeout``
    parameter); the request itself is bounded a little above it.
    """
    waited = max(1, round(timeout))
    try:
        if is_opensearch(es):
            return request(es, "GET", path("_resolve", "index", f"{alias}:*"),
                           request_timeout=waited + 10)
        return request(es, "GET", path("_resolve", "cluster", f"{alias}:*"),
                       params={"timeout": f"{waited}s"}, request_timeout=waited + 10)
    except Exception:  # an unreachable remote is reported by _remote/info, not here
        return None


# --- index write block and shard checkpoints (esdr switchover) ---------------------------------
def add_write_block(es: Api, index: str) -> dict[str, Any]:
    """``PUT /<index>/_block/write``: the add-index-block API waits for the writes in flight on
    every shard before it answers, so once acknowledged no new operation reaches the index
    (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-add-block,
    https://www.elastic.co/guide/en/elasticsearch/reference/current/index-modules-blocks.html;
    OpenSearch: https://docs.opensearch.org/latest/api-reference/index-apis/blocks/)."""
    return request(es, "PUT", path(index, "_block", "write"))


def remove_write_block(es: Api, index: str) -> Any:
    """``PUT /<index>/_settings {"index.blocks.write": null}``: back to the default (writable),
    https://www.elastic.co/guide/en/elasticsearch/reference/current/index-modules-blocks.html."""
    return request(es, "PUT", path(index, "_settings"), body={"index.blocks.write": None})


def get_index_setting(es: Api, index: str, name: str) -> Any:
    """One index setting as set on the index (flat name), None when unset or no such index."""
    found = or_none(lambda: request(es, "GET", path(index, "_settings", name),
                                    params={"flat_settings": True}))
    return ((found or {}).get(index) or {}).get("settings", {}).get(name)


def get_shard_stats(es: Api, index: str) -> dict[str, Any]:
    """``GET /<index>/_stats?level=shards``: every shard copy with its ``routing.primary`` and
    ``seq_no`` (``max_seq_no``, ``local_checkpoint``, ``global_checkpoint``),
    https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-stats.html."""
    return request(es, "GET", path(index, "_stats"), params={"level": "shards"})


# --- reading an index back and writing documents create-only (esdr failback's salvage) -------
def get_mapping(es: Api, index: str) -> dict[str, Any] | None:
    """The index's ``mappings`` (``GET /<index>/_mapping``), None when there is no such index."""
    found = or_none(lambda: request(es, "GET", path(index, "_mapping")))
    return None if found is None else (found.get(index) or {}).get("mappings") or {}


def open_scroll(es: Api, index: str, query: dict[str, Any], *, shard: int | None = None,
                size: int = 1000, keep: str = "2m") -> dict[str, Any]:
    """First page of a scroll over ``index`` in index order, each hit with ``_seq_no`` and
    ``_primary_term``; ``shard``: that shard only (``preference=_shards:<n>``,
    https://opensearch.org/docs/latest/api-reference/search/ and
    https://www.elastic.co/guide/en/elasticsearch/reference/current/search-shard-routing.html)."""
    params: dict[str, Any] = {"scroll": keep}
    if shard is not None:
        params["preference"] = f"_shards:{shard}"
    return request(es, "POST", path(index, "_search"), params=params,
                   body={"size": size, "sort": ["_doc"], "seq_no_primary_term": True,
                         "query": query})


def next_scroll(es: Api, scroll_id: str, keep: str = "2m") -> dict[str, Any]:
    return request(es, "POST", "/_search/scroll", body={"scroll": keep, "scroll_id": scroll_id})


def clear_scroll(es: Api, scroll_id: str) -> Any:
    return or_none(lambda: request(es, "DELETE", "/_search/scroll",
                                   body={"scroll_id": [scroll_id]}))


def mget(es: Api, index: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST /<index>/_mget`` (real-time: no refresh needed); ``docs``: ``{"_id", "routing"?}``."""
    return request(es, "POST", path(index, "_mget"), body={"docs": docs}).get("docs", [])


def bulk(es: Api, lines: list[dict[str, Any]], refresh: bool = False) -> dict[str, Any]:
    """``POST /_bulk`` with action and source lines (NDJSON, a newline after the last; both
    clients pass a ready string body through their JSON serializer unchanged)."""
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return request(es, "POST", "/_bulk", params={"refresh": "true"} if refresh else None,
                   body=text)


# --- security: roles and users (the pipelines' own users, esdr.reconcile.pipeline_user) ---------
# Elasticsearch's native realm (https://www.elastic.co/docs/api/doc/elasticsearch/group/
# endpoint-security: PUT/GET/DELETE _security/role/<name>, _security/user/<name>) and the
# OpenSearch security plugin's REST API (https://docs.opensearch.org/latest/security/
# access-control/api/: _plugins/_security/api/roles/<name>, internalusers/<name>).
def _security_path(api: Api, kind: str, name: str) -> str:
    if is_opensearch(api):
        return path("_plugins", "_security", "api",
                    {"role": "roles", "user": "internalusers"}[kind], name)
    return path("_security", kind, name)


def get_security_object(api: Api, kind: str, name: str) -> dict[str, Any] | None:
    """Role or user ``name`` (``kind`` "role" or "user") as the engine answers it; None when
    there is none. Both engines answer ``{name: {...}}`` (Elasticsearch a bare ``{}`` with its
    404)."""
    found = or_none(lambda: request(api, "GET", _security_path(api, kind, name)))
    if not isinstance(found, dict):
        return None
    entry = found.get(name)
    return entry if isinstance(entry, dict) else None


def put_security_object(api: Api, kind: str, name: str, content: dict[str, Any]) -> Any:
    """Create or replace role or user ``name``; for a user ``content`` holds the password: it
    goes in the request body only, which esdr never prints."""
    return request(api, "PUT", _security_path(api, kind, name), body=content)


def delete_security_object(api: Api, kind: str, name: str) -> Any:
    return or_none(lambda: request(api, "DELETE", _security_path(api, kind, name)))
