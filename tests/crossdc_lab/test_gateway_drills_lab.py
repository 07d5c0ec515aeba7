"""The real INFINI Gateway between the lab's two real clusters, drilled behind the VIP.

The package's lab (tests/crossdc_lab/conftest.py, shared with the two-DC checks, which run
first): DC1 (inventories/lab.py, primary), DC2 (inventories/lab_dc2.py, backup) and the
gateways gw1/gw2 (inventories/lab_gateways_real.py: the binary from the lab mirror, checked by
its sha512, keepalived VIP 10.88.0.100). The tests run in file order on it:

1. the gateway tier deploys twice, the second run changes nothing; the unit runs the pinned
   binary, answers keepalived's check through the VIP, no password in its config;
2. backup outage, then gateway failover, in one writing session through the VIP: DC2's hosts are
   powered off for 60 s (every write acknowledged, the active gateway's queue for DC2 grows);
   still during that outage the active gateway gw1 is SIGKILLed (its queued writes not yet
   replayed): the VIP moves to gw2, writes go on (the error window is printed), systemd restarts
   gw1 and the VIP comes back once gw1's entry answers keepalived's check (its entry listens
   only after its proxy to the powered-off DC2 gave up connecting). DC2 is powered on: both
   gateways' queues drain (time printed) and both clusters hold the same documents, every
   acknowledged one among them;
3. primary outage: DC1's hosts lose their network and are powered off while writing; a write
   DC1 takes no connection for goes to DC2 and is queued for DC1 (within the 1 s connect
   timeout, long before the gateways mark DC1 down after ~60 s: docs/gateway-failover.md); DC1
   powered on, the queue drains and every acknowledged write is in both clusters;
4. ``esdr status`` on the lab (docs/status.md): DC1 alone (``--only``) and with the DC2 its
   estate names, both green; the gateways alone, every queue caught up (exit 0).

Writes carry the application's credentials (the lab's elastic user): the gateway passes them
through. A write is retried with the same id until acknowledged (a client's duty while a cluster or a
gateway is being marked down, README "Gateway tier"); an id-less write (every tenth, named by
the gateway) is sent once. Times are printed (-s), never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from esdr.es.connect import credentials
from esdr.gateway.render import ALIVE_PATH, CHECK_PATH, SERVICE
from esdr_lab import constants
from tests.gateway_lab.drill import ssh as _ssh
from tests.gateway_lab.drill import who
from tests.gateway_lab.writer import (
    GATEWAY_HOSTS,
    VIP,
    Writer,
    all_nodes_green,
    cluster_client,
    doc_ids,
    drained,
    queue_state,
    vip_holder,
    wait,
)
from tests.integration.deploy_runner import REPO, run_deploy

pytestmark = pytest.mark.lab

DC1, DC2, GATEWAYS = "inventories/lab.py", "inventories/lab_dc2.py", "inventories/lab_gateways_real.py"
BACKUP_OUTAGE = 60.0  # seconds DC2 stays powered off
REPORT: dict[str, str] = {}
# The application's own credentials: the gateway passes them through to the cluster, and its
# queued copy carries them to the other one (its own user is for its health checks; README
# "Gateway tier"). The lab's clusters share the elastic password.
AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def lab(two_dcs):
    started = time.monotonic()
    try:
        second = run_deploy(GATEWAYS)
        assert second.returncode == 0, second.stderr[-4000:]
        topologies = {"dc1": two_dcs["topologies"][DC1], "dc2": two_dcs["topologies"][DC2]}
        user, password = credentials(topologies["dc1"])
        AUTH.update(urllib3.make_headers(basic_auth=f"{user}:{password}"))
        REPORT["setup shared with the two-DC checks (up, 3 deploys)"] = (
            f"{two_dcs['seconds']:.0f} s")
        REPORT["gateway rerun"] = f"{time.monotonic() - started:.0f} s"
        yield {"api": two_dcs["api"], "deploys": (two_dcs["gateways"], second),
               "topologies": topologies, "tier": two_dcs["tier"]}
    finally:
        print("\n[gateway drills, real binary, DC1 -> DC2]")
        for what, value in REPORT.items():
            print(f"  {what}: {value}")


def _es(lab, dc: str):
    return cluster_client(lab["topologies"][dc])


def _ids(lab, dc: str, index: str) -> set[str]:
    return doc_ids(_es(lab, dc), index)


def _green(lab, dc: str) -> bool:
    return all_nodes_green(lab["topologies"][dc])


def _queue(lab, gateway: str, name: str):
    return queue_state(lab["tier"], gateway, name)


def _drained(lab, queue: str) -> bool:
    return drained(lab["tier"], queue)


def _dc_hosts(lab, dc: str) -> list[str]:
    return [node.host for node in lab["topologies"][dc].cluster.nodes]


def test_deploy_installs_and_starts_the_real_gateway_idempotently(lab) -> None:
    first, second = lab["deploys"]
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    output = first.stdout + first.stderr + second.stdout + second.stderr
    assert "binary step skipped" not in output
    password = Path(lab["tier"].primary.password.value).read_text().strip()
    assert password and password not in output, "the cluster password leaked into the deploy"
    for host in GATEWAY_HOSTS:
        assert f"[esdr] gateway {host}:" in first.stdout + first.stderr  # the queue read-out
        assert _ssh(host, f"systemctl is-active {SERVICE}").strip() == "active"
        version = _ssh(host, "/opt/infini-gateway/current/gateway -v 2>&1 || true")
        assert constants.GATEWAY_VERSION in version
        answered = _ssh(host, f"curl -fsS -m 2 http://127.0.0.1:2900{CHECK_PATH}")
        assert answered.strip() == constants.GATEWAY_VERSION
        # keepalived's check: the entry, answered by the gateway itself
        assert _ssh(host, f"curl -fsS -m 2 http://127.0.0.1:8000{ALIVE_PATH}").strip() == "alive"
        assert password not in _ssh(host, "cat /etc/infini-gateway/gateway.yml")
        mode = _ssh(host, "stat -c '%a %U' /etc/infini-gateway/gateway.env").split()
        assert mode == ["600", "infini-gateway"]
    wait("the VIP on gw1", lambda: vip_holder() == "gw1", 30)
    assert who(f"http://{VIP}:8000{ALIVE_PATH}", timeout=2.0) == "alive"
    # the admin API (cluster passwords, queue deletes) listens on each gateway's loopback
    # only: from this machine, through the VIP or a gateway's own address, nothing answers
    for address in (VIP, *(lab["api"].address_of(h) for h in GATEWAY_HOSTS)):
        assert who(f"http://{address}:2900/queue/stats", timeout=2.0) is None, address


def test_backup_outage_then_gateway_failover(lab) -> None:
    api, index = lab["api"], "gw-drill-backup"
    dc2_hosts = _dc_hosts(lab, "dc2")
    with Writer(index, AUTH) as writer:
        wait("the first acknowledged writes", lambda: len(writer.acked) >= 20, 60, 0.5)
        writer.phase = "backup outage"
        api.stop_hosts(dc2_hosts)
        off = time.monotonic()
        time.sleep(30)
        grown = _queue(lab, "gw1", "lab-dc2-queue")
        assert grown is not None and grown.messages and not grown.caught_up, grown
        REPORT["backup outage: gw1's queue for DC2 after 30 s"] = grown.line()
        # still during the outage: gw1 holds writes DC2 does not have yet; SIGKILL it
        writer.phase = "failover"
        pid = int(_ssh("gw1", f"systemctl show -p MainPID --value {SERVICE}").strip())
        killed = time.monotonic()
        _ssh("gw1", f"kill -KILL {pid}")
        _, moved = wait("the VIP on gw2", lambda: vip_holder() == "gw2", 20, 0.2)
        _, back = wait("the VIP back on gw1", lambda: vip_holder() == "gw1", 90, 0.2)
        new_pid = int(_ssh("gw1", f"systemctl show -p MainPID --value {SERVICE}").strip())
        assert new_pid not in (0, pid)
        # The failover lasts until the restarted gw1 serves writes again: until its first health
        # check it counts the primary unavailable and sends writes to the backup, down here
        # (README "Gateway tier"), which takes longer than a second on a loaded machine.
        served = len(writer.acked)
        wait("writes acknowledged through the restarted gw1",
              lambda: len(writer.acked) >= served + 10, 60, 0.2)
        acked_in_failover = len(writer.acked)
        writer.phase = "backup outage"  # the rest of it, through the restarted gw1
        time.sleep(max(0.0, BACKUP_OUTAGE - (time.monotonic() - off)))
        writer.phase = "after"
        api.start_hosts(dc2_hosts)
        on = time.monotonic()
        REPORT["DC2 powered off"] = f"{on - off:.0f} s"
        _, booted = wait("DC2 green", lambda: _green(lab, "dc2"), 240, 2)
        time.sleep(2)
    assert writer.failures.get("backup outage", 0) == 0, "a write failed while only DC2 was down"
    assert len(writer.acked) > acked_in_failover
    _, drained = wait("both gateways' queues for DC2 drained",
                       lambda: _drained(lab, "lab-dc2-queue"), 240, 1)
    dc1, dc2 = wait("DC2 to hold what DC1 holds",
                     lambda: (lambda a, b: (a, b) if a == b else None)(
                         _ids(lab, "dc1", index), _ids(lab, "dc2", index)), 120, 2)[0]
    REPORT["backup outage: writes acknowledged"] = str(len(writer.acked))
    REPORT["backup outage: drain after power-on (DC2 green, then both queues caught up)"] = (
        f"{booted:.1f} s + {drained:.1f} s = {time.monotonic() - on:.1f} s to identical docs")
    REPORT["failover: SIGKILL gw1 -> VIP on gw2"] = f"{moved:.1f} s"
    REPORT["failover: -> VIP back on gw1 (systemd restart, preempt)"] = f"{back:.1f} s"
    REPORT["failover: longest error window / failed attempts"] = (
        f"{writer.window('failover'):.2f} s / {writer.failures.get('failover', 0)}")
    assert dc1 == dc2
    assert writer.acked <= dc1, f"acknowledged but missing: {sorted(writer.acked - dc1)[:10]}"
    REPORT["backup drill: docs in DC1 = docs in DC2"] = str(len(dc1))
    print(f"killed at {killed - off:.0f} s into the outage")


def test_primary_outage_writes_go_to_the_backup_and_replay(lab) -> None:
    api, index = lab["api"], "gw-drill-primary"
    dc1_hosts = _dc_hosts(lab, "dc1")
    with Writer(index, AUTH, idless_every=0) as writer:
        wait("the first acknowledged writes", lambda: len(writer.acked) >= 20, 60, 0.5)
        writer.phase = "primary outage"
        before = len(writer.acked)
        api.stop_hosts(dc1_hosts)
        off = time.monotonic()
        # a write DC1 takes no connection for goes to DC2, queued for DC1 (the connect fall-back;
        # the framework marks DC1 down only after ~60 s: docs/gateway-failover.md)
        (queued, _), took = wait(
            "writes queued for DC1",
            lambda: (lambda q: (q, None) if q and q.messages and not q.caught_up else None)(
                _queue(lab, vip_holder() or "gw1", "lab-dc1-queue")), 240, 2)
        during = len(writer.acked)
        # ~1 s a write (the connect timeout) until DC1 is marked down, then straight to DC2
        wait("more acknowledged writes to the backup", lambda: len(writer.acked) > during + 50,
              150, 0.5)
        writer.phase = "after"
        api.start_hosts(dc1_hosts)
        on = time.monotonic()
        _, booted = wait("DC1 green", lambda: _green(lab, "dc1"), 300, 2)
        time.sleep(2)
    REPORT["primary outage: first write queued for DC1 after"] = f"{took:.0f} s"
    REPORT["primary outage: acknowledged from power-off until DC1 was green"] = str(len(writer.acked) - before)
    REPORT["primary outage: longest error window / failed attempts"] = (
        f"{writer.window('primary outage'):.1f} s / {writer.failures.get('primary outage', 0)}")
    assert writer.acked and len(writer.acked) > before
    _, drained = wait("the queues for DC1 drained", lambda: _drained(lab, "lab-dc1-queue"),
                       240, 1)
    REPORT["primary outage: drain after power-on"] = (
        f"DC1 green {booted:.1f} s, queues caught up {drained:.1f} s later")
    for dc in ("dc1", "dc2"):
        ids = wait(f"every acknowledged write in {dc}",
                    lambda: (lambda i: i if writer.acked <= i else None)(_ids(lab, dc, index)),
                    120, 2)[0]
        REPORT[f"primary outage: docs in {dc}"] = str(len(ids))
    REPORT["primary outage: acknowledged writes lost"] = (
        f"0 of {len(writer.acked)} (every acknowledged id is in both DCs)")
    assert off < on and queued.messages


def _esdr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from esdr.cli.main import main; main()", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ})


def _lines(answer: dict) -> list[tuple[str, dict]]:
    """(table name, line) for every line of an `esdr --json status` answer (docs/status.md)."""
    return [(table["name"], line) for table in answer["status"]["tables"]
            for line in table["lines"]]


def _status_json(*args: str, tables: set[str], tolerate: tuple[str, ...] = ()
                 ) -> tuple[int, dict]:
    """`esdr --json status ARGS`: (exit code, answer) when its DC tables are ``tables`` (the
    estate's alias and the cluster's name), each with its health green, and it is OK, or
    WARNING only for figures not answered in time ("unknown: ...": the command answers within
    status_timeout, 2.2 s from its start, and a loaded lab may not give every figure by then)
    or for lines whose name starts with one of ``tolerate``. Raises otherwise, so that
    ``wait`` runs it again and shows the last answer."""
    result = _esdr("--json", "status", *args)
    answer = json.loads(result.stdout)
    found = {table for table, _ in _lines(answer)} - {"links"}
    assert found == tables, (found, result.stdout[-2000:])
    health = {table: line["value"] for table, line in _lines(answer) if line["what"] == "health"}
    assert health == {table: "green" for table in tables}, health
    bad = [f"{table}: {line['verdict']} {line['what']} {line['value']}"
           for table, line in _lines(answer) if line["code"] != 0
           and not (line["code"] == 1 and (str(line["value"]).startswith("unknown")
                                           or line["what"].startswith(tolerate)))]
    assert result.returncode in (0, 1) and not bad, (result.returncode, bad, result.stderr)
    return result.returncode, answer


def test_status_shows_health_and_caught_up_queues(lab) -> None:
    dc1, dc2 = "dc1 (esdr-lab-dc1)", "dc2 (esdr-lab-dc2)"
    # DC1 alone (--only: by default the command reads every cluster the estate names, DC2 too)
    code, answer = wait("esdr status --only DC1: green, OK but for figures not read in time",
                        lambda: _status_json("--only", DC1, tables={dc1}), 60, 2)[0]
    REPORT["esdr status --only DC1"] = f"exit {code}: {answer['status']['summary']}"
    # the estate from DC1's inventory: DC2 is read through the inventory the estate names for
    # it. A remote connection may still be down after the outages (an ES node does not retry
    # a remote cluster that was gone until something asks for it): WARNING, tolerated here.
    code, answer = wait("esdr status DC1 (the estate): DC1 and DC2 green",
                        lambda: _status_json(DC1, tables={dc1, dc2}, tolerate=("remote ",)),
                        60, 2)[0]
    REPORT["esdr status DC1 (the estate)"] = f"exit {code}: {answer['status']['summary']}"
    # a gateway's lag is exact again once a write went into the queue file it began at its
    # restart (README "Gateway tier"): one write through the VIP
    assert Writer("gw-drill-status", AUTH).send(1) is not None
    # the gateways alone (--only: their inventory names the estate, whose DCs are read above)
    gateways, _ = wait("esdr status: every gateway caught up",
                        lambda: (lambda r: r if r.returncode == 0 else None)(
                            _esdr("status", "--only", GATEWAYS)), 60, 2)
    for host in GATEWAY_HOSTS:
        assert f"gateway {host}: queue lab-dc2-queue" in gateways.stdout, gateways.stdout
    print(gateways.stdout)
