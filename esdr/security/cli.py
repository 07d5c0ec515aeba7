"""``esdr certs status|renew INVENTORY``: the estate's node certificates, read or reissued."""

from __future__ import annotations

import sys

import click

from esdr.errors import EsdrError


def _topology(inventory: str):
    from esdr.topology_io import load_valid_topology

    try:
        topology, _ = load_valid_topology(inventory)
    except EsdrError as error:
        click.echo(f"esdr: {error}", err=True)
        sys.exit(2)
    from esdr.security import config

    if not config.enabled(topology.cluster):
        click.echo(
            f"esdr: {inventory}: security is off (es_security = False): no certificates",
            err=True,
        )
        sys.exit(1)
    return topology


@click.group()
def certs() -> None:
    """The estate CA and node certificates (kept in the secrets directory, es_secrets_dir)."""


@certs.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
def status(inventory: str) -> None:
    """Each node's certificate expiry and what the next deploy does with it. Changes nothing.

    Exit 0: every certificate is kept; 3: some would be (re)issued.
    """
    from esdr.security import store
    from esdr.security.certs import certificate_status

    topology = _topology(inventory)
    try:
        rows = certificate_status(topology)
    except EsdrError as error:
        click.echo(f"esdr: {error}", err=True)
        sys.exit(1)
    click.echo(f"secrets: {store.secrets_dir(topology.cluster)}")
    width = max(len(r.node) for r in rows)
    for row in rows:
        expiry = row.not_after.strftime("%Y-%m-%d") if row.not_after else "-"
        left = f"{row.days_left:.0f}d" if row.days_left is not None else "-"
        click.echo(f"{row.node.ljust(width)}  {expiry}  {left:>6}  {row.action}")
    sys.exit(3 if any(r.action != "ok" for r in rows) else 0)


@certs.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--node", "nodes", multiple=True, help="Reissue only this node (repeatable).")
def renew(inventory: str, nodes: tuple[str, ...]) -> None:
    """Reissue node certificates now (all, or --node). The next deploy installs them and
    restarts the nodes one at a time, health-gated."""
    from esdr.security.certs import ensure_certificates

    topology = _topology(inventory)
    known = {n.name for n in topology.cluster.nodes}
    unknown = sorted(set(nodes) - known)
    if unknown:
        click.echo(
            f"esdr: {inventory}: no node {', '.join(unknown)} "
            f"(nodes: {', '.join(sorted(known))})",
            err=True,
        )
        sys.exit(1)
    try:
        result = ensure_certificates(topology, force=True, only=nodes or None)
    except EsdrError as error:
        click.echo(f"esdr: {error}", err=True)
        sys.exit(1)
    for cert in result.nodes.values():
        if cert.issued:
            expires = f"{cert.info.not_after:%Y-%m-%d}"
            click.echo(f"{cert.node}: issued, expires {expires} ({cert.issued})")
    click.echo(f"run the deploy to install them: pyinfra -y {inventory} deploys/site.py")
