"""An OpenSearch version change takes its plugins along: ``install_plugins`` installs the
inventory's ``es_plugins`` into the new version's own directory with OpenSearch's plugin tool,
before the roll moves the ``current`` link there. A plugin zip installs only on the server
version it was built for
(https://opensearch.org/docs/latest/install-and-configure/plugins/), so the new directory must
get plugins built for the new version, named by the inventory's URLs."""

from __future__ import annotations

from types import SimpleNamespace

from esdr.tasks import install
from esdr.upgrade import plan_upgrade
from tests.unit.topo_factory import shape_a, topology

MIRROR = "http://mirror.example"
PLUGINS = [
    {"name": "opensearch-security", "url": f"{MIRROR}/opensearch-security-2.19.4.0.zip"},
    {"name": "opensearch-cross-cluster-replication",
     "url": f"{MIRROR}/opensearch-cross-cluster-replication-2.19.4.0.zip"},
]


def _opensearch(version: str = "2.19.4"):
    return topology(shape_a, es_engine="opensearch", es_version=version, es_plugins=PLUGINS)


def test_opensearch_plugins_go_into_the_new_versions_directory_with_its_tool(monkeypatch):
    calls: list[dict] = []
    asked: list[str] = []

    def facts(host_name, cls, install_dir):
        asked.append(install_dir)
        return {}  # a fresh versioned directory has no plugins yet

    monkeypatch.setattr(install, "host", SimpleNamespace(name="d1"))
    monkeypatch.setattr(install, "fact", facts)
    monkeypatch.setattr(install.plugins, "plugin", lambda **kw: calls.append(kw) or kw["name"])
    topo = _opensearch()
    assert install.install_plugins(topo) == [
        "Plugin opensearch-security", "Plugin opensearch-cross-cluster-replication"]
    new_dir = "/opt/opensearch/opensearch-2.19.4"
    assert asked == [new_dir]
    for call, entry in zip(calls, PLUGINS, strict=True):
        assert call["install_dir"] == new_dir
        assert call["tool"] == "opensearch-plugin"
        assert call["url"] == entry["url"]
        assert "OPENSEARCH_PATH_CONF" in call["env"]


def test_the_opensearch_upgrade_plan_names_the_plugins_moving_with_each_node():
    plan = plan_upgrade(_opensearch().cluster, {n: "2.19.3" for n in
                                                ("m1", "m2", "tb", "d1", "d2")})
    assert plan.steps, plan
    for step in plan.steps:
        assert step.plugins == ("opensearch-security", "opensearch-cross-cluster-replication")
        assert "plugins opensearch-security, opensearch-cross-cluster-replication with it" in \
            step.line()
