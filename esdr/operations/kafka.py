"""Kafka processes on their hosts: restarted one at a time, waited on until they listen."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FunctionCommand, operation

from esdr.errors import EsdrError
from esdr.facts.kafka import TcpListening
from esdr.node_api import NodeApi, failed, wait_until


@operation()
def restarted(service: str, address: str, port: int, timeout: int = 180):
    """
    Restart a Kafka unit because something it reads changed.

    + service: the systemd unit, without ``.service``
    + address, port: the listener the process opens (the broker's, else the controller's)
    + timeout: seconds the process may take to listen again

    When the process was listening before, the operation waits until it listens again, so that
    with ``_serial=True`` one host is back before the next goes down and the quorum keeps a
    majority. A process that was not listening (a first start) is only started: a controller
    cannot finish starting alone, so the hosts are waited on together afterwards
    (``listening``).
    """
    was_listening = host.get_fact(TcpListening, address=address, port=port)
    yield f"systemctl restart {shlex.quote(service)}.service"
    if was_listening:
        yield FunctionCommand(_wait_listening, (service, address, port, timeout), {})


@operation()
def listening(service: str, address: str, port: int, timeout: int = 180):
    """
    Wait until a Kafka process listens on its port, and fail at once, with its journal, when
    the unit has failed.

    + service: the systemd unit, without ``.service``
    + address, port: the listener the process opens
    + timeout: seconds to wait

    Without it the deploy would end, and report success, while the brokers are still starting
    or have already died: the first client then meets a refused connection.
    """
    if host.get_fact(TcpListening, address=address, port=port):
        host.noop(f"{service} listens on {address}:{port}")
        return
    yield FunctionCommand(_wait_listening, (service, address, port, timeout), {})


def _wait_listening(state, host, service: str, address: str, port: int, timeout: int) -> bool:
    api = NodeApi(host, address, port)
    probe = TcpListening().command(address, port)

    def up() -> bool:
        _, output = api.run(probe, timeout=10)
        if TcpListening().process(output.splitlines()):
            return True
        journal = api.failed_unit_journal(f"{service}.service")
        if journal is not None:  # the process died: say why now rather than after the timeout
            raise EsdrError(
                f"{service} failed to start on {host.name}: {journal}",
                hint=f"fix the cause, then rerun the deploy (journalctl -u {service} on the host)",
            )
        return False

    try:
        wait_until(f"{service} on {host.name} to listen on {address}:{port}", up, timeout=timeout,
                   hint=f"read the journal on that host (journalctl -u {service}) and rerun; "
                   "the deploy picks up where it stopped")
    except EsdrError as error:
        return failed(host, error)
    return True


