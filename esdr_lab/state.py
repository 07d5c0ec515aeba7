"""The lab's state file: everything `up` created, so `down` can remove it by name and pid."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from esdr_lab import constants

STATE_VERSION = 1


@dataclass
class ProcRecord:
    """A process the lab started: pid plus its start time, so a reused pid is never signalled."""

    pid: int
    starttime: int  # field 22 of /proc/<pid>/stat, in clock ticks since boot


@dataclass
class HostRecord:
    name: str
    address: str
    netns: str
    veth: str
    dir: str  # STATE_DIR/hosts/<name>: upper/, work/, root/
    inventory: str = ""
    proc: ProcRecord | None = None  # the systemd-nspawn process
    cgroups: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return Path(self.dir) / "root"


@dataclass
class MirrorRecord:
    url: str
    directory: str
    proc: ProcRecord | None = None


@dataclass
class LabState:
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    mirror: MirrorRecord | None = None
    bridge: str = constants.BRIDGE
    image: str = ""
    # what a unit asking LimitNOFILE=65535 really gets in a host, and the in-host path of the
    # LD_PRELOAD floor library ("" when not installed); see esdr_lab/nofile.py
    nofile_limit: int = 0
    nofile_shim: str = ""
    version: int = STATE_VERSION

    def host(self, name_or_address: str) -> HostRecord | None:
        if name_or_address in self.hosts:
            return self.hosts[name_or_address]
        for record in self.hosts.values():
            if record.address == name_or_address:
                return record
        return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)  # keeps inventory order + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        raw = json.loads(text)
        hosts = {}
        for name, host in raw.get("hosts", {}).items():
            proc = host.pop("proc", None)
            hosts[name] = HostRecord(**host, proc=ProcRecord(**proc) if proc else None)
        mirror = raw.get("mirror")
        if mirror:
            proc = mirror.pop("proc", None)
            mirror = MirrorRecord(**mirror, proc=ProcRecord(**proc) if proc else None)
        return cls(
            hosts=hosts,
            mirror=mirror,
            bridge=raw.get("bridge", constants.BRIDGE),
            image=raw.get("image", ""),
            nofile_limit=raw.get("nofile_limit", 0),
            nofile_shim=raw.get("nofile_shim", ""),
            version=raw.get("version", STATE_VERSION),
        )


def load(path: Path = constants.STATE_FILE) -> LabState | None:
    """The recorded state, or None when there is none (or it is unreadable: treat as stale)."""
    try:
        return LabState.from_json(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError):
        return None  # an old or broken file: `down` still clears by name prefix


def save(state: LabState, path: Path = constants.STATE_FILE) -> None:
    """Write atomically, root-only: a half-written file would lose track of pids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(state.to_json())
    os.replace(tmp, path)


def remove(path: Path = constants.STATE_FILE) -> None:
    path.unlink(missing_ok=True)
