"""A node's HTTP API, reached from the node itself over the SSH connection pyinfra holds.

Every cluster-API call of the deploy goes this way (see "How the deploy reaches a cluster's API"
in the README): reads are the facts of ``esdr.facts.elasticsearch`` (so ``pyinfra --dry`` shows
them), writes are ``curl`` commands. With security on, curl speaks HTTPS, verifies the node
against the estate CA and reads the superuser's credentials from a root-only config file
(``curl -K``) that the deploy puts on the node: the password is never in argv, so never in
``ps`` or pyinfra's printed commands. Request bodies carry no secrets, so they may ride in argv.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyinfra import logger
from pyinfra.api import StringCommand

from esdr.errors import EsdrError
from esdr.facts.elasticsearch import (
    EsApiFact,
    EsClusterHealth,
    EsNodeNames,
    curl_command,
    parse_response,
)
from esdr.model import Node, Topology
from esdr.security import config as security

HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}
# pyinfra's arguments for running a command as another user than the SSH user
# (pyinfra.api.arguments), taken from the host's data for the calls made outside an operation.
ELEVATION = (
    "_sudo", "_sudo_user", "_use_sudo_login", "_sudo_password", "_preserve_sudo_env",
    "_su_user", "_use_su_login", "_preserve_su_env", "_su_shell", "_su_password",
    "_doas", "_doas_user",
)


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

    def endpoint(self) -> dict[str, Any]:
        """The arguments every ``EsApiFact`` takes for this node."""
        return {"address": self.address, "port": self.port, "scheme": self.scheme,
                "curl_config": self.curl_config}

    def read(self, fact: type[EsApiFact]) -> Any:
        """A fresh read of ``fact`` through this API's host (another node's, when the restart
        watches a node from the outside), ``None`` without an answer."""
        reader = fact()
        _, stdout = self.run(reader.command(**self.endpoint()), timeout=40)
        return reader.process(stdout.splitlines())

    def run(self, command: str, timeout: int = 60) -> tuple[bool, str]:
        # With the host's _sudo (or _su_user, _doas) as pyinfra's own facts run: the curl config
        # holding the credentials is root's (0600), so a non-root SSH user reads it only so.
        data = getattr(self.host, "data", None)
        elevation = {k: data.get(k) for k in ELEVATION if data is not None and data.get(k)}
        ok, output = self.host.run_shell_command(
            StringCommand(command), _timeout=timeout, **elevation
        )
        return ok, output.stdout

    def failed_unit_journal(self, unit: str, lines: int = 8) -> str | None:
        """Why ``unit`` died, when systemd has it failed, else None: a wait can then say why
        at once instead of after its whole bound. The journal's last lines without the JVM's
        stack frames (``journal_cause``), read from far enough back that the cause is in them."""
        failed, _ = self.run(f"systemctl is-failed --quiet {shlex.quote(unit)}")
        if not failed:
            return None
        _, journal = self.run(f"journalctl -u {shlex.quote(unit)} -n 200 --no-pager -o cat")
        return journal_cause(journal, lines)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or None) of a write; status 0 when the node does not answer."""
        url = f"{self.scheme}://{self.address}:{self.port}/{path.lstrip('/')}"
        data = json.dumps(body) if body is not None else None
        _, stdout = self.run(curl_command(method, url, self.curl_config, data), timeout=40)
        return parse_response(stdout)

    def health(self) -> dict | None:
        return self.read(EsClusterHealth)

    def node_names(self) -> set[str]:
        return set(self.read(EsNodeNames) or [])


def failed(host, error: EsdrError) -> bool:
    """End a FunctionCommand on ``error``: its one line (with the fix) in red on the host, and
    False as the command's status. pyinfra prints a traceback for an exception raised inside
    a Python callback, which buries that line."""
    host.log_styled(f"error: {error}", fg="red", log_func=logger.error)
    return False


_STACK_FRAME = re.compile(r"^\s*(at \S+\(.*\)|\.\.\. \d+ (more|common frames omitted))\s*$")


def journal_cause(journal: str, lines: int = 8) -> str:
    """The last ``lines`` lines of a dead JVM's journal that are not stack frames, joined
    with " | ". A JVM that cannot start prints its cause (``Error opening log file
    'logs/gc.log': Permission denied``) above a stack trace of the launcher, so the last few
    raw lines would show only ``at org.elasticsearch.cli.Command.main(...)`` frames."""
    kept = [line.strip() for line in journal.splitlines()
            if line.strip() and not _STACK_FRAME.match(line)]
    return " | ".join(kept[-lines:])[-1200:]


def wait_until(
    what: str, check: Callable[[], bool], *, timeout: float, interval: float = 2.0,
    hint: str = "check the node's journal (journalctl -u elasticsearch) and rerun; "
    "the deploy picks up where it stopped",
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
    raise EsdrError(f"timed out after {timeout:.0f}s waiting for {what}", hint=hint)


def health_at_least(api: NodeApi, status: str) -> bool:
    health = api.health()
    return bool(health) and HEALTH_ORDER.get(health.get("status"), -1) >= HEALTH_ORDER[status]
