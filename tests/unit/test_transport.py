"""The controller's cluster-API clients over an SSH forward through each node (esdr.es.tunnel).

The end-to-end tests run a real SSH server (paramiko's server side, on loopback, accepting one
generated key) in front of a real HTTPS server that presents a certificate from the estate
store; the clients are the ones ``client_for`` builds. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
from pathlib import Path

import paramiko
import pytest

from esdr.changes import Note
from esdr.errors import EsdrError
from esdr.es import tunnel
from esdr.es.connect import ForwardedConnection, ForwardedNode, client_for, forwards
from esdr.model import HostSpec, SshRoute, topology_from_hosts
from esdr.reconcile import run
from esdr.security import certs

PASSWORD = "transport-test-pw"


def _topology(secrets: Path | None = None, address: str = "10.0.0.1", name: str = "n1",
              **data):
    common = {"zone": "az1", "es_cluster_name": "t", "es_version": "8.19.3",
              "ssh_hostname": address, "es_network_host": address}
    if secrets is None:
        common.update(es_security=False, es_lab=True)
    else:
        common.update(es_secrets_dir=str(secrets), es_elastic_password={"env": "ESDR_T_TR_PW"})
    return topology_from_hosts("t", [HostSpec(name, ("es_master", "es_data"), {**common, **data})])


# --- the model keeps the route -----------------------------------------------------------------
def test_the_model_keeps_each_nodes_ssh_route_without_showing_secrets():
    t = topology_from_hosts("t", [
        HostSpec("n1", ("es_master",), {"ssh_hostname": "10.0.0.1", "ssh_port": "2222",
                                        "ssh_user": "deploy", "ssh_key": "~/.ssh/id",
                                        "ssh_key_password": "kpw", "ssh_password": "spw",
                                        "ssh_strict_host_key_checking": "yes",
                                        "ssh_known_hosts_file": "/k", "zone": "az1"}),
        HostSpec("n2", ("es_master",), {"zone": "az2"}),
    ])
    n1, n2 = t.cluster.nodes
    assert n1.ssh == SshRoute("10.0.0.1", port=2222, user="deploy", key="~/.ssh/id",
                              key_password="kpw", password="spw", known_hosts_file="/k",
                              strict_host_key_checking="yes")
    assert n2.ssh == SshRoute("n2")  # pyinfra: no ssh_hostname means the host's name
    assert "kpw" not in repr(n1) and "spw" not in repr(n1)
    assert n1.unknown_keys == () and t.cluster.unknown_keys == ()  # validation as before
    hash(n1)


# --- client_for: URLs, forwards, TLS ----------------------------------------------------------
def test_ssh_is_the_default_and_the_client_keeps_the_nodes_address(monkeypatch, estate):
    monkeypatch.setenv("ESDR_T_TR_PW", PASSWORD)
    es = client_for(t := _topology(estate), connect_timeout=2)
    node = es.transport.node_pool.all()[0]
    assert isinstance(node, ForwardedNode)
    assert (node.config.scheme, node.config.host, node.config.port) == ("https", "10.0.0.1", 9200)
    assert node.pool.ConnectionCls is tunnel.ForwardedHTTPSConnection
    forward = node.pool.conn_kw["esdr_forward"]
    assert forward.route == t.cluster.nodes[0].ssh and forward.target == ("10.0.0.1", 9200)
    assert forward.connect_timeout == 2
    # hostname checking is urllib3's own, against the pool's host: the node's real address
    assert node.pool.host == "10.0.0.1" and node.pool.assert_hostname is None
    assert node.pool.cert_reqs == "CERT_REQUIRED"


def test_direct_keeps_a_plain_connection_with_a_bounded_connect():
    t = _topology(es_api_transport="direct")
    (forward,) = forwards(t, connect_timeout=1)
    assert forward.route is None and forward.target == ("10.0.0.1", 9200)


def test_opensearch_clients_take_the_same_forward():
    t = _topology(es_engine="opensearch", es_version="2.19.4")
    api = client_for(t)
    conn = api.transport.connection_pool.connections[0]
    assert isinstance(conn, ForwardedConnection) and conn.host == "http://10.0.0.1:9200"
    assert conn.pool.ConnectionCls is tunnel.ForwardedHTTPConnection
    assert conn.pool.conn_kw["esdr_forward"].route.hostname == "10.0.0.1"


def test_an_unknown_transport_is_one_clear_error():
    with pytest.raises(EsdrError, match="es_api_transport 'tunnel' is not one of ssh, direct"):
        client_for(_topology(es_api_transport="tunnel"))


# --- the forward manager: once, in parallel, down remembered ----------------------------------
class _Opener:
    def __init__(self, fail: BaseException | None = None, barrier: threading.Barrier | None = None):
        self.calls: list[tuple[str, float]] = []
        self.fail, self.barrier = fail, barrier

    def __call__(self, route, timeout):
        self.calls.append((route.hostname, timeout))
        if self.barrier is not None:
            self.barrier.wait()  # breaks (and fails the test) unless every route opens at once
        if self.fail is not None:
            raise self.fail
        return _FakeClient()


class _FakeClient:
    def get_transport(self):
        return self

    def is_active(self):
        return True

    def open_channel(self, kind, destination, origin, timeout):
        return ("channel", kind, destination)

    def close(self):
        pass


def test_a_node_found_down_is_reported_with_its_reason_and_not_waited_on_again():
    opener = _Opener(fail=socket.timeout("timed out"))
    tunnels = tunnel.Tunnels(opener)
    route = SshRoute("10.0.0.9")
    forward = tunnel.Forward(route, ("10.0.0.9", 9200), 1.0, (route,))
    for _ in range(3):
        with pytest.raises(tunnel.ForwardDown, match=r"ssh 10.0.0.9:22: timed out"):
            tunnels.channel(forward, 30)
    assert opener.calls == [("10.0.0.9", 1.0)]  # one attempt, bounded by the connect timeout


def test_the_other_nodes_of_a_client_are_opened_in_parallel():
    routes = tuple(SshRoute(f"10.0.0.{i}") for i in (1, 2, 3))
    opener = _Opener(barrier=threading.Barrier(3, timeout=10))
    tunnels = tunnel.Tunnels(opener)
    forward = tunnel.Forward(routes[0], ("10.0.0.1", 9200), 1.0, routes)
    assert tunnels.channel(forward, 5) == ("channel", "direct-tcpip", ("10.0.0.1", 9200))
    for route in routes[1:]:
        tunnels.client(route, 1.0)  # waits for the background open, does not open again
    assert sorted(h for h, _ in opener.calls) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_host_key_policies_follow_pyinfras_settings(tmp_path):
    assert isinstance(tunnel.host_key_policy("no", "/dev/null"), tunnel._Unchecked)
    assert isinstance(tunnel.host_key_policy(None, None), tunnel._AcceptNew)  # pyinfra default
    key = paramiko.RSAKey.generate(1024)
    for setting in ("yes", "ask"):
        with pytest.raises(paramiko.SSHException, match="no host key for h1"):
            tunnel.host_key_policy(setting, None).missing_host_key(None, "h1", key)
    known = tmp_path / "known_hosts"
    tunnel.host_key_policy("accept-new", str(known)).missing_host_key(None, "h1", key)
    assert known.read_text().startswith("h1 ssh-rsa ")


# --- the remote DC: once, at once --------------------------------------------------------------
def test_a_remote_no_node_reaches_is_reported_once(monkeypatch):
    asked: list[tuple[str, str, float]] = []
    barrier = threading.Barrier(2, timeout=10)

    def remote_info(view):
        return {"dc2": {"connected": False}}

    def resolve(view, alias, timeout):
        asked.append((view, alias, timeout))
        barrier.wait()  # both nodes resolve at the same time, or this breaks
        return None

    monkeypatch.setattr(run.client, "get_remote_info", remote_info)
    monkeypatch.setattr(run.client, "resolve_remote", resolve)
    clients = run.Clients(es="es", remote_views=("view1", "view2"))
    desired = type("D", (), {"remotes": {"dc2": {}}})()
    plan = run.ClusterPlan("c", "dc1")
    assert run._connected(clients, desired, plan, 1.0) == set()
    assert sorted(asked) == [("view1", "dc2", 1.0), ("view2", "dc2", 1.0)]
    assert plan.notes == [run.unreachable_note("dc2")]
    assert isinstance(plan.notes[0], Note)
    assert plan.notes[0].line().startswith("! remote_cluster dc2: dc2 unreachable: remote checks "
                                           "skipped")


# --- end to end over a real SSH server on loopback --------------------------------------------
class _SshServer(paramiko.ServerInterface):
    def __init__(self, allowed: paramiko.PKey):
        self.allowed = allowed
        self.destinations: list[tuple[str, int]] = []
        self.pending: dict[int, tuple[str, int]] = {}

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        ok = username == "esdr" and key.get_base64() == self.allowed.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        self.destinations.append(destination)
        self.pending[chanid] = destination
        return paramiko.OPEN_SUCCEEDED


def _pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except (OSError, EOFError):
        pass
    finally:
        for end in (a, b):
            try:
                end.close()
            except OSError:
                pass


def _ed25519(path: Path) -> paramiko.Ed25519Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    return paramiko.Ed25519Key(filename=str(path))


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """A secrets directory with the estate CA and certificates for nodes at 127.0.0.1 and
    127.0.0.2 (issued once: RSA keys take a while)."""
    secrets = tmp_path_factory.mktemp("secrets")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ESDR_T_TR_PW", PASSWORD)
        for address in ("127.0.0.1", "127.0.0.2"):
            owner = _topology(secrets, address=address, name=f"owner-{address}")
            issued = certs.ensure_certificates(owner).nodes[f"owner-{address}"]
            (secrets / f"{address}.pem").write_bytes(issued.cert_pem + issued.key_pem)
    return secrets


@pytest.fixture
def sshd(tmp_path):
    """(port, client key file, known_hosts file, server) of an SSH server on 127.0.0.1 that
    serves direct-tcpip by connecting to the requested destination."""
    host_key, client_key = _ed25519(tmp_path / "host_key"), _ed25519(tmp_path / "id_ed25519")
    key_file = tmp_path / "id_ed25519"
    server = _SshServer(client_key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    transports: list[paramiko.Transport] = []

    def serve_channels(transport):
        while transport.is_active():
            channel = transport.accept(1)
            if channel is None:
                continue
            destination = server.pending.pop(channel.get_id())
            try:
                target = socket.create_connection(destination, timeout=5)
            except OSError:
                channel.close()
                continue
            threading.Thread(target=_pump, args=(channel, target), daemon=True).start()
            threading.Thread(target=_pump, args=(target, channel), daemon=True).start()

    def accept():
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(host_key)
            transports.append(transport)
            try:
                transport.start_server(server=server)
            except (EOFError, paramiko.SSHException):
                continue  # the client gave up (a refused host key): the test checks that side
            threading.Thread(target=serve_channels, args=(transport,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield port, key_file, known, server
    listener.close()
    for transport in transports:
        transport.close()


@pytest.fixture
def https_node(estate):
    """start(address): an HTTPS server on 127.0.0.1 presenting the certificate issued for a
    node at ``address``; returns its port."""
    started = []

    def start(cert_for_address: str) -> int:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(estate / f"{cert_for_address}.pem")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = json.dumps({"cluster_name": "t", "status": "green"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("x-elastic-product", "Elasticsearch")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        started.append(httpd)
        return httpd.server_address[1]

    yield start
    for httpd in started:
        httpd.shutdown()


def _routed_topology(estate, sshd, http_port, **data):
    port, key_file, known, _ = sshd
    return _topology(estate, address="127.0.0.1", es_http_port=http_port, ssh_port=port,
                     ssh_user="esdr", ssh_key=str(key_file), ssh_known_hosts_file=str(known),
                     ssh_strict_host_key_checking="yes", **data)


def test_requests_go_through_the_node_and_tls_verifies_its_address(estate, sshd, https_node,
                                                                    monkeypatch):
    monkeypatch.setenv("ESDR_T_TR_PW", PASSWORD)
    http_port = https_node("127.0.0.1")
    t = _routed_topology(estate, sshd, http_port)
    es = client_for(t, request_timeout=10, connect_timeout=2, max_retries=0)
    assert es.perform_request("GET", "/", headers={"accept": "application/json"}).body == {
        "cluster_name": "t", "status": "green"}
    assert sshd[3].destinations[-1] == ("127.0.0.1", http_port)  # the node connected, not us


def test_a_certificate_for_another_address_is_refused_through_the_forward(
        estate, sshd, https_node, monkeypatch):
    from elastic_transport import TlsError

    monkeypatch.setenv("ESDR_T_TR_PW", PASSWORD)
    http_port = https_node("127.0.0.2")  # same CA, but the certificate names another node
    t = _routed_topology(estate, sshd, http_port)
    es = client_for(t, request_timeout=10, connect_timeout=2, max_retries=0)
    with pytest.raises(TlsError) as refused:
        es.perform_request("GET", "/", headers={"accept": "application/json"})
    assert "hostname '127.0.0.1' doesn't match" in repr(refused.value)
    assert sshd[3].destinations  # it did go through the forward


def test_an_unknown_host_key_is_refused_when_strict(tmp_path, estate, sshd):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    t = _routed_topology(estate, sshd, 9)
    route = t.cluster.nodes[0].ssh
    strict = SshRoute(route.hostname, port=route.port, user=route.user, key=route.key,
                      known_hosts_file=str(empty), strict_host_key_checking="yes")
    with pytest.raises(tunnel.ForwardDown, match="no host key for"):
        tunnel.Tunnels().client(strict, 2)


def test_another_dc_is_reached_with_its_short_connect_timeout():
    from esdr.cli.cluster import remote_connect_timeout

    other = _topology(es_remote_connect_timeout=0.5)
    assert remote_connect_timeout(_topology()) == 1  # the default
    assert {f.connect_timeout for f in forwards(other, connect_timeout=remote_connect_timeout(
        other))} == {0.5}
