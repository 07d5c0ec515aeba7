"""Rolling upgrade of the live Elasticsearch lab, under writes (passed on the lab 2026-12-06,
245 s: 1747 acknowledged writes, 0 failed, 0 lost; killed after dc1-data-az1 and resumed).

Acceptance (docs/rolling-upgrade.md): DC1 is brought up fresh and deployed at the newest 8.18
integ-test-zip that resolves (``esdr_lab.constants.ES_UPGRADE_FROM``, 8.18.6;
``ESDR_UPGRADE_FROM`` overrides it), then the repository's
project (8.19.21) is deployed while

* a writer sends acknowledged writes through the data nodes, each retried until acknowledged;
* an observer polls the health (tests/integration/health_watch.py).

The first upgrade deploy is killed once the first node has been upgraded; the rerun must
resume (only the nodes still on the old version are planned) and finish. Checked: never red,
never more than one node away, every acknowledged write readable afterwards, every node on
8.19.21 through its ``current`` link, allocation given back, and a further rerun changes 0
operations. A downgrade and a skipped major are refused before any host changes (their runs
show no "Starting operation").

This module brings up its own DC1 (the shared ``dc1_deployed`` one runs 8.19.21, and nodes
cannot go back) and takes it down at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.integration.deploy_runner import SITE, DeployRun, run_deploy
from tests.integration.acked_writer import AckedWriter, node_versions
from tests.integration.health_watch import watch_health
from tests.integration.lab_dc1 import ADDRESS_OF, INVENTORY
from tests.integration.test_dc1_cluster import _project_with, client_for, wait_for

# ``drill`` as well: kept out of CI's budget (a fresh DC1, two archives, three deploys, ~4 min);
# CI keeps the rolling-restart mechanism in test_dc1_cluster; `bash scripts/test -m drill` runs it
pytestmark = [pytest.mark.lab, pytest.mark.drill]

INDEX = "upgrade-writes"
LINK = "/opt/elasticsearch/current"
ALLOCATION = "cluster.routing.allocation.enable"
FIRST = "dc1-data-az1"  # restart_order: data nodes first, by name




@pytest.fixture(scope="module")
def old_lab(tmp_path_factory):
    from esdr_lab import api, artifacts, constants

    api.require_lab()
    project = _project_with(
        tmp_path_factory.mktemp("upgrade-from"),
        f'es_version = "{constants.ES_UPGRADE_FROM}"\n'
        f'es_archive_url = "{constants.MIRROR_URL}/{constants.ES_UPGRADE_FROM_ARCHIVE}"\n'
        "es_restart_timeout = 300")
    api.up([str(project / INVENTORY)], fresh=True)
    try:
        # the version to upgrade to, served from the same cache as the old one
        artifacts.ensure_artifacts(artifacts.needed_for([constants.ES_ARCHIVE]))
        first = run_deploy(INVENTORY, cwd=project)
        assert first.returncode == 0, first.stderr[-4000:]
        yield SimpleNamespace(api=api, old=constants.ES_UPGRADE_FROM, new=constants.ES_VERSION,
                              project=project)
    finally:
        api.down()


def _deploy_killed_after(node: str, version: str, timeout: int = 1500) -> DeployRun:
    """The repository's deploy, killed (SIGKILL, its whole process group) as soon as it says
    ``node`` is upgraded."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyinfra", "-y", "--json", INVENTORY, str(SITE)],
        cwd=str(Path(SITE).parents[1]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if f"upgraded {node} to {version}" in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(timeout), "".join(lines)[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started
        proc.wait(timeout=60)
        reader.join(timeout=10)
    return DeployRun(proc.returncode, proc.stdout.read() if proc.stdout else "", "".join(lines),
                     time.monotonic() - started)


def test_a_downgrade_and_a_skipped_major_are_refused_before_any_host_changes(old_lab, tmp_path):
    for version, rule in (("8.17.0", "[upgrade-downgrade]"), ("10.0.0", "[upgrade-skips-major]")):
        (tmp_path / version).mkdir()
        project = _project_with(tmp_path / version, f'es_version = "{version}"')
        refused = run_deploy(INVENTORY, cwd=project)
        assert refused.returncode != 0
        assert "nothing was changed" in refused.stderr and rule in refused.stderr, \
            refused.stderr[-4000:]
        assert "Starting operation" not in refused.stderr


def test_the_upgrade_under_writes_killed_after_the_first_node_resumes_and_converges(old_lab):
    es = client_for("dc1-data-az1", "dc1-data-az2")
    observer = client_for("dc1-master-az1", "dc1-master-az2", "dc1-tiebreaker-az3")
    assert set(node_versions(observer).values()) == {old_lab.old}
    es.indices.create(index=INDEX, settings={"number_of_shards": 2, "number_of_replicas": 1})
    wait_for("green", lambda: observer.cluster.health(
        wait_for_status="green", timeout="30s")["status"] == "green")

    def write(doc_id: str, n: int):
        return es.index(index=INDEX, id=doc_id, document={"n": n}, refresh=False)

    with watch_health(observer) as samples, AckedWriter(write, "w") as writer:
        time.sleep(5)  # writes before the roll
        killed = _deploy_killed_after(FIRST, old_lab.new)
        print("".join(line for line in killed.stderr.splitlines(keepends=True)
                      if "[esdr]" in line))
        halfway = node_versions(observer)
        assert halfway[FIRST] == old_lab.new
        assert sum(v == old_lab.old for v in halfway.values()) == 4, halfway

        resumed = run_deploy(INVENTORY)
        print("\n".join(resumed.esdr_lines()))
        assert resumed.returncode == 0, resumed.stderr[-4000:]
        assert any(f"resumed: {FIRST} already on {old_lab.new}" in line
                   for line in resumed.esdr_lines())
        time.sleep(5)  # writes after the roll

    assert samples.statuses, "the health poller saw nothing"
    assert "red" not in samples.statuses, samples.statuses
    assert min(samples.node_counts) >= len(ADDRESS_OF) - 1, samples.node_counts
    assert set(node_versions(observer).values()) == {old_lab.new}
    for name in ADDRESS_OF:
        link = old_lab.api.ssh(name, f"readlink {LINK}").stdout.strip()
        assert link.endswith(f"elasticsearch-{old_lab.new}"), (name, link)
    settings = observer.cluster.get_settings(flat_settings=True)
    assert settings["persistent"].get(ALLOCATION) in (None, "all")
    assert not any(k.startswith("cluster.metadata.esdr_allocation_hold")
                   for k in settings["persistent"])

    es.indices.refresh(index=INDEX)
    assert writer.acked, "no write was acknowledged"
    found = set()
    ids = sorted(writer.acked)
    for start in range(0, len(ids), 1000):
        docs = es.mget(index=INDEX, ids=ids[start:start + 1000])["docs"]
        found |= {d["_id"] for d in docs if d.get("found")}
    lost = writer.acked - found
    print(f"acknowledged writes: {len(writer.acked)}, failed attempts: {writer.failures}, "
          f"lost: {len(lost)}")
    assert not lost, sorted(lost)[:20]

    again = run_deploy(INVENTORY)
    assert again.returncode == 0, again.stderr[-4000:]
    changed = again.changed_operations()
    assert set(changed) == set(ADDRESS_OF) and all(ops == [] for ops in changed.values()), changed
