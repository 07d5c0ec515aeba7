"""The gateway logs in as esdr's least-privilege user, never as a superuser, and its password
reaches only the 0600 EnvironmentFile.

The Elasticsearch side (the file-realm files, the generated password) is tests/security/
test_gateway_user.py.
"""

from __future__ import annotations

import copy
import stat

import yaml

from esdr.gateway import cluster_user
from esdr.gateway.render import host_files, secrets_file
from esdr.security import store
from tests.gateway.factory import CLUSTERS, tier


def _tier_logging_in_as_the_gateway_user(secrets_dir: str):
    clusters = copy.deepcopy(CLUSTERS)
    for entry in clusters.values():
        entry.update(cluster_user.login(secrets_dir))
    return tier(gateway_clusters=clusters)


def test_gateway_yml_names_the_gateway_user_and_no_superuser_or_password(tmp_path) -> None:
    secrets_dir = tmp_path / "secrets"
    password = store.generated_password(secrets_dir, cluster_user.PASSWORD_FILE)
    model = _tier_logging_in_as_the_gateway_user(str(secrets_dir))
    rendered = {f.path: f for f in host_files(model, model.host("gw1"))}
    config = rendered["/etc/infini-gateway/gateway.yml"]
    doc = yaml.safe_load(config.content)
    assert [c["basic_auth"]["username"] for c in doc["elasticsearch"]] == ["esdr_gateway"] * 2
    for name in ("elastic", "admin"):
        assert f'"{name}"' not in config.content
    for item in rendered.values():  # the unit and keepalived.conf are world-readable
        assert password not in item.content, item.path
    assert int(config.mode, 8) & 0o007 == 0  # 640: root and the gateway's group
    secrets = secrets_file(model)
    assert password in secrets.content and secrets.mode == "600"


def test_the_login_reference_reads_the_password_the_deploy_generated(tmp_path) -> None:
    secrets_dir = tmp_path / "secrets"
    password = store.generated_password(secrets_dir, cluster_user.PASSWORD_FILE)
    login = cluster_user.login(str(secrets_dir))
    assert login["username"] == cluster_user.GATEWAY_USER
    path = secrets_dir / cluster_user.PASSWORD_FILE
    assert login["password"] == {"file": str(path)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    model = _tier_logging_in_as_the_gateway_user(str(secrets_dir))
    assert all(c.password_error is None for c in model.clusters)
    assert f"='{password}'" in secrets_file(model).content


def test_prod_logs_in_as_the_gateway_user_with_the_password_its_clusters_deploy_makes() -> None:
    """group_data/prod.py: both clusters' login is esdr_gateway and a reference to the prod
    estate's generated gateway-password, the file the deploy of DC1 (inventories/prod.py) and
    of DC2 (inventories/dc2.py) hashes into each node's users; no per-DC variable to keep in
    step with it by hand."""
    from esdr.gateway.render import gateway_yml
    from esdr.project import load_project
    from esdr.security.store import secrets_dir
    from tests.integration.deploy_runner import REPO

    tier_ = load_project(REPO / "inventories" / "prod.py").tier
    for inventory in ("prod.py", "dc2.py"):
        cluster = load_project(REPO / "inventories" / inventory).topology.cluster
        expected = str(secrets_dir(cluster) / cluster_user.PASSWORD_FILE)
        assert [(c.username, c.password.kind, c.password.value) for c in tier_.clusters] == [
            ("esdr_gateway", "file", expected)] * 2
    assert all(c.password_error is None for c in tier_.clusters)
    text = gateway_yml(tier_, tier_.gateways[0])
    assert text.count('username: "esdr_gateway"') == 2


def test_an_explicit_login_still_wins(tmp_path) -> None:
    """Another user stays possible: an entry's own username and password are used as given."""
    clusters = copy.deepcopy(CLUSTERS)
    clusters["primary"].update(cluster_user.login(str(tmp_path)))
    clusters["backup"].update({"username": "someone", "password": {"env": "SOMEONE_PW"}})
    model = tier(gateway_clusters=clusters)
    assert [(c.username, c.password.kind) for c in model.clusters] == [
        ("esdr_gateway", "file"), ("someone", "env")]
