"""Talk to a node's HTTP API from the node itself, over the SSH connection pyinfra holds.

The controller may not reach port 9200 of a data centre's hosts (firewalls); SSH it always
reaches. With security on, curl speaks HTTPS, verifies the node against the estate CA and reads
the elastic user's credentials from a root-only config file (``curl -K``) that the deploy puts
on the node: the password is never in argv, so never in ``ps`` or pyinfra's printed commands.
Request bodies carry no secrets, so they may ride in curl's arguments.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyinfra.api import StringCommand

from esdr.errors import EsdrError
from esdr.model import Node, Topology
from esdr.security import config as security

HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass
class NodeApi:
    host: Any  # pyinfra Host
    address: str
    port: int = 9200
    scheme: str = "http"
    curl_config: str | None = None  # curl -K file with the CA and credentials (security on)

    @classmethod
    def for_node(cls, topology: Topology, node: Node, host: Any | None = None) -> NodeApi:
        """The API of ``node``, reached from its own host (or ``host``), secured per the model."""
        from pyinfra import state

        cluster = topology.cluster
        on = security.enabled(cluster)
        return cls(
            host if host is not None else state.inventory.get_host(node.host),
            node.address,
            cluster["es_http_port"],
            scheme="https" if on else "http",
            curl_config=security.CURL_CONFIG if on else None,
        )

    def run(self, command: str, timeout: int = 60) -> tuple[bool, str]:
        ok, output = self.host.run_shell_command(StringCommand(command), _timeout=timeout)
        return ok, output.stdout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or None); status 0 when the node does not answer."""
        url = f"{self.scheme}://{self.address}:{self.port}/{path.lstrip('/')}"
        parts = ["curl", "-s", "-m", "20", "-X", method, "-w", r"\n%{http_code}"]
        if self.curl_config:
            parts[1:1] = ["-K", self.curl_config]
        if body is not None:
            parts += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        parts.append(url)
        ok, stdout = self.run(" ".join(shlex.quote(p) for p in parts) + " || true", timeout=40)
        text, _, code = stdout.rpartition("\n")
        status = int(code) if code.strip().isdigit() else 0
        try:
            return status, json.loads(text) if text.strip() else None
        except ValueError:
            return status, None

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        return body if 200 <= status < 300 else None

    def health(self) -> dict | None:
        return self.get("_cluster/health")

    def node_names(self) -> set[str]:
        nodes = self.get("_cat/nodes?format=json&h=name")
        return {n["name"] for n in nodes} if isinstance(nodes, list) else set()


def wait_until(
    what: str, check: Callable[[], bool], *, timeout: float, interval: float = 2.0
) -> float:
    """Poll ``check`` until true; bounded in time (and so in count). Returns seconds waited."""
    start = time.monotonic()
    attempts = int(timeout / interval) + 1
    for _ in range(attempts):
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            break
        time.sleep(interval)
    raise EsdrError(
        f"timed out after {timeout:.0f}s waiting for {what}",
        hint="check the node's journal (journalctl -u elasticsearch) and rerun; "
        "the deploy picks up where it stopped",
    )


def health_at_least(api: NodeApi, status: str) -> bool:
    health = api.health()
    return bool(health) and HEALTH_ORDER.get(health.get("status"), -1) >= HEALTH_ORDER[status]
