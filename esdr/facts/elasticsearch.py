"""Facts about an Elasticsearch node, read on the host itself."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase

# The deploy records the cluster UUID here once it has seen the cluster form. Its presence on
# any node means: never bootstrap this cluster again (cluster.initial_master_nodes stays out).
FORMED_MARKER = "esdr-cluster-uuid"


class EsClusterFormedMarker(FactBase):
    """
    The cluster UUID the deploy recorded in the data path when the cluster first formed,
    or ``None`` when this node has never been part of a formed cluster.

    .. code:: python

        "nR2k4X0ZTZ2pDvoYqkZ0Wg"
    """

    def command(self, data_dir: str) -> str:
        return f"cat {shlex.quote(data_dir + '/' + FORMED_MARKER)} 2>/dev/null || true"

    def process(self, output):
        text = "".join(output).strip()
        return text or None


class MaxMapCount(FactBase):
    """
    ``vm.max_map_count`` and whether this host may change it (inside a container it may not).

    .. code:: python

        {"value": 262144, "writable": False}
    """

    def command(self) -> str:
        return (
            "cat /proc/sys/vm/max_map_count; "
            "if [ -w /proc/sys/vm/max_map_count ]; then echo rw; else echo ro; fi"
        )

    def process(self, output):
        lines = [line.strip() for line in output if line.strip()]
        return {"value": int(lines[0]), "writable": lines[1] == "rw"}
