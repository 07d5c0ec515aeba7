"""Two fake OpenSearch clusters that keep state, for the switchover's state machine: what an
interrupted run left behind must be what the next run finds.

Each cluster answers the requests `esdr switchover` makes, with the bodies of OpenSearch's
documented APIs (index blocks, settings, stats, aliases, the replication plugin's
``_status``/``_stop``/``_start``:
https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/api/),
behind the real client built by ``client_for`` (only urllib3's pool is replaced, as in
``fake_os``). ``kill`` makes one request end the run like a SIGKILL would: before the cluster
applies it, or after (the request took effect, its answer never arrived).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from urllib3 import HTTPResponse

from esdr.es.connect import client_for
from esdr.replication.opensearch import OpenSearchReplication
from tests.replication.fake_os import os_topology

R = "_plugins/_replication"


class Killed(BaseException):
    """The process died here (not an Exception: nothing in the runbook may catch it)."""


@dataclass
class Index:
    checkpoint: int = 99  # global checkpoint (one shard)
    follows: tuple[str, str] | None = None  # (leader alias, leader index)
    blocked: bool = False
    aliases: dict[str, bool] = field(default_factory=dict)  # alias -> is_write_index


@dataclass
class Cluster:
    name: str
    indices: dict[str, Index] = field(default_factory=dict)
    registry: dict[str, Any] | None = None
    health: str = "green"
    connected: bool = True


class World:
    """dc1 and dc2; ``catch_up``: operations a follower gains on each status read (None: it is
    always in sync)."""

    def __init__(self) -> None:
        self.clusters = {"dc1": Cluster("dc1"), "dc2": Cluster("dc2")}
        self.catch_up: int | None = None
        self.kill: tuple[str, str, str, str] | None = None  # (cluster, method, path, when)
        # (cluster, method, path) answered once with a bare 429 before being served, as a busy
        # OpenSearch answered the lab's switchover (TransportError(429, ''))
        self.busy: list[tuple[str, str, str]] = []
        self.log: list[tuple[str, str, str]] = []

    def active_follower(self, alias: str = "dc2", index: str = "orders",
                        leader: str = "dc1", leader_index: str = "orders",
                        write_alias: str = "orders-write") -> None:
        self.clusters[leader].indices[leader_index] = Index(aliases={write_alias: True})
        self.clusters[alias].indices[index] = Index(follows=(leader, leader_index),
                                                    aliases={write_alias: True})

    def client(self, alias: str):
        api = client_for(os_topology(f"os-{alias}"))
        api.transport.max_retries = 0
        for connection in api.transport.connection_pool.connections:
            if connection.pool is None:
                connection._create_urllib3_pool()
            connection.pool.urlopen = (
                lambda method, url, body=None, *a, _alias=alias, **k:
                self.urlopen(_alias, method, url, body))
        return api

    def adapter(self, alias: str) -> OpenSearchReplication:
        return OpenSearchReplication(self.client(alias))

    def adapters(self) -> dict[str, OpenSearchReplication]:
        return {alias: self.adapter(alias) for alias in self.clusters}

    # --- the wire ------------------------------------------------------------------------------
    def urlopen(self, alias: str, method: str, url: str, body: Any) -> HTTPResponse:
        path = unquote(urlsplit(url).path)
        sent = json.loads(body) if body else None
        self.log.append((alias, method, path))
        when = None
        if self.kill and self.kill[:3] == (alias, method, path):
            when = self.kill[3]
            if when == "before":
                self.kill = None
                raise Killed(f"killed before {alias} {method} {path}")
        if (alias, method, path) in self.busy:
            self.busy.remove((alias, method, path))
            return HTTPResponse(body=io.BytesIO(b""), status=429, preload_content=True,
                                headers={"content-type": "application/json"})
        status, answer = self.answer(self.clusters[alias], method, path, sent)
        if when == "after":
            self.kill = None
            raise Killed(f"killed after {alias} {method} {path}")
        data = b"" if method == "HEAD" else json.dumps(answer).encode()
        return HTTPResponse(body=io.BytesIO(data), status=status, preload_content=True,
                            headers={"content-type": "application/json"})

    def answer(self, c: Cluster, method: str, path: str, sent: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        missing = (404, {"error": {"type": "index_not_found_exception", "reason": "no such "
                                   "index"}, "status": 404})
        if parts[0] == "esdr-managed":
            if method == "HEAD":
                return (200 if c.registry is not None else 404), {}
            if len(parts) == 1:  # create the index
                c.registry = c.registry or {}
                return 200, {"acknowledged": True}
            if method == "GET":
                if not c.registry:
                    return missing
                return 200, {"_id": "registry", "found": True, "_source": c.registry}
            c.registry = sent
            return 200, {"result": "updated"}
        if path == "/_cluster/health":
            return 200, {"cluster_name": c.name, "status": c.health}
        if path == "/_remote/info":
            other = "dc1" if c.name == "dc2" else "dc2"
            return 200, {other: {"connected": c.connected, "mode": "sniff"}}
        if parts[:2] == R.split("/"):
            return self.replication(c, method, parts[2], parts[3] if len(parts) > 3 else "",
                                    sent)
        if path.startswith("/_alias/"):
            name = parts[1]
            found = {i: {"aliases": {name: {"is_write_index": x.aliases[name]}}}
                     for i, x in c.indices.items() if name in x.aliases}
            return (200, found) if found else missing
        if path == "/_aliases":
            for action in sent["actions"]:
                add = action["add"]
                index = c.indices[add["index"]]
                if index.follows:
                    return 403, {"error": {"type": "cluster_block_exception", "reason":
                                           "index read-only (cross-cluster-replication)"},
                                 "status": 403}
            for action in sent["actions"]:
                add = action["add"]
                c.indices[add["index"]].aliases[add["alias"]] = add["is_write_index"]
            return 200, {"acknowledged": True}
        index = c.indices.get(parts[0])
        if method == "HEAD":
            return (200 if index else 404), {}
        if index is None:
            return missing
        rest = parts[1:]
        if method == "DELETE" and not rest:
            del c.indices[parts[0]]
            return 200, {"acknowledged": True}
        if rest == ["_block", "write"]:
            index.blocked = True
            return 200, {"acknowledged": True, "shards_acknowledged": True,
                         "indices": [{"name": parts[0], "blocked": True}]}
        if rest == ["_settings"] and method == "PUT":
            if index.follows:
                return 403, {"error": {"type": "cluster_block_exception"}, "status": 403}
            index.blocked = bool(sent.get("index.blocks.write"))
            return 200, {"acknowledged": True}
        if rest[:1] == ["_settings"]:
            settings = {"index.blocks.write": "true"} if index.blocked else {}
            return 200, {parts[0]: {"settings": settings}}
        if rest == ["_stats"]:
            copy = {"routing": {"state": "STARTED", "primary": True, "node": "n1"},
                    "seq_no": {"max_seq_no": index.checkpoint,
                               "local_checkpoint": index.checkpoint,
                               "global_checkpoint": index.checkpoint}}
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0},
                         "indices": {parts[0]: {"uuid": "u", "shards": {"0": [copy]}}}}
        raise AssertionError(f"{c.name}: no fake for {method} {path}")

    def replication(self, c: Cluster, method: str, index_name: str, action: str,
                    sent: Any) -> tuple[int, Any]:
        index = c.indices.get(index_name)
        if index_name == "follower_stats":
            return 200, {"index_stats": {}}
        if action == "_status":
            if not index or not index.follows:
                return 200, {"status": "REPLICATION NOT IN PROGRESS"}
            leader = self.clusters[index.follows[0]].indices[index.follows[1]]
            if self.catch_up is None:
                index.checkpoint = leader.checkpoint
            else:
                index.checkpoint = min(leader.checkpoint, index.checkpoint + self.catch_up)
            return 200, {"status": "SYNCING", "reason": "User initiated",
                         "leader_alias": index.follows[0], "leader_index": index.follows[1],
                         "follower_index": index_name,
                         "syncing_details": {"leader_checkpoint": leader.checkpoint,
                                             "follower_checkpoint": index.checkpoint,
                                             "seq_no": 0}}
        if action == "_stop":
            if not index or not index.follows:
                return 400, {"error": {"type": "illegal_argument_exception", "reason":
                                       f"No replication in progress for index:{index_name}"},
                             "status": 400}
            index.follows = None
            return 200, {"acknowledged": True}
        if action == "_start":
            if index is not None:
                return 400, {"error": {"type": "resource_already_exists_exception",
                                       "reason": f"index [{index_name}] already exists. "
                                                 f"Delete the index:{index_name}"}, "status": 400}
            assert set(sent) == {"leader_alias", "leader_index", "use_roles"}, sent
            leader = self.clusters[sent["leader_alias"]].indices[sent["leader_index"]]
            # bootstrapped from the leader: its data and its aliases
            c.indices[index_name] = Index(leader.checkpoint,
                                          (sent["leader_alias"], sent["leader_index"]),
                                          aliases=dict(leader.aliases))
            return 200, {"acknowledged": True}
        raise AssertionError(f"{c.name}: no fake for {method} {R}/{index_name}/{action}")
