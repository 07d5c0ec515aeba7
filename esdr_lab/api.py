"""The lab's Python API, for the CLI and the integration tests.

    from esdr_lab import api
    api.require_lab()                       # in a test: skip (or fail under CI) with the reason
    lab = api.up(["inventories/lab.py"])    # LabState: lab.hosts[name].address, .proc.pid
    api.ssh("dc1-data-az1", "systemctl is-active elasticsearch")
    api.stop_host("dc1-data-az2"); api.start_host("dc1-data-az2")   # lose / regain a zone
    api.stop_hosts(["os1-az1", "os1-az2", "os1-az3"])   # lose a whole DC at once (links first)
    api.down()
"""

from __future__ import annotations

import ipaddress
import os
import subprocess

from esdr.errors import EsdrError
from esdr_lab import constants, network, state
from esdr_lab.lifecycle import down, start_host, start_hosts, stop_host, stop_hosts, up
from esdr_lab.ssh import ssh_address
from esdr_lab.state import HostRecord, LabState
from esdr_lab.status import HostStatus, LabStatus, MirrorStatus, collect
from esdr_lab.system import unavailable_reason

__all__ = [
    "HostRecord", "HostStatus", "LabState", "LabStatus", "MirrorStatus",
    "address_of", "down", "lab_state", "require_lab", "ssh", "start_host", "start_hosts",
    "status", "stop_host", "stop_hosts", "unavailable_reason", "up",
]


def status() -> LabStatus:
    """Hosts (pid alive, sshd, systemd state) and mirror; `.up` is True when all are healthy."""
    return collect()


def lab_state() -> LabState | None:
    """What `up` recorded (None when the lab is not up)."""
    return state.load()


def address_of(address_or_host_name: str) -> str:
    """A lab host's address, from its name (via the state file) or an address in the subnet."""
    lab = state.load()
    record = lab.host(address_or_host_name) if lab else None
    if record is not None:
        return record.address
    try:
        ip = ipaddress.IPv4Address(address_or_host_name)
    except ValueError:
        raise EsdrError(
            f"{address_or_host_name!r} is neither a lab host name nor an address",
            hint="esdr lab status lists the hosts",
        ) from None
    if ip not in ipaddress.IPv4Network(constants.SUBNET):
        raise EsdrError(
            f"{ip} is not a lab address ({constants.SUBNET}): the lab sends nothing elsewhere"
        )
    return str(ip)


def ssh(
    address_or_host_name: str, command: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `command` as root on a lab host with the lab key (BatchMode, no host-key checks).

    Never raises for the command's own failure: check `.returncode` (124 = timed out,
    255 = ssh could not connect). Raises EsdrError when the address is not routed to the bridge.
    """
    address = address_of(address_or_host_name)
    network.check_routes([address])
    return ssh_address(address, command, timeout=timeout)


def require_lab() -> None:
    """For tests marked `lab`: skip with the reason when the lab cannot run here; under CI
    (env CI set) fail instead, so a CI machine that lost the lab's tools is noticed."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"lab unavailable under CI: {reason}")
    pytest.skip(f"lab unavailable: {reason}")
