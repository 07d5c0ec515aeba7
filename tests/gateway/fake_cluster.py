"""A small stand-in for one Elasticsearch cluster on loopback, for driving the real gateway binary.

It answers what INFINI Gateway asks of a cluster (``GET /``, ``/_cluster/health``, node info)
and keeps documents written with ``PUT|POST /{index}/_doc/{id}``, ``/_create/{id}`` and
``/_bulk`` (index/create/delete actions), so a test can compare what reached the primary and the
backup. No JVM: the tests that use it stay fast and light. Binds loopback only (127.0.0.1
unless told another 127.x address). With ``tls`` (certificate, key files) it answers HTTPS only,
as a deployed cluster does; ``seen`` counts every request that reached it over HTTP (a client
that refused its certificate sends none).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (the gateway stopping) is no test failure


class FakeCluster:
    """One cluster: ``start()`` on a port (0: any free one), ``stop()``, ``docs``."""

    def __init__(self, name: str, port: int = 0, version: str = "2.19.4",
                 distribution: str = "opensearch", host: str = "127.0.0.1",
                 tls: tuple[Path, Path] | None = None) -> None:
        assert host.startswith("127."), f"a stand-in cluster binds loopback only, not {host}"
        self.name = name
        self.host = host  # another loopback address lets a test drop its packets alone
        self.port = port
        self.version = version
        self.distribution = distribution
        self.docs: dict[str, dict[str, Any]] = {}  # index -> id -> source
        self.requests: list[tuple[str, str]] = []  # (method, path) of every write
        self.tls = tls
        self.seen = 0  # requests of any kind that arrived (after the TLS handshake, if any)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[Any] = set()  # open client sockets, cut by stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> FakeCluster:
        server = _QuietServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            # the handshake happens in the handler's thread, at its first read: a client that
            # refuses the certificate never holds up the accept loop
            server.socket = context.wrap_socket(server.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down as a crashed cluster is: no listener, and every open connection cut."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def ids(self, index: str) -> set[str]:
        with self.lock:
            return set(self.docs.get(index, {}))

    # --- what the handler does with a request ------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "name": f"{self.name}-node",
            "cluster_name": self.name,
            "cluster_uuid": f"uuid-{self.name}",
            "version": {"number": self.version, "distribution": self.distribution},
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        }

    def nodes(self) -> dict[str, Any]:
        """``GET /_nodes``: one node, whose HTTP address is this stand-in (the gateway builds
        its list of upstream hosts from it)."""
        address = f"{self.host}:{self.port}"
        return {
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": self.name,
            "nodes": {f"node-{self.name}": {
                "name": f"{self.name}-node", "version": self.version, "ip": self.host,
                "host": self.host, "transport_address": "127.0.0.1:9300",
                "roles": ["cluster_manager", "data", "ingest"],
                "http": {"bound_address": [address], "publish_address": address},
            }},
        }

    def put(self, index: str, doc_id: str, source: Any, create: bool) -> tuple[int, dict]:
        with self.lock:
            docs = self.docs.setdefault(index, {})
            if create and doc_id in docs:
                return 409, {"error": {"type": "version_conflict_engine_exception"},
                             "status": 409}
            result = "updated" if doc_id in docs else "created"
            docs[doc_id] = source
        return (201 if result == "created" else 200), {
            "_index": index, "_id": doc_id, "result": result, "_version": 1,
        }

    def delete(self, index: str, doc_id: str) -> tuple[int, dict]:
        with self.lock:
            found = self.docs.get(index, {}).pop(doc_id, None) is not None
        return (200 if found else 404), {
            "_index": index, "_id": doc_id, "result": "deleted" if found else "not_found",
        }

    def bulk(self, default_index: str | None, body: bytes) -> tuple[int, dict]:
        lines = [line for line in body.decode().split("\n") if line.strip()]
        items: list[dict] = []
        position = 0
        while position < len(lines):
            meta = json.loads(lines[position])
            action, params = next(iter(meta.items()))
            index = params.get("_index") or default_index
            doc_id = params.get("_id")
            if action == "delete":
                status, result = self.delete(index, doc_id)
                position += 1
            else:
                source = json.loads(lines[position + 1])
                position += 2
                if not doc_id:  # what Elasticsearch does: an id of its own
                    doc_id = uuid.uuid4().hex
                status, result = self.put(index, doc_id, source, create=action == "create")
            items.append({action: {**result, "status": status}})
        return 200, {"took": 1, "errors": any(
            next(iter(i.values()))["status"] >= 300 and action != "delete" for i in items
        ), "items": items}

    def get(self, index: str, doc_id: str) -> tuple[int, dict]:
        with self.lock:
            source = self.docs.get(index, {}).get(doc_id)
        if source is None:
            return 404, {"_index": index, "_id": doc_id, "found": False}
        return 200, {"_index": index, "_id": doc_id, "found": True, "_source": source}

    def count(self, index: str) -> tuple[int, dict]:
        with self.lock:
            return 200, {"count": len(self.docs.get(index, {}))}


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with cluster.lock:
                cluster._connections.add(self.connection)

        def finish(self) -> None:
            with cluster.lock:
                cluster._connections.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _route(self) -> tuple[int, dict]:
            path = urlsplit(self.path).path
            parts = [p for p in path.split("/") if p]
            method = self.command
            body = self._body()
            with cluster.lock:
                cluster.seen += 1
            if method in ("GET", "HEAD") and not parts:
                return 200, cluster.info()
            if parts[:2] == ["_cluster", "health"]:
                return 200, {"cluster_name": cluster.name, "status": "green",
                             "number_of_nodes": 1, "number_of_data_nodes": 1}
            if parts and parts[0] == "_nodes":
                return 200, cluster.nodes()
            if parts and parts[0] in ("_cluster", "_cat", "_alias", "_aliases"):
                return 200, {}
            if method in ("PUT", "POST", "DELETE"):
                with cluster.lock:
                    cluster.requests.append((method, path))
            if parts and parts[-1] == "_bulk" and method in ("PUT", "POST"):
                return cluster.bulk(parts[0] if len(parts) == 2 else None, body)
            if len(parts) == 3 and parts[1] in ("_doc", "_create"):
                index, kind, doc_id = parts
                if method == "GET":
                    return cluster.get(index, doc_id)
                if method == "DELETE":
                    return cluster.delete(index, doc_id)
                if method in ("PUT", "POST"):
                    return cluster.put(index, doc_id, json.loads(body or b"{}"),
                                       create=kind == "_create")
            if len(parts) == 2 and parts[1] == "_doc" and method == "POST":
                return cluster.put(parts[0], uuid.uuid4().hex, json.loads(body or b"{}"),
                                   create=True)
            if len(parts) == 2 and parts[1] == "_count":
                return cluster.count(parts[0])
            return 404, {"error": {"type": "fake_cluster_unknown_path", "reason": path},
                         "status": 404}

        def _any(self) -> None:
            try:
                status, body = self._route()
            except (ValueError, KeyError, StopIteration) as exc:
                status, body = 400, {"error": {"type": "parse_exception", "reason": str(exc)},
                                     "status": 400}
            self._send(status, body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

    return Handler
