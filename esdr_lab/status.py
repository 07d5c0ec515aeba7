"""What the lab looks like right now: one row per host plus the mirror."""

from __future__ import annotations

from dataclasses import dataclass

from esdr.errors import EsdrError
from esdr_lab import constants, mirror, network, procs, state
from esdr_lab.ssh import port_open, ssh_address
from esdr_lab.state import LabState


@dataclass
class HostStatus:
    name: str
    address: str
    netns: str
    pid: int | None
    alive: bool  # the recorded systemd-nspawn process runs
    sshd: bool  # `ssh true` works with the lab key
    system: str  # `systemctl is-system-running`: running, degraded, starting, ... or "-"

    @property
    def up(self) -> bool:
        return self.alive and self.sshd and self.system in ("running", "degraded")


@dataclass
class MirrorStatus:
    url: str
    pid: int | None
    alive: bool
    serving: bool


@dataclass
class LabStatus:
    hosts: list[HostStatus]
    mirror: MirrorStatus | None

    @property
    def up(self) -> bool:
        return bool(self.hosts) and all(h.up for h in self.hosts) and bool(
            self.mirror and self.mirror.serving
        )


def collect(lab: LabState | None = None) -> LabStatus:
    """Read-only. SSH is tried only after the route check shows every address is on the bridge."""
    lab = lab if lab is not None else state.load()
    if lab is None:
        return LabStatus(hosts=[], mirror=None)
    routed = network.link_exists(constants.BRIDGE)
    if routed:
        try:
            network.check_routes([r.address for r in lab.hosts.values()])
        except EsdrError:
            routed = False
    rows = [_host_row(record, routed) for record in lab.hosts.values()]
    mirror_row = None
    if lab.mirror is not None:
        mirror_row = MirrorStatus(
            url=lab.mirror.url,
            pid=lab.mirror.proc.pid if lab.mirror.proc else None,
            alive=procs.alive(lab.mirror.proc),
            serving=routed and mirror.healthy(lab.mirror),
        )
    return LabStatus(hosts=rows, mirror=mirror_row)


def _host_row(record, routed: bool) -> HostStatus:
    alive = procs.alive(record.proc)
    sshd, system = False, "-"
    if routed and alive and port_open(record.address):
        result = ssh_address(record.address, "systemctl is-system-running", timeout=10)
        sshd = result.returncode != 255  # 255: ssh itself failed; else the command's own code
        system = result.stdout.strip() or "-"
    return HostStatus(
        name=record.name,
        address=record.address,
        netns=record.netns,
        pid=record.proc.pid if record.proc else None,
        alive=alive,
        sshd=sshd,
        system=system,
    )


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    )


def render(status: LabStatus) -> str:
    if not status.hosts and status.mirror is None:
        return "lab: not up (no state in " + str(constants.STATE_FILE) + ")"
    rows = [["HOST", "ADDRESS", "NETNS", "NSPAWN PID", "SSHD", "SYSTEM"]]
    for h in status.hosts:
        pid = f"{h.pid} {'alive' if h.alive else 'dead'}" if h.pid else "-"
        rows.append([h.name, h.address, h.netns, pid, "yes" if h.sshd else "no", h.system])
    text = format_table(rows)
    if status.mirror:
        m = status.mirror
        pid = f"{m.pid} {'alive' if m.alive else 'dead'}" if m.pid else "-"
        text += f"\nmirror: {m.url}  pid {pid}  {'serving' if m.serving else 'NOT serving'}"
    return text
