"""The ``esdr`` command: thin wrappers over library calls."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from esdr.errors import EsdrError


def _fail(error: EsdrError, code: int = 1) -> None:
    click.echo(f"esdr: {error}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="esdr")
def cli() -> None:
    """Build and keep Elasticsearch highly available across zones and data centres."""


@cli.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
def validate(inventory: str) -> None:
    """Check INVENTORY's topology; exit 0 when valid, 2 with one line per problem."""
    from esdr.topology_io import load_topology
    from esdr.validate import errors, validate as validate_topology

    try:
        topology = load_topology(inventory)
    except EsdrError as error:
        _fail(error)
    problems = validate_topology(topology)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    if errors(problems):
        click.echo(f"{inventory}: {len(errors(problems))} error(s)", err=True)
        sys.exit(2)
    cluster = topology.cluster
    click.echo(
        f"{inventory}: valid: cluster {cluster.name}, {len(cluster.nodes)} nodes, "
        f"data zones {', '.join(cluster.data_zones)}, "
        f"{len(cluster.master_eligible)} master-eligible"
    )


@cli.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--formed/--bootstrap",
    default=False,
    help="Render as for a cluster that has already formed (what every later deploy uploads) "
    "or for its very first start (default), which carries the one-time initial master list.",
)
def render(inventory: str, out_dir: str, formed: bool) -> None:
    """Write every file the deploy would upload, per host, under OUT/<host>/<target path>."""
    from esdr.render import node_files
    from esdr.topology_io import load_valid_topology

    try:
        topology, _ = load_valid_topology(inventory)
    except EsdrError as error:
        _fail(error, 2)
    written = 0
    for node in topology.cluster.nodes:
        for rendered in node_files(topology, node, bootstrap=not formed):
            target = Path(out_dir) / node.name / rendered.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.content)
            written += 1
    click.echo(f"wrote {written} files for {len(topology.cluster.nodes)} nodes under {out_dir}")


def main() -> None:
    from esdr.lab.cli import lab

    cli.add_command(lab)
    cli()
