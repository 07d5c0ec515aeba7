"""The lab's SSH key and running commands on lab hosts (bounded, BatchMode, no host-key checks).

Host keys are not checked because every lab host is recreated from one image and lives only on
the lab bridge; the route check guarantees 10.88.0.x is this machine's own bridge.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

from esdr_lab import constants
from esdr_lab.system import private_dir, run


def ensure_key() -> str:
    """Generate the lab's ed25519 key once (dir 0700, key 0600); return the public key line."""
    key = constants.SSH_KEY
    private_dir(key.parent)
    if not key.is_file():
        # no passphrase: the key only opens lab hosts on this machine's private bridge
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "esdr-lab", "-f", str(key)])
    os.chmod(key, 0o600)
    pub = key.with_name(key.name + ".pub")
    if not pub.is_file():
        pub.write_text(run(["ssh-keygen", "-y", "-f", str(key)]).stdout)
    return pub.read_text().strip()


def ssh_argv(address: str, command: str, connect_timeout: int = 5) -> list[str]:
    return [
        "ssh",
        "-i", str(constants.SSH_KEY),
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
        f"root@{address}",
        command,
    ]


def ssh_address(
    address: str, command: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `command` on the lab host at `address`; a timeout gives returncode 124."""
    argv = ssh_argv(address, command, connect_timeout=max(1, min(10, int(timeout))))
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(argv, 124, _text(exc.stdout), _text(exc.stderr))


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def port_open(address: str, port: int = 22, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ssh(addresses: list[str], timeout: float = 60) -> dict[str, bool]:
    """Wait (bounded) until `ssh true` works on each address; returns address -> reachable."""
    deadline = time.monotonic() + timeout
    pending = list(addresses)
    ok: dict[str, bool] = {address: False for address in addresses}
    while pending and time.monotonic() < deadline:
        for address in list(pending):
            if port_open(address) and ssh_address(address, "true", timeout=10).returncode == 0:
                ok[address] = True
                pending.remove(address)
        if pending:
            time.sleep(0.2)
    return ok

