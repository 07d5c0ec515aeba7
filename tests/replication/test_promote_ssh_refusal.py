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
