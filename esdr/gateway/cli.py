"""``esdr gateway ...`` commands and the gateway parts of ``esdr validate`` / ``esdr render``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from esdr.errors import EsdrError
from esdr.validate import errors


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
def lint(file: str, references: bool) -> None:
    """Check a gateway.yml; exit 0 when it works as primary/backup, 2 with one line per problem."""
    from esdr.gateway.lint import lint_text

    path = Path(file)
    try:
        text = path.read_text()
    except OSError as exc:
        click.echo(f"esdr: {file}: cannot read: {exc.strerror}", err=True)
        sys.exit(1)
    problems = lint_text(text, file, references)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    if errors(problems):
        click.echo(f"{file}: {len(errors(problems))} error(s)", err=True)
        sys.exit(2)
    click.echo(f"{file}: ok")


def render_tier(inventory: str, out_dir: str) -> tuple[int, int]:
    """Write every gateway/Nginx host's files under OUT/<host>/; (files, hosts) written."""
    from esdr.gateway.load import load_tier, valid_tier_or_raise
    from esdr.gateway.render import host_files

    tier = load_tier(inventory)
    if tier is None:
        return 0, 0
    valid_tier_or_raise(tier)
    written, hosts = 0, 0
    for host in dict.fromkeys(tier.gateways + tier.balancers):
        hosts += 1
        for rendered in host_files(tier, host):
            target = Path(out_dir) / host.name / rendered.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.content)
            written += 1
    return written, hosts


def is_gateway_only(inventory: str) -> bool:
    """True for an inventory of gateway hosts without Elasticsearch nodes."""
    from esdr.gateway.load import gateway_only, load_tier
    from esdr.topology_io import load_topology

    try:
        return gateway_only(load_topology(inventory), load_tier(inventory))
    except EsdrError:
        return False
