"""How esdr reaches a gateway's API: through the gateway host's own sshd by default, as every
cluster-API client of esdr does (esdr/es/tunnel.py), or straight with ``gateway_api_transport:
direct``. The forward here is a stand-in tunnel that connects on loopback and records what it
was asked for, so no SSH server is needed."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from esdr.cli import gateway as cli_gateway
from esdr.cli.prints import Printer
from esdr.cli.guard import DRIFT, FAILURE
from esdr.es import tunnel
from tests.gateway.factory import tier

STATS = {"queue": {"disk": {"q": {
    "metadata": {"name": "dc2-queue"}, "messages": 5, "offset": "0,900",
    "consumers": [{"group": "esdr-replay-dc2", "offset": "0,300,0"}]}}}}


@pytest.fixture
def stats_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = json.dumps(STATS).encode() if self.path == "/queue/stats" else b"{}"
            self.send_response(200 if self.path == "/queue/stats" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def forwards(monkeypatch, stats_server):
    """Every forward opened: (SSH route's host, target); each one reaches the stand-in API."""
    opened: list[tuple[str | None, tuple[str, int]]] = []

    def socket_for(forward, timeout):
        opened.append((forward.route.hostname if forward.route else None, forward.target))
        return socket.create_connection(("127.0.0.1", stats_server), timeout=timeout)

    monkeypatch.setattr(tunnel.TUNNELS, "socket", socket_for)
    return opened


def test_the_api_is_read_through_the_gateway_hosts_sshd_by_default(forwards) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),), gateway_api_port=2911)
    states, error = cli_gateway.gateway_queues(model, model.gateways[0])
    assert error is None
    assert [(s.name, s.messages, s.lag_bytes) for s in states] == [("dc2-queue", 5, 600)]
    # the gateway's sshd connects to the API on its own loopback (where it listens by default)
    assert forwards == [("10.0.0.11", ("127.0.0.1", 2911))]


def test_an_api_bound_to_one_address_is_reached_there(forwards) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),), gateway_api_listen_address="10.9.9.9")
    cli_gateway.gateway_queues(model, model.gateways[0])
    assert forwards == [("10.0.0.11", ("10.9.9.9", 2900))]


def test_direct_opts_out_of_the_forward(forwards) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),), gateway_api_transport="direct",
                 gateway_api_listen_address="0.0.0.0",
                 gateway_api_allow_remote_unauthenticated=True)
    cli_gateway.gateway_queues(model, model.gateways[0])
    assert forwards == [(None, ("10.0.0.11", 2900))]


def test_direct_to_a_loopback_api_of_another_host_says_why_without_trying(forwards) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),), gateway_api_transport="direct")
    states, error = cli_gateway.gateway_queues(model, model.gateways[0])
    assert states is None and "listens on 127.0.0.1 of gw1 only" in error and "'ssh'" in error
    assert forwards == []


def test_a_lagging_replay_is_drift_and_a_silent_gateway_a_failure(forwards, monkeypatch) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),))
    assert cli_gateway.report_queues(Printer(), model) == DRIFT

    def down(forward, timeout):
        raise tunnel.ForwardDown("ssh 10.0.0.11: connection refused")

    monkeypatch.setattr(tunnel.TUNNELS, "socket", down)
    states, error = cli_gateway.gateway_queues(model, model.gateways[0])
    assert states is None and "connection refused" in error
    assert cli_gateway.report_queues(Printer(), model) == FAILURE


def test_an_ipv6_loopback_api_is_forwarded_to_without_brackets(forwards) -> None:
    model = tier(gateways=(("gw1", "10.0.0.11"),), gateway_api_listen_address="[::1]")
    cli_gateway.gateway_queues(model, model.gateways[0])
    assert forwards == [("10.0.0.11", ("::1", 2900))]
