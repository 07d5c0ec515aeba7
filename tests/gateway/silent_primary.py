"""A primary that dies silently, on loopback, inside a private network namespace.

Run as ``unshare -n python -m tests.gateway.silent_primary ARGS`` (tests/gateway/
test_binary_failover.py does): it refuses to run unless its network namespace has nothing but
``lo``. In there: the primary stand-in cluster on 127.0.0.2, the backup and the gateway on
127.0.0.1 (tests/gateway/fake_cluster.py), the gateway.yml esdr renders for the test tier with
the given group data. One client writes through the gateway, each write retried under its id
until acknowledged (5 s timeout per attempt, like tests/gateway_lab/writer.py). Then the
primary goes silent: every packet to or from 127.0.0.2 is dropped by tc on ``lo`` (no RST, no
FIN), and 2 s later it is "powered off" (its listener stopped, still behind the drop). After the
observation the primary comes back (same port, same documents) and the drop is lifted; the
result says how long writes failed and whether every acknowledged write reached both clusters.

The drop: an htb root on ``lo`` whose class 1:20 ends in ``pfifo limit 0`` (drops every packet),
u32 filters sending dst/src 127.0.0.2 there. (`prio` + `action drop` would do too, where the
kernel has sch_prio and act_gact.) Nothing here sends to any address outside 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from esdr.gateway.render import gateway_yml
from tests.gateway.binary import Gateway, loopback
from tests.gateway.factory import CLUSTERS, tier
from tests.gateway.fake_cluster import FakeCluster

SILENT = "127.0.0.2"
INDEX = "orders"
CLIENT_TIMEOUT = 5.0
LIMIT = 600  # attempts per write (each at most CLIENT_TIMEOUT + 0.2 s)
STEADY = 12.0  # seconds the gateway runs before the cut (two availability checks and more)


def _tc(*args: str) -> None:
    subprocess.run(["tc", *args], check=True, capture_output=True, text=True, timeout=10)


def private_loopback() -> None:
    """Refuse anything but a fresh namespace (only ``lo``), then bring ``lo`` up and install the
    (empty) drop class."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=10,
                           check=True).stdout
    names = [line.split(":")[1].strip() for line in links.splitlines() if line.strip()]
    if names != ["lo"]:
        raise SystemExit(f"not a private network namespace (links: {names}): run under unshare -n")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    _tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10", "r2q",
        "100000")
    _tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
    _tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit")
    _tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "0")


def silence() -> None:
    for prio, direction in (("1", "dst"), ("2", "src")):
        _tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", prio, "u32",
            "match", "ip", direction, f"{SILENT}/32", "flowid", "1:20")


def unsilence() -> None:
    for prio in ("1", "2"):
        _tc("filter", "del", "dev", "lo", "parent", "1:", "prio", prio)


class Writer:
    """One write after another, each retried under its id until acknowledged."""

    def __init__(self, entry: str) -> None:
        assert entry.startswith("http://127.0.0.1:"), entry
        self.entry = entry
        self.acked: set[str] = set()
        self.attempts: list[tuple[float, float, int | None]] = []  # sent, took, status
        self.answers: dict[str, int] = {}  # error answers seen (status and body), counted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, doc_id: str) -> int | None:
        request = urllib.request.Request(
            f"{self.entry}/{INDEX}/_doc/{doc_id}", data=json.dumps({"id": doc_id}).encode(),
            method="PUT", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
                return response.status
        except urllib.error.HTTPError as error:
            key = f"{error.code} {error.read()[:160].decode(errors='replace')}"
            self.answers[key] = self.answers.get(key, 0) + 1
            return error.code
        except OSError:
            self.answers["no answer"] = self.answers.get("no answer", 0) + 1
            return None

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            for _ in range(LIMIT):
                sent = time.monotonic()
                status = self._send(f"w{n}")
                self.attempts.append((sent, time.monotonic() - sent, status))
                if status in (200, 201):
                    self.acked.add(f"w{n}")
                    break
                if self._stop.wait(0.2):
                    return
            self._stop.wait(0.02)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=CLIENT_TIMEOUT * 3)

    def windows(self, since: float, until: float) -> list[tuple[float, float, int]]:
        """Failing streaks of attempts still under way at ``since``: (start after ``since``,
        length up to the next acknowledged attempt or ``until``, failed attempts)."""
        out: list[tuple[float, float, int]] = []
        streak: list[float] | None = None
        for sent, took, status in self.attempts:
            if sent + took < since:
                continue
            if status not in (200, 201):
                if streak is None:
                    streak = [sent, 0]
                streak[1] += 1
            elif streak is not None:
                out.append((streak[0] - since, sent - streak[0], int(streak[1])))
                streak = None
        if streak is not None:
            out.append((streak[0] - since, until - streak[0], int(streak[1])))
        return out


def _until(check, limit: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def run(binary: Path, workdir: Path, settings: dict[str, Any], observe: float) -> dict[str, Any]:
    private_loopback()
    primary = FakeCluster("dc1", host=SILENT).start()
    backup = FakeCluster("dc2").start()
    model = tier(gateway_clusters={
        "primary": {**CLUSTERS["primary"], "endpoints": [primary.url], "username": None,
                    "password": None},
        "backup": {**CLUSTERS["backup"], "endpoints": [backup.url], "username": None,
                   "password": None},
    }, **settings)
    doc = yaml.safe_load(gateway_yml(model, model.host("gw1")))
    doc, entry, api = loopback(doc, workdir, backup.url)
    for cluster, fake in zip(doc["elasticsearch"], (primary, backup)):
        cluster["endpoints"] = [fake.url]  # loopback() pointed both at one
    gateway = Gateway(binary, workdir, doc, api, entry).start()
    started = time.monotonic()
    result: dict[str, Any] = {"settings": settings}
    writer = None
    try:
        if not gateway.came_up():
            raise SystemExit(f"the gateway did not come up:\n{gateway.output()}")
        if not _until(lambda: all(f"elasticsearch [{name}] is available" in gateway.output(10**7)
                                  for name in ("dc1", "dc2")), 30):
            raise SystemExit(f"the clusters never became available:\n{gateway.output()}")
        writer = Writer(gateway.entry).start()
        # A node never reached by an availability check since the gateway started (every 5 s,
        # the first 5 s after start) counts its last success as long ago: its first failure
        # marks it down at once (framework core/elastic/actions.go:66). Cut only after two.
        time.sleep(max(3.0, STEADY - (time.monotonic() - started)))
        silence()
        off = time.monotonic()
        # counted once both drop filters are in: a write acknowledged while tc was adding them
        # (the replies from the primary still passed) is one from before the cut
        before = len(writer.acked)
        time.sleep(2)
        primary.stop()  # powered off behind the drop: still no answer at all
        time.sleep(max(0.0, observe - (time.monotonic() - off)))
        writer.stop()
        observed = time.monotonic()
        windows = writer.windows(off, observed)
        result.update(
            acked_before=before,
            acked_after_cut=len(writer.acked) - before,
            windows=[[round(a, 2), round(b, 2), c] for a, b, c in windows],
            longest_window=round(max((w[1] for w in windows), default=0.0), 2),
            failed_attempts=sum(w[2] for w in windows),
            answers=writer.answers,
            marked_down=any("elasticsearch [dc1] is not available" in line
                            for line in gateway.output(10**8).splitlines()),
        )
        primary.start()  # powered on: same port, the documents it had
        unsilence()
        back = time.monotonic()
        acked = set(writer.acked)
        both = _until(lambda: acked <= primary.ids(INDEX) and acked <= backup.ids(INDEX), 90, 1.0)
        result.update(
            acked=len(acked),
            caught_up_after=round(time.monotonic() - back, 1) if both else None,
            missing_in_primary=sorted(acked - primary.ids(INDEX))[:20],
            missing_in_backup=sorted(acked - backup.ids(INDEX))[:20],
        )
    finally:
        if writer is not None:
            writer.stop()
        gateway.stop()
        primary.stop()
        backup.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--settings", default="{}", help="group data for the tier, as JSON")
    parser.add_argument("--observe", type=float, default=20.0,
                        help="seconds of writing after the primary went silent")
    args = parser.parse_args()
    result = run(args.binary, args.workdir, json.loads(args.settings), args.observe)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
