"""`esdr switchover` on the OpenSearch lab, under a writer: no acknowledged write lost, the write
window (longest gap between acknowledged writes) printed per run with its median, and a run
killed midway (SIGKILL) that the rerun finishes.

Run under the lab lock:
    flock -w 1800 /run/esdr-lab-session.lock env CI=true .venv/bin/python -m pytest -q -s \
        -m lab tests/opensearch_lab/test_os_switchover.py -p no:cacheprovider
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time

import pytest

from esdr_lab import replication_drill as drill
from esdr_lab.replication_drill import DC1_INVENTORY as DC1
from esdr_lab.replication_drill import DC2_INVENTORY as DC2
from esdr_lab.replication_drill import ORDERS, REPO, wait_until

pytestmark = pytest.mark.lab

INVENTORY = {"dc1": DC1, "dc2": DC2}
WINDOW_LIMIT = 5.0


class FailoverWriter(drill.Writer):
    """The drill's writer, turning to the other DC after a refused write (as a gateway that
    fails over would): during a switchover both DCs refuse until the alias has moved."""

    def write(self, client, doc_id, document):
        try:
            super().write(client, doc_id, document)
        except Exception:
            self.target = "dc2" if self.target == "dc1" else "dc1"
            raise


@pytest.fixture(scope="module")
def os_lab(os_dcs):
    return os_dcs["os"]


@pytest.fixture(scope="module")
def writer(os_lab):
    dc1 = os_lab.clients["dc1"]
    wait_until(f"{ORDERS} following in DC2", lambda: drill.is_syncing(os_lab.clients["dc2"],
                                                                         ORDERS), timeout=240)
    clients = {dc: os_lab.client(dc, request_timeout=3) for dc in ("dc1", "dc2")}
    w = FailoverWriter(clients, "dc1", rate=20, limit=1500,
                       prefix=f"s{time.time_ns() // 1_000_000}")
    w.start()
    wait_until("writes acknowledged by DC1", lambda: len(w.acked("dc1")) >= 20, timeout=60)
    assert dc1.indices.get_alias(name="orders-write")
    yield w
    w.stop()


def _gap(writer: FailoverWriter, start: float, end: float) -> float:
    """Longest gap between two acknowledged writes around [start, end] (monotonic)."""
    times = [a.at for a in writer.acked()]
    before = [t for t in times if t <= start]
    inside = ([before[-1]] if before else []) + [t for t in times if start < t <= end]
    after = [t for t in times if t > end]
    inside += after[:1]
    return max((b - a for a, b in zip(inside, inside[1:])), default=float("nan"))


def _switch(os_lab, writer: FailoverWriter, to: str, results: list[float],
            say=print) -> None:
    follower = os_lab.clients[to]
    wait_until(f"{ORDERS} syncing in {to}", lambda: drill.is_syncing(follower, ORDERS),
               timeout=300)
    started = time.monotonic()
    output = drill.esdr_ok(["switchover", INVENTORY[to], "--index", ORDERS], say=say)
    ended = time.monotonic()
    wait_until(f"writes acknowledged by {to}", lambda: any(
        a.dc == to and a.at > ended - 0.001 for a in writer.acked()), timeout=60, interval=0.2)
    gap = _gap(writer, started, time.monotonic())
    results.append(gap)
    say(f"[switchover → {to}] esdr: {output.splitlines()[-1]}; longest gap between "
        f"acknowledged writes {gap:.2f} s")


def _no_loss(os_lab, writer: FailoverWriter) -> None:
    ids = [a.id for a in writer.acked()]
    for dc in ("dc1", "dc2"):
        es = os_lab.clients[dc]
        wait_until(f"all {len(ids)} acknowledged writes in {dc}",
                   lambda es=es: drill.missing_ids(es, ORDERS, ids) == [], timeout=300,
                   interval=2)


def test_switchover_under_a_writer_loses_nothing_within_the_window(os_lab, writer):
    gaps: list[float] = []
    for to in ("dc2", "dc1", "dc2"):
        _switch(os_lab, writer, to, gaps)
    print(drill.median_line("write window (longest gap between acknowledged writes)", gaps))
    print(f"writer: {len(writer.acked())} acknowledged, failed attempts {writer.failures}")
    _no_loss(os_lab, writer)
    assert statistics.median(gaps) <= WINDOW_LIMIT, gaps


def _killed_at(os_lab, marker: str, to: str, say=print) -> str:
    """Start `esdr switchover` to ``to``, SIGKILL it as soon as its output shows ``marker``
    done; returns what it printed."""
    follower = os_lab.clients[to]
    wait_until(f"{ORDERS} syncing in {to}", lambda: drill.is_syncing(follower, ORDERS),
               timeout=300)
    process = subprocess.Popen(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "switchover",
         INVENTORY[to], "--index", ORDERS], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    armed = False
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip())
        if marker in line:
            armed = True
        elif armed and line.strip().startswith("done in"):
            os.kill(process.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            break
    process.wait(timeout=30)
    say("$ esdr switchover (killed)\n" + "\n".join(lines))
    assert process.returncode == -signal.SIGKILL, f"not killed midway: {lines}"
    return "\n".join(lines)


@pytest.mark.parametrize("marker,to", [("block_writes", "dc1"), ("] stop", "dc2")])
def test_killed_midway_the_rerun_finishes(os_lab, writer, marker, to):
    _killed_at(os_lab, marker, to)
    output = drill.esdr_ok(["switchover", INVENTORY[to], "--index", ORDERS], say=print)
    assert "was interrupted at phase" in output, output
    # killed after the block: rolled back unless the kill came after the stop was recorded
    print(f"rerun after a kill at {marker!r}: "
          f"{'rolled back, then switched' if 'rolling back' in output else 'resumed forward'}")
    assert output.splitlines()[-1].startswith(f"switchover {ORDERS} "), output
    wait_until(f"writes acknowledged by {to}", lambda: writer.acked()[-1].dc == to,
               timeout=60, interval=0.2)
    _no_loss(os_lab, writer)
    _plans(active=to)


def _plans(active: str) -> None:
    """`esdr plan` on both DCs, the estate untouched: exit 0, the recorded active side named
    (DC2 active is against the estate's design)."""
    for inventory in (DC1, DC2):
        plan = drill.esdr(["plan", inventory])
        print(f"$ esdr plan {inventory} -> exit {plan.returncode}\n{plan.stdout}{plan.stderr}")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert f"active side: {ORDERS} → {active} (recorded by switchover" in plan.stdout


def test_back_on_dc1_and_plan(os_lab, writer):
    gaps: list[float] = []
    _switch(os_lab, writer, "dc1", gaps)
    _no_loss(os_lab, writer)
    _plans(active="dc1")
