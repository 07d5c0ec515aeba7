"""In which order nodes restart during a rolling restart. Pure, so it is unit-tested."""

from __future__ import annotations

from collections.abc import Iterable

from esdr.model import Cluster, Node


def restart_order(
    cluster: Cluster, names: Iterable[str], elected_master: str | None = None
) -> list[Node]:
    """Data nodes first, then other non-master nodes, then masters; the elected master last.

    Restarting the elected master forces an election, so it goes once, at the very end; the
    tie-breaker goes before the full masters because it can never be elected.
    """
    wanted = set(names)
    nodes = [n for n in cluster.nodes if n.name in wanted]

    def rank(node: Node) -> tuple[int, int, str]:
        if not node.is_master_eligible:
            return (0 if node.holds_data else 1, 0, node.name)
        if node.name == elected_master:
            return (4, 0, node.name)
        return (2 if node.is_voting_only else 3, 0, node.name)

    return sorted(nodes, key=rank)


def sole_copies(shard_rows: list[dict], node_name: str) -> list[str]:
    """Shards (``index[shard]``) whose only started copy is on ``node_name``.

    ``shard_rows`` is ``_cat/shards?format=json`` (index, shard, state, node). Stopping the
    node would make these unavailable: the cluster would go red.
    """
    started: dict[tuple[str, str], set[str]] = {}
    for row in shard_rows:
        if row.get("state") == "STARTED" and row.get("node"):
            started.setdefault((row["index"], str(row["shard"])), set()).add(row["node"])
    on_node = {
        (row["index"], str(row["shard"])) for row in shard_rows if row.get("node") == node_name
    }
    return sorted(
        f"{index}[{shard}]"
        for index, shard in on_node
        if not started.get((index, shard), set()) - {node_name}
    )
