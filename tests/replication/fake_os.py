"""A fake OpenSearch on the wire: expected requests in, documented responses out.

The client is built by ``esdr.es.connect.client_for`` exactly as in production (an
``opensearchpy.OpenSearch``); only urllib3's connection pool under opensearch-py's
``Urllib3HttpConnection`` is replaced, so URL building, query strings, JSON serialization and
error mapping (404 -> ``NotFoundError``, 500 -> ``TransportError``, ...) are the real client's.
Each expectation is ``(method, path, body_or_ANY, status, response_body)``; a request that is not
the next expected one fails the test with both sides shown.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from urllib3 import HTTPResponse

from esdr.es.connect import client_for
from esdr.model import HostSpec, topology_from_hosts

ANY = object()
ACK = {"acknowledged": True}


def os_topology(name: str = "os-dc2", **data: Any):
    """A one-node OpenSearch cluster (security off: these tests are about requests; the
    secure client is checked in test_connect_engines)."""
    hosts = [HostSpec("n1", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": "az1", "ssh_hostname": "10.0.0.1", "es_cluster_name": name,
                       "es_version": "2.19.4", "es_engine": "opensearch", "es_security": False,
                       "es_lab": True, **data})]
    return topology_from_hosts("t", hosts)


class Wire:
    def __init__(self, expected: list[tuple]):
        self.expected = list(expected)
        self.seen: list[tuple[str, str, Any]] = []

    def urlopen(self, method, url, body=None, retries=None, headers=None, **kwargs):
        parts = urlsplit(url)
        sent = json.loads(body) if body else None
        self.seen.append((method, parts.path, sent))
        assert self.expected, f"unexpected request {method} {url} {sent}"
        e_method, e_path, e_body, status, response = self.expected.pop(0)
        e_path_only, _, e_query = e_path.partition("?")
        assert (method, parts.path) == (e_method, e_path_only), \
            f"expected {e_method} {e_path}, got {method} {url}"
        got = dict(parse_qsl(parts.query))
        want = dict(parse_qsl(e_query))
        assert got == want, f"{url}: query {got} != {want}"
        if e_body is not ANY:
            assert sent == e_body, f"{method} {url}: body {sent} != documented {e_body}"
        data = b"" if method == "HEAD" else json.dumps(response).encode()
        return HTTPResponse(body=io.BytesIO(data), status=status, preload_content=True,
                            headers={"content-type": "application/json"})

    def done(self) -> None:
        assert not self.expected, f"requests never made: {self.expected}"


def wire_up(api, wire: Wire):
    """Point every connection of an opensearch-py client at the wire; no retries."""
    api.transport.max_retries = 0
    for connection in api.transport.connection_pool.connections:
        if connection.pool is None:
            connection._create_urllib3_pool()
        connection.pool.urlopen = wire.urlopen
    return api


def fake_os_client(expected: list[tuple], topology=None):
    """(client built by client_for, the wire) — the client speaks only to the wire."""
    wire = Wire(expected)
    return wire_up(client_for(topology or os_topology()), wire), wire


def not_found(kind: str = "index_not_found_exception") -> dict:
    return {"error": {"root_cause": [{"type": kind, "reason": "no such index"}], "type": kind,
                      "reason": "no such index"}, "status": 404}


def shard_stats(index: str, *checkpoints: int) -> tuple:
    """The expected ``GET /<index>/_stats?level=shards`` of a promotion (it records each shard's
    global checkpoint, primary and replica alike), answering ``checkpoints`` for shards 0..n-1."""
    shards = {str(n): [{"routing": {"primary": primary},
                        "seq_no": {"max_seq_no": point, "local_checkpoint": point,
                                   "global_checkpoint": point}} for primary in (True, False)]
              for n, point in enumerate(checkpoints)}
    return ("GET", f"/{index}/_stats?level=shards", None, 200,
            {"indices": {index: {"shards": shards}}})
