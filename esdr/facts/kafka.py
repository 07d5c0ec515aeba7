"""A Kafka process as its host sees it: whether its listener accepts connections."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


class TcpListening(FactBase):
    """
    Whether ``address:port`` accepts a TCP connection, tried from the host itself with bash's
    ``/dev/tcp`` and bounded to 2 s (no client tool needed on the host, no TLS spoken).

    A process that died or never got as far as opening its listener shows as closed; an open
    port says the JVM runs and bound it, not yet that the broker is registered (the topics
    step asks the cluster for that, over TLS).

    .. code:: python

        True
    """

    requires_command = "bash"

    def command(self, address: str, port: int) -> str:  # type: ignore[override]
        probe = shlex.quote(f"exec 3<>/dev/tcp/{address}/{int(port)}")
        return f"if timeout 2 bash -c {probe} 2>/dev/null; then echo open; else echo closed; fi"

    def process(self, output):
        return bool(output) and output[0].strip() == "open"
