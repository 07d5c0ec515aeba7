"""Two data centres of the lab, for real: DC1 and DC2 deployed, wired, drilled and drifted.

Run under the lab lock:  flock -w 3000 /run/esdr-lab-session.lock python -m pytest tests/crossdc_lab
The tests run in file order on the package's lab (tests/crossdc_lab/conftest.py), before the
gateway drills, which share it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from esdr import licence
from esdr.es import client
from esdr.es.connect import client_for
from esdr.reconcile.run import clients_for
from tests.integration.deploy_runner import REPO, run_deploy

pytestmark = pytest.mark.lab

DC1, DC2 = "inventories/lab.py", "inventories/lab_dc2.py"
REPO_NAME = "dr-snapshots"
DRILL_DOCS = 5000


def wait_for(what: str, check, timeout: float = 180, interval: float = 2.0):
    """Bounded poll: check()'s truthy value, or fail naming what it waited for."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / interval) + 1):
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # a cluster still settling answers with errors
            last = error
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def esdr_plan(inventory: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "plan", inventory],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def lab(two_dcs):
    return {"api": two_dcs["api"], "deploys": (two_dcs["dc1"], two_dcs["dc2"]),
            "topologies": two_dcs["topologies"]}


@pytest.fixture(scope="module")
def es(lab):
    return {inv: client_for(t) for inv, t in lab["topologies"].items()}


def test_dc2_deploy_wires_it_to_dc1(lab):
    dc2 = lab["deploys"][1]
    lines = "\n".join(dc2.esdr_lines())
    assert "cluster esdr-lab-dc2:" in lines
    assert "remote_cluster dc1 created" in lines
    assert "snapshot_repository dr-snapshots created" in lines


def test_remote_clusters_connected_both_ways(lab):
    for inventory, remote in ((DC1, "dc2"), (DC2, "dc1")):
        # every remote_cluster_client node holds its own connection: check each of them
        for number, view in enumerate(clients_for(lab["topologies"][inventory]).remote_views):
            seen: list = []

            def connected(view=view, remote=remote, seen=seen):
                # A side whose settings were applied while the remote was down reconnects
                # when asked to resolve it (what the reconciler does too).
                seen[:] = [client.resolve_remote(view, remote)]
                info = client.get_remote_info(view).get(remote) or {}
                seen.append(info)
                return info.get("connected") and info

            try:
                info = wait_for(f"{inventory} connected to {remote}", connected, timeout=120)
            except pytest.fail.Exception:
                pytest.fail(f"{inventory} node {number} never connected to {remote}: {seen}")
            print(f"{inventory} node {number} -> {remote}: {info}")
            assert info["mode"] == "sniff" and info["num_nodes_connected"] >= 1


def test_repository_registered_and_verified(lab, es):
    writer = client.get_repository(es[DC1], REPO_NAME)
    reader = client.get_repository(es[DC2], REPO_NAME)
    assert writer["type"] == reader["type"] == "fs"
    assert "readonly" not in writer["settings"]
    assert reader["settings"]["readonly"] == "true"
    for inventory in (DC1, DC2):
        verified = {n["name"] for n in client.verify_repository(es[inventory], REPO_NAME)["nodes"].values()}
        # every data node and every master that can be elected reaches the shared directory
        # (Elasticsearch does not ask the voting-only tie-breaker)
        needed = {n.name for n in lab["topologies"][inventory].cluster.nodes
                  if n.holds_data or (n.is_master_eligible and not n.is_voting_only)}
        print(f"{inventory}: {REPO_NAME} verified on {sorted(verified)}")
        assert needed <= verified, (needed, verified)


def test_snapshot_in_dc1_restores_in_dc2_with_equal_counts(es):
    dc1, dc2 = es[DC1], es[DC2]
    dc1.indices.create(index="drill", settings={"number_of_shards": 2, "number_of_replicas": 1})
    for start in range(0, DRILL_DOCS, 1000):
        ops = []
        for n in range(start, start + 1000):
            ops += [{"index": {"_index": "drill", "_id": str(n)}}, {"n": n, "dc": "dc1"}]
        dc1.bulk(operations=ops, refresh=False)
    dc1.indices.refresh(index="drill")
    assert client.count(dc1, "drill") == DRILL_DOCS
    started = time.monotonic()
    client.create_snapshot(dc1, REPO_NAME, "drill-1", "drill")
    snapshot_s = time.monotonic() - started
    started = time.monotonic()
    client.restore_snapshot(dc2, REPO_NAME, "drill-1", "drill")
    wait_for("restored index green", lambda: dc2.cluster.health(index="drill")["status"] == "green")
    restore_s = time.monotonic() - started
    restored = client.count(dc2, "drill")
    print(f"\n[drill] snapshot in DC1 {snapshot_s:.1f}s, restore in DC2 {restore_s:.1f}s, "
          f"{restored} of {DRILL_DOCS} documents restored")
    assert restored == client.count(dc1, "drill") == DRILL_DOCS


def test_plan_on_converged_lab_is_empty(lab):
    for inventory in (DC1, DC2):
        result = esdr_plan(inventory)
        print(result.stdout, result.stderr)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no drift" in result.stdout


def test_three_hand_changes_are_planned_exactly_then_fixed(es):
    dc1 = es[DC1]
    client.put_cluster_settings(dc1, {"cluster.remote.dc2.seeds": ["10.88.0.23:9300"]})
    client.delete_repository(dc1, REPO_NAME)
    client.put_cluster_settings(
        dc1, {"cluster.routing.allocation.awareness.force.zone.values": "az1"})
    result = esdr_plan(DC1)
    print(result.stdout, result.stderr)
    assert result.returncode == 3, result.stdout + result.stderr
    drifted = sorted(line.strip().split(":")[0] for line in result.stdout.splitlines()
                     if line.strip()[:2] in ("+ ", "~ ", "- "))
    assert drifted == ["+ snapshot_repository dr-snapshots", "~ cluster_settings awareness",
                       "~ remote_cluster dc2"], drifted
    fix = run_deploy(DC1)
    assert fix.returncode == 0, fix.stderr[-4000:]
    fixed = [op for ops in fix.changed_operations().values() for op in ops]
    assert fixed == ["Cluster-level objects converged"], fixed
    after = esdr_plan(DC1)
    assert after.returncode == 0, after.stdout + after.stderr
    assert client.count(dc1, "drill") == DRILL_DOCS  # re-registered: the snapshot is still there
    assert "drill-1" in [s["snapshot"] for s in dc1.snapshot.get(
        repository=REPO_NAME, snapshot="*")["snapshots"]]


def test_rerun_of_both_inventories_changes_nothing(lab):
    for inventory in (DC1, DC2):
        rerun = run_deploy(inventory)
        assert rerun.returncode == 0, rerun.stderr[-4000:]
        changed = rerun.changed_operations()
        assert set(changed) == {n.host for n in lab["topologies"][inventory].cluster.nodes}
        assert all(ops == [] for ops in changed.values()), changed


def test_ccr_and_slm_feature_check_gives_its_clear_message(lab, es):
    for feature in ("ccr", "slm"):
        status = licence.feature_status(es[DC1], feature)
        print(f"{feature}: {status}")
        assert not status.module
        message = licence.message(status, "esdr-lab-dc1")
        print(message)
        assert f"no x-pack {feature} module" in message
        assert "install Elastic's default distribution" in message
