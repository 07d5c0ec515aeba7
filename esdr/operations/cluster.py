"""Cluster-wide read-outs at the end of a deploy."""

from __future__ import annotations

import sys

from pyinfra import host, state
from pyinfra.api import operation

from esdr.model import Topology
from esdr.node_api import NodeApi


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


@operation(is_idempotent=False)
def summary(topology: Topology):
    """
    Print the cluster's health and a node table (zone, roles, elected master). Changes nothing.

    + topology: the data centre's model

    Run it once per deploy (``_run_once=True``) as the last operation.
    """
    if not state.is_executing:
        return
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
    print("\n".join(f"[esdr] {line}" for line in summary_lines(health, nodes)), file=sys.stderr)
    host.noop("cluster summary printed")
    return
    yield  # an operation is a generator; this one only reads


def _node_rows(api: NodeApi, attribute: str) -> list[dict]:
    info = api.get("_nodes?filter_path=nodes.*.name,nodes.*.roles,nodes.*.attributes") or {}
    master = api.get("_cat/master?format=json&h=node") or [{}]
    return [
        {
            "name": n["name"],
            "zone": n.get("attributes", {}).get(attribute),
            "roles": n.get("roles", []),
            "master": n["name"] == master[0].get("node"),
        }
        for n in info.get("nodes", {}).values()
    ]
