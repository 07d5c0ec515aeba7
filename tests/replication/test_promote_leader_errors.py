"""`esdr promote` counts only a refused or timed-out connection as "the leader's DC is lost".

A leader that answers 401/403, or whose TLS handshake fails, is up: this machine's credentials
or trust are wrong, and promoting would split the data in two. A leader the estate gives no
inventory for cannot be asked at all. Each stops promote without ``--force``. The leader's
clients are the real ones of both engines; only their HTTP layer (urllib3) is replaced, so the
libraries turn each failure into the error they raise for real.
"""

from __future__ import annotations

import ssl

import pytest
from urllib3.connection import HTTPConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError, SSLError

from esdr.errors import BadInput, EsdrError
from esdr.es.connect import client_for
from esdr.runbooks import promote
from tests.crossdc.fake_es import fake_client, fake_topology
from tests.replication.fake_os import fake_os_client, not_found, os_topology

REFUSED = "Failed to establish a new connection: [Errno 111] Connection refused"
UNTRUSTED = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
UNAUTHORIZED = {"error": {"root_cause": [{"type": "security_exception",
                                          "reason": "unable to authenticate user [elastic]"}],
                          "type": "security_exception",
                          "reason": "unable to authenticate user [elastic]"}, "status": 401}


def failing_leader(engine: str, error: Exception):
    """A client to the leader's DC whose every request fails in urllib3 with ``error``."""
    def fail(*args, **kwargs):
        raise error

    if engine == "opensearch":
        api = client_for(os_topology("os-dc1"), request_timeout=5, max_retries=0)
        for connection in api.transport.connection_pool.connections:
            if connection.pool is None:
                connection._create_urllib3_pool()
            connection.pool.urlopen = fail
        return api
    api = client_for(fake_topology("es-dc1"), request_timeout=5, max_retries=0)
    for node in api.transport.node_pool.all():
        node.pool.urlopen = fail
    return api


def answering_leader(engine: str, status: int, body: dict):
    expected = [("GET", "/_cluster/health?timeout=5s", None, status, body)]
    return (fake_os_client(expected, os_topology("os-dc1")) if engine == "opensearch"
            else fake_client(expected, fake_topology("es-dc1")))[0]


def _conn() -> HTTPConnection:
    return HTTPConnection("10.0.1.4", 9200)


ENGINES = ["elasticsearch", "opensearch"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_connection_is_unreachable(engine):
    leader = promote.probe("dc1", failing_leader(engine, NewConnectionError(_conn(), REFUSED)))
    assert leader.unreachable and leader.refusal is None
    assert leader.state.startswith("unreachable")
    promote.refuse_unless_lost(leader, force=False)  # lost: promote goes on


@pytest.mark.parametrize("engine", ENGINES)
def test_a_timed_out_connection_is_unreachable(engine):
    timeout = ConnectTimeoutError(_conn(), "Connection to 10.0.1.4 timed out. (connect timeout=5)")
    leader = promote.probe("dc1", failing_leader(engine, timeout))
    assert leader.unreachable and leader.refusal is None
    promote.refuse_unless_lost(leader, force=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_read_timeout_is_not_unreachable_and_stops_promote_without_force(engine):
    """The node accepted the connection and then took longer than the read timeout: it is up
    (the loopback version: test_promote_loopback_answers.py)."""
    timeout = ReadTimeoutError(None, "/_cluster/health", "Read timed out. (read timeout=5)")
    leader = promote.probe("dc1", failing_leader(engine, timeout))
    assert not leader.unreachable
    with pytest.raises(EsdrError, match="did not answer in time, so it is up: .*Read timed out"):
        promote.refuse_unless_lost(leader, force=False)
    promote.refuse_unless_lost(leader, force=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_tls_error_is_not_unreachable_and_stops_promote_without_force(engine):
    error = SSLError(ssl.SSLCertVerificationError(1, UNTRUSTED))
    leader = promote.probe("dc1", failing_leader(engine, error))
    assert not leader.unreachable
    with pytest.raises(EsdrError, match="TLS handshake failed: .*CERTIFICATE_VERIFY_FAILED") as no:
        promote.refuse_unless_lost(leader, force=False)
    assert not isinstance(no.value, BadInput) and "--force" in str(no.value)
    promote.refuse_unless_lost(leader, force=True)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_unreachable_and_stop_promote_without_force(engine, status):
    body = {**UNAUTHORIZED, "status": status}
    leader = promote.probe("dc1", answering_leader(engine, status, body))
    assert not leader.unreachable
    with pytest.raises(EsdrError, match="refused esdr's credentials: .*security_exception"):
        promote.refuse_unless_lost(leader, force=False)
    promote.refuse_unless_lost(leader, force=True)


def test_a_leader_with_no_inventory_is_bad_input_without_force():
    leader = promote.probe("dc1", None)
    assert not leader.unreachable
    with pytest.raises(BadInput, match=r"clusters\.dc1\.inventory"):
        promote.refuse_unless_lost(leader, force=False)
    promote.refuse_unless_lost(leader, force=True)


@pytest.mark.parametrize("leader", [
    lambda: failing_leader("elasticsearch", SSLError(ssl.SSLCertVerificationError(1, UNTRUSTED))),
    lambda: answering_leader("opensearch", 401, UNAUTHORIZED),
    lambda: None,
], ids=["tls", "credentials", "no-inventory"])
def test_every_refusal_says_it_cannot_tell_and_how_to_go_on(leader):
    refusal = promote.probe("dc1", leader()).refusal
    assert refusal is not None
    assert str(refusal).startswith("the leader's data centre dc1 ")
    assert "promote cannot tell whether dc1 is lost" in str(refusal)
    assert refusal.hint.endswith("if dc1 is really lost, rerun with --force")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_leader_that_answers_with_its_own_error_is_up_and_stops_promote_without_force(engine):
    body = {"error": {"type": "master_not_discovered_exception", "reason": "no master"},
            "status": 503}
    leader = promote.probe("dc1", answering_leader(engine, 503, body))
    assert not leader.unreachable and leader.answered
    assert "503 master_not_discovered_exception" in leader.state
    with pytest.raises(EsdrError, match="with an error of its own, so it is up: 503 "
                                        "master_not_discovered_exception") as stopped:
        promote.refuse_unless_lost(leader, force=False)
    assert stopped.value.hint.endswith("if dc1 is really lost, rerun with --force")
    promote.refuse_unless_lost(leader, force=True)


# --- the command: exit codes and one line -----------------------------------------------------

# DC2 may only be asked for its registry: nothing is promoted
REGISTRY_ONLY = [("GET", "/esdr-managed/_doc/registry", None, 404, not_found())]


def test_promote_stops_with_exit_1_when_the_leader_refuses_the_credentials(promote_on_dc2):
    code, out = promote_on_dc2(answering_leader("opensearch", 401, UNAUTHORIZED), REGISTRY_ONLY)
    assert code == 1
    assert out[0] == "leader data centre dc1: refused esdr's credentials"
    assert "unable to authenticate user [elastic]" in out[-1] and "--force" in out[-1]


def test_promote_stops_with_exit_1_on_a_tls_error(promote_on_dc2):
    leader = failing_leader("opensearch", SSLError(ssl.SSLCertVerificationError(1, UNTRUSTED)))
    code, out = promote_on_dc2(leader, REGISTRY_ONLY)
    assert code == 1 and "TLS handshake failed" in out[-1]


def test_promote_stops_with_exit_2_when_the_leader_has_no_inventory(promote_on_dc2):
    code, out = promote_on_dc2(None, REGISTRY_ONLY)
    assert code == 2 and "clusters.dc1.inventory" in out[-1]
