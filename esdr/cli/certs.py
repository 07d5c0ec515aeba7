"""``esdr certs status|renew|rotate-ca INVENTORY``: the estate's CA and node certificates,
read, reissued, or the CA replaced in phases."""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.args import INVENTORY
from esdr.cli.guard import DRIFT, OK, guarded
from esdr.cli.prints import Printer
from esdr.cli.site_deploy import run_site
from esdr.errors import BadInput
from esdr.model import Topology
from esdr.project import Project, load_project, valid_topology
from esdr.security import certs as certs_mod
from esdr.security import config, rotation, store
from esdr.security.certs import (
    ca_status,
    certificate_status,
    ensure_certificates,
)



def _secured_topology(inventory: str, project: Project | None = None) -> Topology:
    topology, _ = valid_topology(project or load_project(inventory))
    if not config.enabled(topology.cluster):
        raise BadInput(f"{inventory}: security is off (es_security = False): no certificates")
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


@certs.command("rotate-ca")
@click.argument("inventories", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--skip", "skipped", multiple=True, metavar="ALIAS",
              help="A cluster of the estate left out on purpose (repeatable): it is not "
              "deployed, and must not run until it trusts the new CA.")
@click.option("--dry", is_flag=True, help="Show the phases left and change nothing.")
@click.option("--one-phase", is_flag=True, help="Stop after one phase and say what is next.")
@guarded
def rotate_ca(printer: Printer, inventories: tuple[str, ...], skipped: tuple[str, ...],
              dry: bool, one_phase: bool) -> int:
    """Replace the estate CA with no downtime: trust old + new, reissue, drop the old.

    Name every inventory of the estate (DC1, DC2, ...): each phase is one deploy of each
    (pyinfra -y INVENTORY deploys/site.py, a health-gated rolling restart) before the next
    phase starts. The phase is recorded in the secrets directory; a rerun after an
    interruption continues where it stopped.
    """
    projects = [load_project(i) for i in inventories]
    topologies = [_secured_topology(i, p) for i, p in zip(inventories, projects)]
    _all_of_the_estate(topologies, set(skipped))
    directories = {rotation.rotatable_dir(t) for t in topologies}
    if len(directories) != 1:
        raise BadInput("these inventories keep their CAs in different secrets directories "
                       f"({', '.join(sorted(map(str, directories)))}): rotate each estate alone")
    directory = directories.pop()
    state = rotation.current(directory)
    phases = certs_mod.PHASES[certs_mod.PHASES.index(state.phase):] if state else certs_mod.PHASES
    if dry:
        printer.say(f"secrets: {directory}")
        printer.say("no rotation under way: a new CA would be created" if state is None else
                    f"rotation under way since {state.started}, phase {state.phase} "
                    f"(deployed: {', '.join(state.done) or 'none yet'})")
        for phase in phases:
            left = [i for i in inventories
                    if state is None or phase != state.phase or i not in state.done]
            printer.say(f"phase {phase}: {rotation.PLAN[phase]}; deploy {', '.join(left)}, "
                        "each a health-gated rolling restart")
        printer.record(phases=list(phases), rotation=state.phase if state else None)
        return OK
    if state is None:
        state = rotation.start(topologies[0])
        printer.say(f"new CA created in {directory}; phase {state.phase} starts")
    while True:
        phase = state.phase
        for inventory, project in zip(inventories, projects):
            if inventory in state.done:
                printer.say(f"phase {phase}: {inventory} already deployed")
                continue
            seconds = _deploy(inventory, project.root, phase)
            rotation.phase_done(state, inventory, seconds)
            printer.say(f"phase {phase}: {inventory} deployed in {seconds:.0f} s "
                        f"({rotation.PLAN[phase]})")
        following = rotation.advance(state)
        if following is None:
            printer.say(f"rotation finished: {directory}/ca.crt is the new estate CA")
            printer.record(seconds=state.seconds, finished=True)
            return OK
        if one_phase:
            printer.say(f"next: phase {following} ({rotation.PLAN[following]}): "
                        f"esdr certs rotate-ca {' '.join(inventories)}")
            printer.record(seconds=state.seconds, finished=False, next=following)
            return OK


def _all_of_the_estate(topologies: list[Topology], skipped: set[str]) -> None:
    """Refuse to rotate part of an estate: a cluster left out would stop trusting the others'
    certificates at the reissue phase."""
    estate = topologies[0].estate
    if estate is None:
        return
    named = {t.cluster.name for t in topologies}
    unknown = skipped - set(estate.clusters)
    if unknown:
        raise BadInput(f"--skip {', '.join(sorted(unknown))}: not a cluster of the estate "
                       f"(clusters: {', '.join(sorted(estate.clusters))})")
    missing = [ref for alias, ref in estate.clusters.items()
               if ref.cluster_name not in named and alias not in skipped]
    if missing:
        raise BadInput(
            "the estate's clusters share its CA, but "
            + ", ".join(f"{r.alias} ({r.inventory or r.cluster_name})" for r in missing)
            + " is not named",
            hint="name every inventory of the estate, or --skip ALIAS a cluster that is down "
            "(it must not start again before it trusts the new CA)",
        )


def _deploy(inventory: str, root: Path, phase: str) -> float:
    return run_site(inventory, root, f"phase {phase}",
                    "fix what it reports and rerun esdr certs rotate-ca with the same "
                    "inventories: it continues at this phase")
