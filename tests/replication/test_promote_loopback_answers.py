"""`esdr promote` and a leader whose engine answers, but not with green or yellow health.

Any HTTP answer means the leader's DC is up and may still take writes: a 429 from a circuit
breaker, a ``red`` health (one index without a primary; the others take writes), or an answer
that comes after the client's read timeout (the node accepted the connection: it is slow, not
gone). A promotion cannot be undone, so each stops promote without ``--force``, naming the DC
and what to check. The leader is a real HTTP server on 127.0.0.1 (``http.server`` in a thread);
the clients are the ones ``client_for`` builds for an ``es_lab`` topology pointing at it, with
``es_api_transport: direct``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from esdr.errors import EsdrError
from esdr.es.connect import client_for
from esdr.model import HostSpec, topology_from_hosts
from esdr.runbooks import promote
from tests.replication.test_promote_leader_errors import REGISTRY_ONLY

VERSIONS = {"elasticsearch": "8.19.3", "opensearch": "2.19.4"}
ENGINES = list(VERSIONS)
READ_TIMEOUT = 1.0  # the client's; the slow leader answers after twice as long
CIRCUIT_BREAKER = {"error": {"type": "circuit_breaking_exception",
                             "reason": "[parent] Data too large, data for [<http_request>] would "
                                       "be [1031] which is larger than the limit of [1020]"},
                   "status": 429}
RED = {"cluster_name": "dc1", "status": "red", "number_of_nodes": 3, "active_primary_shards": 9,
       "unassigned_shards": 2}
GREEN = {**RED, "status": "green", "unassigned_shards": 0}


class Leader:
    """One HTTP server on 127.0.0.1 answering every GET with ``status`` and ``body`` after
    ``delay`` seconds; ``requests`` counts what it was asked."""

    def __init__(self, status: int, body: dict, delay: float = 0.0):
        self.requests = 0
        self.released = threading.Event()  # ends a delay early at teardown
        leader = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                leader.requests += 1
                if delay:
                    leader.released.wait(delay)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-elastic-product", "Elasticsearch")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up (read timeout) and closed
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def client(self, engine: str):
        """The client esdr builds for a one-node DC1 on this server, as ``esdr promote``
        does for a leader (``esdr.cli.cluster.remote_client``: no retry with one node)."""
        data = {"zone": "az1", "es_cluster_name": "dc1", "es_version": VERSIONS[engine],
                "es_engine": engine, "ssh_hostname": "127.0.0.1",
                "es_network_host": "127.0.0.1", "es_http_port": self.port,
                "es_api_transport": "direct", "es_security": False, "es_lab": True}
        topology = topology_from_hosts("dc1", [HostSpec("dc1-n1", ("es_master", "es_data"),
                                                        data)])
        return client_for(topology, request_timeout=READ_TIMEOUT, max_retries=0,
                          connect_timeout=1)

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def leader() -> Iterator:
    started: list[Leader] = []

    def start(status: int, body: dict, delay: float = 0.0) -> Leader:
        started.append(Leader(status, body, delay))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _refused(found: promote.Leader) -> EsdrError:
    with pytest.raises(EsdrError) as stopped:
        promote.refuse_unless_lost(found, force=False)
    promote.refuse_unless_lost(found, force=True)  # the operator checked: --force goes on
    return stopped.value


@pytest.mark.parametrize("engine", ENGINES)
def test_a_leader_answering_after_the_read_timeout_is_up_and_stops_promote(engine, leader):
    slow = leader(200, GREEN, delay=2 * READ_TIMEOUT)
    started = time.monotonic()
    found = promote.probe("dc1", slow.client(engine))
    assert time.monotonic() - started < 2 * READ_TIMEOUT  # the client gave up: a read timeout
    assert slow.requests == 1  # the connection was made and the request sent
    assert not found.unreachable
    refusal = _refused(found)
    assert str(refusal).startswith("the leader's data centre dc1 accepted esdr's connection "
                                   "but did not answer in time, so it is up")
    assert f"127.0.0.1', port={slow.port}" in str(refusal) and "Read timed out" in str(refusal)
    assert refusal.hint.endswith("if dc1 is really lost, rerun with --force")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_429_from_a_circuit_breaker_is_up_and_stops_promote(engine, leader):
    breaker = leader(429, CIRCUIT_BREAKER)
    found = promote.probe("dc1", breaker.client(engine))
    assert not found.unreachable and found.answered
    refusal = _refused(found)
    assert "with an error of its own, so it is up: 429 circuit_breaking_exception" in str(refusal)
    assert "promote cannot tell whether dc1 is lost" in str(refusal)
    assert refusal.hint.endswith("if dc1 is really lost, rerun with --force")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_red_leader_is_up_and_stops_promote(engine, leader):
    red = leader(200, RED)
    found = promote.probe("dc1", red.client(engine))
    assert not found.unreachable and found.state == "red" and not found.whole
    refusal = _refused(found)
    assert str(refusal).startswith("the leader's data centre dc1 answered: its cluster health "
                                   "is red (2 unassigned shard(s)), so it is up")
    assert "GET _cluster/health?level=indices" in refusal.hint
    assert refusal.hint.endswith("if dc1 is really lost, rerun with --force")


def test_a_green_leader_still_asks_for_a_planned_switchover(leader):
    found = promote.probe("dc1", leader(200, GREEN).client("elasticsearch"))
    assert found.whole and found.refusal is None
    with pytest.raises(EsdrError, match="reachable and green"):
        promote.refuse_unless_lost(found, force=False)


def test_a_closed_port_on_loopback_is_still_unreachable(leader):
    closed = leader(200, GREEN)
    api = closed.client("elasticsearch")
    closed.stop()  # nothing listens on the port any more: the connection is refused
    found = promote.probe("dc1", api)
    assert found.unreachable and found.refusal is None
    promote.refuse_unless_lost(found, force=False)


# --- the command: each stops with exit 1 and promotes nothing -------------------------------------
@pytest.mark.parametrize("status, body, delay, says", [
    (429, CIRCUIT_BREAKER, 0.0, "429 circuit_breaking_exception"),
    (200, RED, 0.0, "its cluster health is red"),
    (200, GREEN, 2 * READ_TIMEOUT, "did not answer in time"),
], ids=["429", "red", "slow"])
def test_promote_stops_with_exit_1_and_changes_nothing(promote_on_dc2, leader, status, body,
                                                       delay, says):
    code, out = promote_on_dc2(leader(status, body, delay).client("opensearch"), REGISTRY_ONLY)
    assert code == 1, out
    assert out[0].startswith("leader data centre dc1: ")
    assert says in out[-1] and "rerun with --force" in out[-1]
