"""Which checks each kind of host gets, and that every expected value is the one the deploy
uses: the model, ``esdr render``'s files, ``esdr.layout`` (what ``esdr.tasks`` creates)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdr import layout
from esdr.cli.main import cli
from esdr.project import load_valid_project
from esdr.render import node_files
from esdr.tasks import install
from esdr.verify.plan import UNIT_LIMITS, Check, build_plan, unit_limits
from esdr.verify.run import plan_for
from tests.unit import project_factory as pf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    hosts, data, estate = pf.valid()
    inventory = pf.write(tmp_path, hosts, data, estate)
    return load_valid_project(inventory)[0]


def _plan(project, **kw):
    data = {h.name: h.data.dict() for h in project.inventory}
    return build_plan(project.topology, project.tier, data, **kw)


def _of(plan, host: str) -> dict[str, Check]:
    return {c.name: c for c in plan.checks if c.host == host}


def test_every_engine_host_gets_the_same_kinds_of_check_and_the_cluster_its_own_once(project):
    plan = _plan(project)
    kinds = {t.name: t.kinds for t in plan.targets}
    assert kinds == {"m1": ("elasticsearch",), "m2": ("elasticsearch",),
                     "tb": ("elasticsearch",), "d1": ("elasticsearch",),
                     "d2": ("elasticsearch",), "g1": ("gateway",), "g2": ("gateway",)}
    per_host = {h: Counter(c.kind for c in plan.checks if c.host == h)
                for h in ("m1", "m2", "tb", "d1", "d2")}
    assert len({tuple(sorted(c.items())) for c in per_host.values()}) == 1
    node = per_host["d1"]
    assert node["service-running"] == node["service-enabled"] == 1
    assert node["listening"] == 2 and node["tls"] == node["plain-http-refused"] == 1
    assert node["node-view"] == 4 and node["limit"] == 4
    cluster = [c for c in plan.checks if c.host == "cluster t1"]
    assert [c.via for c in cluster] == [("m1", "m2", "tb", "d1", "d2")] * len(cluster)
    names = [c.name for c in cluster]
    assert names[:3] == ["health at least green", "exactly the inventory's nodes",
                         "exactly the inventory's master-eligible nodes"]
    # the estate's objects for this cluster: link, repository, SLM, follower, auto-follow
    assert {"remote cluster dc2", "snapshot repository dr", "SLM policy nightly",
            "follower index orders", "auto-follow pattern logs"} <= set(names)
    assert len({c.id for c in plan.checks}) == len(plan.checks), "every test id is unique"
    assert all(c.id.startswith(f"{c.host}: ") for c in plan.checks)


def test_a_node_expects_what_the_model_says_of_it(project):
    plan = _plan(project)
    tiebreaker, data = _of(plan, "tb"), _of(plan, "d1")
    assert tiebreaker["node roles = ['master', 'voting_only']"].expected["value"] == [
        "master", "voting_only"]
    assert data["node attribute zone = az1"].expected["field"] == "attributes.zone"
    assert data["cluster name = t1"].expected["value"] == "t1"
    assert data["HTTP listening on 10.20.0.21:9200"].expected == {"address": "10.20.0.21",
                                                                  "port": 9200}
    cluster = {c.name: c for c in plan.checks if c.host == "cluster t1"}
    assert cluster["exactly the inventory's master-eligible nodes"].expected["names"] == [
        "m1", "m2", "tb"]
    assert cluster["exactly the inventory's nodes"].expected["names"] == [
        "d1", "d2", "m1", "m2", "tb"]
    account = data["user elasticsearch"].expected
    assert account == {"user": "elasticsearch", "group": "elasticsearch",
                       "home": "/var/lib/elasticsearch", "shell": install.SHELL}


def test_owners_and_modes_are_the_deploys(project):
    plan = _plan(project)
    checks = _of(plan, "d1")
    # the directories exactly as the install task makes them
    for path, owner, mode in install.directories(project.topology):
        expected = checks[f"mode {path}"].expected
        assert (expected["user"], expected["mode"], expected["directory"]) == (owner, mode, True)
    # every rendered file with the owner and mode the deploy uploads it with
    node = project.topology.cluster.node("d1")
    for rendered in node_files(project.topology, node, bootstrap=False):
        expected = checks[f"mode {rendered.path}"].expected
        assert (expected["user"], expected["group"], expected["mode"]) == (
            rendered.user, rendered.group, rendered.mode)
    key = checks["mode /etc/elasticsearch/certs/node.key"].expected
    assert (key["user"], key["group"], key["mode"]) == ("root", "elasticsearch", "640")
    assert checks["mode /etc/esdr/es-api.curlrc"].expected["mode"] == "600"
    assert checks["mode /etc/elasticsearch/elasticsearch.keystore"].expected["mode"] == "660"
    assert checks[f"mode {layout.MAX_MAP_COUNT_FILE}"].expected["optional"] is True


def test_rendered_content_is_byte_for_byte_what_esdr_render_writes(project, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", project.source, "--out", str(out), "--formed"])
    assert result.exit_code == 0, result.output
    contents = [c for c in _plan(project).checks if c.kind == "content"
                and not c.expected.get("optional")]
    assert len(contents) >= 5 * 4 + 2 * 3
    for check in contents:
        written = out / check.host / check.expected["path"].lstrip("/")
        assert written.read_text() == check.expected["content"], check.id


def test_the_units_limits_are_what_the_rendered_unit_sets(project):
    node = project.topology.cluster.node("d1")
    unit = next(f for f in node_files(project.topology, node, bootstrap=False)
                if f.path.endswith(".service"))
    assert unit_limits(unit.content) == {"LimitNOFILE": "65535", "LimitNPROC": "4096",
                                         "LimitAS": "infinity", "LimitFSIZE": "infinity"}
    limits = [c for c in _plan(project).checks if c.host == "d1" and c.kind == "limit"]
    assert {c.expected["directive"]: c.expected["row"] for c in limits} == {
        k: UNIT_LIMITS[k] for k in ("LimitNOFILE", "LimitNPROC", "LimitAS", "LimitFSIZE")}
    with_memlock = unit.content.replace("LimitAS=infinity", "LimitMEMLOCK=infinity")
    assert unit_limits(with_memlock)["LimitMEMLOCK"] == "infinity"


def test_a_gateway_host_gets_its_own_checks(project):
    checks = _of(_plan(project), "g1")
    assert {"service infini-gateway running", "service infini-gateway enabled",
            "service keepalived running", "service keepalived enabled",
            "gateway entry listening on 0.0.0.0:8000",
            "gateway API listening on 127.0.0.1:2900",
            "the entry answers keepalived's probe",
            "rendered /etc/infini-gateway/gateway.yml",
            "rendered /etc/keepalived/keepalived.conf",
            "rendered /etc/systemd/system/infini-gateway.service",
            "user infini-gateway has no password",
            "sysctl net.ipv4.tcp_retries2 = 5"} <= set(checks)
    env = checks["mode /etc/infini-gateway/gateway.env"].expected
    assert (env["user"], env["mode"]) == ("infini-gateway", "600")
    assert not any(c.kind in ("node-view", "tls", "limit") for c in checks.values())


def test_a_gateway_without_an_archive_is_not_expected_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    hosts, data, estate = pf.valid()
    del data["gateway_archive_local"]
    project = load_valid_project(pf.write(tmp_path, hosts, data, estate))[0]
    checks = _of(_plan(project), "g1")
    assert "service infini-gateway running" not in checks
    assert "mode /etc/infini-gateway/gateway.yml" in checks


def test_lab_inventories_all_get_a_plan(monkeypatch, tmp_path):
    """The shipped inventories: DC1, OpenSearch, the gateway tiers (nginx and keepalived)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(ROOT)
    lab = plan_for(load_valid_project("inventories/lab.py")[0], "green")
    assert lab.by_kind() == {"elasticsearch": 5 * 44, "cluster": 8}
    snapshots = _of(lab, "dc1-tiebreaker-az3")["mode /mnt/esdr-snapshots"].expected
    assert (snapshots["user"], snapshots["group"], snapshots["mode"]) == (
        "root", "elasticsearch", "770")
    assert lab.target("dc1-data-az1").ssh.hostname == "10.88.0.14"
    opensearch = plan_for(load_valid_project("inventories/lab_os.py")[0], "yellow")
    os_checks = _of(opensearch, "os1-az1")
    assert "service opensearch running" in os_checks
    assert "mode /etc/opensearch/users" not in os_checks  # no file realm on OpenSearch
    assert os_checks["mode /etc/esdr/admin.key"].expected["mode"] == "600"
    users = os_checks["mode /etc/opensearch/opensearch-security/internal_users.yml"].expected
    assert (users["user"], users["group"], users["mode"]) == ("root", "opensearch", "640")
    roles = next(c for c in os_checks.values() if c.name.startswith("node roles"))
    assert "cluster_manager" in roles.expected["value"]
    nginx = plan_for(load_valid_project("inventories/lab_gateways_nginx.py")[0], "green")
    assert {t.name: t.kinds for t in nginx.targets}["gw1"] == ("nginx",)
    assert "service nginx running" in _of(nginx, "gw1")


def test_an_unknown_health_is_refused(project):
    with pytest.raises(ValueError, match="purple"):
        _plan(project, min_health="purple")
