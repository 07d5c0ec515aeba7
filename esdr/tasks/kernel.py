"""Kernel settings of any host esdr deploys (``esdr.host_tuning``): persisted in /etc/sysctl.d/
for the next boot, and applied live now. Nothing restarts for them."""

from __future__ import annotations

from pyinfra import host

from esdr.facts.batch import Read, read
from esdr.facts.kernel import KernelParameter
from esdr.host_tuning import SYSCTL_FILE, TCP_RETRIES2, kernel_parameters
from esdr.operations import kernel
from esdr.render import kernel_files
from esdr.tasks import known
from esdr.tasks.context import fact


def kernel_reads() -> tuple[Read, ...]:
    """What ``kernel_settings`` reads, for a deploy that reads every host at once first."""
    return (read(KernelParameter, key=TCP_RETRIES2), *known.file_reads(SYSCTL_FILE))


def kernel_settings() -> None:
    data = host.data.dict()
    for rendered in kernel_files(data):
        known.put(f"Persist kernel settings in {rendered.path}", rendered.content, rendered.path,
                  rendered.user, rendered.group, rendered.mode)
    for key, value in kernel_parameters(data).items():
        if fact(host.name, KernelParameter, key=key)["value"] != value:
            kernel.parameter(name=f"{key} = {value}", key=key, value=value)
