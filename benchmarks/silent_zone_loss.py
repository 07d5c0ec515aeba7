#!/usr/bin/env python3
"""Silent loss of the zone holding the elected master, on the lab's DC1 (not a test).

    flock -w 3600 /run/esdr-lab-session.lock .venv/bin/python benchmarks/silent_zone_loss.py \
        [--runs 3] [--profiles default,fast] [--reuse] [--keep]

For each fault-detection profile (``es_fault_detection``, set through the lab's
ESDR_LAB_FAULT_DETECTION) the real deploy converges DC1 to it (a rolling restart when it
changes), then ``--runs`` times: a writer sends 20 writes/s to a data node of the zone that
survives, every host of the elected master's zone loses its network in one moment and is
powered off, writes go on until acknowledged again for 15 s, the zone boots, and every
acknowledged id is read back once the cluster is green (esdr_lab/zone_loss.py). Every host runs
with net.ipv4.tcp_retries2 from the deploy (5 unless the inventory says otherwise).
Prints every run and, per profile, the median longest gap between acknowledged writes, failed
attempts, acknowledged writes lost and time to green after power-on; the machine's load average
at the start and end. Takes the lab down at the end unless ``--keep``. ``--reuse``: keep a
healthy DC1 lab that is already up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from esdr.project import load_project  # noqa: E402
from esdr_lab import api  # noqa: E402
from esdr_lab.progress import load_average, median_runs  # noqa: E402
from esdr_lab import zone_loss  # noqa: E402
from esdr_lab.replication_drill import deploy  # noqa: E402

INVENTORY = "inventories/lab.py"



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profiles", default="default,fast")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.chdir(REPO)
    print(f"[bench] load average at the start: {load_average()}", flush=True)
    started = time.monotonic()
    api.up([INVENTORY], fresh=not args.reuse)
    results: dict[str, list[zone_loss.ZoneLossResult]] = {}
    try:
        for profile in args.profiles.split(","):
            os.environ["ESDR_LAB_FAULT_DETECTION"] = profile
            seconds = deploy(INVENTORY, say=print)
            print(f"[bench] {profile}: DC1 converged in {seconds:.0f}s", flush=True)
            topology = load_project(REPO / INVENTORY).topology
            for run in range(1, args.runs + 1):
                result = zone_loss.run(topology, api, say=lambda m: print(f"  {m}", flush=True))
                print(f"[bench] {profile} run {run}: {result.line()}", flush=True)
                results.setdefault(profile, []).append(result)
    finally:
        if not args.keep:
            api.down()
    print(f"\n{'profile':<8} {'longest gap (s)':<30} {'failed':<16} {'lost':<10} green after (s)")
    for profile, runs in results.items():
        gaps = [r.longest_gap_s for r in runs]
        print(f"{profile:<8} "
              f"{median_runs(gaps):<30} "
              f"{median_runs([r.failed_attempts for r in runs], '.0f'):<16} "
              f"{sum(len(r.lost) for r in runs):<10} "
              f"{median_runs([r.green_after_power_on_s for r in runs])}")
    print(f"[bench] {time.monotonic() - started:.0f}s; load average at the end: {load_average()}")
    return 0



if __name__ == "__main__":
    sys.exit(main())
