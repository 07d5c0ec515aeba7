"""The OpenSearch engine in the pure core: its config file, security plugin settings, users,
per-engine rules and plugins (the deploy of it is proved in tests/opensearch_lab)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from cryptography import x509

from esdr.render import distribution_rewrites, node_files
from esdr.security import certs, config, opensearch_users
from esdr.checks import validate
from tests.unit.topo_factory import build

OS_CLUSTER: dict[str, Any] = {
    "es_engine": "opensearch",
    "es_cluster_name": "search-os",
    "es_version": "2.19.4",
    "es_archive_url": "https://mirror.example.internal/opensearch-2.19.4.zip",
    "es_admin_password": {"env": "ESDR_OS_ADMIN_PASSWORD"},
    "es_plugins": [
        {"name": "opensearch-security",
         "url": "https://mirror.example.internal/opensearch-security-2.19.4.0.zip",
         "sha512": "a" * 128},
    ],
}
ESTATE_WITH_FOLLOWER = {
    "_source": "estate.yml",
    "clusters": {"dc1": {"cluster_name": "search-os"}, "dc2": {"cluster_name": "other"}},
    "followers": [{"cluster": "dc1", "index": "orders", "remote": "dc2"}],
}


def os_hosts() -> list:
    """Two cluster-manager+data nodes in az1/az2 and a dedicated cluster manager in az3."""
    return [
        ("n1", ("es_master", "es_data"), {"zone": "az1", "ssh_hostname": "10.0.5.1"}),
        ("n2", ("es_master", "es_data"), {"zone": "az2", "ssh_hostname": "10.0.5.2"}),
        ("n3", ("es_master",), {"zone": "az3", "ssh_hostname": "10.0.5.3"}),
    ]


def os_topology(tmp_path: Path | None = None, **cluster: Any):
    extra = {"es_secrets_dir": str(tmp_path / "secrets")} if tmp_path else {}
    return build(os_hosts(), {**OS_CLUSTER, **extra, **cluster})


def rules(topology) -> set[str]:
    return {p.rule for p in validate(topology) if p.severity == "error"}


def test_the_opensearch_shape_is_valid() -> None:
    assert rules(os_topology()) == set()


def test_opensearch_yml_secures_transport_and_http_with_the_estate_dns() -> None:
    topo = os_topology()
    files = node_files(topo, topo.cluster.node("n3"), bootstrap=True)
    assert [f.path for f in files][0] == "/etc/opensearch/opensearch.yml"
    conf = yaml.safe_load(files[0].content)
    assert conf["node.roles"] == ["cluster_manager"]
    assert conf["cluster.initial_cluster_manager_nodes"] == ["n1", "n2", "n3"]
    assert conf["plugins.security.ssl.http.enabled"] is True
    assert conf["plugins.security.ssl.transport.enforce_hostname_verification"] is True
    assert conf["plugins.security.ssl.transport.pemkey_filepath"] == "certs/node.key"
    assert conf["plugins.security.nodes_dn"] == [f"CN=*,{config.NODE_DN_SUFFIX}"]
    assert conf["plugins.security.authcz.admin_dn"] == [config.ADMIN_DN]
    assert not any(key.startswith("xpack.") for key in conf)


def test_opensearch_security_off_in_a_lab_disables_the_plugin() -> None:
    topo = os_topology(es_security=False, es_lab=True, es_admin_password=None)
    conf = yaml.safe_load(node_files(topo, topo.cluster.node("n1"), bootstrap=False)[0].content)
    assert conf["plugins.security.disabled"] is True


def test_jvm_options_paths_point_at_writable_dirs_for_both_engines() -> None:
    """OpenSearch and Elasticsearch before 8.19 name them relative to the install directory."""
    rewrites = dict(distribution_rewrites(os_topology().cluster))
    assert rewrites["file=logs/"] == "file=/var/log/opensearch/"
    assert rewrites["-XX:HeapDumpPath=data"] == "-XX:HeapDumpPath=/var/lib/opensearch"
    es = build(os_hosts(), {**OS_CLUSTER, "es_engine": "elasticsearch", "es_plugins": [],
                            "es_log_dir": "/var/log/elasticsearch"})
    assert dict(distribution_rewrites(es.cluster))["file=logs/"] == "file=/var/log/elasticsearch/"


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"es_elastic_password": {"env": "X"}}, "engine-key-mismatch"),
        ({"es_settings": {"xpack": {"security": {"enabled": False}}}}, "engine-setting-mismatch"),
        ({"es_settings": {"plugins.security.ssl.http.enabled": False}}, "owned-setting"),
        ({"es_admin_password": None}, "admin-password-missing"),
        ({"es_admin_password": "hunter2"}, "secret-literal"),
        ({"es_estate": ESTATE_WITH_FOLLOWER}, "replication-password-missing"),
        ({"es_plugins": "opensearch-security"}, "plugins-invalid"),
        ({"es_plugins": [{"name": "x", "url": "https://m/x-2.19.4.zip", "extra": 1}]},
         "plugin-invalid"),
        ({"es_plugins": [{"name": "x", "url": "https://m/x-2.19.4.zip", "local": "/x.zip"}]},
         "plugin-invalid"),
        ({"es_plugins": [{"name": "x", "url": "https://m/x-2.19.4.zip", "sha512": "abc"}]},
         "plugin-invalid"),
        ({"es_plugins": [{"name": "x", "url": "https://m/x-2.19.6.zip"}]}, "plugin-version-mismatch"),
        ({"es_plugins": [{"name": "x", "url": "https://m/x-2.19.4.zip"}] * 2}, "plugin-duplicate"),
    ],
)
def test_engine_rules_refuse(change: dict, rule: str) -> None:
    assert rule in rules(os_topology(**change))


def test_an_elasticsearch_cluster_refuses_opensearch_keys() -> None:
    topo = build(os_hosts(), {**OS_CLUSTER, "es_engine": "elasticsearch", "es_version": "8.19.21",
                              "es_elastic_password": {"env": "X"}, "es_plugins": []})
    assert "engine-key-mismatch" in rules(topo)


def test_users_file_is_stable_and_verifies() -> None:
    key = b"k" * 32
    first = opensearch_users.password_hash("s3cret", key, "admin")
    assert first == opensearch_users.password_hash("s3cret", key, "admin")
    assert first != opensearch_users.password_hash("s3cret", b"other-key" * 4, "admin")
    assert bcrypt.checkpw(b"s3cret", first.encode())
    users = yaml.safe_load(opensearch_users.internal_users_yml(first, first))
    assert users["_meta"] == {"type": "internalusers", "config_version": 2}
    assert users["admin"]["backend_roles"] == ["admin"]
    assert users[config.REPLICATION_USER]["hash"] == first
    assert "s3cret" not in opensearch_users.internal_users_yml(first, first)


def test_role_mapping_gives_the_replication_user_both_builtin_roles() -> None:
    mapping = yaml.safe_load(opensearch_users.roles_mapping_yml(True))
    for role in (config.REPLICATION_LEADER_ROLE, config.REPLICATION_FOLLOWER_ROLE):
        assert mapping[role]["users"] == [config.REPLICATION_USER]
    assert config.REPLICATION_LEADER_ROLE not in yaml.safe_load(
        opensearch_users.roles_mapping_yml(False))


def test_node_and_admin_certificates_carry_the_dns_the_plugin_checks(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(certs, "CA_KEY_BITS", 2048)
    monkeypatch.setattr(certs, "NODE_KEY_BITS", 1024)
    topo = os_topology(tmp_path)
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    issued = certs.ensure_certificates(topo, now=now)
    node = x509.load_pem_x509_certificate(issued.nodes["n1"].cert_pem)
    assert node.subject.rfc4514_string() == f"CN=n1,{config.NODE_DN_SUFFIX}"
    cert, key, why = certs.ensure_admin_certificate(topo, now=now)
    admin = x509.load_pem_x509_certificate(cert)
    assert why == "missing" and admin.subject.rfc4514_string() == config.ADMIN_DN
    assert b"BEGIN PRIVATE KEY" in key  # PKCS#8: the security plugin reads no other form
    again = certs.ensure_admin_certificate(topo, now=now)
    assert again == (cert, key, None)
    assert certs.ensure_certificates(topo, now=now).nodes["n1"].issued is None
