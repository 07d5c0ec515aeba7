"""Kernel parameters set live with ``sysctl -w`` (persisting them is a file the deploy puts)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from esdr.facts.kernel import KernelParameter


@operation()
def parameter(key: str, value: int):
    """
    Run the host with ``key`` = ``value`` now.

    + key: the sysctl name, e.g. ``net.ipv4.tcp_retries2``
    + value: the integer it should hold

    Where the host may not write it (a container whose /proc/sys is read-only) the operation
    fails with the fix, unless the value is already right.
    """
    current = host.get_fact(KernelParameter, key=key)
    if current["value"] == value:
        host.noop(f"{key} is {value}")
        return
    if current["value"] is None:
        raise OperationValueError(f"{key}: this kernel has no such parameter")
    if not current["writable"]:
        raise OperationValueError(
            f"{key} is {current['value']}, not {value}, and read-only on this host: run "
            f"`sysctl -w {key}={value}` where the host's network namespace is managed (its "
            "container runtime or hypervisor), or set tcp_retries2: None to leave it alone"
        )
    yield f"sysctl -w {key}={value}"
