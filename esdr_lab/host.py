"""One lab host: an overlay root on the base image, booted by systemd-nspawn in its namespace.

Per host, under STATE_DIR/hosts/<name>:
    upper/  work/   the overlay's writable layer (seeded BEFORE mounting: writing into upper/
                    while mounted loses files) and its work dir
    root/           the mounted overlay, the host's /
    console.log     systemd-nspawn's output (the host's console)
Each nspawn runs in its own cgroups (/sys/fs/cgroup/{systemd,unified}/esdrlab-<name>): without
them the hosts' systemds collide and units fail with 219/CGROUP.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants, nofile, procs
from esdr_lab.spec import HostSpec
from esdr_lab.state import HostRecord
from esdr_lab.system import run

# Units that only cost time or fail inside a lab host (timers that would try the network,
# filesystem scrubbers that need real block devices).
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "systemd-journald-audit.socket",
)

SSHD_CONF = """\
# esdr lab: root logs in with the lab key only
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

JOURNALD_CONF = """\
# esdr lab: keep the journal in memory and small (many hosts share one machine)
[Journal]
Storage=volatile
RuntimeMaxUse=16M
"""

STOP_GRACE = 30  # orderly power-off of a host (systemd stops its units); then SIGKILL


def host_dir(name: str) -> Path:
    return constants.HOSTS_DIR / name


def cgroup_dirs(name: str) -> list[Path]:
    return [root / f"{constants.NETNS_PREFIX}{name}" for root in constants.CGROUP_ROOTS]


def record_for(spec: HostSpec) -> HostRecord:
    return HostRecord(
        name=spec.name,
        address=spec.address,
        netns=spec.netns,
        veth=spec.veth,
        dir=str(host_dir(spec.name)),
        inventory=spec.inventory,
        cgroups=[str(path) for path in cgroup_dirs(spec.name)],
    )


def _write(upper: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = upper / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    os.chmod(target, mode)


def seed_upper(
    spec: HostSpec, hosts_text: str, public_key: str, nofile_library: Path | None = None
) -> None:
    """Write the host's own files into upper/ (the overlay is not mounted yet)."""
    upper = host_dir(spec.name) / "upper"
    if nofile_library is not None:
        nofile.seed(upper, nofile_library)
    _write(upper, "/etc/hostname", f"{spec.name}\n")
    _write(upper, "/etc/hosts", hosts_text)
    _write(upper, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    # no DNS in the lab: names come from /etc/hosts, and there is no route to a resolver
    _write(upper, "/etc/resolv.conf", "# esdr lab: no DNS, see /etc/hosts\n")
    _write(upper, "/etc/ssh/sshd_config.d/esdr-lab.conf", SSHD_CONF)
    _write(upper, "/etc/systemd/journald.conf.d/esdr-lab.conf", JOURNALD_CONF)
    ssh_dir = upper / "root/.ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(upper / "root", 0o700)
    os.chmod(ssh_dir, 0o700)
    _write(upper, "/root/.ssh/authorized_keys", public_key + "\n", 0o600)
    units = upper / "etc/systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    for unit in MASKED_UNITS:
        link = units / unit
        if not link.is_symlink():
            link.symlink_to("/dev/null")


def mount_root(record: HostRecord, image: Path) -> None:
    base = Path(record.dir)
    for sub in ("upper", "work", "root"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    if is_mounted(record.root):
        return
    options = f"lowerdir={image},upperdir={base / 'upper'},workdir={base / 'work'}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, str(record.root)])


def mounts_under(prefix: Path) -> list[Path]:
    """Mount points at or below `prefix`, deepest first (the order to unmount them)."""
    found = []
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            point = Path(line.split()[1].replace("\\040", " "))
            if point == prefix or prefix in point.parents:
                found.append(point)
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def is_mounted(path: Path) -> bool:
    return path in mounts_under(path)


def unmount_all(prefix: Path) -> None:
    for point in mounts_under(prefix):
        if run(["umount", str(point)], check=False, timeout=30).returncode != 0:
            run(["umount", "-l", str(point)], check=False, timeout=30)  # busy: detach it
    left = mounts_under(prefix)
    if left:
        raise EsdrError(
            f"could not unmount {', '.join(map(str, left))}", hint="umount -l it by hand"
        )


def make_cgroups(record: HostRecord) -> None:
    for path in map(Path, record.cgroups):
        path.mkdir(exist_ok=True)


def nspawn_argv(record: HostRecord) -> list[str]:
    return [
        "systemd-nspawn",
        "--boot",
        f"--directory={record.root}",
        f"--machine={record.name}",
        f"--network-namespace-path=/run/netns/{record.netns}",
        "--register=no",
        "--keep-unit",  # without it: "Failed to open system bus" (no systemd on the machine)
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW",  # keepalived needs netlink + raw sockets
        "--console=passive",
        "--resolv-conf=off",  # the seeded /etc/resolv.conf stays: no DNS in the lab
        "--timezone=off",
        "--link-journal=no",
        f"--bind={constants.SNAPSHOT_DIR}:{constants.SNAPSHOT_MOUNT}",
    ]


def nspawn_env() -> dict[str, str]:
    """nspawn mounts /proc/sys read-only; "network" leaves /proc/sys/net writable, as on a real
    machine, so the deploy sets each host's own net.ipv4.* (per network namespace) itself.
    https://systemd.io/ENVIRONMENT/ ($SYSTEMD_NSPAWN_API_VFS_WRITABLE)"""
    return {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}


def boot(record: HostRecord) -> None:
    """Start systemd-nspawn detached in the host's cgroups; records its pid in `record`."""
    make_cgroups(record)
    log = Path(record.dir) / "console.log"
    record.proc = procs.spawn(nspawn_argv(record), log, preexec=procs.join_cgroups(record.cgroups),
                              env=nspawn_env())


def cgroup_pids(record: HostRecord) -> list[int]:
    """Every process in the host's cgroup trees: nspawn and what runs inside the host."""
    pids: set[int] = set()
    for root in map(Path, record.cgroups):
        if not root.is_dir():
            continue
        for procs_file in root.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs_file.read_text().split())
            except OSError:
                pass
    return sorted(pids)


def kill_leftovers(record: HostRecord, timeout: float = 10) -> None:
    """SIGKILL what is still in the host's own cgroups (all of it descends from our nspawn)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = cgroup_pids(record)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    raise EsdrError(
        f"lab host {record.name}: processes {cgroup_pids(record)} survive SIGKILL",
        hint="check `ps` for them; then esdr lab down",
    )


def remove_cgroups(record: HostRecord) -> None:
    """rmdir the cgroup trees bottom-up (a cgroup dir can only be removed when empty)."""
    for root in map(Path, record.cgroups):
        if not root.is_dir():
            continue
        subdirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
        for path in reversed([root, *subdirs]):  # deepest first, root last
            try:
                path.rmdir()
            except OSError:
                pass


def power_off(record: HostRecord) -> None:
    """Orderly power-off: SIGTERM makes nspawn send SIGRTMIN+3 to the host's systemd.
    Bounded: STOP_GRACE seconds, then SIGKILL of nspawn and of what it left in our cgroups."""
    procs.stop(record.proc, grace=STOP_GRACE, kill_wait=5)
    kill_leftovers(record)
    remove_cgroups(record)
    record.proc = None


def remove_files(record: HostRecord) -> None:
    base = Path(record.dir)
    if mounts_under(base):
        raise EsdrError(f"{base} still has mounts", hint="esdr lab down")
    if base.is_dir() and constants.HOSTS_DIR in base.parents:
        shutil.rmtree(base)
