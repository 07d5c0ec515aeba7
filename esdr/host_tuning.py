"""Kernel settings esdr keeps on every host it deploys: engine, gateway and front-door hosts.

Linux retransmits on an established TCP connection 15 times (about 15 minutes) before it gives
up on a peer that went silent, so a zone or data centre lost without a word (no RST, no FIN)
holds connections, and everything waiting on them, for minutes. Elastic recommends
``net.ipv4.tcp_retries2 = 5`` (about 6 s) on every node:
https://www.elastic.co/guide/en/elasticsearch/reference/current/system-config-tcpretries.html
A gateway or front door waiting on a silent node is held up the same way. The value is per
network namespace, so it is set on each host, and persisted in /etc/sysctl.d/ for the next boot.
Pure: host data in, values and file content out (``esdr.render.host_files`` makes the file).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TCP_RETRIES2_KEY = "tcp_retries2"  # host data: group_data/all.py may set it for every host
TCP_RETRIES2 = "net.ipv4.tcp_retries2"
DEFAULT_TCP_RETRIES2 = 5
MIN_TCP_RETRIES2, MAX_TCP_RETRIES2 = 3, 15
SYSCTL_FILE = "/etc/sysctl.d/90-esdr-net.conf"


def kernel_parameters(data: Mapping[str, Any]) -> dict[str, int]:
    """The sysctl keys and values this host should run with (``tcp_retries2: None`` leaves the
    host's own value alone)."""
    value = data.get(TCP_RETRIES2_KEY, DEFAULT_TCP_RETRIES2)
    return {} if value is None else {TCP_RETRIES2: int(value)}


def sysctl_conf(data: Mapping[str, Any]) -> str | None:
    """The content of ``SYSCTL_FILE``, which keeps them across a reboot (``systemd-sysctl``
    reads /etc/sysctl.d/), or None when esdr leaves them alone."""
    parameters = kernel_parameters(data)
    if not parameters:
        return None
    lines = ["# Managed by esdr: a peer that went silent is given up in seconds, not minutes.",
             f"# Change {TCP_RETRIES2_KEY} in the inventory, not here."]
    lines += [f"{key} = {value}" for key, value in parameters.items()]
    return "\n".join(lines) + "\n"
