"""The INFINI Gateway's own Elasticsearch user: a file-realm user with ``monitor`` only, its
password generated into the estate's secrets directory, its bcrypt hash stable per password.

Elasticsearch's formats: the file realm's ``users`` (``name:hash``) and ``users_roles``
(``role:users``), https://www.elastic.co/guide/en/elasticsearch/reference/current/file-realm.html,
and roles.yml, https://www.elastic.co/guide/en/elasticsearch/reference/current/defining-roles.html
"""

from __future__ import annotations

import os
import stat

import bcrypt
import pytest
import yaml

from esdr.errors import EsdrError
from esdr.gateway import cluster_user
from esdr.security import store
from esdr.security.refs import Secret
from tests.unit.topo_factory import topology

KEY = b"k" * 32
PASSWORD = "Gw-s3cret_pw"


def _entries(text: str) -> dict[str, str]:
    """``name:value`` lines as Elasticsearch reads them (comment lines skipped)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split(":", 1) for line in lines)


def test_the_role_grants_monitor_and_no_index_privilege() -> None:
    roles = yaml.safe_load(cluster_user.roles_yml())
    assert roles == {"esdr_gateway": {"cluster": ["monitor"], "indices": []}}


def test_the_users_file_holds_an_elasticsearch_bcrypt_hash_of_the_password() -> None:
    hashed = cluster_user.password_hash(PASSWORD, KEY)
    users = _entries(cluster_user.users_file(hashed))
    assert list(users) == ["esdr_gateway"]
    # Elasticsearch takes only "$2a$" for bcrypt (Hasher.resolveFromHash); cost 10 is its default
    assert users["esdr_gateway"].startswith("$2a$10$")
    assert bcrypt.checkpw(PASSWORD.encode(), users["esdr_gateway"].encode())
    assert not cluster_user.bcrypt_matches("another", users["esdr_gateway"])
    assert _entries(cluster_user.users_roles_file()) == {"esdr_gateway": "esdr_gateway"}


def test_the_password_is_in_no_rendered_file() -> None:
    hashed = cluster_user.password_hash(PASSWORD, KEY)
    for text in (cluster_user.roles_yml(), cluster_user.users_file(hashed),
                 cluster_user.users_roles_file()):
        assert PASSWORD not in text


def test_same_password_same_files_a_new_password_a_new_hash() -> None:
    first = cluster_user.users_file(cluster_user.password_hash(PASSWORD, KEY))
    assert first == cluster_user.users_file(cluster_user.password_hash(PASSWORD, KEY))
    assert first != cluster_user.users_file(cluster_user.password_hash(PASSWORD + "x", KEY))
    # the salt comes from the estate key: nobody without it can precompute the hash
    assert first != cluster_user.users_file(cluster_user.password_hash(PASSWORD, b"o" * 32))


def test_a_hash_elasticsearch_would_not_read_is_refused() -> None:
    with pytest.raises(ValueError):
        cluster_user.users_file(bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode())  # $2b$


# --- the password in the secrets directory ---------------------------------------------------


def test_the_password_is_generated_once_0600_and_read_back(tmp_path, capsys) -> None:
    directory = tmp_path / "secrets"
    first = store.generated_password(directory, cluster_user.PASSWORD_FILE)
    path = directory / cluster_user.PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first + "\n"  # what a {"file": ...} reference reads
    assert len(first) >= 32
    assert store.generated_password(directory, cluster_user.PASSWORD_FILE) == first
    out = capsys.readouterr()
    assert first not in out.out + out.err


def test_a_dry_run_stages_the_new_password_and_writes_nothing(tmp_path) -> None:
    directory = tmp_path / "secrets"
    staged = store.Staged()
    first = store.generated_password(directory, cluster_user.PASSWORD_FILE, staged)
    assert not (directory / cluster_user.PASSWORD_FILE).exists()
    assert store.generated_password(directory, cluster_user.PASSWORD_FILE, staged) == first
    assert first not in repr(staged)
    store.write_staged(staged)
    assert store.generated_password(directory, cluster_user.PASSWORD_FILE) == first


def test_a_password_file_others_may_read_is_refused(tmp_path) -> None:
    directory = tmp_path / "secrets"
    store.generated_password(directory, cluster_user.PASSWORD_FILE)
    os.chmod(directory / cluster_user.PASSWORD_FILE, 0o644)
    with pytest.raises(EsdrError, match="readable by others"):
        store.generated_password(directory, cluster_user.PASSWORD_FILE)


# --- the deploy's security phase ---------------------------------------------------------------


def _topology(tmp_path, monkeypatch):
    monkeypatch.setenv("ESDR_T1_ELASTIC_PASSWORD", "elastic-pw")
    return topology(es_secrets_dir=str(tmp_path / "secrets"))


def test_the_deploy_prepares_the_estates_gateway_password(tmp_path, monkeypatch) -> None:
    from esdr.tasks import security

    material = security._material(_topology(tmp_path, monkeypatch))
    assert isinstance(material.gateway_password, Secret)
    path = tmp_path / "secrets" / cluster_user.PASSWORD_FILE
    assert path in material.staged  # written when the deploy executes, never while prepared
    assert not path.exists()
    assert material.staged[path].decode().strip() == material.gateway_password.reveal()
    store.write_staged(material.staged)
    again = security._material(_topology(tmp_path, monkeypatch))
    assert again.gateway_password.reveal() == material.gateway_password.reveal()
    assert path not in again.staged


def test_the_deploy_puts_the_three_files_with_the_hash_as_a_secret(tmp_path, monkeypatch) -> None:
    from esdr.tasks import security

    topo = _topology(tmp_path, monkeypatch)
    material = security.Material(
        certificates=None, password=Secret("elastic-pw"), marker_key=KEY,  # type: ignore[arg-type]
        gateway_password=Secret(PASSWORD),
    )
    calls = []
    monkeypatch.setattr(security.known, "put",
                        lambda name, content, dest, user, group, mode:
                        calls.append(("put", dest, content, user, group, mode)))
    monkeypatch.setattr(security.known, "secret_file",
                        lambda name, dest, content, user, group, mode:
                        calls.append(("secret", dest, content, user, group, mode)))
    security.gateway_user(topo, material)
    conf = topo.cluster["es_conf_dir"]
    by_path = {dest: (kind, content, user, group, mode)
               for kind, dest, content, user, group, mode in calls}
    assert set(by_path) == {f"{conf}/roles.yml", f"{conf}/users", f"{conf}/users_roles"}
    for kind, content, user, group, mode in by_path.values():
        # readable by Elasticsearch's group only, never by everyone
        assert (user, group, mode) == ("root", topo.cluster["es_user"], "640")
        text = content.reveal() if isinstance(content, Secret) else content
        assert PASSWORD not in text
    kind, users, *_ = by_path[f"{conf}/users"]
    assert kind == "secret" and isinstance(users, Secret)  # its content is never shown
    assert users.reveal() == cluster_user.users_file(cluster_user.password_hash(PASSWORD, KEY))
    first = {dest: (c.reveal() if isinstance(c, Secret) else c) for _, dest, c, *_ in calls}
    calls.clear()
    security.gateway_user(topo, material)  # a second run: the same bytes, so nothing to change
    assert first == {dest: (c.reveal() if isinstance(c, Secret) else c) for _, dest, c, *_ in calls}


# --- OpenSearch: the same user in the security plugin's configuration --------------------------
#
# internal_users.yml and roles_mapping.yml are esdr's (rendered whole); roles.yml is the
# plugin's, with esdr's role in one marked block (files.block). Formats:
# https://opensearch.org/docs/latest/security/configuration/yaml/


# The plugin's roles.yml as it ships (abridged: the head, and the replication roles esdr maps)
SHIPPED_ROLES = """_meta:
  type: "roles"
  config_version: 2

# Allows users to use all cross cluster replication functionality at leader cluster
cross_cluster_replication_leader_full_access:
  reserved: true
  index_permissions:
    - index_patterns:
        - '*'
      allowed_actions:
        - "indices:data/read/plugins/replication/changes"
"""


def _os_topology(tmp_path, monkeypatch, **cluster):
    from tests.unit.test_opensearch_engine import os_topology

    monkeypatch.setenv("ESDR_OS_ADMIN_PASSWORD", "admin-pw")
    return os_topology(tmp_path, **cluster)


def _plugin_files(monkeypatch, topo, material) -> dict[str, tuple]:
    """What security_plugin_files asks pyinfra for: {path: (kind, content, extra)}."""
    from esdr.tasks import security

    calls: dict[str, tuple] = {}

    def put(name, src, dest, user, group, mode):
        calls[dest] = ("put", src.getvalue(), (user, group, mode))

    def secret(name, dest, content, user, group, mode):
        calls[dest] = ("secret", content, (user, group, mode))

    def block(name, path, content, marker):
        calls[path] = ("block", content, marker)

    monkeypatch.setattr(security.files, "put", put)
    monkeypatch.setattr(security.secret_files, "secret_file", secret)
    monkeypatch.setattr(security.files, "block", block)
    security.security_plugin_files(topo, material)
    return calls


def _os_material(password: str = PASSWORD):
    from esdr.tasks import security

    return security.Material(
        certificates=None, password=Secret("admin-pw"), marker_key=KEY,  # type: ignore[arg-type]
        gateway_password=Secret(password),
    )


def test_opensearch_gets_the_gateway_user_with_cluster_monitor_only(tmp_path, monkeypatch) -> None:
    topo = _os_topology(tmp_path, monkeypatch)
    calls = _plugin_files(monkeypatch, topo, _os_material())
    directory = f"{topo.cluster['es_conf_dir']}/opensearch-security"
    assert set(calls) == {f"{directory}/{f}"
                          for f in ("internal_users.yml", "roles_mapping.yml", "roles.yml")}

    kind, users_text, meta = calls[f"{directory}/internal_users.yml"]
    assert kind == "secret" and isinstance(users_text, Secret)  # never shown in the output
    assert meta == ("root", topo.cluster["es_user"], "640")
    users = yaml.safe_load(users_text.reveal())
    gateway = users["esdr_gateway"]
    assert bcrypt.checkpw(PASSWORD.encode(), gateway["hash"].encode())
    assert "backend_roles" not in gateway and "opendistro_security_roles" not in gateway

    kind, mapping_text, meta = calls[f"{directory}/roles_mapping.yml"]
    assert kind == "put" and meta == ("root", topo.cluster["es_user"], "640")
    mapping = yaml.safe_load(mapping_text)
    assert mapping["esdr_gateway"]["users"] == ["esdr_gateway"]
    # mapped to its own role and no other (all_access goes by the backend role "admin" only)
    assert [role for role, m in mapping.items() if "esdr_gateway" in m.get("users", [])] == [
        "esdr_gateway"]
    assert "esdr_gateway" not in str(mapping["all_access"])

    kind, block, marker = calls[f"{directory}/roles.yml"]
    assert kind == "block" and marker == "# {mark} ESDR GATEWAY ROLE"
    # as files.block leaves the plugin's file: its roles, then the marked block
    roles = yaml.safe_load(
        f"{SHIPPED_ROLES}{marker.format(mark='BEGIN')}\n{block}\n{marker.format(mark='END')}\n")
    assert roles["esdr_gateway"]["cluster_permissions"] == ["cluster_monitor"]
    assert roles["esdr_gateway"]["index_permissions"] == []
    assert set(roles["esdr_gateway"]) <= {"reserved", "description", "cluster_permissions",
                                          "index_permissions"}
    assert "cross_cluster_replication_leader_full_access" in roles  # the plugin's are kept


def test_opensearch_files_hold_no_password_and_stay_the_same_on_a_rerun(
        tmp_path, monkeypatch) -> None:
    topo = _os_topology(tmp_path, monkeypatch)

    def texts(password: str = PASSWORD) -> dict[str, str]:
        calls = _plugin_files(monkeypatch, topo, _os_material(password))
        return {path: (c.reveal() if isinstance(c, Secret) else c) for path, (_, c, _) in
                calls.items()}

    first = texts()
    for text in first.values():
        assert PASSWORD not in text and "admin-pw" not in text
    assert first == texts()  # the same bytes: no change, so securityadmin does not run again
    changed = {path for path, text in texts(PASSWORD + "x").items() if text != first[path]}
    assert changed == {path for path in first if path.endswith("/internal_users.yml")}


def test_opensearch_hashes_as_the_other_internal_users(tmp_path, monkeypatch) -> None:
    """The bcrypt of esdr.security.opensearch_users ($2b$, 12 rounds, salted from the estate
    key per user), so the gateway's hash is not the Elasticsearch file realm's."""
    from esdr.security import opensearch_users

    topo = _os_topology(tmp_path, monkeypatch)
    calls = _plugin_files(monkeypatch, topo, _os_material())
    users_text = next(c for path, (_, c, _) in calls.items() if path.endswith("internal_users.yml"))
    gateway = yaml.safe_load(users_text.reveal())["esdr_gateway"]["hash"]
    assert gateway == opensearch_users.password_hash(PASSWORD, KEY, "esdr_gateway")
    assert gateway.startswith("$2b$12$")


def test_opensearch_gets_the_estates_generated_password(tmp_path, monkeypatch) -> None:
    from esdr.tasks import security

    monkeypatch.setenv("ESDR_OS_ADMIN_PASSWORD", "admin-pw")
    topo = _os_topology(tmp_path, monkeypatch)
    material = security._material(topo)
    path = tmp_path / "secrets" / cluster_user.PASSWORD_FILE
    assert path in material.staged and not path.exists()
    assert material.staged[path].decode().strip() == material.gateway_password.reveal()
    store.write_staged(material.staged)
    assert security._material(topo).gateway_password.reveal() == material.gateway_password.reveal()
