"""``esdr gateway lint FILE``: check a gateway.yml on its own (``esdr validate`` lints every
rendered one). ``esdr gateway status INVENTORY``: each gateway's queue depth and replay lag."""

from __future__ import annotations

import json
from pathlib import Path

import click
import urllib3

from esdr.cli.args import INVENTORY
from esdr.cli.guard import BAD_INPUT, DRIFT, FAILURE, OK, guarded
from esdr.cli.prints import Printer
from esdr.errors import BadInput
from esdr.es.tunnel import Forward, route_pool
from esdr.gateway.lint import lint_text
from esdr.gateway.model import GatewayHost, GatewayTier, is_loopback, local_address
from esdr.gateway.queues import QueueState, parse_queue_stats, summary_lines
from esdr.problems import errors
from esdr.project import load_project

API_TIMEOUT = 3.0  # seconds per gateway: a gateway that does not answer by then is reported


@click.group()
def gateway() -> None:
    """The INFINI Gateway tier."""


@gateway.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--references/--no-references",
    default=False,
    help="Passwords must be $[[env.NAME]] references (esdr validate always checks this).",
)
@guarded
def lint(printer: Printer, file: str, references: bool) -> int:
    """Check a gateway.yml; exit 0 when it works as primary/backup, 2 with one line per problem."""
    try:
        text = Path(file).read_text()
    except OSError as exc:
        raise BadInput(f"{file}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{file}: not a text file (not UTF-8 at byte {exc.start})",
                       hint="pass the gateway.yml itself") from exc
    problems = lint_text(text, file, references)
    for problem in problems:
        printer.problem(problem)
    if errors(problems):
        printer.say(f"{file}: {len(errors(problems))} error(s)", err=True)
        return BAD_INPUT
    printer.say(f"{file}: ok")
    return OK


def _forward(tier: GatewayTier, gateway: GatewayHost) -> Forward:
    """The way to one gateway's API: by default a forward that the gateway host's own sshd
    opens to the API on that host (the route every cluster-API client of esdr takes: README,
    "How the deploy reaches a cluster's API"), so the controller needs SSH to the gateways and
    nothing else; ``gateway_api_transport: direct``, a TCP connection from here."""
    port = int(tier["gateway_api_port"])
    if tier["gateway_api_transport"] == "direct" or gateway.ssh is None:
        return Forward(None, (gateway.address, port), API_TIMEOUT)
    # a direct-tcpip channel names the host without the brackets of a binding ("[::1]"):
    # RFC 4254 section 7.2, https://www.rfc-editor.org/rfc/rfc4254#section-7.2
    address = local_address(tier["gateway_api_listen_address"]).strip("[]")
    return Forward(gateway.ssh, (address, port), API_TIMEOUT)


def gateway_queues(tier: GatewayTier, gateway: GatewayHost
                   ) -> tuple[list[QueueState] | None, str | None]:
    """One gateway's queues from ``GET /queue/stats``, or (None, why it did not answer)."""
    port = int(tier["gateway_api_port"])
    url = f"http://{gateway.address}:{port}/queue/stats"
    listen = tier["gateway_api_listen_address"]
    if (tier["gateway_api_transport"] == "direct" and is_loopback(listen)
            and not is_loopback(gateway.address)):  # esdr validate refuses it too
        return None, (f"{url}: the API listens on {listen} of {gateway.name} only; "
                      "gateway_api_transport 'direct' cannot reach it: use 'ssh'")
    # the pool keeps the gateway's URL; only its socket is the forward (never an HTTP proxy of
    # the environment: urllib3 reads none)
    pool = urllib3.HTTPConnectionPool(gateway.address, port, retries=False,
                                      timeout=urllib3.Timeout(API_TIMEOUT))
    route_pool(pool, _forward(tier, gateway))
    try:
        response = pool.request("GET", "/queue/stats")
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{url}: {getattr(exc, 'reason', None) or exc}"
    finally:
        pool.close()
    if response.status != 200:
        return None, f"{url}: HTTP {response.status}"
    try:
        return parse_queue_stats(json.loads(response.data)), None
    except ValueError:
        return None, f"{url}: not JSON"


def report_queues(printer: Printer, tier: GatewayTier) -> int:
    """Print every gateway's queues; OK, DRIFT (some replay lags) or FAILURE (no answer)."""
    code = OK
    report: dict[str, list[dict]] = {}
    for gw in tier.gateways:
        states, error = gateway_queues(tier, gw)
        for line in summary_lines(gw.name, states, error):
            printer.say(line, err=states is None)
        if states is None:
            code = FAILURE
        elif code == OK and not all(s.caught_up for s in states):
            code = DRIFT
        report[gw.name] = [vars(s) | {"caught_up": s.caught_up} for s in states or []]
    printer.record(gateways=report)
    return code


@gateway.command()
@INVENTORY
@guarded
def status(printer: Printer, inventory: str) -> int:
    """Each gateway's queues from its API: messages and how far replay lags behind.

    Exit 0 when every queue is caught up, 3 when some replay lags (writes one cluster does not
    have yet), 1 when a gateway does not answer, 2 when the inventory has no gateway.
    """
    tier = load_project(inventory).tier
    if tier is None or not tier.gateways:
        raise BadInput(f"{inventory}: no host in group `gateways`",
                       hint="esdr gateway status reads the gateways of an inventory that has them")
    return report_queues(printer, tier)
