"""Fast tests (no lab) of the OpenSearch upgrade lab's pure parts: the version to upgrade from,
what its project copy asks the mirror for, the replication plugin build, and the order the
preflight allows between the two DCs."""

from __future__ import annotations

import hashlib

import pytest

from esdr.errors import EsdrError
from esdr.project import load_project
from esdr.upgrade import follower_problems
from esdr_lab import artifacts, constants
from esdr_lab.spec import specs_from_inventories
from tests.integration.deploy_runner import REPO
from tests.opensearch_lab_upgrade.project import DC1, DC2, make_project


def test_the_version_to_upgrade_from_and_its_coordinates():
    assert constants.OS_UPGRADE_FROM == "2.19.3"  # unless ESDR_OS_UPGRADE_FROM says otherwise
    assert constants.OS_UPGRADE_FROM_ARCHIVE == "opensearch-2.19.3.zip"
    assert constants.OS_UPGRADE_FROM_MAVEN_COORDINATE == (
        "org.opensearch.distribution.integ-test-zip:opensearch:2.19.3:zip")
    assert constants.OS_UPGRADE_FROM_SECURITY_MAVEN_COORDINATE == (
        "org.opensearch.plugin:opensearch-security:2.19.3.0:zip")
    assert constants.OS_UPGRADE_FROM_REPLICATION_PLUGIN == (
        "opensearch-cross-cluster-replication-2.19.3.0.zip")


def _needed(project):
    specs = specs_from_inventories([str(project / DC1), str(project / DC2)])
    return artifacts.needed_for(f for s in specs for f in s.mirror_files)


def test_the_pinned_project_needs_the_three_old_files_only(tmp_path):
    needed = _needed(make_project(tmp_path, constants.OS_UPGRADE_FROM))
    assert [a.filename for a in needed] == [
        constants.OS_UPGRADE_FROM_ARCHIVE, constants.OS_UPGRADE_FROM_SECURITY_PLUGIN,
        constants.OS_UPGRADE_FROM_REPLICATION_PLUGIN]
    archive, security, replication = needed
    assert archive.maven == constants.OS_UPGRADE_FROM_MAVEN_COORDINATE
    assert security.maven == constants.OS_UPGRADE_FROM_SECURITY_MAVEN_COORDINATE
    assert replication.replication_build == constants.OS_UPGRADE_FROM
    assert replication.vendored is None and replication.maven is None


def test_the_unpinned_copy_needs_the_repository_lab_files(tmp_path):
    needed = _needed(make_project(tmp_path))
    assert {a.filename for a in needed} == {
        constants.OS_ARCHIVE, constants.OS_SECURITY_PLUGIN, constants.OS_REPLICATION_PLUGIN}


def test_the_pinned_project_runs_the_old_version_with_both_plugins(tmp_path):
    project = make_project(tmp_path, "2.19.3")
    for inventory in (DC1, DC2):
        cluster = load_project(project / inventory).topology.cluster
        assert cluster.version == "2.19.3"
        urls = {p["name"]: p["url"] for p in cluster["es_plugins"]}
        assert urls["opensearch-security"].endswith("/opensearch-security-2.19.3.0.zip")
        assert urls["opensearch-cross-cluster-replication"].endswith(
            "/opensearch-cross-cluster-replication-2.19.3.0.zip")


def test_one_way_estate_lets_the_follower_go_first_and_refuses_the_leader_first(tmp_path):
    estate = load_project(make_project(tmp_path) / DC1).topology.estate
    assert not estate.bidirectional and estate.followers
    follower_first = {"dc1": "2.19.3", "dc2": "2.19.4"}
    assert follower_problems(estate, follower_first, engine="opensearch") == []
    leader_first = {"dc1": "2.19.4", "dc2": "2.19.3"}
    problems = follower_problems(estate, leader_first, engine="opensearch")
    assert problems and all(p.rule == "upgrade-follower-older-than-leader" for p in problems)


def test_the_repository_estate_pairs_both_ways_so_neither_dc_may_go_first():
    estate = load_project(REPO / DC1).topology.estate
    assert estate.bidirectional
    for versions in ({"dc1": "2.19.3", "dc2": "2.19.4"}, {"dc1": "2.19.4", "dc2": "2.19.3"}):
        assert follower_problems(estate, versions, engine="opensearch")


# --- the replication plugin built by the vendored build.sh ------------------------------------

FAKE_OK = """#!/usr/bin/env bash
set -e
echo "maven says hello"
out=$2; zip="$out/opensearch-cross-cluster-replication-$1.0.zip"
printf 'built for %s' "$1" > "$zip"
sha512sum "$zip" | awk '{print $1}' > "$zip.sha512"
echo "$zip"
"""
FAKE_FAIL = """#!/usr/bin/env bash
echo "[ERROR] Could not resolve org.opensearch:opensearch:2.19.3"
exit 1
"""


@pytest.fixture
def build_env(tmp_path, monkeypatch):
    def make(script: str):
        vendor = tmp_path / "vendor"
        (vendor / "opensearch-replication").mkdir(parents=True, exist_ok=True)
        (vendor / constants.OS_REPLICATION_BUILD_SCRIPT).write_text(script)
        return vendor

    monkeypatch.setattr(constants, "OS_REPLICATION_BUILD_CACHE", tmp_path / "cache")
    monkeypatch.setattr(constants, "ARTIFACTS_DIR", tmp_path / "artifacts")
    monkeypatch.setattr(artifacts.shutil, "which", lambda name: f"/usr/bin/{name}")
    return make


def test_the_plugin_is_built_once_then_served_from_the_mirror(build_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(build_env(FAKE_OK)))
    lines: list[str] = []
    plugin = artifacts.CATALOGUE[constants.OS_UPGRADE_FROM_REPLICATION_PLUGIN]
    assert artifacts.ensure_artifacts([plugin], say=lines.append) == {
        plugin.filename: "copied"}
    served = tmp_path / "artifacts" / plugin.filename
    assert served.read_bytes() == f"built for {constants.OS_UPGRADE_FROM}".encode()
    digest = hashlib.sha512(served.read_bytes()).hexdigest()
    assert (served.parent / f"{plugin.filename}.sha512").read_text() == (
        f"{digest}  {plugin.filename}\n")
    assert any("building the OpenSearch replication plugin" in line for line in lines)
    assert any(line.startswith("built ") for line in lines)
    log = artifacts.replication_zip(constants.OS_UPGRADE_FROM).parent / "build.log"
    assert "maven says hello" in log.read_text()
    # cached: the script is not run again
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(tmp_path / "nowhere"))
    assert artifacts.ensure_artifacts([plugin]) == {plugin.filename: "cached"}


def test_a_failed_build_names_its_log_and_serves_nothing(build_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(build_env(FAKE_FAIL)))
    with pytest.raises(EsdrError) as raised:
        artifacts.replication_build("2.19.3")
    text = str(raised.value)
    assert "failed (exit 1)" in text and "build.log" in text
    assert "Could not resolve" in text
    assert not (tmp_path / "artifacts").exists()


def test_a_build_cut_short_is_not_taken_from_the_cache(build_env, monkeypatch):
    zip_path = artifacts.replication_zip("2.19.3")
    zip_path.parent.mkdir(parents=True)
    zip_path.write_bytes(b"half a zip")  # no .sha512: build.sh writes it last
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(build_env(FAKE_OK)))
    assert artifacts.replication_build("2.19.3").read_bytes() == b"built for 2.19.3"


def test_no_build_script_is_a_clear_error(build_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(tmp_path / "empty"))
    with pytest.raises(EsdrError, match="build.sh not found"):
        artifacts.replication_build("2.19.3")
