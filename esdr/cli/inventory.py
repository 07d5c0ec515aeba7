"""``esdr validate`` and ``esdr render``: an inventory's problems, and every file the deploy
would upload, without touching a host."""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.args import INVENTORY
from esdr.cli.guard import BAD_INPUT, OK, guarded
from esdr.cli.prints import Printer
from esdr.gateway.model import GatewayTier
from esdr.gateway.render import host_files
from esdr.kafka.validate import check_section as check_kafka_section
from esdr.kafka.validate import cluster_summary as kafka_summary
from esdr.model import Topology
from esdr.paths import confined
from esdr.problems import errors
from esdr.project import estate_problems, load_project, load_valid_project
from esdr.render import RenderedFile, kernel_files, node_files



@click.command()
@INVENTORY
@guarded
def validate(printer: Printer, inventory: str) -> int:
    """Check INVENTORY's topology; exit 0 when valid, 2 with one line per problem."""
    project = load_project(inventory)
    problems = project.problems()
    problems += [p for p in estate_problems(project) if p not in problems]
    # the estate's Kafka section, as the deploy's preflight checks it before any host
    kafka, kafka_problems = check_kafka_section(project.topology.cluster.settings.get("es_estate"))
    problems += [p for p in kafka_problems if p not in problems]
    for problem in problems:
        printer.problem(problem)
    if errors(problems):
        printer.say(f"{inventory}: {len(errors(problems))} error(s)", err=True)
        return BAD_INPUT
    if not project.gateway_only:
        printer.say(f"{inventory}: valid: {_cluster_summary(project.topology)}")
    if project.tier is not None:
        printer.say(f"{inventory}: valid: {_tier_summary(project.tier)}")
    for name, cluster in sorted(kafka.kafka_clusters.items()) if kafka else ():
        printer.say(f"{inventory}: valid: {kafka_summary(name, cluster)}")
    return OK


def _cluster_summary(topology: Topology) -> str:
    cluster = topology.cluster
    return (f"cluster {cluster.name}, {len(cluster.nodes)} nodes, "
            f"data zones {', '.join(cluster.data_zones)}, "
            f"{len(cluster.master_eligible)} master-eligible")


def _tier_summary(tier: GatewayTier) -> str:
    fd = tier.front_door
    door = fd.kind if fd else "no front door"
    if fd is not None and fd.vips:
        door += " " + ", ".join(v.address for v in fd.vips)
    clusters = " -> ".join(c.name for c in tier.clusters)
    return f"gateways: {len(tier.gateways)} ({door}), clusters {clusters} (primary -> backup)"


@click.command()
@INVENTORY
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--formed/--bootstrap",
    default=False,
    help="Render as for a cluster that has already formed (what every later deploy uploads) "
    "or for its very first start (default), which carries the one-time initial master list.",
)
@guarded
def render(printer: Printer, inventory: str, out_dir: str, formed: bool) -> int:
    """Write every file the deploy would upload, per host, under OUT/<host>/<target path>."""
    project, _ = load_valid_project(inventory)
    nodes = project.topology.cluster.nodes
    node_out = [
        (node.host, rendered)
        for node in nodes
        for rendered in [*node_files(project.topology, node, bootstrap=not formed),
                         *_kernel_files(project, node.host)]
    ]
    tier_hosts = list(dict.fromkeys(project.tier.gateways + project.tier.balancers)
                      if project.tier else [])
    tier_out = [(host.name, rendered) for host in tier_hosts
                for rendered in [*host_files(project.tier, host),
                                 *_kernel_files(project, host.name)]]
    # Every file is rendered and placed before the first is written: a value or name that
    # cannot be rendered leaves OUT as it was.
    targets = [(_target(Path(out_dir), host, r), r) for host, r in node_out + tier_out]
    for target, rendered in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered.content)
    written, tier_files = len(node_out), len(tier_out)
    if nodes or not tier_hosts:
        printer.say(f"wrote {written} files for {len(nodes)} nodes under {out_dir}")
    if tier_hosts:
        printer.say(f"wrote {tier_files} files for {len(tier_hosts)} gateway/nginx hosts")
    printer.record(files=written + tier_files)
    return OK


def _kernel_files(project, host_name: str) -> list[RenderedFile]:
    """The host's own files (kernel settings), which every kind of host carries."""
    return kernel_files(project.inventory.get_host(host_name).data.dict())


def _target(out_dir: Path, host: str, rendered: RenderedFile) -> Path:
    """OUT/<host>/<target path>, never outside OUT/<host> whatever the names hold."""
    host_dir = confined(out_dir, host, what=f"esdr render: host {host!r}")
    return confined(host_dir, rendered.path.lstrip("/"), what=f"esdr render: host {host!r}")
