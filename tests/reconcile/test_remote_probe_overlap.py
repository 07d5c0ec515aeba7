"""A remote that is down is waited on once per plan, while the cluster's own objects are read:
its bounded wait overlaps those reads instead of following them."""

from __future__ import annotations

import threading

from esdr.reconcile import run
from tests.reconcile.conftest import ES_ESTATE, cluster_for, topology
from tests.reconcile.test_plan_apply import STALE_REMOTE


def test_the_down_remotes_wait_overlaps_the_clusters_own_reads(wire):
    topo = topology(ES_ESTATE)
    cluster = cluster_for(wire, topo)
    cluster.persistent.update(STALE_REMOTE)
    run.apply_plan(topo, run.plan_cluster(topo))
    cluster.unreachable.add("dc1")  # DC2's remote: down from here on
    own_read = threading.Event()
    overlapped: list[bool] = []
    answer = cluster.answer

    def answering(method, url, body, host):
        if method == "GET" and url.startswith("/_snapshot"):
            own_read.set()
        if url.startswith("/_resolve/"):  # the node's bounded wait on the remote
            overlapped.append(own_read.wait(timeout=10))
        return answer(method, url, body, host)

    cluster.answer = answering
    cluster.requests.clear()
    plan = run.plan_cluster(topo)
    resolves = [r for r in cluster.requests if r.path.startswith("/_resolve/")]
    assert len(resolves) == 2  # once per remote-cluster-client node, not once per object
    assert overlapped == [True, True]  # the cluster's repositories were read meanwhile
    assert [n.line() for n in plan.notes if "unreachable" in n.line()] == [
        run.unreachable_note("dc1").line()]
