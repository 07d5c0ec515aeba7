"""`esdr lab up|status|down|stop-host|start-host`: the local multi-host lab."""

from __future__ import annotations

import sys
import time

import click

from esdr.errors import EsdrError
from esdr_lab import api, constants
from esdr_lab.state import LabState
from esdr_lab.status import format_table, render


def _fail(exc: EsdrError) -> None:
    raise click.ClickException(str(exc)) from exc  # one line, exit 1


@click.group(name="lab")
def lab() -> None:
    """The local lab: real hosts (netns + overlay root + systemd + sshd) on this machine."""


@lab.command("up")
@click.option(
    "--inventory", "-i", "inventories", multiple=True, required=True,
    type=click.Path(dir_okay=False), help="lab inventory (repeat for several data centres)",
)
@click.option("--fresh", is_flag=True, help="recreate the hosts even when a healthy lab is up")
def up_cmd(inventories: tuple[str, ...], fresh: bool) -> None:
    """Bring up one lab host per inventory host (reuses a healthy identical lab)."""
    started = time.monotonic()
    try:
        lab_state = api.up(list(inventories), fresh=fresh)
    except EsdrError as exc:
        _fail(exc)
    click.echo(_summary(lab_state))
    click.echo(f"lab up: {len(lab_state.hosts)} hosts in {time.monotonic() - started:.1f}s")


def _summary(lab_state: LabState) -> str:
    rows = [["HOST", "ADDRESS", "NETNS", "NSPAWN PID"]]
    for record in lab_state.hosts.values():
        pid = str(record.proc.pid) if record.proc else "-"
        rows.append([record.name, record.address, record.netns, pid])
    text = format_table(rows)
    if lab_state.mirror:
        text += f"\nmirror: {lab_state.mirror.url}  (ssh key: {constants.SSH_KEY})"
    return text


@lab.command("status")
def status_cmd() -> None:
    """Hosts and mirror; exits 1 unless every host and the mirror are up."""
    try:
        current = api.status()
    except EsdrError as exc:
        _fail(exc)
    click.echo(render(current))
    if not current.up:
        down_hosts = [h.name for h in current.hosts if not h.up]
        what = f"hosts not up: {', '.join(down_hosts)}" if down_hosts else "mirror not serving"
        raise click.ClickException(
            f"lab is degraded: {what}" if current.hosts else "lab is not up"
        )


@lab.command("down")
def down_cmd() -> None:
    """Tear the lab down (by recorded pid and by name); fine when nothing is up."""
    try:
        api.down()
    except EsdrError as exc:
        _fail(exc)


@lab.command("stop-host")
@click.argument("names", nargs=-1, required=True)
def stop_host_cmd(names: tuple[str, ...]) -> None:
    """Power hosts off (their disks stay): simulates losing them. Every named host loses its
    link first, in one moment (e.g. a whole data centre), then each is powered off."""
    try:
        api.stop_hosts(_once_each(names))
    except EsdrError as exc:
        _fail(exc)


@lab.command("start-host")
@click.argument("names", nargs=-1, required=True)
def start_host_cmd(names: tuple[str, ...]) -> None:
    """Boot powered-off hosts again; waits until every one is up."""
    try:
        api.start_hosts(_once_each(names))
    except EsdrError as exc:
        _fail(exc)


def _once_each(names: tuple[str, ...]) -> list[str]:
    """The names in the order given, a repeated one once: a host is booted or stopped once."""
    return list(dict.fromkeys(names))


if __name__ == "__main__":
    sys.exit(lab())
