"""The reading part against real sockets on 127.0.0.1: a DC whose hosts accept a connection and
then say nothing (as a cut DC behind a proxy, or a hung node) is reported unreachable, naming
it and the hosts tried, within the deadline, never waited on."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timezone

from esdr.model import HostSpec, topology_from_hosts
from esdr.status.read import Target, read_all, run_all
from esdr.status.report import CRITICAL, Figure, Queue, Thresholds, evaluate, render_text


def _silent_server(port: int = 0, address: str = "127.0.0.1") -> tuple[int, socket.socket]:
    """Accepts every connection and never answers."""
    server = socket.socket()
    server.bind((address, port))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1], server


def _topology(port: int):
    data = {"zone": "az1", "es_cluster_name": "esdr-dc2",
            "es_version": "8.19.21", "es_security": False, "es_http_port": port,
            "es_api_transport": "direct"}
    # two nodes on two loopback addresses (Linux routes all of 127.0.0.0/8 to lo)
    hosts = [HostSpec(f"dc2-n{i}", ("es_master", "es_data"),
                      {**data, "ssh_hostname": f"127.0.0.{i}"}) for i in (1, 2)]
    return topology_from_hosts("dc2", hosts)


def test_a_silent_dc_is_critical_within_the_deadline() -> None:
    port, server = _silent_server()
    _, second = _silent_server(port, "127.0.0.2")
    try:
        target = Target("dc2", "inventories/dc2.py", _topology(port), Thresholds(timeout=1.5))
        start = time.monotonic()
        [dc2] = read_all([target], 1.5, datetime.now(timezone.utc))
        took = time.monotonic() - start
    finally:
        server.close()
        second.close()
    # the deadline (and a loaded machine's scheduling), not a timeout per node and request
    assert took < 2.5, took
    assert dc2.reachable is False and dc2.hosts == (f"127.0.0.1:{port}", f"127.0.0.2:{port}")
    report = evaluate([dc2], datetime.now(timezone.utc))
    assert report.code == CRITICAL
    assert f"dc2 UNREACHABLE (tried 127.0.0.1:{port}" in "\n".join(render_text(report))


def test_a_refused_port_is_unreachable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    [dc2] = read_all([Target("dc2", "x", _topology(port))], 1.5)
    assert dc2.reachable is False and time.monotonic() - start < 2.5
    assert dc2.reason


def test_run_all_never_waits_past_the_deadline() -> None:
    release = threading.Event()
    start = time.monotonic()
    got = run_all({"slow": lambda: release.wait(30), "fast": lambda: 7,
                   "boom": lambda: 1 / 0}, time.monotonic() + 0.3)
    release.set()
    assert time.monotonic() - start < 1.3
    assert got["slow"].late and got["fast"].value == 7
    assert isinstance(got["boom"].error, ZeroDivisionError)


def test_a_silent_gateway_leaves_the_others_queues_known() -> None:
    # each gateway is one read of the deadline: gw1 never answers, gw2's queue is still shown
    caught_up = Queue("gw2", "dc2-queue", 0, Figure(0, " B"), True,
                      "gateway gw2: queue dc2-queue: 0 messages, esdr-replay-dc2 caught up")
    target = Target("gateways", "inventories/gateways.py", thresholds=Thresholds(timeout=1.0),
                    gateways={"gw1": lambda: time.sleep(30) or [], "gw2": lambda: [caught_up]})
    start = time.monotonic()
    [dc] = read_all([target], 1.0, datetime.now(timezone.utc))
    assert time.monotonic() - start < 2.0
    gw1, gw2 = dc.queues
    assert (gw1.gateway, gw1.caught_up) == ("gw1", None)
    assert gw1.line == "gateway gw1: queues unknown (no answer within 1 s)"
    assert gw2 == caught_up
    report = evaluate([dc], datetime.now(timezone.utc))
    assert report.code == CRITICAL
    assert report.summary().startswith("ESDR CRITICAL - gateway gw1: queues unknown")
