"""Running machine commands with a time limit, and checking the machine can hold a lab."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants

REQUIRED_TOOLS = ("ip", "systemd-nspawn", "debootstrap", "ssh", "ssh-keygen", "mount", "umount")


def run(
    argv: list[str], timeout: float = 30, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one machine command, bounded in time; on failure an EsdrError naming the command."""
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise EsdrError(f"`{' '.join(argv)}` did not finish within {timeout:.0f}s") from None
    except FileNotFoundError:
        raise EsdrError(
            f"`{argv[0]}` is not installed",
            hint=f"apt-get install {constants.MACHINE_PACKAGES}",
        ) from None
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise EsdrError(
            f"`{' '.join(argv)}` failed (exit {result.returncode}): "
            f"{detail[-1] if detail else 'no output'}"
        )
    return result


def unavailable_reason() -> str | None:
    """Why the lab cannot run on this machine, or None when it can."""
    if platform.system() != "Linux":
        return f"the lab needs Linux (this is {platform.system()})"
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, mounts, systemd-nspawn): run as root"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"missing {', '.join(missing)}: apt-get install {constants.MACHINE_PACKAGES}"
        )
    for root in constants.CGROUP_ROOTS:
        if not (root / "cgroup.procs").is_file():
            return (
                f"cgroup mount {root} is missing "
                "(the lab expects cgroup v1 name=systemd + v2 unified)"
            )
    if not Path("/proc/sys/net/ipv4").is_dir() or not Path("/run").is_dir():
        return "no /proc/sys/net/ipv4 or /run: not a normal Linux system"
    return None


def require_machine() -> None:
    """Raise an EsdrError when the lab cannot run here."""
    reason = unavailable_reason()
    if reason:
        raise EsdrError(f"cannot run the lab here: {reason}")


def ensure_max_map_count(say) -> None:
    """Elasticsearch needs vm.max_map_count >= 262144; it is machine-wide (read-only in hosts)."""
    path = Path("/proc/sys/vm/max_map_count")
    current = int(path.read_text().strip())
    if current < constants.MIN_MAX_MAP_COUNT:
        path.write_text(f"{constants.MIN_MAX_MAP_COUNT}\n")  # same as `sysctl -w`
        say(f"raised vm.max_map_count on this machine: {current} -> {constants.MIN_MAX_MAP_COUNT}")


def private_dir(path: Path, mode: int = 0o700) -> Path:
    """mkdir -p with an exact mode (mkdir's mode is filtered by the umask)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path
