#!/usr/bin/env python3
"""Silent loss of the primary DC behind the real INFINI Gateway tier (not a test).

    flock -w 3600 /run/esdr-lab-session.lock .venv/bin/python benchmarks/gateway_primary_loss.py \
        [--runs 3] [--outage 75] [--reuse] [--keep]

The lab of tests/crossdc_lab: DC1 (inventories/lab.py, the gateways' primary), DC2
(inventories/lab_dc2.py, the backup) and the gateways gw1/gw2 behind the keepalived VIP
(inventories/lab_gateways_real.py), each deployed by the real deploy. Per run: one writer sends
one write after another through the VIP (each retried under its id until acknowledged, 5 s
client timeout: tests/gateway_lab/writer.py), every DC1 host loses its network in one moment and
is powered off, writes go on for ``--outage`` seconds (long enough to pass the ~60 s after which
the gateway framework marks a silent cluster down: docs/gateway-failover.md), DC1 boots, and once
it is green and every gateway's queue for it caught up, every acknowledged id is read back from
both DCs. Prints every run and the median of the longest gap between acknowledged writes, the
failed attempts and the acknowledged writes lost; the machine's load average at the start and
end. Takes the lab down at the end unless ``--keep``; ``--reuse`` keeps a lab already up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import urllib3  # noqa: E402

from esdr.es.connect import credentials  # noqa: E402
from esdr.project import load_project  # noqa: E402
from esdr_lab import api  # noqa: E402
from esdr_lab.progress import load_average, median_runs  # noqa: E402
from esdr_lab.replication_drill import deploy  # noqa: E402
from tests.gateway_lab.writer import (  # noqa: E402
    Writer,
    all_nodes_green,
    cluster_client,
    doc_ids,
    drained,
    wait,
)

DC1, DC2, GATEWAYS = "inventories/lab.py", "inventories/lab_dc2.py", "inventories/lab_gateways_real.py"
DC1_QUEUE = "lab-dc1-queue"


@dataclass
class Run:
    window_s: float
    failed: int
    acked_during: int
    lost: int
    green_after_s: float
    drained_after_s: float

    def line(self) -> str:
        return (f"longest gap {self.window_s:.1f} s, {self.failed} failed attempt(s), "
                f"{self.acked_during} acknowledged during the outage, {self.lost} lost; "
                f"DC1 green {self.green_after_s:.0f} s after power-on, queues caught up "
                f"{self.drained_after_s:.0f} s later")



def one_run(number: int, outage: float, auth: dict[str, str], topologies, tier) -> Run:
    index = f"gw-bench-{number}-{int(time.time())}"  # ids of its own: reruns in one lab
    dc1_hosts = [node.host for node in topologies["dc1"].cluster.nodes]
    with Writer(index, auth, idless_every=0) as writer:
        wait("the first acknowledged writes", lambda: len(writer.acked) >= 20, 60, 0.5)
        writer.phase = "primary outage"
        before = len(writer.acked)
        api.stop_hosts(dc1_hosts)  # the network cut first, then power-off: silent
        time.sleep(outage)
        writer.phase = "after"
        during = len(writer.acked) - before
        api.start_hosts(dc1_hosts)
        _, green = wait("DC1 green", lambda: all_nodes_green(topologies["dc1"]), 300, 2)
        time.sleep(2)
    _, drain = wait("the queues for DC1 caught up", lambda: drained(tier, DC1_QUEUE), 300, 1)
    lost = set(writer.acked)
    for dc in ("dc1", "dc2"):
        ids, _ = wait(f"every acknowledged write in {dc}",
                      lambda dc=dc: (lambda i: i if writer.acked <= i else None)(
                          doc_ids(cluster_client(topologies[dc]), index)), 120, 2)
        lost -= ids  # an id in both DCs is kept; what is left is missing somewhere
    return Run(writer.window("primary outage"), writer.failures.get("primary outage", 0),
               during, len(lost), green, drain)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--outage", type=float, default=75.0)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.chdir(REPO)
    print(f"[bench] load average at the start: {load_average()}", flush=True)
    started = time.monotonic()
    api.up([str(REPO / DC1), str(REPO / DC2), str(REPO / GATEWAYS)], fresh=not args.reuse)
    runs: list[Run] = []
    try:
        for inventory in (DC1, DC2, GATEWAYS):
            seconds = deploy(inventory, say=print)
            print(f"[bench] {inventory} converged in {seconds:.0f}s", flush=True)
        topologies = {"dc1": load_project(REPO / DC1).topology,
                      "dc2": load_project(REPO / DC2).topology}
        user, password = credentials(topologies["dc1"])
        auth = urllib3.make_headers(basic_auth=f"{user}:{password}")
        tier = load_project(REPO / GATEWAYS).tier
        for number in range(1, args.runs + 1):
            run = one_run(number, args.outage, auth, topologies, tier)
            print(f"[bench] run {number}: {run.line()}", flush=True)
            runs.append(run)
    finally:
        if not args.keep:
            api.down()
    print(f"\n{'longest gap (s)':<28} {'failed attempts':<20} {'lost':<6} acknowledged during")
    print(f"{median_runs([r.window_s for r in runs]):<28} "
          f"{median_runs([r.failed for r in runs], '.0f'):<20} "
          f"{sum(r.lost for r in runs):<6} "
          f"{median_runs([r.acked_during for r in runs], '.0f')}")
    print(f"[bench] {time.monotonic() - started:.0f}s; load average at the end: {load_average()}")
    return 0



if __name__ == "__main__":
    sys.exit(main())
