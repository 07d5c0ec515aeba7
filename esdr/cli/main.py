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
    # gateway tier (issue 4): its own checks plus a lint of each rendered gateway.yml
    from esdr.gateway.load import combined_problems, gateway_only, load_tier, tier_summary

    tier = load_tier(inventory)
    problems = combined_problems(topology, problems, tier)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    if errors(problems):
        click.echo(f"{inventory}: {len(errors(problems))} error(s)", err=True)
        sys.exit(2)
    cluster = topology.cluster
    if not gateway_only(topology, tier):
        click.echo(
            f"{inventory}: valid: cluster {cluster.name}, {len(cluster.nodes)} nodes, "
            f"data zones {', '.join(cluster.data_zones)}, "
            f"{len(cluster.master_eligible)} master-eligible"
        )
    if tier is not None:
        click.echo(f"{inventory}: valid: {tier_summary(tier)}")


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
    from esdr.gateway.cli import is_gateway_only, render_tier
    from esdr.render import node_files
    from esdr.topology_io import load_topology, load_valid_topology

    try:
        if is_gateway_only(inventory):  # gateways only: no Elasticsearch node to render
            topology = load_topology(inventory)
        else:
            topology, _ = load_valid_topology(inventory)
        gateway_files, gateway_hosts = render_tier(inventory, out_dir)
    except EsdrError as error:
        _fail(error, 2)
    written = 0
    for node in topology.cluster.nodes:
        for rendered in node_files(topology, node, bootstrap=not formed):
            target = Path(out_dir) / node.host / rendered.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rendered.content)
            written += 1
    if topology.cluster.nodes or not gateway_hosts:
        click.echo(f"wrote {written} files for {len(topology.cluster.nodes)} nodes under {out_dir}")
    if gateway_hosts:
        click.echo(f"wrote {gateway_files} files for {gateway_hosts} gateway/nginx hosts")


@cli.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--verbose", is_flag=True, help="Also list the objects that are unchanged.")
def plan(inventory: str, verbose: bool) -> None:
    """Show the cluster-level diff of INVENTORY's cluster; changes nothing.

    Exit 0: no drift; 3: drift (the per-object diff is printed); 1/2: cannot tell.
    """
    from esdr.crossdc.commands import plan_command

    sys.exit(plan_command(inventory, verbose, click.echo))


@cli.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option("--index", "indices", multiple=True, help="A follower index to promote (repeatable).")
@click.option("--all", "all_", is_flag=True, help="Promote every follower of this cluster.")
@click.option("--dry", is_flag=True, help="Show the steps, change nothing.")
@click.option("--force", is_flag=True, help="Promote even though the remote DC is healthy.")
def promote(inventory: str, indices: tuple[str, ...], all_: bool, dry: bool, force: bool) -> None:
    """On the surviving DC, turn followers into writable indices and switch write aliases."""
    from esdr.crossdc.commands import promote_command

    sys.exit(promote_command(inventory, list(indices), all_, dry, force, click.echo))


@cli.command()
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option(
    "--direction",
    type=click.Choice(["reverse", "original"]),
    default="reverse",
    help="reverse: the returning DC follows this one; original: this DC follows the old leader "
    "again (its writes since the promotion are lost).",
)
@click.option("--index", "indices", multiple=True, help="A promoted index (repeatable).")
@click.option("--allow-delete", is_flag=True, help="Delete the stale copy that must be replaced.")
@click.option("--dry", is_flag=True, help="Show the steps, change nothing.")
def failback(
    inventory: str, direction: str, indices: tuple[str, ...], allow_delete: bool, dry: bool
) -> None:
    """After the old primary returns, re-establish replication for promoted indices."""
    from esdr.crossdc.commands import failback_command

    sys.exit(failback_command(inventory, direction, list(indices), allow_delete, dry, click.echo))


def main() -> None:
    from esdr.lab.cli import lab

    from esdr.gateway.cli import gateway

    cli.add_command(lab)
    cli.add_command(gateway)
    from esdr.security.cli import certs

    cli.add_command(certs)
    cli()
