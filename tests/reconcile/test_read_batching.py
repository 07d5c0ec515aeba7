"""A plan reads each kind of object once (one GET per kind), however many objects the estate
names: the number of reads of a converged cluster does not grow with the number of objects."""

from __future__ import annotations

import copy

import pytest

from esdr.reconcile import run
from tests.reconcile.conftest import ES_ESTATE, OS_ESTATE, cluster_for, topology
from tests.reconcile.test_plan_apply import STALE_REMOTE


def with_followers(estate: dict, count: int) -> dict:
    """``count`` more followers in DC2, each with its write alias (aliases and followers: the
    kinds that used to be read one object at a time)."""
    out = copy.deepcopy(estate)
    out["followers"] += [{"cluster": "dc2", "index": f"extra-{n:03d}", "remote": "dc1",
                          "leader_index": f"extra-{n:03d}", "write_alias": f"extra-{n:03d}-write"}
                         for n in range(count)]
    return out


def plan_reads(wire, estate: dict, engine: str = "elasticsearch") -> list[str]:
    """The requests of one plan of a cluster the estate was applied to."""
    topo = topology(estate, engine)
    cluster = cluster_for(wire, topo)
    cluster.persistent.update(STALE_REMOTE)
    run.apply_plan(topo, run.plan_cluster(topo))
    cluster.requests.clear()
    plan = run.plan_cluster(topo)
    assert not plan.drift, [c.line() for c in plan.drift]
    return [f"{r.method} {r.path}" for r in cluster.requests]


def test_a_plan_reads_each_kind_once_however_many_objects(wire):
    few = plan_reads(wire, with_followers(ES_ESTATE, 1))
    many = plan_reads(wire, with_followers(ES_ESTATE, 40))
    assert len(many) == len(few), sorted(set(many) - set(few))
    assert not [r for r in many if "extra-" in r]  # no read names one object
    assert many.count("GET /_alias") == 1
    assert many.count("GET /_all/_ccr/info") == 1


@pytest.mark.parametrize("estate", [ES_ESTATE, OS_ESTATE], ids=["elasticsearch", "opensearch"])
def test_aliases_are_read_with_one_get(wire, estate):
    engine = "opensearch" if estate is OS_ESTATE else "elasticsearch"
    reads = plan_reads(wire, estate, engine)
    assert reads.count("GET /_alias") == 1
    assert not [r for r in reads if r.startswith("GET /_alias/") or r.startswith("HEAD ")]
