"""``client_for`` per engine: the right client library, HTTPS with the estate CA and certificate
and host name checks, the engine's superuser, OpenSearch's replication user, no password in
sight."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

from esdr.errors import EsdrError
from esdr.es.connect import client_for, credentials
from esdr.replication import adapter_for
from esdr.replication.opensearch import OpenSearchReplication
from esdr.security import certs
from esdr.security.config import REPLICATION_USER
from tests.replication.fake_os import os_topology
from tests.unit.topo_factory import topology

ADMIN_PW, REPL_PW = "admin-pw-never-printed", "repl-pw-never-printed"


@pytest.fixture(scope="module")
def secrets(tmp_path_factory):
    """One estate CA for the module (clients need only its certificate; issuing is slow)."""
    root = tmp_path_factory.mktemp("secrets")
    certs.ensure_certificates(os_topology(es_security=True, es_lab=False,
                                          es_secrets_dir=str(root)))
    return root


@pytest.fixture
def secure_os(monkeypatch, secrets):
    monkeypatch.setenv("ESDR_T_ADMIN", ADMIN_PW)
    monkeypatch.setenv("ESDR_T_REPL", REPL_PW)
    return os_topology(es_security=True, es_lab=False, es_secrets_dir=str(secrets),
                       es_admin_password={"env": "ESDR_T_ADMIN"},
                       es_replication_password={"env": "ESDR_T_REPL"})


def _connection(api: OpenSearch):
    return api.transport.connection_pool.connections[0]


def test_opensearch_engine_gets_an_opensearch_client_over_verified_https(secure_os, secrets):
    api = client_for(secure_os)
    assert isinstance(api, OpenSearch)
    conn = _connection(api)
    assert conn.host == "https://10.0.0.1:9200"
    if conn.pool is None:
        conn._create_urllib3_pool()
    # CERT_REQUIRED with no assert_hostname override: urllib3 checks chain and host name.
    assert conn.pool.cert_reqs == "CERT_REQUIRED" and conn.pool.assert_hostname is None
    assert conn.pool.ca_certs == str(secrets / "ca.crt")
    assert conn.headers["authorization"].startswith("Basic ")


def test_superuser_and_replication_user(secure_os):
    assert credentials(secure_os) == ("admin", ADMIN_PW)
    assert credentials(secure_os, "replication") == (REPLICATION_USER, REPL_PW)
    admin, repl = client_for(secure_os), client_for(secure_os, user="replication")
    assert _connection(admin).headers["authorization"] != _connection(repl).headers["authorization"]


def test_no_password_in_the_client_or_adapter_text(secure_os):
    adapter = adapter_for(secure_os)
    assert isinstance(adapter, OpenSearchReplication) and adapter.replicator is not adapter.es
    for shown in (repr(adapter.es), str(adapter.es), repr(adapter.replicator), repr(adapter)):
        assert ADMIN_PW not in shown and REPL_PW not in shown


def test_elasticsearch_has_no_replication_user(monkeypatch):
    monkeypatch.setenv("ESDR_T1_ELASTIC_PASSWORD", "x")
    with pytest.raises(EsdrError, match="replication user exists on OpenSearch only"):
        credentials(topology(), "replication")
    with pytest.raises(EsdrError, match="replication user exists on OpenSearch only"):
        client_for(topology(es_security=False, es_lab=True), user="replication")


def test_elasticsearch_engine_still_gets_elasticsearch():
    assert isinstance(client_for(topology(es_security=False, es_lab=True)), Elasticsearch)


def test_a_missing_replication_password_says_which_key(monkeypatch, secrets):
    monkeypatch.setenv("ESDR_T_ADMIN", ADMIN_PW)
    t = os_topology(es_security=True, es_lab=False, es_secrets_dir=str(secrets),
                    es_admin_password={"env": "ESDR_T_ADMIN"})
    with pytest.raises(EsdrError, match="es_replication_password of os-dc2"):
        client_for(t, user="replication")


def test_opensearch_replication_requests_and_reads_go_to_remote_cluster_client_nodes(
        monkeypatch, secrets):
    from esdr.model import HostSpec, topology_from_hosts

    monkeypatch.setenv("ESDR_T_ADMIN", ADMIN_PW)
    monkeypatch.setenv("ESDR_T_REPL", REPL_PW)
    common = {"zone": "az1", "es_cluster_name": "os-dc2", "es_version": "2.19.4",
              "es_engine": "opensearch", "es_secrets_dir": str(secrets),
              "es_admin_password": {"env": "ESDR_T_ADMIN"},
              "es_replication_password": {"env": "ESDR_T_REPL"}}
    t = topology_from_hosts("t", [
        HostSpec("d1", ("es_master", "es_data", "es_remote_cluster_client"),
                 {**common, "ssh_hostname": "10.0.0.1"}),
        HostSpec("m3", ("es_master",), {**common, "zone": "az3", "ssh_hostname": "10.0.0.3"}),
    ])
    adapter = adapter_for(t)
    hosts = {name: {c.host for c in api.transport.connection_pool.connections}
             for name, api in (("es", adapter.es), ("replicator", adapter.replicator),
                               ("reader", adapter.reader))}
    assert hosts == {"es": {"https://10.0.0.1:9200", "https://10.0.0.3:9200"},
                     "replicator": {"https://10.0.0.1:9200"}, "reader": {"https://10.0.0.1:9200"}}
