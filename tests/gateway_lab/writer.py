"""The application side of the real-gateway drills: a writer through the VIP, and the bounded
reads the drills check against (the gateway's queues, the VIP's holder, a cluster's ids).

Shared by the Elasticsearch pair (tests/crossdc_lab/test_gateway_drills_lab.py) and the
OpenSearch pair (tests/opensearch_lab/test_os_gateway_lab.py). Lab addresses only.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest

from esdr.cli.gateway import gateway_queues
from esdr.es import client
from esdr.es.connect import client_for
from tests.gateway_lab.drill import ssh

VIP = "10.88.0.100"
ENTRY = f"http://{VIP}:8000"
GATEWAY_HOSTS = ("gw1", "gw2")


def wait(what: str, check, limit: float, step: float = 1.0):
    """Bounded poll: check()'s truthy value and the seconds it took, or fail naming ``what``."""
    start = time.monotonic()
    last: object = None
    for _ in range(int(limit / step) + 2):
        try:
            value = check()
            if value:
                return value, time.monotonic() - start
        except Exception as error:  # a cluster or gateway still coming back answers with errors
            last = error
        if time.monotonic() - start > limit:
            break
        time.sleep(step)
    pytest.fail(f"timed out after {limit:.0f}s waiting for {what} (last error: {last})")


@dataclass
class Writer:
    """Writes one document after another through the VIP, each retried until acknowledged.

    ``auth``: the application's own credentials as HTTP headers; the gateway passes them
    through to the cluster, and its queued copy carries them to the other one (README
    "Gateway tier"). Every ``idless_every``-th write has no id (the gateway names it) and is
    sent once: a client cannot resend it under the same id.
    """

    index: str
    auth: dict[str, str]
    idless_every: int = 10
    entry: str = ENTRY  # https://... for a tier on TLS, with ``tls`` trusting the estate CA
    tls: ssl.SSLContext | None = None
    acked: set[str] = field(default_factory=set)
    phase: str = "before"
    failures: dict[str, int] = field(default_factory=dict)  # phase -> failed attempts
    windows: list[tuple[float, float, str]] = field(default_factory=list)  # failing streaks
    lost_idless: int = 0  # id-less writes that failed (sent once, never retried)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _idless(self, n: int) -> bool:
        # none while a gateway is killed: one killed after the primary took an id-less write,
        # before it queued the write, leaves it in the primary alone, and a client cannot
        # resend it under the same id (README "Gateway tier")
        return bool(self.idless_every) and n % self.idless_every == 0 and self.phase != "failover"

    def send(self, n: int) -> str | None:
        """One write attempt: the id the cluster acknowledged, or None."""
        body = json.dumps({"n": n, "phase": self.phase}).encode()
        if self._idless(n):
            request = urllib.request.Request(f"{self.entry}/{self.index}/_doc", data=body,
                                             method="POST")
        else:
            request = urllib.request.Request(f"{self.entry}/{self.index}/_doc/w{n}", data=body,
                                             method="PUT")
        request.add_header("Content-Type", "application/json")
        for name, value in self.auth.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=5, context=self.tls) as response:
                if response.status in (200, 201):
                    return json.loads(response.read())["_id"]
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        return None

    def _run(self) -> None:
        n, streak = 0, None
        while not self._stop.is_set():
            n += 1
            idless = self._idless(n)
            for _ in range(600):  # bounded: each attempt at most 5 s
                # an attempt counts in the phase it was sent in: one sent to the killed gateway
                # may time out only after the drill has moved on to the next phase
                sent, phase = time.monotonic(), self.phase
                doc_id = self.send(n)
                if doc_id is not None:
                    self.acked.add(doc_id)
                    if streak is not None:
                        self.windows.append((streak[0], sent, streak[1]))
                        streak = None
                    break
                self.failures[phase] = self.failures.get(phase, 0) + 1
                streak = streak or (sent, phase)
                if idless:
                    self.lost_idless += 1
                    break
                if self._stop.wait(0.2):
                    return
            self._stop.wait(0.02)

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def window(self, phase: str) -> float:
        return max((end - start for start, end, p in self.windows if p == phase), default=0.0)


def queue_state(tier, gateway: str, name: str):
    """The named disk queue of one gateway, read from its API (None: no such queue yet)."""
    states, error = gateway_queues(tier, tier.host(gateway))
    assert states is not None, error
    return next((s for s in states if s.name == name), None)


def drained(tier, queue: str) -> bool:
    """Every gateway's replay of ``queue`` caught up."""
    for gateway in GATEWAY_HOSTS:
        state = queue_state(tier, gateway, queue)
        if state is not None and not state.caught_up:
            return False
    return True


def vip_holder() -> str | None:
    for host in GATEWAY_HOSTS:
        if f"{VIP}/" in ssh(host, "ip -4 -o addr show dev eth0"):
            return host
    return None


def doc_ids(es: Any, index: str) -> set[str]:
    """Every document id of ``index`` (refreshed first); the drills write less than a page."""
    client.request(es, "POST", f"/{index}/_refresh")
    answer = client.request(es, "POST", f"/{index}/_search",
                            body={"size": 10000, "_source": False, "track_total_hits": True,
                                  "query": {"match_all": {}}})
    assert answer["hits"]["total"]["value"] < 10000, "the drill wrote more than one page"
    return {hit["_id"] for hit in answer["hits"]["hits"]}


def cluster_client(topology: Any) -> Any:
    """A controller client that rides out a cluster still coming back (retries, 20 s)."""
    return client_for(topology, request_timeout=20, max_retries=5)


def all_nodes_green(topology: Any) -> bool:
    """Green, with every node of the inventory in the cluster."""
    health = client.get_cluster_health(cluster_client(topology), timeout="5s")
    return health["status"] == "green" and health["number_of_nodes"] == len(
        topology.cluster.nodes)
