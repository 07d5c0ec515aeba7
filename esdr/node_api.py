"""Talk to a node's HTTP API from the node itself, over the SSH connection pyinfra holds.

The controller may not reach port 9200 of a data centre's hosts (firewalls); SSH it always
reaches. Requests carry no secrets, so the JSON body may ride in curl's arguments.
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

HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}


@dataclass
class NodeApi:
    host: Any  # pyinfra Host
    address: str
    port: int = 9200

    def run(self, command: str, timeout: int = 60) -> tuple[bool, str]:
        ok, output = self.host.run_shell_command(StringCommand(command), _timeout=timeout)
        return ok, output.stdout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or None); status 0 when the node does not answer."""
        url = f"http://{self.address}:{self.port}/{path.lstrip('/')}"
        parts = ["curl", "-s", "-m", "20", "-X", method, "-w", r"\n%{http_code}"]
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
