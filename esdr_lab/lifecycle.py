"""Bringing the lab up and down, and powering single hosts off and on.

Re-running `up`: when the recorded lab has exactly the requested hosts (names and addresses)
and every host, the mirror and the routes are healthy, it is reused as is (a second or so;
Elasticsearch data on the hosts survives). Otherwise, or with `fresh=True`, everything of the
lab is cleared (recorded state AND anything named esdrlab-*/esl-*/esdrlab0 or mounted under
STATE_DIR) and created anew.
"""

from __future__ import annotations

import shutil
import signal

from esdr.errors import EsdrError
from esdr_lab import artifacts, constants, host, image, mirror, network, nofile, procs, state
from esdr_lab.lock import lab_lock
from esdr_lab.progress import say, step
from esdr_lab.spec import HostSpec, hosts_file, netns_name, specs_from_inventories
from esdr_lab.ssh import ensure_key, ssh_address, wait_ssh
from esdr_lab.state import HostRecord, LabState
from esdr_lab.system import ensure_max_map_count, private_dir, require_machine

BOOT_TIMEOUT = 120  # until sshd answers on every host (3 hosts took ~1 s in testbed.md)
RUNNING_TIMEOUT = 60  # `systemctl is-system-running --wait` per host
# dash's ulimit: -n open files, -p processes (hard limits with -H)
LIMITS_CHECK = (
    "systemd-run --quiet --wait --pipe --collect -p LimitNOFILE=65535 -p LimitNPROC=4096 "
    "{extra}/bin/sh -c 'echo $(ulimit -Hn) $(ulimit -Hp)'"
)


# ---------------------------------------------------------------- up


def up(inventory_paths: list[str], fresh: bool = False) -> LabState:
    require_machine()
    specs = specs_from_inventories(inventory_paths)
    with lab_lock():
        current = state.load()
        if not fresh and current is not None and _reusable(current, specs):
            _ensure_artifacts(specs)  # cheap when cached; the mirror serves the cache directory
            say(f"lab already up with these {len(specs)} hosts: reusing it (--fresh recreates)")
            return current
        with step("clearing any previous lab") as s:
            s.detail = "cleared" if _teardown(current) else "nothing to clear"
        return _create(specs)


def _ensure_artifacts(specs: list[HostSpec]) -> None:
    """Only the mirror files these inventories reference (an ES lab never fetches OpenSearch)."""
    needed = artifacts.needed_for(f for spec in specs for f in spec.mirror_files)
    for artifact in needed:
        with step(f"artifact {artifact.filename}") as s:
            outcome = artifacts.ensure_artifacts([artifact], say)[artifact.filename]
            path = artifacts.path_of(artifact.filename)
            if artifact.wheelhouse:  # a directory of wheels, checked by esdr's lock
                size = sum(w.stat().st_size for w in path.glob("*.whl")) / 1e6
                s.detail = f"{outcome} ({size:.0f} MB of wheels)"
                continue
            size = path.stat().st_size / 1e6
            s.detail = f"{outcome} ({size:.0f} MB, + .sha512)"


def _reusable(current: LabState, specs: list[HostSpec]) -> bool:
    wanted = {(s.name, s.address) for s in specs}
    have = {(r.name, r.address) for r in current.hosts.values()}
    if wanted != have or current.image != str(image.image_dir()):
        return False
    if not network.link_exists(constants.BRIDGE):
        return False
    network.check_routes([s.address for s in specs])  # before any traffic to the hosts
    if not all(procs.alive(r.proc) for r in current.hosts.values()):
        return False
    if not mirror.healthy(current.mirror):
        return False
    return all(
        ssh_address(r.address, "true", timeout=10).returncode == 0
        for r in current.hosts.values()
    )


def _create(specs: list[HostSpec]) -> LabState:
    ensure_max_map_count(say)
    with step("base image") as s:
        cached = image.is_complete(image.image_dir())
        base = image.ensure_image(say)
        s.detail = f"{'cached' if cached else 'built'} {base.name}"
    with step("ssh key"):
        public_key = ensure_key()
    with step("open-files floor for Elasticsearch") as s:
        library = nofile.ensure_built()
        s.detail = (
            f"machine allows {nofile.machine_nofile()} open files; "
            + (f"hosts get {constants.NOFILE_SHIM}" if library else "no gcc: NOT installed")
        )
    _ensure_artifacts(specs)
    with step("bridge + route check") as s:
        network.ensure_bridge()
        network.check_routes([spec.address for spec in specs])
        s.detail = (
            f"{constants.BRIDGE} {constants.CONTROLLER_ADDRESS}/{constants.PREFIX_LEN}, "
            f"all {len(specs)} routes on it"
        )

    lab = LabState(image=str(base), nofile_shim=constants.NOFILE_SHIM if library else "")
    state.save(lab)  # from here on everything created is recorded before it exists
    _fresh_snapshot_dir()
    with step(f"network + overlay for {len(specs)} hosts"):
        hosts_text = hosts_file(specs)
        for spec in specs:
            record = host.record_for(spec)
            lab.hosts[spec.name] = record
            state.save(lab)
            network.create_host_network(spec)
            host.seed_upper(spec, hosts_text, public_key, library)
            host.mount_root(record, base)
    with step("artifact mirror") as s:
        lab.mirror = mirror.start()
        state.save(lab)
        s.detail = f"{lab.mirror.url} pid {lab.mirror.proc.pid}"
    with step(f"booting {len(specs)} hosts"):
        for record in lab.hosts.values():
            host.boot(record)
            state.save(lab)
        _wait_booted(list(lab.hosts.values()))
    with step("LimitNOFILE/LimitNPROC check") as s:
        s.detail = _check_limits(next(iter(lab.hosts.values())), lab)
        state.save(lab)
    return lab


def _fresh_snapshot_dir() -> None:
    """The shared snapshot directory (an NFS stand-in), empty for a new lab.

    root:root 0770, never world-writable: the deploy chowns it to the elasticsearch user
    (same uid on every host, all are made from one image by one deploy)."""
    private_dir(constants.STATE_DIR)
    shared = constants.SNAPSHOT_DIR
    if shared.exists():
        shutil.rmtree(shared)
    private_dir(shared.parent, 0o755)
    private_dir(shared, 0o770)


def _wait_booted(records: list[HostRecord]) -> None:
    """Bounded: sshd on every host, then systemd's boot finished (running or degraded)."""
    reachable = wait_ssh([r.address for r in records], timeout=BOOT_TIMEOUT)
    failed = [r for r in records if not reachable[r.address]]
    if failed:
        dead = [r.name for r in failed if not procs.alive(r.proc)]
        raise EsdrError(
            f"lab hosts {', '.join(r.name for r in failed)} not reachable over ssh after "
            f"{BOOT_TIMEOUT}s" + (f" (nspawn exited: {', '.join(dead)})" if dead else ""),
            hint=f"read {constants.HOSTS_DIR}/<name>/console.log, then esdr lab down",
        )
    for record in records:
        result = ssh_address(
            record.address,
            f"timeout {RUNNING_TIMEOUT - 5} systemctl is-system-running --wait",
            timeout=RUNNING_TIMEOUT,
        )
        if result.stdout.strip() not in ("running", "degraded"):
            raise EsdrError(
                f"lab host {record.name}: systemd says "
                f"{result.stdout.strip() or result.returncode!r}",
                hint=f"ssh in and run `systemctl --failed`; console: {record.dir}/console.log",
            )


def _check_limits(record: HostRecord, lab: LabState) -> str:
    """The Elasticsearch unit asks LimitNOFILE=65535 / LimitNPROC=4096: start such a unit in a
    host and record what it really gets. A machine without CAP_SYS_RESOURCE (this sandbox) caps
    RLIMIT_NOFILE at its own hard limit: the unit still starts, with less, and Elasticsearch's
    "max file descriptors" bootstrap check would fail unless the unit preloads the floor library."""
    nofile_now, nproc = _unit_limits(record, "")
    lab.nofile_limit = nofile_now
    detail = f"unit on {record.name} gets nofile={nofile_now} nproc={nproc}"
    if nofile_now >= nofile.FLOOR:
        return detail
    if lab.nofile_shim:
        seen, _ = _unit_limits(record, f"-E LD_PRELOAD={lab.nofile_shim} ")
        if seen < nofile.FLOOR:
            raise EsdrError(f"{lab.nofile_shim} does not lift the reported limit on {record.name}")
        return f"{detail}; with LD_PRELOAD={lab.nofile_shim} it reports {seen}"
    say(
        f"WARNING: units get only {nofile_now} open files here and no floor library was built "
        "(install gcc): Elasticsearch's bootstrap check will refuse non-loopback binds"
    )
    return detail


def _unit_limits(record: HostRecord, extra: str) -> tuple[int, int]:
    result = ssh_address(record.address, LIMITS_CHECK.format(extra=extra), timeout=30)
    got = result.stdout.split()
    if result.returncode != 0 or len(got) != 2 or not all(g.isdigit() for g in got):
        raise EsdrError(
            f"lab host {record.name}: a unit with LimitNOFILE=65535 LimitNPROC=4096 did not "
            f"start: {(result.stderr or result.stdout).strip()[:200]!r}",
            hint=f"ssh root@{record.address} and run: {LIMITS_CHECK.format(extra=extra)}",
        )
    return int(got[0]), int(got[1])


# ---------------------------------------------------------------- down


def down() -> None:
    with lab_lock():
        with step("lab down") as s:
            s.detail = "removed" if _teardown(state.load()) else "nothing was up"


def _teardown(current: LabState | None) -> bool:
    """Remove everything of the lab: recorded first, then anything found by its name.
    Returns True when something was there. Bounded: each wait has its own limit."""
    found = current is not None
    records = list(current.hosts.values()) if current else []
    if current is not None:
        mirror.stop(current.mirror)
    # SIGTERM every host first, so they power off in parallel; then wait for each (bounded)
    for record in records:
        if record.proc is not None:
            procs.send(record.proc, signal.SIGTERM)
    for record in records:
        host.power_off(record)
    for record in _unrecorded_hosts(records):  # a lab whose state file was lost
        found = True
        host.power_off(record)
    if host.mounts_under(constants.STATE_DIR):
        found = True
        host.unmount_all(constants.STATE_DIR)
    for ns in network.lab_namespaces():
        found = True
        network.delete_namespace(ns)
    for veth in network.lab_veths():
        network.delete_link(veth)
    if network.link_exists(constants.BRIDGE):
        found = True
        network.delete_bridge()
    if constants.HOSTS_DIR.exists():
        found = found or any(constants.HOSTS_DIR.iterdir())
        shutil.rmtree(constants.HOSTS_DIR)
    if constants.SNAPSHOT_DIR.parent.exists():  # snapshots of a removed lab are of no use
        shutil.rmtree(constants.SNAPSHOT_DIR.parent)
    state.remove()
    _verify_clean()
    return found


def _unrecorded_hosts(recorded: list[HostRecord]) -> list[HostRecord]:
    """Hosts found by their cgroup name (esdrlab-*) that the state file does not list."""
    known = {r.name for r in recorded}
    names = set()
    for root in constants.CGROUP_ROOTS:
        if root.is_dir():
            names.update(
                p.name[len(constants.NETNS_PREFIX):]
                for p in root.iterdir()
                if p.is_dir() and p.name.startswith(constants.NETNS_PREFIX)
            )
    return [
        HostRecord(
            name=name, address="", netns=netns_name(name), veth="",
            dir=str(host.host_dir(name)), cgroups=[str(p) for p in host.cgroup_dirs(name)],
        )
        for name in sorted(names - known)
    ]


def _verify_clean() -> None:
    left = []
    if network.lab_namespaces():
        left.append(f"namespaces {network.lab_namespaces()}")
    if network.link_exists(constants.BRIDGE):
        left.append(f"bridge {constants.BRIDGE}")
    if host.mounts_under(constants.STATE_DIR):
        left.append(f"mounts {host.mounts_under(constants.STATE_DIR)}")
    if left:
        raise EsdrError(f"lab teardown left {'; '.join(left)}", hint="run esdr lab down again")


# ---------------------------------------------------------------- single hosts


def _record(lab: LabState | None, name: str) -> HostRecord:
    record = lab.host(name) if lab else None
    if lab is None or record is None:
        raise EsdrError(
            f"no lab host {name!r}"
            + (f" (hosts: {', '.join(lab.hosts)})" if lab else " (the lab is not up)"),
            hint="esdr lab status lists the hosts",
        )
    return record


def stop_host(name: str) -> None:
    """Lose one host as a machine dies: its link goes down first (its peers hear nothing, no
    RST, no FIN: connections time out, as to a dead machine), then it is powered off (bounded).
    Its namespace, overlay and data stay."""
    stop_hosts([name])


def stop_hosts(names: list[str]) -> None:
    """Lose several hosts at once (a whole data centre): every link goes down first, in one
    moment, then each host is powered off (bounded, as `stop_host`)."""
    with lab_lock():
        lab = state.load()
        records = [_record(lab, name) for name in names]
        with step(f"cutting the network of {len(records)} hosts"):
            for record in records:
                network.set_host_link(record.netns, up=False)
        for record in records:
            if record.proc is not None:
                procs.send(record.proc, signal.SIGTERM)  # all shut down in parallel
        with step(f"powering off {', '.join(r.name for r in records)}"):
            for record in records:
                host.power_off(record)
        state.save(lab)


def start_hosts(names: list[str]) -> None:
    """Boot several powered-off hosts again; waits (bounded) until all are up."""
    with lab_lock():
        lab = state.load()
        records = [r for r in (_record(lab, name) for name in names) if not procs.alive(r.proc)]
        if not records:
            say(f"{', '.join(names)}: already running")
            return
        network.check_routes([r.address for r in records])
        with step(f"booting {', '.join(r.name for r in records)}"):
            for record in records:
                network.set_host_link(record.netns, up=True)
                host.kill_leftovers(record)
                host.remove_cgroups(record)
                host.boot(record)
                state.save(lab)
            _wait_booted(records)


def start_host(name: str) -> None:
    """Boot a powered-off host again on the same overlay root; waits (bounded) for it."""
    with lab_lock():
        lab = state.load()
        record = _record(lab, name)
        if procs.alive(record.proc):
            say(f"{record.name} is already running")
            return
        network.check_routes([record.address])
        with step(f"booting {record.name}"):
            network.set_host_link(record.netns, up=True)
            host.kill_leftovers(record)
            host.remove_cgroups(record)
            host.boot(record)
            state.save(lab)
            _wait_booted([record])
