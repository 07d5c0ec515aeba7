"""The silent loss of a zone, on the Elasticsearch lab's DC1 (inventories/lab.py).

Shared by the lab test (tests/integration/test_dc1_cluster.py, which asserts) and
benchmarks/silent_zone_loss.py (which prints medians). One run:
1. a writer sends one document at a time (20/s) through a write alias to a data node of the
   zone that will survive, and records every acknowledged id with its time;
2. every host of the zone that holds the elected master loses its network in one moment (no RST,
   no FIN: packets vanish), then is powered off (``esdr_lab.api.stop_hosts``);
3. the writer goes on until writes have been acknowledged again for ``settle`` seconds;
4. the zone boots again; the run ends when the cluster is green with every node, and every
   acknowledged id is read back.
Measured: the longest gap between two acknowledged writes, the failed attempts, the
acknowledged writes lost, and the time from power-on to green. Lab addresses only; every wait is
bounded (``DrillError`` names what it waited for).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from esdr.es.connect import client_for
from esdr.model import Topology
from esdr_lab.replication_drill import DrillError, Writer, wait_until

INDEX, ALIAS = "zone-drill", "zone-drill-write"
Say = Callable[[str], None]


@dataclass
class ZoneLossResult:
    master_before: str
    zone: str
    cut: list[str]
    master_after: str
    acknowledged: int
    failed_attempts: int
    longest_gap_s: float
    lost: list[str]
    green_after_power_on_s: float
    status_during: str
    last_error: str

    def line(self) -> str:
        return (f"zone {self.zone} cut ({', '.join(self.cut)}; master was {self.master_before}, "
                f"now {self.master_after}): longest gap between acknowledged writes "
                f"{self.longest_gap_s:.1f}s, {self.failed_attempts} failed attempts, "
                f"{self.acknowledged} acknowledged, {len(self.lost)} lost; {self.status_during} "
                f"during; green {self.green_after_power_on_s:.1f}s after power-on")


def longest_gap(times: list[float], cut_at: float) -> float:
    """The longest time between two consecutive acknowledgements around the cut (the last one
    before it to the first one after it included)."""
    around = sorted(times)
    before = [t for t in around if t <= cut_at]
    after = [t for t in around if t > cut_at]
    if not before or not after:
        return float("inf")
    series = [before[-1], *after]
    return max(b - a for a, b in zip(series, series[1:]))


class EsWriter(Writer):
    """The replication drill's writer, with elasticsearch-py 8's call."""

    def write(self, client: Any, doc_id: str, document: dict[str, Any]) -> None:
        client.options(request_timeout=3).index(index=self.alias, id=doc_id, document=document,
                                                require_alias=True)


def elected_master(es: Any) -> str:
    return es.cat.master(format="json")[0]["node"]


def run(topology: Topology, lab_api: Any, say: Say = print, *, rate: float = 20,
        before: float = 5, settle: float = 15, limit: float = 180) -> ZoneLossResult:
    cluster = topology.cluster
    everyone = client_for(topology, request_timeout=20, max_retries=5)
    master = elected_master(everyone)
    zone = cluster.node(master).zone
    cut = [n.host for n in cluster.nodes if n.zone == zone]
    survivors = [n for n in cluster.nodes if n.zone != zone]
    writer_node = next(n for n in survivors if n.holds_data)
    _fresh_index(everyone)
    survivor_client = client_for(topology, survivors, request_timeout=20, max_retries=5)
    writer = EsWriter({"dc1": client_for(topology, [writer_node], request_timeout=10,
                                       max_retries=0)},
                    "dc1", alias=ALIAS, rate=rate, limit=limit + before + settle + 60,
                    prefix=f"z{int(time.time())}")
    writer.start()
    try:
        wait_until("the writer's first acknowledgement", lambda: writer.acked(), timeout=30,
                   interval=0.2)
        time.sleep(before)
        say(f"{time.strftime('%H:%M:%S')}: cutting zone {zone} ({', '.join(cut)}); the elected "
            f"master is {master}")
        cut_at = time.monotonic()
        lab_api.stop_hosts(cut)
        wait_until(f"writes acknowledged for {settle:.0f}s after the cut",
                   lambda: _acked_since(writer, cut_at, settle), timeout=limit, interval=0.5)
        status = survivor_client.cluster.health()["status"]
        master_after = elected_master(survivor_client)
    finally:
        writer.stop()
    times = [a.at for a in writer.acked()]
    gap = longest_gap(times, cut_at)
    say(f"longest gap {gap:.1f}s; {sum(writer.failures.values())} failed attempts "
        f"({writer.last_error or 'no error'}); booting {', '.join(cut)}")
    powered_on = time.monotonic()
    lab_api.start_hosts(cut)
    wait_until("green with every node", lambda: _all_green(everyone, len(cluster.nodes)),
               timeout=400, interval=2)
    green_s = time.monotonic() - powered_on
    acked = [a.id for a in writer.acked()]
    everyone.indices.refresh(index=INDEX)
    lost = _missing(everyone, acked)
    return ZoneLossResult(master, str(zone), cut, master_after, len(acked),
                          sum(writer.failures.values()), gap, lost, green_s, status,
                          writer.last_error)


def _fresh_index(es: Any) -> None:
    """One shard per data zone's worth of primaries, one replica (a copy in each data zone),
    and the write alias the writer requires."""
    if es.indices.exists(index=INDEX):
        es.indices.delete(index=INDEX)
    es.indices.create(index=INDEX, settings={"number_of_shards": 2, "number_of_replicas": 1},
                      aliases={ALIAS: {"is_write_index": True}})
    es.cluster.health(index=INDEX, wait_for_status="green", timeout="60s")


def _missing(es: Any, ids: list[str], batch: int = 500) -> list[str]:
    """Which acknowledged ids the index does not hold (real-time GETs)."""
    missing: list[str] = []
    for first in range(0, len(ids), batch):
        answer = es.mget(index=INDEX, ids=ids[first:first + batch], source=False)
        missing += [d["_id"] for d in answer["docs"] if not d.get("found")]
    return missing


def _acked_since(writer: Writer, cut_at: float, settle: float) -> bool:
    after = [a.at for a in writer.acked() if a.at > cut_at]
    return bool(after) and after[-1] - after[0] >= settle


def _all_green(es: Any, nodes: int) -> bool:
    health = es.cluster.health(wait_for_status="green", wait_for_nodes=str(nodes), timeout="5s")
    return health["status"] == "green" and not health.get("timed_out")


__all__ = ["DrillError", "ZoneLossResult", "longest_gap", "run"]
