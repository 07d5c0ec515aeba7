"""Cluster-wide read-outs at the end of a deploy."""

from __future__ import annotations

import sys

from pyinfra import host, state
from pyinfra.api import operation

from esdr.facts.elasticsearch import EsElectedMaster, EsNodes
from esdr.model import Topology
from esdr.node_api import NodeApi
from esdr.status import read
from esdr.status.report import PipelineLag
from esdr.operations.phases import clock_for, phase_lines


def summary_lines(health: dict | None, nodes: list[dict] | None) -> list[str]:
    """The health line and a node table, ready to print.

    ``nodes``: one dict per node with ``name``, ``zone``, ``roles`` (list) and ``master`` (bool).
    """
    if not health:
        return ["cluster: no answer from any master-eligible node"]
    lines = [
        f"cluster {health.get('cluster_name')}: {health.get('status')}, "
        f"{health.get('number_of_nodes')} nodes, {health.get('active_shards')} active shards, "
        f"{health.get('unassigned_shards')} unassigned"
    ]
    rows = [("node", "zone", "roles", "master")] + [
        (n["name"], n.get("zone") or "-", ",".join(n["roles"]), "*" if n["master"] else "")
        for n in sorted(nodes or [], key=lambda n: n.get("name", ""))
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return lines


def pipeline_lag_lines(lags: list[PipelineLag]) -> list[str]:
    """One line per consumer group feeding the cluster: how far the cluster is behind Kafka
    (its group commits only what the cluster acknowledged), unknown with why when not read."""
    return [f"pipeline {lag.pipeline} from Kafka {lag.kafka} (group {lag.group}): lag "
            f"{lag.messages.text()}, oldest unread {lag.seconds.text()}" for lag in lags]


@operation(is_idempotent=False)
def summary(topology: Topology):
    """
    Print the cluster's health and a node table (zone, roles, elected master). Changes nothing.

    + topology: the data centre's model

    Run it once per deploy (``_run_once=True``) as the last operation. While the deploy is
    prepared (``pyinfra --dry`` included) it prints the cluster as found, before any change.
    """
    when = "after the deploy" if state.is_executing else "before the deploy"
    cluster = topology.cluster
    attribute = cluster["es_awareness_attribute"]
    for node in cluster.master_eligible:
        api = NodeApi.for_node(topology, node)
        health = api.health()
        if health:
            nodes = _node_rows(api, attribute)
            break
    else:
        health, nodes = None, None
    lines = summary_lines(health, nodes)
    if state.is_executing:  # the MQ pipelines feeding this cluster, bounded (never waited on)
        lines += pipeline_lag_lines(read.local_pipeline_lags(topology))
    heading = [] if state.is_executing else [f"{when} (what the deploy reads):"]
    if state.is_executing:  # every operation before this one has ended
        lines += phase_lines(clock_for(state).seconds)
    print("\n".join(f"[esdr] {line}" for line in heading + lines), file=sys.stderr)
    host.noop(f"cluster summary printed ({when}: {lines[0]})")
    return
    yield  # an operation is a generator; this one only reads


def _node_rows(api: NodeApi, attribute: str) -> list[dict]:
    info = api.read(EsNodes) or {}
    master = api.read(EsElectedMaster)
    return [
        {
            "name": n["name"],
            "zone": n.get("attributes", {}).get(attribute),
            "roles": n.get("roles", []),
            "master": n["name"] == master,
        }
        for n in info.values()
    ]
