"""A fake Elasticsearch on the wire: expected requests in, documented responses out.

The client is built by ``esdr.es.connect.client_for`` exactly as in production; only the HTTP
node under elastic-transport is replaced, so serialization, paths and query strings are the
real client's. Each expectation is ``(method, path, body_or_ANY, status, response_body)``; a
request that is not the next expected one fails the test with both sides shown.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from elastic_transport import ApiResponseMeta, HttpHeaders
from elastic_transport._node._base import NodeApiResponse

from esdr.es.connect import client_for
from esdr.model import HostSpec, topology_from_hosts

ANY = object()


def fake_topology(name: str = "dc2-cluster"):
    hosts = [HostSpec("n1", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": "az1", "ssh_hostname": "10.0.0.1", "es_cluster_name": name,
                       "es_version": "8.19.21", "es_security": False})]
    return topology_from_hosts("t", hosts)


class Wire:
    def __init__(self, expected: list[tuple]):
        self.expected = list(expected)
        self.seen: list[tuple[str, str, Any]] = []

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):
        parts = urlsplit(target)
        sent = _decode(body) if body else None
        self.seen.append((method, parts.path, sent))
        assert self.expected, f"unexpected request {method} {target} {sent}"
        e_method, e_path, e_body, status, response = self.expected.pop(0)
        e_path_only, _, e_query = e_path.partition("?")
        assert (method, parts.path) == (e_method, e_path_only), \
            f"expected {e_method} {e_path}, got {method} {target}"
        if e_query:
            want = dict(parse_qsl(e_query))
            got = dict(parse_qsl(parts.query))
            assert {k: got.get(k) for k in want} == want, f"{target}: query {got} lacks {want}"
        if e_body is not ANY:
            assert sent == e_body, f"{method} {target}: body {sent} != documented {e_body}"
        meta = ApiResponseMeta(
            status=status, http_version="1.1",
            headers=HttpHeaders({"content-type": "application/json",
                                 "x-elastic-product": "Elasticsearch"}),
            duration=0.0, node=self.node.config,
        )
        return NodeApiResponse(meta, json.dumps(response).encode())

    def done(self) -> None:
        assert not self.expected, f"requests never made: {self.expected}"


def _decode(body: bytes | str) -> Any:
    """A JSON body, or an NDJSON one (``_bulk``) as the list of its lines."""
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def fake_client(expected: list[tuple], topology=None):
    """(client built by client_for, the wire) — the client speaks only to the wire."""
    es = client_for(topology or fake_topology())
    es = es.options(max_retries=0)
    wire = Wire(expected)
    for node in es.transport.node_pool.all():
        wire.node = node
        node.perform_request = wire.perform_request
    return es, wire


def not_found(kind: str = "index_not_found_exception") -> dict:
    return {"error": {"root_cause": [{"type": kind, "reason": "no such index"}], "type": kind,
                      "reason": "no such index"}, "status": 404}
