"""Fast tests (no lab) of the OpenSearch lab's pure parts: which artifacts the mirror fetches,
the vendored plugin check, the two inventories' shape, and the drill's arithmetic."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from esdr.errors import EsdrError
from esdr_lab import artifacts, constants
from esdr_lab import replication_drill as drill
from esdr_lab.spec import specs_from_inventories
from esdr.project import load_project, valid_topology
from tests.integration.deploy_runner import REPO

OS_FILES = {constants.OS_ARCHIVE, constants.OS_SECURITY_PLUGIN, constants.OS_REPLICATION_PLUGIN}


def test_es_lab_needs_only_the_elasticsearch_archive():
    specs = specs_from_inventories([str(REPO / "inventories" / "lab.py")])
    needed = artifacts.needed_for(f for s in specs for f in s.mirror_files)
    assert [a.filename for a in needed] == [constants.ES_ARCHIVE]


def test_os_lab_needs_the_three_opensearch_files_and_not_elasticsearch():
    specs = specs_from_inventories(
        [str(REPO / "inventories" / "lab_os.py"), str(REPO / "inventories" / "lab_os_dc2.py")])
    needed = artifacts.needed_for(f for s in specs for f in s.mirror_files)
    assert {a.filename for a in needed} == OS_FILES
    by_name = {a.filename: a for a in needed}
    assert by_name[constants.OS_ARCHIVE].maven == (
        "org.opensearch.distribution.integ-test-zip:opensearch:2.19.4:zip")
    assert by_name[constants.OS_SECURITY_PLUGIN].maven == (
        "org.opensearch.plugin:opensearch-security:2.19.4.0:zip")
    assert by_name[constants.OS_REPLICATION_PLUGIN].vendored is not None


def test_no_mirror_reference_keeps_the_old_default_and_unknown_files_are_refused():
    assert [a.filename for a in artifacts.needed_for([])] == [constants.ES_ARCHIVE]
    with pytest.raises(EsdrError, match="cannot serve nope.zip"):
        artifacts.needed_for(["nope.zip"])


def test_mirror_files_reads_only_mirror_urls():
    urls = [f"{constants.MIRROR_URL}/a.zip", "https://elsewhere.example/b.zip", None,
            f"{constants.MIRROR_URL}/a.zip.sha512", f"{constants.MIRROR_URL}/c.zip"]
    assert artifacts.mirror_files(urls) == ("a.zip", "c.zip")
    data = {"es_archive_url": f"{constants.MIRROR_URL}/x.zip",
            "es_plugins": [{"name": "p", "url": f"{constants.MIRROR_URL}/p.zip"}, {"name": "q"}]}
    assert artifacts.mirror_files(artifacts.urls_of(data)) == ("x.zip", "p.zip")


def _vendor(tmp_path, content: bytes, checksum: str):
    dist = tmp_path / "vendor" / "opensearch-replication" / "dist"
    dist.mkdir(parents=True)
    (dist / constants.OS_REPLICATION_PLUGIN).write_bytes(content)
    (dist / (constants.OS_REPLICATION_PLUGIN + ".sha512")).write_text(checksum)
    return tmp_path / "vendor"


@pytest.fixture
def mirror_dir(tmp_path, monkeypatch):
    out = tmp_path / "artifacts"
    monkeypatch.setattr(constants, "ARTIFACTS_DIR", out)
    return out


def test_vendored_plugin_is_checked_then_served_with_a_named_checksum(tmp_path, mirror_dir,
                                                                     monkeypatch):
    content = b"plugin bytes"
    digest = hashlib.sha512(content).hexdigest()
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(_vendor(tmp_path, content, digest + "\n")))
    plugin = artifacts.CATALOGUE[constants.OS_REPLICATION_PLUGIN]
    assert artifacts.ensure_artifacts([plugin]) == {constants.OS_REPLICATION_PLUGIN: "copied"}
    served = mirror_dir / constants.OS_REPLICATION_PLUGIN
    assert served.read_bytes() == content
    line = (mirror_dir / (constants.OS_REPLICATION_PLUGIN + ".sha512")).read_text()
    assert line == f"{digest}  {constants.OS_REPLICATION_PLUGIN}\n"
    assert artifacts.ensure_artifacts([plugin]) == {constants.OS_REPLICATION_PLUGIN: "cached"}


def test_vendored_plugin_with_a_wrong_checksum_is_not_served(tmp_path, mirror_dir, monkeypatch):
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(_vendor(tmp_path, b"tampered", "0" * 128)))
    plugin = artifacts.CATALOGUE[constants.OS_REPLICATION_PLUGIN]
    with pytest.raises(EsdrError, match="does not match its shipped checksum"):
        artifacts.ensure_artifacts([plugin])
    assert not (mirror_dir / constants.OS_REPLICATION_PLUGIN).exists()


def test_missing_vendor_directory_is_one_clear_message(tmp_path, mirror_dir, monkeypatch):
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(tmp_path / "absent"))
    plugin = artifacts.CATALOGUE[constants.OS_REPLICATION_PLUGIN]
    with pytest.raises(EsdrError, match="shared vendor directory"):
        artifacts.ensure_artifacts([plugin])


def test_default_vendor_directory_is_shared_beside_the_repository(monkeypatch):
    monkeypatch.delenv("ESDR_VENDOR_DIR", raising=False)
    assert artifacts.vendor_dir() == REPO.parent / "shared" / "vendor"


def test_parse_sha512_accepts_both_formats():
    digest = "ab" * 64
    assert artifacts.parse_sha512(digest) == digest
    assert artifacts.parse_sha512(f"{digest.upper()}  file.zip\n") == digest
    assert artifacts.parse_sha512("not a checksum") is None
    assert artifacts.parse_sha512("") is None


@pytest.mark.parametrize("inventory, prefix, first, name", [
    ("lab_os.py", "os1", 51, "esdr-lab-os-dc1"),
    ("lab_os_dc2.py", "os2", 41, "esdr-lab-os-dc2"),
])
def test_os_inventories_have_the_drill_shape(inventory, prefix, first, name):
    topology, problems = valid_topology(load_project(REPO / "inventories" / inventory))
    cluster = topology.cluster
    assert cluster.name == name
    assert cluster.engine.name == "opensearch"
    assert cluster["es_version"] == "2.19.4"
    assert cluster["es_install_root"] == "/opt/opensearch"
    assert cluster["es_user"] == "opensearch"
    assert [p["name"] for p in cluster["es_plugins"]] == [
        "opensearch-security", "opensearch-cross-cluster-replication"]
    assert all("sha512" not in p for p in cluster["es_plugins"])
    assert cluster["es_service_environment"] == {"LD_PRELOAD": constants.NOFILE_SHIM}
    nodes = {n.name: n for n in cluster.nodes}
    assert sorted(nodes) == [f"{prefix}-az1", f"{prefix}-az2", f"{prefix}-az3"]
    for zone, octet in (("az1", first), ("az2", first + 1)):
        node = nodes[f"{prefix}-{zone}"]
        assert (node.zone, node.address) == (zone, f"10.88.0.{octet}")
        assert node.holds_data and node.is_master_eligible
        assert "remote_cluster_client" in node.roles
    manager = nodes[f"{prefix}-az3"]
    assert (manager.zone, manager.address) == ("az3", f"10.88.0.{first + 2}")
    assert manager.is_master_eligible and not manager.holds_data
    # the plugin's start action runs on the elected cluster-manager, which calls the remote
    assert "remote_cluster_client" in manager.roles


def test_os_estate_design():
    from esdr.crossdc.estate import parse_estate
    from esdr.checks.estate import check_estate

    topology, _ = valid_topology(load_project(REPO / "inventories" / "lab_os_dc2.py"))
    estate = parse_estate(topology.cluster["es_estate"])
    assert check_estate(estate) == []
    assert {(k.source, k.target) for k in estate.links} == {("dc1", "dc2"), ("dc2", "dc1")}
    assert estate.clusters["dc1"].seeds == ("10.88.0.51:9300", "10.88.0.52:9300")
    assert estate.clusters["dc2"].seeds == ("10.88.0.41:9300", "10.88.0.42:9300")
    (orders,) = estate.followers
    assert (orders.cluster, orders.index, orders.remote, orders.write_alias) == (
        "dc2", "orders", "dc1", "orders-write")
    (rule,) = estate.auto_follow
    assert (rule.cluster, rule.remote, rule.leader_index_patterns) == ("dc2", "dc1", ("logs-*",))
    assert rule.follow_index_pattern == "{{leader_index}}" and not rule.leader_index_exclusion_patterns
    (events,) = estate.bidirectional
    assert dict(events.indices) == {"dc1": "events-dc1", "dc2": "events-dc2"}


def test_rpo_counts_missing_acknowledged_writes_and_their_span():
    acks = [drill.Ack(f"w-{n}", "dc1", 100.0 + n) for n in range(10)]
    assert drill.rpo_of(acks, set()) == (0, 0.0)
    assert drill.rpo_of(acks, {"w-8", "w-9", "other"}) == (2, 1.0)
    assert drill.rpo_of(acks, {"w-9"}) == (1, 0.0)


def test_percentile():
    values = [float(v) for v in range(1, 101)]
    assert drill.percentile(values, 50) == 50.0
    assert drill.percentile(values, 95) == 95.0
    assert drill.percentile([3.0], 95) == 3.0
    assert drill.percentile([], 50) != drill.percentile([], 50)  # nan


def test_wait_until_is_bounded():
    with pytest.raises(drill.DrillError, match="timed out after 0s waiting for never"):
        drill.wait_until("never", lambda: False, timeout=0.2, interval=0.05)
    assert drill.wait_until("now", lambda: 7, timeout=1) == 7


def test_salvage_accounting_places_each_acknowledged_id():
    found = drill.salvage_accounting(["a", "b", "c", "d"], missing_live={"c", "d"},
                                     side_ids={"c"}, missing_at_promotion=["b", "c", "d"])
    assert found == {"acked_dc1": 4, "in_live": 2, "in_side_only": 1, "lost": ["d"],
                     "rpo_recovered": 2}


def test_the_window_check_finds_a_missing_write_acknowledged_before_the_reported_start():
    cut = 1_800_000_100.0  # wall clock of the loss
    acks = [drill.Ack(f"w-{n}", "dc1", float(n), cut - 10 + n) for n in range(10)]  # -10..-1 s
    since = datetime.fromtimestamp(cut - 5.5, timezone.utc).isoformat()
    covered = drill.window_accounting(since, cut, acks, {"w-7", "w-9"})
    assert covered["uncovered"] == [] and covered["since_s"] == pytest.approx(5.5)
    assert covered["earliest_s"] == pytest.approx(3.0)
    assert "every missing write inside it" in drill.window_line(covered, 2)
    # w-4 was acknowledged 6 s before the loss, before the window's start: an under-statement
    under = drill.window_accounting(since, cut, acks, {"w-4", "w-9"})
    assert under["uncovered"] == ["w-4"]
    assert "1 missing write(s) OUTSIDE it" in drill.window_line(under, 2)
    # no window reported is never "covered"
    unknown = drill.window_accounting(None, cut, acks, {"w-9"})
    assert unknown["uncovered"] == ["w-9"] and "unknown" in drill.window_line(unknown, 1)
    assert drill.window_accounting(since, cut, acks, set())["earliest_s"] is None
