"""Two fake Elasticsearch clusters with CCR that keep state, for the switchover's state machine
on the CCR path: what an interrupted run left behind must be what the next run finds.

CCR cannot run here (the lab's Elasticsearch has no CCR module), so the clusters answer as
Elastic documents the APIs, and as its source does where the page is silent:

- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-info.html:
  ``status`` is ``active`` or ``paused``; a regular index is not listed;
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html:
  the documented per-shard body; a follower without a running follow task (paused) answers
  404 ``No shard follow tasks for follower indices [<index>]``
  (x-pack/plugin/ccr/.../TransportFollowStatsAction.java);
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-unfollow.html: the
  follower must be paused and closed first;
- https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-put-follow.html: creates
  the follower index (refused when it exists) and, since 7.3, copies the leader's aliases
  (https://github.com/elastic/elasticsearch/issues/41396).

Everything else (registry, health, remote info, blocks, settings, stats, aliases) is answered
like ``fake_os_pair.World``, behind the real ``elasticsearch`` client built by ``client_for``
(only the HTTP node is replaced, as in ``tests/crossdc/fake_es``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

from elastic_transport import ApiResponseMeta, HttpHeaders
from elastic_transport._node._base import NodeApiResponse

from esdr.es.connect import client_for
from esdr.replication.ccr import CcrReplication
from tests.crossdc.fake_es import fake_topology
from tests.replication.fake_os_pair import Cluster, Index, Killed, World

__all__ = ["CcrWorld", "Killed"]


def _error(status: int, kind: str, reason: str) -> tuple[int, Any]:
    return status, {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind,
                              "reason": reason}, "status": status}


class CcrWorld(World):
    """dc1 and dc2 running Elasticsearch CCR; ``paused`` and ``closed`` hold (cluster, index)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused: set[tuple[str, str]] = set()
        self.closed: set[tuple[str, str]] = set()

    def client(self, alias: str):
        es = client_for(fake_topology(f"{alias}-cluster")).options(max_retries=0)
        for node in es.transport.node_pool.all():
            node.perform_request = (
                lambda method, target, body=None, headers=None, request_timeout=None,
                _alias=alias, _node=node: self.perform(_alias, _node, method, target, body))
        return es

    def adapter(self, alias: str) -> CcrReplication:
        return CcrReplication(self.client(alias))

    def perform(self, alias: str, node, method: str, target: str, body: Any) -> NodeApiResponse:
        path = unquote(urlsplit(target).path)
        sent = json.loads(body) if body else None
        self.log.append((alias, method, path))
        when = None
        if self.kill and self.kill[:3] == (alias, method, path):
            when = self.kill[3]
            if when == "before":
                self.kill = None
                raise Killed(f"killed before {alias} {method} {path}")
        status, answer = self.answer(self.clusters[alias], method, path, sent)
        if when == "after":
            self.kill = None
            raise Killed(f"killed after {alias} {method} {path}")
        meta = ApiResponseMeta(status=status, http_version="1.1", duration=0.0, node=node.config,
                               headers=HttpHeaders({"content-type": "application/json",
                                                    "x-elastic-product": "Elasticsearch"}))
        return NodeApiResponse(meta, b"" if method == "HEAD" else json.dumps(answer).encode())

    def answer(self, c: Cluster, method: str, path: str, sent: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/_aliases":  # CCR does not refuse alias changes on a follower
            for action in sent["actions"]:
                add = action["add"]
                c.indices[add["index"]].aliases[add["alias"]] = add["is_write_index"]
            return 200, {"acknowledged": True}
        if len(parts) >= 2 and parts[0] != "esdr-managed" and not parts[0].startswith("_"):
            name, rest = parts[0], parts[1:]
            if rest[0] == "_ccr":
                return self.ccr(c, method, name, rest[1], sent)
            if rest in (["_close"], ["_open"]):
                if name not in c.indices:
                    return _error(404, "index_not_found_exception", f"no such index [{name}]")
                (self.closed.add if rest == ["_close"] else self.closed.discard)((c.name, name))
                return 200, {"acknowledged": True, "shards_acknowledged": True}
        if method == "DELETE" and len(parts) == 1 and parts[0] in c.indices:
            self.closed.discard((c.name, parts[0]))
            self.paused.discard((c.name, parts[0]))
        return super().answer(c, method, path, sent)

    def ccr(self, c: Cluster, method: str, name: str, action: str,
            sent: Any) -> tuple[int, Any]:
        index = c.indices.get(name)
        key = (c.name, name)
        if action == "follow":
            if index is not None:
                return _error(400, "resource_already_exists_exception",
                              f"index [{name}/uuid] already exists")
            assert set(sent) == {"remote_cluster", "leader_index"}, sent
            leader = self.clusters[sent["remote_cluster"]].indices[sent["leader_index"]]
            c.indices[name] = Index(leader.checkpoint, (sent["remote_cluster"],
                                                        sent["leader_index"]),
                                    aliases=dict(leader.aliases))
            return 200, {"follow_index_created": True, "follow_index_shards_acked": True,
                         "index_following_started": True}
        if index is None:
            return _error(404, "index_not_found_exception", f"no such index [{name}]")
        if action == "info":
            if not index.follows:
                return 200, {"follower_indices": []}
            return 200, {"follower_indices": [{
                "follower_index": name, "remote_cluster": index.follows[0],
                "leader_index": index.follows[1],
                "status": "paused" if key in self.paused else "active",
                **({} if key in self.paused else {"parameters": {
                    "max_read_request_operation_count": 5120, "read_poll_timeout": "1m"}})}]}
        if action == "stats":
            if not index.follows or key in self.paused:
                return _error(404, "resource_not_found_exception",
                              f"No shard follow tasks for follower indices [{name}]")
            leader = self.clusters[index.follows[0]].indices[index.follows[1]]
            if self.catch_up is None:
                index.checkpoint = leader.checkpoint
            else:
                index.checkpoint = min(leader.checkpoint, index.checkpoint + self.catch_up)
            return 200, {"indices": [{"index": name, "total_global_checkpoint_lag":
                                      leader.checkpoint - index.checkpoint, "shards": [{
                "remote_cluster": index.follows[0], "leader_index": index.follows[1],
                "follower_index": name, "shard_id": 0,
                "leader_global_checkpoint": leader.checkpoint,
                "leader_max_seq_no": leader.checkpoint,
                "follower_global_checkpoint": index.checkpoint,
                "follower_max_seq_no": index.checkpoint,
                "last_requested_seq_no": index.checkpoint, "outstanding_read_requests": 1,
                "outstanding_write_requests": 0, "write_buffer_operation_count": 0,
                "follower_mapping_version": 1, "follower_settings_version": 1,
                "follower_aliases_version": 1, "total_read_time_millis": 10,
                "total_read_remote_exec_time_millis": 5, "successful_read_requests": 3,
                "failed_read_requests": 0, "operations_read": index.checkpoint + 1,
                "bytes_read": 100, "total_write_time_millis": 4,
                "successful_write_requests": 2, "failed_write_requests": 0,
                "operations_written": index.checkpoint + 1, "read_exceptions": [],
                "time_since_last_read_millis": 8}]}]}
        if action == "pause_follow":
            if not index.follows or key in self.paused:
                return _error(404, "resource_not_found_exception",
                              f"No shard follow tasks for follower indices [{name}]")
            self.paused.add(key)
            return 200, {"acknowledged": True}
        if action == "unfollow":
            if not index.follows or key not in self.paused or key not in self.closed:
                return _error(400, "illegal_argument_exception",
                              f"cannot convert the follower index [{name}] to a non-follower, "
                              "because it has not been paused and closed")
            index.follows = None
            self.paused.discard(key)
            return 200, {"acknowledged": True}
        raise AssertionError(f"{c.name}: no fake for {method} {name}/_ccr/{action}")
