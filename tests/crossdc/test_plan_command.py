"""`esdr plan`: read-only, exit 0 without drift, 3 with the per-object diff, 1 with one line."""

from __future__ import annotations

import pytest

from click.testing import CliRunner

from esdr.cli import cluster
from esdr.cli.guard import DRIFT
from esdr.cli.main import cli
from esdr.errors import EsdrError
from esdr.reconcile import run
from esdr.upgrade import plan_upgrade
from esdr.changes import Change, Note
from tests.crossdc.fake_es import fake_topology


@pytest.fixture
def planned(monkeypatch):
    result: dict = {}
    monkeypatch.setattr(cluster, "topology_of", lambda inventory: fake_topology())

    def fake_plan(topology, others=None):
        if isinstance(result["plan"], Exception):
            raise result["plan"]
        return result["plan"]

    monkeypatch.setattr(run, "plan_cluster", fake_plan)
    # every node on es_version: no rolling upgrade (tests/unit/test_upgrade_wiring.py has them)
    monkeypatch.setattr(run, "plan_version", lambda topology: plan_upgrade(
        topology.cluster, {n.name: topology.cluster.version for n in topology.cluster.nodes}))
    return result


def _run(inventory="inventories/x.py"):
    result = CliRunner().invoke(cli, ["plan", inventory])
    return result.exit_code, result.output.splitlines()


def test_no_drift_exits_0(planned):
    planned["plan"] = run.ClusterPlan("c", "dc1", [Change("alias", "logs", "unchanged")],
                                      [Note("remote_cluster", "dc2", "not connected")])
    code, out = _run()
    assert code == 0 and out[-1] == "inventories/x.py: no drift"
    assert "  ! remote_cluster dc2: not connected" in out


def test_drift_exits_3_with_the_diff(planned):
    planned["plan"] = run.ClusterPlan("c", "dc1", [
        Change("snapshot_repository", "dr", "created", None, {"type": "fs"}),
        Change("remote_cluster", "dc2", "changed", {"seeds": ["a"]}, {"seeds": ["b"]}),
    ])
    code, out = _run()
    assert code == DRIFT == 3
    assert '  + snapshot_repository dr: created {"type": "fs"}' in out
    assert "  ~ remote_cluster dc2: changed" in out
    assert "drift in 2 object(s)" in out[-1]


def test_blocking_feature_problem_is_drift(planned):
    planned["plan"] = run.ClusterPlan("c", "dc1", problems=["CCR needs a licence"])
    code, out = _run()
    assert code == 3 and "  error: CCR needs a licence" in out


def test_unreachable_cluster_is_one_line_exit_1(planned):
    planned["plan"] = EsdrError("c: the cluster stayed unavailable", hint="check it")
    code, out = _run()
    assert code == 1 and out == ["esdr: c: the cluster stayed unavailable (fix: check it)"]
