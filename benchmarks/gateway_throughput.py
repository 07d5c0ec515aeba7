#!/usr/bin/env python3
"""Throughput through the real INFINI Gateway (the lab's VIP) against straight to the primary.

    flock -w 3600 /run/esdr-lab-session.lock .venv/bin/python benchmarks/gateway_throughput.py \
        [--runs 3] [--docs 5000] [--batch 200] [--reuse]

Brings up the lab's DC1 (primary), DC2 (backup) and gw1/gw2 (the vendored binary behind the
keepalived VIP 10.88.0.100), deploys the three inventories, and for each of ``--runs`` runs
writes ``--docs`` documents into a new index, in ``_bulk`` requests of ``--batch`` documents with
ids, one request at a time from this machine, as the lab's elastic user: once through the VIP
(plain HTTP to the gateway, which passes the credentials on, writes to DC1 over HTTPS and queues
each acknowledged request for DC2), once straight to a DC1 data node (HTTPS). Prints docs/s, the median and every run, the time the
gateways' replay needed after each gateway run to catch up with DC2, and each gateway's RSS
(VmRSS and VmHWM of its process, from /proc over SSH). Takes the lab down at the end.
``--reuse``: measure on the lab as it is (up and deployed), and leave it up.

Not a test (nothing is asserted); run it under the lab session lock, as above.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import urllib3  # noqa: E402

from esdr.cli.gateway import gateway_queues  # noqa: E402
from esdr.es.connect import credentials  # noqa: E402
from esdr.gateway.render import ALIVE_PATH, SERVICE  # noqa: E402
from esdr.project import load_project  # noqa: E402
from esdr.security.certs import ca_pem_path  # noqa: E402
from esdr_lab import api  # noqa: E402
from tests.integration.deploy_runner import run_deploy  # noqa: E402

DC1, DC2, GATEWAYS = "inventories/lab.py", "inventories/lab_dc2.py", "inventories/lab_gateways_real.py"
VIP_ENTRY = "http://10.88.0.100:8000"
CATCH_UP_LIMIT = 300.0  # seconds the replay may take before the benchmark says it did not


def bulk_body(index: str, start: int, count: int) -> bytes:
    lines = []
    for n in range(start, start + count):
        lines.append(json.dumps({"index": {"_index": index, "_id": f"d{n}"}}))
        lines.append(json.dumps({"n": n, "text": "gateway throughput benchmark", "at": n % 97}))
    return ("\n".join(lines) + "\n").encode()


def write_run(pool: urllib3.PoolManager, base: str, index: str, docs: int, batch: int,
              headers: dict[str, str]) -> float:
    """docs/s of ``docs`` documents in ``_bulk`` requests of ``batch``, one at a time."""
    start = time.monotonic()
    for first in range(0, docs, batch):
        answer = pool.request("POST", f"{base}/_bulk", body=bulk_body(index, first, batch),
                              headers={**headers, "Content-Type": "application/x-ndjson"},
                              timeout=urllib3.Timeout(connect=5, read=60), retries=False)
        if answer.status != 200 or json.loads(answer.data).get("errors"):
            sys.exit(f"benchmark: {base} _bulk answered {answer.status}: {answer.data[:300]!r}")
    return docs / (time.monotonic() - start)


def caught_up_after(tier) -> float:
    """Seconds until every gateway's queues are caught up (bounded)."""
    start = time.monotonic()
    while time.monotonic() - start < CATCH_UP_LIMIT:
        states = [gateway_queues(tier, gw)[0] for gw in tier.gateways]
        if all(s is not None and all(q.caught_up for q in s) for s in states):
            return time.monotonic() - start
        time.sleep(0.5)
    return float("nan")


def rss_mib(host: str) -> tuple[float, float]:
    command = (f"p=$(systemctl show -p MainPID --value {SERVICE}); "
               "grep -E '^(VmRSS|VmHWM):' /proc/$p/status")
    out = api.ssh(host, command).stdout
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in out.splitlines()}
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def deploy() -> None:
    api.up([str(REPO / DC1), str(REPO / DC2), str(REPO / GATEWAYS)], fresh=True)
    for inventory in (DC1, DC2, GATEWAYS):
        run = run_deploy(inventory)
        if run.returncode != 0:
            sys.exit(f"benchmark: the deploy of {inventory} failed:\n{run.stderr[-3000:]}")


def wait_for_vip(pool: urllib3.PoolManager) -> None:
    """keepalived takes the VIP a few seconds after the gateways answer its check (bounded)."""
    for _ in range(120):
        try:
            # the entry's own health path: the admin API listens on each gateway's loopback only
            if pool.request("GET", f"{VIP_ENTRY}{ALIVE_PATH}", timeout=1.0,
                            retries=False).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"benchmark: {VIP_ENTRY}{ALIVE_PATH} did not answer within a minute")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--reuse", action="store_true",
                        help="measure on the lab as it is, deployed, and leave it up")
    args = parser.parse_args()
    api.require_lab()
    if not args.reuse:
        deploy()
    try:
        primary = load_project(REPO / DC1).topology
        tier = load_project(REPO / GATEWAYS).tier
        user, password = credentials(primary)
        data_node = next(n for n in primary.cluster.nodes if "data" in n.roles)
        direct = f"https://{data_node.address}:{primary.cluster['es_http_port']}"
        tls = urllib3.PoolManager(ca_certs=str(ca_pem_path(primary)), cert_reqs="CERT_REQUIRED")
        plain = urllib3.PoolManager()
        auth = urllib3.make_headers(basic_auth=f"{user}:{password}")
        wait_for_vip(plain)
        figures: dict[str, list[float]] = {"gateway (VIP)": [], "straight to DC1": [],
                                           "replay caught up after (s)": []}
        for run in range(1, args.runs + 1):
            figures["gateway (VIP)"].append(
                write_run(plain, VIP_ENTRY, f"bench-gw-{run}", args.docs, args.batch, auth))
            figures["replay caught up after (s)"].append(caught_up_after(tier))
            figures["straight to DC1"].append(
                write_run(tls, direct, f"bench-direct-{run}", args.docs, args.batch, auth))
        print(f"\n[gateway throughput] {args.docs} docs per run, _bulk of {args.batch}, "
              f"one request at a time, median of {args.runs}")
        for what, values in figures.items():
            unit = "" if "(s)" in what else " docs/s"
            runs = ", ".join(f"{v:.1f}" for v in values)
            print(f"  {what}: {statistics.median(values):.1f}{unit} (runs: {runs})")
        ratio = statistics.median(figures["gateway (VIP)"]) / statistics.median(
            figures["straight to DC1"])
        print(f"  gateway / straight: {ratio:.2f}")
        for gw in tier.gateways:
            rss, hwm = rss_mib(gw.name)
            print(f"  {gw.name} RSS {rss:.1f} MiB (peak {hwm:.1f} MiB)")
    finally:
        if not args.reuse:
            api.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
