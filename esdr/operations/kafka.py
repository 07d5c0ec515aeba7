"""Kafka processes on their hosts: restarted one at a time, each waited on until it listens
and, for a broker, until every partition is in sync again."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import FunctionCommand, operation

from esdr.errors import EsdrError
from esdr.facts.kafka import TcpListening
from esdr.node_api import NodeApi, failed, wait_until


@operation()
def restarted(service: str, address: str, port: int, timeout: int = 180,
              in_sync: InSync | None = None):
    """
    Restart a Kafka unit because something it reads changed.

    + service: the systemd unit, without ``.service``
    + address, port: the listener the process opens (the broker's, else the controller's)
    + timeout: seconds the process may take to listen again, and then its partitions to be in
      sync again
    + in_sync: how to ask the cluster whether every partition has all its replicas in sync
      (``InSync``); with it, a broker that was running is waited on until they are, so that
      the next one going down (``_serial``) never takes a partition below
      ``min.insync.replicas`` (Kafka's rolling restart:
      https://kafka.apache.org/documentation/#basic_ops_restarting)

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
        if in_sync is not None:
            yield FunctionCommand(_wait_in_sync, (service, in_sync, timeout), {})


@dataclass(frozen=True)
class InSync:
    """Asks a Kafka cluster, from the deploying machine, which partitions are out of sync:
    ``check()`` gives their names (empty: all in sync) and raises EsdrError when the cluster
    does not answer. ``where`` names the cluster in messages."""

    where: str
    check: Callable[[], list[str]]


def _wait_in_sync(state, host, service: str, in_sync: InSync, timeout: int) -> bool:
    seen: dict[str, object] = {"lagging": None}

    def synced() -> bool:
        try:
            lagging = in_sync.check()
        except EsdrError as error:  # a broker still rejoining: not yet
            seen["lagging"] = str(error)
            return False
        seen["lagging"] = lagging
        return not lagging

    try:
        waited = wait_until(f"every partition of {in_sync.where} in sync after {service} restarted on "
                   f"{host.name}", synced, timeout=timeout,
                   hint="a replica that does not catch up: read the broker's log on that host "
                   f"(journalctl -u {service}); rerun the deploy once it is in sync")
    except EsdrError as error:
        lagging = seen["lagging"]
        shown = (", ".join(lagging[:5]) + (" ..." if len(lagging) > 5 else "")
                 if isinstance(lagging, list) else lagging)
        return failed(host, EsdrError(f"{error.message} (last seen: {shown})", hint=error.hint))
    print(f"[esdr] {service} on {host.name}: back, every partition of {in_sync.where} in sync "
          f"({waited:.1f} s)", file=sys.stderr)
    return True


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


