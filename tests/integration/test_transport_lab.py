"""The controller's cluster-API clients go over SSH, for real: DC1 of the lab with 9200 closed
to the controller.

On the session's shared DC1 (deployed once, tests/lab_fixtures.py), every node's network namespace refuses to answer TCP 9200 to the
controller's bridge address (a policy-routing rule: the node's replies from port 9200 to
10.88.0.1 are prohibited, so the controller's SYN never gets its SYN-ACK; this machine has
neither nft nor iptables, and its kernel lacks tc's gact action, while `ip rule` ipproto/sport
selectors need nothing more). SSH (22) and the nodes' own traffic are untouched. `esdr plan`
and a second deploy (whose cluster-objects step uses the same clients) must still work, which
they can only do through the nodes; with `es_api_transport: direct` the same plan must fail
with one clear line. DC2 is not part of this lab: the estate's remote `dc2` is down throughout,
and `esdr plan` reports it once.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO, run_deploy
from tests.integration.lab_dc1 import ADDRESS_OF

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
CONTROLLER = "10.88.0.1"
RULE = ["to", CONTROLLER, "ipproto", "tcp", "sport", "9200", "prohibit", "priority", "100"]


def _netns(host: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    from esdr_lab.spec import netns_name

    return subprocess.run(["ip", "netns", "exec", netns_name(host), *argv], check=check,
                          capture_output=True, text=True, timeout=20)


def close_9200_to_controller() -> None:
    for host in ADDRESS_OF:
        _netns(host, "ip", "rule", "add", *RULE)


def open_9200_to_controller() -> None:
    for host in ADDRESS_OF:
        _netns(host, "ip", "rule", "del", *RULE, check=False)


def reaches(address: str, port: int, timeout: float = 2.0) -> bool:
    assert address.startswith("10.88.0.")  # lab addresses only, while the lab is up
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def esdr_plan(inventory: str | Path, cwd: Path = REPO) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "plan", str(inventory)],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )
    return proc, time.monotonic() - start


def direct_project(tmp: Path) -> Path:
    """A copy of the lab's DC1 project whose group data says ``es_api_transport = "direct"``."""
    (tmp / "inventories").mkdir()
    shutil.copy(REPO / INVENTORY, tmp / INVENTORY)
    shutil.copytree(REPO / "group_data" / "estates", tmp / "group_data" / "estates")
    text = (REPO / "group_data" / "lab.py").read_text()
    (tmp / "group_data" / "lab.py").write_text(text + '\nes_api_transport = "direct"\n')
    return tmp / INVENTORY


@pytest.fixture(scope="module")
def lab(dc1_deployed):
    timings = {"first deploy of the lab": dc1_deployed.first_deploy.seconds}
    plan, timings["plan over ssh, 9200 open"] = esdr_plan(INVENTORY)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    try:
        close_9200_to_controller()
        yield {"api": dc1_deployed.api, "timings": timings}
    finally:
        open_9200_to_controller()  # the shared lab is left reachable as it was


def test_9200_is_closed_to_the_controller_and_ssh_is_not(lab):
    for address in ADDRESS_OF.values():
        assert not reaches(address, 9200), f"{address}:9200 still answers the controller"
        assert reaches(address, 22), f"{address}:22 must stay open"


def test_plan_goes_through_the_nodes_and_reports_the_down_remote_once(lab):
    plan, lab["timings"]["plan over ssh, 9200 closed"] = esdr_plan(INVENTORY)
    out = plan.stdout + plan.stderr
    assert plan.returncode == 0, out
    assert "inventories/lab.py: no drift" in out
    assert out.count("dc2 unreachable: remote checks skipped") == 1, out


def test_a_second_deploy_through_the_forwards_changes_nothing(lab):
    second = run_deploy(INVENTORY)
    lab["timings"]["second deploy, 9200 closed"] = second.seconds
    assert second.returncode == 0, second.stderr[-4000:]
    changed = second.changed_operations()
    assert set(changed) == set(ADDRESS_OF), changed.keys()
    assert all(ops == [] for ops in changed.values()), changed
    # the cluster-objects step planned through the same clients and found nothing to do
    assert any("0 created, 0 changed, 0 deleted" in line for line in second.esdr_lines()), \
        second.esdr_lines()


def test_direct_fails_cleanly_when_9200_is_closed(lab, tmp_path):
    inventory = direct_project(tmp_path)
    plan, lab["timings"]["plan direct, 9200 closed (fails)"] = esdr_plan(inventory, cwd=tmp_path)
    lines = [line for line in plan.stderr.splitlines() if line.strip()]
    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert len([line for line in lines if line.startswith("esdr:")]) == 1, plan.stderr
    assert "stayed unavailable" in plan.stderr and "Traceback" not in plan.stderr
    open_9200_to_controller()
    try:
        plan, lab["timings"]["plan direct, 9200 open"] = esdr_plan(inventory, cwd=tmp_path)
        assert plan.returncode == 0, plan.stdout + plan.stderr
    finally:
        close_9200_to_controller()
    print("\ntimings (s):", {k: round(v, 1) for k, v in lab["timings"].items()})
