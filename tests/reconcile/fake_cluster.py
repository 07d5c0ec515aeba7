"""A stateful in-memory cluster on the wire, for both engines.

Every urllib3 request (elasticsearch-py's ``Urllib3HttpNode`` and opensearch-py's
``Urllib3HttpConnection`` both end in ``HTTPConnectionPool.urlopen``) is answered here, so the
clients are the real ones built by ``esdr.es.connect.client_for`` (paths, query strings, JSON,
404 -> ``NotFoundError``). A request to an address no fake owns fails the test: nothing leaves
the process. A write changes what the next read returns.

Bodies follow the engines' API references: Elastic's (cluster-update-settings, remote-info,
put/get/verify snapshot repository, slm-api-put/get-policy, ccr-put-follow,
ccr-get-follow-info, ccr-post-pause/resume-follow, ccr-post-unfollow, ccr-put/get/delete
auto-follow-pattern, get-license, start-trial, indices-aliases, get-alias, docs-index/get) and
OpenSearch's replication plugin (``_start``, ``_status``, ``_pause``/``_resume``/``_stop``,
``_autofollow``, ``autofollow_stats``, ``_nodes/plugins``).
"""

from __future__ import annotations

import copy
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import urllib3
from urllib3 import HTTPResponse

ACK = {"acknowledged": True}
R = "/_plugins/_replication"
OS_PLUGIN = "opensearch-cross-cluster-replication"


class Answer(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status, self.body = status, body


def error(status: int, kind: str, reason: str) -> Answer:
    return Answer(status, {"error": {"root_cause": [{"type": kind, "reason": reason}],
                                     "type": kind, "reason": reason}, "status": status})


def _stored(value: Any) -> Any:
    """Settings as the cluster keeps them: strings, lists of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    return str(value)


@dataclass
class Index:
    settings: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    follow: dict[str, Any] | None = None  # {"remote_cluster", "leader_index", "status"}
    closed: bool = False
    docs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    host: str

    @property
    def write(self) -> bool:
        return self.method not in ("GET", "HEAD") and not self.path.endswith(
            ("/_count", "/_refresh"))

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class FakeCluster:
    """One cluster: what it holds, and every request it saw (``requests``)."""

    def __init__(self, engine: str = "elasticsearch", licence: str = "platinum",
                 modules: tuple[str, ...] = ("ccr", "slm"), name: str = "fake"):
        self.engine = engine
        self.name = name
        self.licence = licence
        self.modules = set(modules)
        self.persistent: dict[str, Any] = {}
        self.repositories: dict[str, dict[str, Any]] = {}
        self.slm: dict[str, dict[str, Any]] = {}
        self.indices: dict[str, Index] = {}
        self.auto_follow: dict[str, dict[str, Any]] = {}
        self.unreachable: set[str] = set()  # remote aliases whose connection is down
        self.ignore: list[tuple[str, str]] = []  # (method, path regex): acknowledged, not done
        self.requests: list[Request] = []
        # the security APIs' roles and users: name -> what a GET answers under that name
        self.roles: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.passwords: dict[str, str] = {}  # user -> password last set (never answered)

    # --- what the tests read ------------------------------------------------------------------
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.write]

    def registry(self) -> dict[str, Any] | None:
        index = self.indices.get("esdr-managed")
        return None if index is None else index.docs.get("registry")

    # --- the wire -----------------------------------------------------------------------------
    def answer(self, method: str, url: str, body: bytes | None, host: str) -> tuple[int, Any]:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        sent = json.loads(body) if body else None
        self.requests.append(Request(method, parts.path, query, sent, host))
        segs = [unquote(s) for s in parts.path.strip("/").split("/") if s]
        try:
            if any(m == method and re.fullmatch(p, parts.path) for m, p in self.ignore):
                return 200, ACK
            return 200, self.route(method, segs, query, sent)
        except Answer as a:
            return a.status, a.body

    def route(self, method: str, s: list[str], query: dict, body: Any) -> Any:  # noqa: C901
        key = (method, *s)
        if s == ["_cluster", "settings"]:
            if method == "GET":
                return {"persistent": dict(self.persistent), "transient": {}}
            return self.put_settings(body.get("persistent", {}))
        if key == ("GET", "_remote", "info"):
            return self.remote_info()
        if s[:1] == ["_resolve"]:
            return {"indices": [], "aliases": [], "data_streams": []}
        if key == ("GET", "_cluster", "state", "metadata"):
            return self.tasks()
        if s[:1] == ["_license"] or s[:1] == ["_xpack"]:
            return self.licence_api(method, s)
        if key == ("GET", "_nodes", "plugins"):
            plugins = [{"name": OS_PLUGIN, "version": "2.19.4.0"}]
            return {"_nodes": {"total": 1, "successful": 1, "failed": 0},
                    "cluster_name": self.name,
                    "nodes": {"nodeid1": {"name": "n1", "plugins": plugins}}}
        if s[:1] == ["_security"] and len(s) == 3 and s[1] in ("role", "user"):
            return self.security_api(method, s[1], s[2], body)
        if s[:3] == ["_plugins", "_security", "api"] and len(s) == 5:
            kind = {"roles": "role", "internalusers": "user"}.get(s[3])
            if kind is not None:
                return self.security_api(method, kind, s[4], body)
        if s[:1] == ["_snapshot"]:
            return self.snapshot_api(method, s[1:], body)
        if s[:1] == ["_slm"]:
            return self.slm_api(method, s[1:], body)
        if s[:1] == ["_ccr"]:
            return self.ccr_api(method, s[1:], body)
        if key == ("GET", "_all", "_ccr", "info"):
            self._module("ccr")
            return {"follower_indices": [self.follow_entry(n, i)
                                         for n, i in sorted(self.indices.items())
                                         if i.follow is not None]}
        if s[:2] == ["_plugins", "_replication"]:
            return self.os_replication(method, s[2:], body)
        if key == ("POST", "_aliases"):
            return self.update_aliases(body["actions"])
        if s == ["_alias"] and method == "GET":
            return self.all_aliases()
        if s[:1] == ["_alias"] and method == "GET":
            return self.get_alias(s[1])
        if s and not s[0].startswith("_"):
            return self.index_api(method, s[0], s[1:], body)
        raise error(400, "illegal_argument_exception",
                    f"no handler found for uri [/{'/'.join(s)}] and method [{method}]")

    # --- security: roles and users --------------------------------------------------------------
    def security_api(self, method: str, kind: str, name: str, body: Any) -> Any:
        """Elasticsearch's _security/role|user and OpenSearch's security plugin
        roles|internalusers, answered as their references show: a GET is ``{name: {...}}``
        with the engine's own defaults added, never a password; a missing one is 404."""
        store = self.roles if kind == "role" else self.users
        os_ = self.engine == "opensearch"
        if method == "GET":
            if name not in store:
                if os_:
                    raise Answer(404, {"status": "NOT_FOUND",
                                       "message": f"Resource '{name}' not found."})
                raise Answer(404, {})
            return {name: copy.deepcopy(store[name])}
        if method == "DELETE":
            if name not in store:
                raise Answer(404, {"status": "NOT_FOUND", "message": "not found"} if os_
                             else {"found": False})
            del store[name]
            return {"status": "OK", "message": f"'{name}' deleted."} if os_ else {"found": True}
        if method == "PUT":
            created = name not in store
            entry = dict(body)
            if kind == "user":
                password = entry.pop("password", None)
                if password is None and created:
                    raise error(400, "action_request_validation_exception",
                                "Validation Failed: 1: password must be specified;")
                if password is not None:
                    self.passwords[name] = password
            if os_:
                entry.setdefault("reserved", False)
                entry.setdefault("hidden", False)
                entry.setdefault("static", False)
                if kind == "role":
                    entry["index_permissions"] = [
                        {"fls": [], "masked_fields": [], **p}
                        for p in entry.get("index_permissions", [])]
                    entry.setdefault("tenant_permissions", [])
                else:
                    entry["hash"] = ""
                store[name] = entry
                return {"status": "CREATED" if created else "OK",
                        "message": f"'{name}' {'created' if created else 'updated'}."}
            if kind == "role":
                entry["indices"] = [{**p, "allow_restricted_indices": False}
                                    for p in entry.get("indices", [])]
                entry.setdefault("applications", [])
                entry.setdefault("run_as", [])
                entry.setdefault("transient_metadata", {"enabled": True})
                store[name] = entry
                return {"role": {"created": created}}
            entry = {"username": name, "email": None, **entry}
            store[name] = entry
            return {"created": created}
        raise error(405, "method_not_allowed", method)

    # --- cluster settings and remotes ---------------------------------------------------------
    def put_settings(self, persistent: dict[str, Any]) -> Any:
        for k, v in persistent.items():
            if v is None:
                self.persistent.pop(k, None)
            else:
                self.persistent[k] = _stored(v)
        return {"acknowledged": True, "persistent": _stored(
            {k: v for k, v in persistent.items() if v is not None}), "transient": {}}

    def remotes(self) -> set[str]:
        return {k.split(".")[2] for k in self.persistent if k.startswith("cluster.remote.")}

    def remote_info(self) -> dict[str, Any]:
        out = {}
        for alias in sorted(self.remotes()):
            get = lambda k, a=alias: self.persistent.get(f"cluster.remote.{a}.{k}")  # noqa: E731
            connected = alias not in self.unreachable
            mode = get("mode") or "sniff"
            entry = {"connected": connected, "mode": mode,
                     "initial_connect_timeout": "30s",
                     "skip_unavailable": get("skip_unavailable") == "true"}
            if mode == "proxy":
                entry.update({"proxy_address": get("proxy_address"),
                              "num_proxy_sockets_connected": 18 if connected else 0,
                              "max_proxy_socket_connections": 18})
            else:
                entry.update({"seeds": get("seeds") or [],
                              "num_nodes_connected": 1 if connected else 0,
                              "max_connections_per_cluster": 3})
            out[alias] = entry
        return out

    def need_remote(self, alias: str) -> None:
        if alias not in self.remotes():
            raise error(404, "no_such_remote_cluster_exception",
                        f"no such remote cluster: [{alias}]")

    # --- licence (Elasticsearch) --------------------------------------------------------------
    def licence_api(self, method: str, s: list[str]) -> Any:
        if self.engine != "elasticsearch":
            raise error(400, "illegal_argument_exception", "no handler found for uri")
        if s == ["_license", "start_trial"] and method == "POST":
            self.licence = "trial"
            return {"acknowledged": True, "trial_was_started": True, "type": "trial"}
        if s == ["_license"] and method == "GET":
            return {"license": {"status": "active", "uid": "cbff45e7-c553-41f7-ae4f-9205eabd80xx",
                                "type": self.licence, "issue_date_in_millis": 1411948800000,
                                "issued_to": "test", "issuer": "elasticsearch",
                                "max_nodes": 1, "start_date_in_millis": -1}}
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    def _module(self, feature: str) -> None:
        if feature not in self.modules or self.engine != "elasticsearch":
            raise error(400, "illegal_argument_exception",
                        f"no handler found for uri [/_{feature}] and method [GET]")

    # --- snapshot repositories ----------------------------------------------------------------
    def snapshot_api(self, method: str, s: list[str], body: Any) -> Any:
        if not s and method == "GET":
            return copy.deepcopy(self.repositories)
        name = s[0]
        if len(s) == 1 and method == "PUT":
            self.repositories[name] = {"type": body["type"], "settings": _stored(body["settings"])}
            return ACK
        if name not in self.repositories:
            raise error(404, "repository_missing_exception", f"[{name}] missing")
        if len(s) == 1 and method == "GET":
            return {name: copy.deepcopy(self.repositories[name])}
        if len(s) == 1 and method == "DELETE":
            del self.repositories[name]
            return ACK
        if s[1:] == ["_verify"] and method == "POST":
            return {"nodes": {"nodeid1": {"name": "n1"}}}
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    # --- SLM ----------------------------------------------------------------------------------
    def slm_api(self, method: str, s: list[str], body: Any) -> Any:
        self._module("slm")
        if s == ["status"]:
            return {"operation_mode": "RUNNING"}
        if s == ["policy"] and method == "GET":
            return {pid: {"version": 1, "modified_date_millis": 1, "policy": copy.deepcopy(p),
                          "next_execution_millis": 2, "stats": {}}
                    for pid, p in self.slm.items()}
        if s[:1] == ["policy"] and len(s) == 2:
            pid = s[1]
            if method == "PUT":
                self.slm[pid] = copy.deepcopy(body)
                return ACK
            if pid not in self.slm:
                raise error(404, "resource_not_found_exception",
                            f"snapshot lifecycle policy or policies [{pid}] not found")
            if method == "DELETE":
                del self.slm[pid]
                return ACK
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    # --- CCR (Elasticsearch) ------------------------------------------------------------------
    def ccr_api(self, method: str, s: list[str], body: Any) -> Any:
        self._module("ccr")
        if s == ["stats"]:
            return {"auto_follow_stats": {"number_of_failed_follow_indices": 0,
                                          "number_of_failed_remote_cluster_state_requests": 0,
                                          "number_of_successful_follow_indices": 0,
                                          "recent_auto_follow_errors": [],
                                          "auto_followed_clusters": []},
                    "follow_stats": {"indices": []}}
        if s == ["auto_follow"] and method == "GET":
            return {"patterns": [{"name": n, "pattern": copy.deepcopy(p)}
                                 for n, p in sorted(self.auto_follow.items())]}
        if s[:1] == ["auto_follow"]:
            name = s[1]
            if len(s) == 2 and method == "PUT":
                self.need_remote(body["remote_cluster"])
                self.auto_follow[name] = {"active": True, "leader_index_exclusion_patterns": [],
                                          **copy.deepcopy(body)}
                return ACK
            if name not in self.auto_follow:
                raise error(404, "resource_not_found_exception",
                            f"auto-follow pattern [{name}] is missing")
            if len(s) == 2 and method == "DELETE":
                del self.auto_follow[name]
                return ACK
            if s[2:] in (["pause"], ["resume"]) and method == "POST":
                self.auto_follow[name]["active"] = s[2] == "resume"
                return ACK
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    @staticmethod
    def follow_entry(name: str, index: "Index") -> dict[str, Any]:
        """One index's entry of ``GET /<index>/_ccr/info``."""
        entry = {"follower_index": name, **index.follow}
        if index.follow["status"] == "active":
            entry["parameters"] = {"max_read_request_operation_count": 5120,
                                   "read_poll_timeout": "1m"}
        return entry

    def follow_api(self, method: str, name: str, action: str, body: Any) -> Any:
        self._module("ccr")
        index = self.indices.get(name)
        if action == "follow" and method == "PUT":
            if index is not None:
                raise error(400, "resource_already_exists_exception",
                            f"index [{name}/uuid] already exists")
            self.need_remote(body["remote_cluster"])
            self.indices[name] = Index(follow={"remote_cluster": body["remote_cluster"],
                                               "leader_index": body["leader_index"],
                                               "status": "active"})
            return {"follow_index_created": True, "follow_index_shards_acked": True,
                    "index_following_started": True}
        if index is None:
            raise error(404, "index_not_found_exception", f"no such index [{name}]")
        if action == "info" and method == "GET":
            if index.follow is None:
                return {"follower_indices": []}
            return {"follower_indices": [self.follow_entry(name, index)]}
        if index.follow is None and action in ("pause_follow", "resume_follow", "unfollow"):
            raise error(400, "illegal_argument_exception", f"follow index [{name}] does not exist")
        if action == "pause_follow":
            if index.follow["status"] != "active":
                raise error(400, "illegal_argument_exception",
                            f"no shard follow tasks for [{name}]")
            index.follow["status"] = "paused"
            return ACK
        if action == "resume_follow":
            index.follow["status"] = "active"
            return ACK
        if action == "unfollow":
            if index.follow["status"] != "paused" or not index.closed:
                raise error(400, "illegal_argument_exception",
                            f"cannot convert the follower index [{name}] to a non-follower, "
                            "because it has not been paused and closed")
            index.follow = None
            return ACK
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    # --- OpenSearch replication plugin ----------------------------------------------------------
    def os_replication(self, method: str, s: list[str], body: Any) -> Any:
        if self.engine != "opensearch":
            raise error(400, "illegal_argument_exception", "no handler found for uri")
        if s == ["_autofollow"]:
            name = body["name"]
            if method == "POST":
                if name in self.auto_follow:
                    raise error(400, "resource_already_exists_exception",
                                f"autofollow:{body['leader_alias']}:{name} already exists")
                self.need_remote(body["leader_alias"])
                self.auto_follow[name] = {"remote_cluster": body["leader_alias"],
                                          "pattern": body["pattern"]}
                return ACK
            if method == "DELETE":
                if name not in self.auto_follow:
                    raise error(404, "resource_not_found_exception", f"rule {name} not found")
                del self.auto_follow[name]
                return ACK
        if s == ["autofollow_stats"]:
            return {"num_success_start_replication": 0, "num_failed_start_replication": 0,
                    "num_failed_leader_calls": 0, "failed_indices": [],
                    "autofollow_stats": [
                        {"name": n, "pattern": r["pattern"], "num_success_start_replication": 0,
                         "num_failed_start_replication": 0, "num_failed_leader_calls": 0,
                         "failed_indices": []} for n, r in sorted(self.auto_follow.items())]}
        if len(s) == 2:
            name, action = s
            index = self.indices.get(name)
            if action == "_status" and method == "GET":
                if index is None or index.follow is None:
                    return {"status": "REPLICATION NOT IN PROGRESS"}
                state = {"active": "SYNCING", "paused": "PAUSED"}[index.follow["status"]]
                return {"status": state, "reason": "User initiated",
                        "leader_alias": index.follow["remote_cluster"],
                        "leader_index": index.follow["leader_index"], "follower_index": name,
                        "syncing_details": {"leader_checkpoint": 1, "follower_checkpoint": 1,
                                            "seq_no": 0}}
            if action == "_start" and method == "PUT":
                if index is not None:
                    raise error(400, "resource_already_exists_exception",
                                f"index [{name}/uuid] already exists")
                self.need_remote(body["leader_alias"])
                self.indices[name] = Index(follow={"remote_cluster": body["leader_alias"],
                                                   "leader_index": body["leader_index"],
                                                   "status": "active"})
                return ACK
            if index is None or index.follow is None:
                raise error(400, "illegal_argument_exception",
                            f"No replication in progress for index:{name}")
            if action in ("_pause", "_resume") and method == "POST":
                index.follow["status"] = "paused" if action == "_pause" else "active"
                return ACK
            if action == "_stop" and method == "POST":
                index.follow = None
                return ACK
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    def tasks(self) -> dict[str, Any]:
        if not self.auto_follow:
            return {}
        return {"metadata": {"persistent_tasks": {"tasks": [
            {"id": f"autofollow:{r['remote_cluster']}:{n}"} for n, r in sorted(
                self.auto_follow.items())]}}}

    # --- indices, aliases, documents ----------------------------------------------------------
    def index_api(self, method: str, name: str, s: list[str], body: Any) -> Any:
        if s[:1] == ["_ccr"]:
            return self.follow_api(method, name, s[1], body)
        index = self.indices.get(name)
        if not s and method == "PUT":
            if index is not None:
                raise error(400, "resource_already_exists_exception",
                            f"index [{name}/uuid] already exists")
            self.indices[name] = Index(settings=_stored((body or {}).get("settings", {})))
            return {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if s[:1] == ["_doc"] and method == "PUT":
            if index is None:  # action.auto_create_index is true by default
                index = self.indices[name] = Index()
            result = "updated" if s[1] in index.docs else "created"
            index.docs[s[1]] = copy.deepcopy(body)
            return {"_index": name, "_id": s[1], "_version": 1, "result": result,
                    "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0,
                    "_primary_term": 1}
        if index is None:
            if method == "HEAD":
                raise Answer(404, None)
            raise error(404, "index_not_found_exception", f"no such index [{name}]")
        if not s and method == "HEAD":
            return True
        if not s and method == "DELETE":
            del self.indices[name]
            return ACK
        if s == ["_close"] and method == "POST":
            index.closed = True
            return {"acknowledged": True, "shards_acknowledged": True, "indices": {}}
        if s == ["_open"] and method == "POST":
            index.closed = False
            return {"acknowledged": True, "shards_acknowledged": True}
        if s[:1] == ["_doc"] and method == "GET":
            if s[1] not in index.docs:
                raise Answer(404, {"_index": name, "_id": s[1], "found": False})
            return {"_index": name, "_id": s[1], "_version": 1, "_seq_no": 0,
                    "_primary_term": 1, "found": True, "_source": copy.deepcopy(index.docs[s[1]])}
        raise error(400, "illegal_argument_exception", "no handler found for uri")

    def all_aliases(self) -> Any:
        """``GET /_alias``: every index, with ``{}`` when it carries no alias."""
        return {i: {"aliases": copy.deepcopy(idx.aliases)} for i, idx in sorted(self.indices.items())}

    def get_alias(self, name: str) -> Any:
        found = {i: {"aliases": {name: copy.deepcopy(idx.aliases[name])}}
                 for i, idx in sorted(self.indices.items()) if name in idx.aliases}
        if not found:
            raise Answer(404, {"error": f"alias [{name}] missing", "status": 404})
        return found

    def update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        staged = copy.deepcopy(self.indices)  # atomic: all or nothing
        for action in actions:
            (op, spec), = action.items()
            index = staged.get(spec["index"])
            if index is None:
                raise error(404, "index_not_found_exception", f"no such index [{spec['index']}]")
            if op == "add":
                entry = {}
                if "is_write_index" in spec:
                    entry["is_write_index"] = spec["is_write_index"]
                index.aliases[spec["alias"]] = entry
            elif op == "remove":
                if spec["alias"] not in index.aliases:
                    raise error(404, "aliases_not_found_exception",
                                f"aliases [{spec['alias']}] missing")
                del index.aliases[spec["alias"]]
        self.indices = staged
        return ACK


class Wire:
    """address -> cluster; installed over urllib3 for the whole test (see ``install``)."""

    def __init__(self):
        self.clusters: dict[str, FakeCluster] = {}

    def add(self, cluster: FakeCluster, topology) -> FakeCluster:
        port = topology.cluster["es_http_port"]
        for node in topology.cluster.nodes:
            self.clusters[f"{node.address}:{port}"] = cluster
        return cluster

    def urlopen(self, pool, method, url, body=None, headers=None, **kwargs):
        host = f"{pool.host}:{pool.port}"
        cluster = self.clusters.get(host)
        assert cluster is not None, f"request to {host} ({method} {url}), which no fake owns"
        if isinstance(body, str):
            body = body.encode()
        status, answer = cluster.answer(method, url, body, host)
        data = b"" if method == "HEAD" or answer is None else json.dumps(answer).encode()
        return HTTPResponse(body=io.BytesIO(data), status=status, preload_content=True,
                            headers={"content-type": "application/json",
                                     "x-elastic-product": "Elasticsearch"})

    def install(self, monkeypatch) -> "Wire":
        wire = self

        def urlopen(pool, method, url, body=None, headers=None, **kwargs):
            return wire.urlopen(pool, method, url, body, headers, **kwargs)

        monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
        return self
