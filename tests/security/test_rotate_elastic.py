"""``esdr secrets rotate-elastic``: the password changes through the API first, then where the
inventory references it, never shown; a rerun after a stop in between finishes the job. The
cluster here is a fake that checks passwords as Elasticsearch's security API would; the real
one is tests/security_lab/test_rotation_lab.py."""

from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner
from elasticsearch import AuthenticationException

from esdr.cli import secrets as command
from esdr.cli.main import cli
from tests.security.test_ca_expiry import _inventory

OLD = "old-Passw0rd-for-the-test"


class FakeCluster:
    def __init__(self, password: str):
        self.password = password
        self.changes = 0
        self.refuse: Exception | None = None

    def client(self, topology, password: str):
        cluster = self

        class Security:
            def authenticate(self):
                if password != cluster.password:
                    raise AuthenticationException(message="401", meta=None, body={})
                return {"username": "elastic"}

            def change_password(self, username: str, password: str, refresh: str):
                self.authenticate()
                if cluster.refuse:
                    raise cluster.refuse
                assert username == "elastic"
                cluster.password, cluster.changes = password, cluster.changes + 1

        class Client:
            security = Security()

        return Client()


@pytest.fixture
def project(tmp_path, monkeypatch):
    inventory = _inventory(tmp_path, {})
    group = tmp_path / "group_data" / "inv.py"
    password_file = tmp_path / "elastic-password"
    password_file.write_text(OLD + "\n")
    password_file.chmod(0o600)
    group.write_text(group.read_text().replace("es_ca = {}\n", "").replace(
        "{'env': 'NO_SUCH_ESDR_VAR'}", repr({"file": str(password_file)})))
    deploys: list[str] = []
    monkeypatch.setattr(command, "run_site",
                        lambda inv, root, what, resume: deploys.append(inv) or 2.0)
    return inventory, password_file, deploys


def test_rotates_through_the_api_then_the_file_then_the_nodes(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 0, result.output
    new = password_file.read_text().strip()
    assert new != OLD and cluster.password == new and cluster.changes == 1
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert not list(password_file.parent.glob(".*.next"))
    assert new not in result.output and OLD not in result.output
    assert deploys == [str(inventory)]


def test_a_rerun_after_the_api_change_stores_the_pending_password(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    pending = password_file.with_name(f".{password_file.name}.next")
    pending.write_text("the-pending-new-one\n")
    pending.chmod(0o600)  # as esdr writes it
    cluster = FakeCluster("the-pending-new-one")  # the first run stopped after the API call
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 0, result.output
    assert "already takes the new password" in result.output and cluster.changes == 0
    assert password_file.read_text().strip() == "the-pending-new-one" and not pending.exists()


def test_neither_password_working_changes_nothing(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    monkeypatch.setattr(command, "_client", FakeCluster("someone-else-set-it").client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 1 and "refuses the elastic password" in result.output
    assert password_file.read_text().strip() == OLD and deploys == []


def test_an_env_reference_is_refused_before_anything_changes(tmp_path, monkeypatch) -> None:
    inventory = _inventory(tmp_path, {})
    group = tmp_path / "group_data" / "inv.py"
    group.write_text(group.read_text().replace("es_ca = {}\n", ""))
    monkeypatch.setattr(command, "_client", lambda *a: pytest.fail("no API call expected"))
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 2 and "not a file reference" in result.output


def test_a_refused_change_keeps_the_old_password_and_stores_nothing(project, monkeypatch) -> None:
    from elasticsearch import ApiError

    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    # What the lab's integ-test build answers: its .security index needs analysis-common
    cluster.refuse = ApiError("illegal_argument_exception", meta=_Meta(400), body={
        "error": {"type": "illegal_argument_exception",
                  "reason": "Unknown filter type [pattern_capture] for [email]"}})
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 1, result.output
    assert "refused the password change" in result.output and "pattern_capture" in result.output
    assert password_file.read_text().strip() == OLD and cluster.password == OLD
    assert not list(password_file.parent.glob(".*.next")) and deploys == []


class _Meta:
    def __init__(self, status: int):
        self.status = status


def test_a_password_file_others_may_read_is_refused_before_any_change(project,
                                                                      monkeypatch) -> None:
    inventory, password_file, deploys = project
    password_file.chmod(0o644)
    cluster = FakeCluster(OLD)
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code != 0 and "readable by others" in result.output, result.output
    assert cluster.changes == 0 and password_file.read_text() == OLD + "\n"
    assert OLD not in result.output and deploys == []


# --- the cluster is asked through the shared client factory (esdr.es.connect.client_for) ------
HOSTS = ("10.0.0.1", "10.0.0.2", "10.0.0.3")  # _inventory's nodes


class Factory:
    """Stands in for ``client_for``: records how it was asked, and hands out a client whose
    ``options(basic_auth=...)`` is the fake cluster's client for that password."""

    def __init__(self, cluster: FakeCluster):
        self.cluster = cluster
        self.calls: list[tuple] = []

    def __call__(self, topology, nodes=None, **kwargs):
        self.calls.append((topology.cluster.name, nodes, kwargs))
        cluster = self.cluster

        class Built:
            def options(self, *, basic_auth):
                user, password = basic_auth
                assert user == "elastic"
                return cluster.client(topology, password)

        return Built()


@pytest.fixture
def no_direct_connections(monkeypatch):
    """A connection that does not go through an esdr forward fails at once, and is recorded:
    the forwarded connection classes (esdr.es.tunnel) have their own ``_new_conn``."""
    import urllib3.connection
    from urllib3.exceptions import NewConnectionError

    tried: list[str] = []

    def direct(conn):
        tried.append(f"{conn.host}:{conn.port}")
        raise NewConnectionError(conn, "direct connection refused by the test")

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", direct)
    return tried


def test_every_api_call_goes_through_the_shared_client_factory(project, monkeypatch,
                                                               no_direct_connections) -> None:
    import elasticsearch
    import opensearchpy

    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    factory = Factory(cluster)
    monkeypatch.setattr(command, "client_for", factory, raising=False)
    built: list[tuple] = []

    def refuse(kind):
        def init(self, *args, **kwargs):
            built.append((kind, args, sorted(kwargs)))
            raise AssertionError(f"{kind} built outside esdr.es.connect.client_for")
        return init

    monkeypatch.setattr(elasticsearch.Elasticsearch, "__init__", refuse("Elasticsearch"))
    monkeypatch.setattr(opensearchpy.OpenSearch, "__init__", refuse("OpenSearch"))
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert built == [] and no_direct_connections == []
    assert result.exit_code == 0, result.output
    assert cluster.changes == 1 and cluster.password == password_file.read_text().strip()
    # every node, with the factory's own timeouts and retries (those of every other command)
    assert factory.calls and all(c == ("c1", None, {}) for c in factory.calls), factory.calls


def test_an_unreachable_cluster_is_one_error_naming_each_node_and_stores_nothing(
        project, monkeypatch, no_direct_connections) -> None:
    """Through the real factory and the real forward: each node's SSH connection fails (as a
    host that is down does), bounded by the factory's connect timeout."""
    import socket

    from esdr.es import connect, tunnel
    from esdr.project import load_project, valid_topology
    from esdr.security import certs

    inventory, password_file, deploys = project
    topology, _ = valid_topology(load_project(str(inventory)))
    ca = certs.ca_pem_path(topology)
    ca.parent.mkdir(parents=True, exist_ok=True)
    ca.write_bytes(certs.create_ca("rotate-elastic test CA", 10)[0])
    opened: list[tuple[str, float]] = []

    def down(route, timeout):
        opened.append((route.hostname, timeout))
        raise socket.timeout("timed out")

    monkeypatch.setattr(tunnel, "TUNNELS", tunnel.Tunnels(down))
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert no_direct_connections == []  # nothing bypassed the forward
    assert sorted(opened) == [(h, connect.CONNECT_TIMEOUT) for h in HOSTS]
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    line = lines[0]
    assert "cluster c1: no node answered" in line and "nothing was changed or stored" in line
    assert all(f"ssh {h}:22: timed out" in line for h in HOSTS), line
    assert "(fix: check that the nodes are up and this machine reaches them over SSH" in line
    assert password_file.read_text() == OLD + "\n"
    assert not list(password_file.parent.glob(".*.next")) and deploys == []
    assert OLD not in result.output


def test_a_cluster_lost_during_the_change_keeps_the_new_password_for_the_rerun(
        project, monkeypatch, no_direct_connections) -> None:
    """The change reached the cluster but its answer did not come back: one error, the old
    password stays in the referenced file, the new one in .next; the rerun stores it."""
    import urllib3
    from elasticsearch import ConnectionTimeout
    from urllib3.exceptions import ReadTimeoutError

    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    lost = ReadTimeoutError(urllib3.HTTPSConnectionPool("10.0.0.2", 9200),
                            "/_security/user/elastic/_password", "Read timed out.")
    cluster_client = cluster.client

    def losing_the_answer(topology, password):
        built = cluster_client(topology, password)
        change = built.security.change_password

        def change_then_lose(**kwargs):
            change(**kwargs)
            if cluster.changes == 1 and not getattr(cluster, "lost", False):
                cluster.lost = True
                raise ConnectionTimeout("Connection timed out during request", errors=(lost,))

        built.security.change_password = change_then_lose
        return built

    cluster.client = losing_the_answer
    monkeypatch.setattr(command, "client_for", Factory(cluster), raising=False)
    first = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert first.exit_code == 1, first.output
    pending = password_file.with_name(f".{password_file.name}.next")
    new = pending.read_text().strip()
    assert cluster.password == new != OLD and password_file.read_text() == OLD + "\n"
    (line,) = first.stderr.strip().splitlines()
    assert "no node answered" in line and "host='10.0.0.2'" in line, line
    assert f"the new one is kept in {pending}: a rerun finishes the rotation" in line
    assert new not in first.output and OLD not in first.output and deploys == []

    rerun = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert rerun.exit_code == 0, rerun.output
    assert "already takes the new password" in rerun.output and cluster.changes == 1
    assert password_file.read_text() == new + "\n" and not pending.exists()
    assert new not in rerun.output and deploys == [str(inventory)]
