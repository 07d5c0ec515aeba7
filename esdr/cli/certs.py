"""``esdr certs status|renew INVENTORY``: the estate's node certificates, read or reissued."""

from __future__ import annotations

import click

from esdr.cli.guard import DRIFT, OK, guarded
from esdr.cli.prints import Printer
from esdr.errors import BadInput, EsdrError
from esdr.model import Topology
from esdr.project import load_project, valid_topology
from esdr.security import config, store
from esdr.security.certs import (
    ca_status,
    certificate_status,
    ensure_certificates,
)

INVENTORY = click.argument("inventory", type=click.Path(dir_okay=False))


def _secured_topology(inventory: str) -> Topology:
    topology, _ = valid_topology(load_project(inventory))
    if not config.enabled(topology.cluster):
        raise EsdrError(f"{inventory}: security is off (es_security = False): no certificates")
    return topology


@click.group()
def certs() -> None:
    """The estate CA and node certificates (kept in the secrets directory, es_secrets_dir)."""


@certs.command()
@INVENTORY
@guarded
def status(printer: Printer, inventory: str) -> int:
    """The CA's and each node certificate's expiry, and what the next deploy does with them.
    Changes nothing.

    Exit 0: every certificate is kept and the CA is outside the renewal window; 3: some would
    be (re)issued, or the CA is inside the window or expired (rotate it: certs rotate-ca).
    """
    topology = _secured_topology(inventory)
    rows = certificate_status(topology)
    ca = ca_status(topology)
    printer.say(f"secrets: {store.secrets_dir(topology.cluster)}")
    width = max([2, *(len(r.node) for r in rows)])
    if ca is None:
        printer.say(f"{'CA'.ljust(width)}  -  none yet: the next deploy creates it")
    else:
        printer.say(f"{'CA'.ljust(width)}  {ca.not_after:%Y-%m-%d}  {ca.days_left:>5.0f}d  "
                    f"{ca.action}  ({ca.subject})")
        if ca.rotation:
            printer.say(f"CA rotation under way, phase {ca.rotation}: continue it with "
                        f"esdr certs rotate-ca {inventory}")
    for row in rows:
        expiry = row.not_after.strftime("%Y-%m-%d") if row.not_after else "-"
        left = f"{row.days_left:.0f}d" if row.days_left is not None else "-"
        printer.say(f"{row.node.ljust(width)}  {expiry}  {left:>6}  {row.action}")
    printer.record(
        certificates={r.node: r.action for r in rows},
        ca=None if ca is None else {"not_after": ca.not_after.isoformat(), "action": ca.action,
                                    "rotation": ca.rotation},
    )
    ca_due = ca is not None and (ca.action != "ok" or ca.rotation is not None)
    return DRIFT if ca_due or any(r.action.startswith("reissue") for r in rows) else OK


@certs.command()
@INVENTORY
@click.option("--node", "nodes", multiple=True, help="Reissue only this node (repeatable).")
@guarded
def renew(printer: Printer, inventory: str, nodes: tuple[str, ...]) -> int:
    """Reissue node certificates now (all, or --node). The next deploy installs them and
    restarts the nodes one at a time, health-gated."""
    topology = _secured_topology(inventory)
    known = {n.name for n in topology.cluster.nodes}
    unknown = sorted(set(nodes) - known)
    if unknown:
        raise BadInput(f"{inventory}: no node {', '.join(unknown)} "
                       f"(nodes: {', '.join(sorted(known))})")
    result = ensure_certificates(topology, force=True, only=nodes or None)
    for cert in result.nodes.values():
        if cert.issued:
            printer.say(f"{cert.node}: issued, expires {cert.info.not_after:%Y-%m-%d} "
                        f"({cert.issued})")
    printer.say(f"run the deploy to install them: pyinfra -y {inventory} deploys/site.py")
    return OK
