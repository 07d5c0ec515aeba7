"""promote and the SSH transport: a leader's DC whose sshd answers but refuses this machine
(authentication, host key, an unusable key file) is up, so promote stops; only no answer at all
(refused or timed-out TCP) counts as the DC being lost.

The clients are the ones ``client_for`` builds; only the SSH opener of the forward manager is
replaced, raising what paramiko raises in each case. Nothing is sent anywhere.
"""

from __future__ import annotations

import socket

import paramiko
import pytest

from esdr.es import tunnel
from esdr.es.connect import client_for
from esdr.model import HostSpec, topology_from_hosts
from esdr.runbooks import promote


def _leader_client():
    hosts = [HostSpec("n1", ("es_master", "es_data"),
                      {"zone": "az1", "es_cluster_name": "dc1", "es_version": "8.19.3",
                       "ssh_hostname": "10.0.0.1", "es_security": False, "es_lab": True})]
    return client_for(topology_from_hosts("t", hosts), request_timeout=2, max_retries=0,
                      connect_timeout=1)


def _opener(error: BaseException):
    def open_ssh(route, timeout):
        raise error
    return open_ssh


@pytest.mark.parametrize("error", [
    paramiko.AuthenticationException("Authentication failed."),
    paramiko.BadHostKeyException("10.0.0.1", paramiko.RSAKey.generate(1024),
                                 paramiko.RSAKey.generate(1024)),
    tunnel._UnknownHostKey("no host key for 10.0.0.1"),
    FileNotFoundError(2, "No such file or directory", "/root/.ssh/missing"),
], ids=["auth", "changed-host-key", "unknown-host-key", "missing-key-file"])
def test_an_sshd_that_refuses_this_machine_stops_promote(monkeypatch, error):
    monkeypatch.setattr(tunnel, "TUNNELS", tunnel.Tunnels(_opener(error)))
    leader = promote.probe("dc1", _leader_client())
    assert not leader.unreachable
    assert leader.refusal is not None and "refused this machine" in str(leader.refusal)
    with pytest.raises(Exception, match="refused this machine"):
        promote.refuse_unless_lost(leader, force=False)


@pytest.mark.parametrize("error", [
    socket.timeout("timed out"),
    paramiko.ssh_exception.NoValidConnectionsError({("10.0.0.1", 22): ConnectionRefusedError()}),
], ids=["timeout", "refused"])
def test_no_answer_over_ssh_is_still_unreachable(monkeypatch, error):
    monkeypatch.setattr(tunnel, "TUNNELS", tunnel.Tunnels(_opener(error)))
    leader = promote.probe("dc1", _leader_client())
    assert leader.unreachable and leader.refusal is None


class _Connected:
    """An SSH connection that is up; its sshd answers each channel open with ``refusal``."""

    def __init__(self, refusal: BaseException):
        self.refusal = refusal

    def get_transport(self):
        return self

    def is_active(self):
        return True

    def set_keepalive(self, interval):
        pass

    def open_channel(self, kind, destination, origin, timeout):
        raise self.refusal

    def close(self):
        pass


def test_an_sshd_that_refuses_to_forward_stops_promote(monkeypatch):
    """AllowTcpForwarding no (or a PermitOpen without the HTTP port): sshd answers the
    direct-tcpip open with reason 1, administratively prohibited. The host is up."""
    refusal = paramiko.ChannelException(1, "Administratively prohibited")
    monkeypatch.setattr(tunnel, "TUNNELS", tunnel.Tunnels(lambda route, timeout:
                                                          _Connected(refusal)))
    leader = promote.probe("dc1", _leader_client())
    assert not leader.unreachable
    with pytest.raises(Exception) as stopped:
        promote.refuse_unless_lost(leader, force=False)
    assert str(stopped.value).startswith("the leader's data centre dc1 answered over SSH but "
                                         "refused this machine: ssh 10.0.0.1: its sshd refused "
                                         "to forward to 10.0.0.1:9200 (1, Administratively "
                                         "prohibited)")
    assert "AllowTcpForwarding" in stopped.value.hint and "--force" in stopped.value.hint
    promote.refuse_unless_lost(leader, force=True)


def test_an_sshd_whose_connect_to_the_http_port_failed_is_unreachable(monkeypatch):
    """Reason 2, connect failed: sshd tried the node's HTTP port and it refused (or timed out):
    no connection to the engine, the one answer that counts as lost."""
    refusal = paramiko.ChannelException(2, "Connect failed")
    monkeypatch.setattr(tunnel, "TUNNELS", tunnel.Tunnels(lambda route, timeout:
                                                          _Connected(refusal)))
    leader = promote.probe("dc1", _leader_client())
    assert leader.unreachable and leader.refusal is None
    promote.refuse_unless_lost(leader, force=False)
