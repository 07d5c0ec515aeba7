"""One lab for the package: the two OpenSearch data centres and the real gateway tier between them.

The replication drills (test_os_replication.py) and the gateway drills (test_os_gateway_lab.py)
need the same two deployed clusters; the OpenSearch DCs cost about three minutes to bring up and
deploy, paid once here. The gateways (inventories/lab_gateways_os.py) cost a second on top and
are deployed while DC2 is: they need neither cluster to start. The replication drills run first;
the gateway drills, which power DC2 off and on, run last.

Order of the first deploys: the replication plugin's `_start` needs the leader index, so DC1
is deployed, the application's leader index `orders` is created in DC1, DC2 is deployed
(followers orders and events-dc1, the auto-follow rule, its own events-dc2), then DC1 again
(it follows events-dc2, which exists only now, and points orders-write at orders).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from esdr_lab import replication_drill as drill
from esdr_lab.replication_drill import DC1_INVENTORY as DC1
from esdr_lab.replication_drill import DC2_INVENTORY as DC2
from esdr_lab.replication_drill import ORDERS
from tests.integration.deploy_runner import REPO, run_deploy
from tests.lab_fixtures import run_module_last

GATEWAYS = "inventories/lab_gateways_os.py"
LAST = "test_os_gateway_lab.py"


def deploy(inventory: str, check: bool = True):
    result = run_deploy(inventory)
    print(f"\n--- deploy {inventory}: exit {result.returncode} in {result.seconds:.0f}s")
    print("\n".join(result.esdr_lines()[-40:]))
    if check:
        assert result.returncode == 0, result.stderr[-5000:]
    return result


def status(inventories: list[str], timeout: float, cwd: Path = REPO) -> tuple[int, dict, float]:
    """`esdr --json status -t TIMEOUT INVENTORIES` as the on-call's monitor runs it: exit code,
    its JSON and the wall time of the whole process."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "--json", "status",
         "--timeout", f"{timeout:g}", *inventories],
        cwd=cwd, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    print(f"$ esdr --json status -t {timeout:g} {' '.join(inventories)} -> exit "
          f"{result.returncode} in {took:.1f}s\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        answer = {}
    return result.returncode, answer.get("status", answer), took


def status_lines(answer: dict, code: int) -> list[str]:
    """``table: what: value`` of every line of ``answer`` at exactly ``code``."""
    return [f"{table['name']}: {line.get('what')}: {line.get('value')}"
            for table in answer.get("tables") or [] for line in table.get("lines") or []
            if line.get("code") == code]


@pytest.fixture(scope="package")
def os_dcs():
    from esdr_lab import api

    api.require_lab()
    started = time.monotonic()
    api.up([str(REPO / DC1), str(REPO / DC2), str(REPO / GATEWAYS)], fresh=True)
    try:
        first = deploy(DC1)
        os_lab = drill.OsLab.load()
        # the application's leader index (the estate's follower and write alias name it)
        os_lab.clients["dc1"].indices.create(
            index=ORDERS, body={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
        with ThreadPoolExecutor(2) as pool:
            dc2_run = pool.submit(deploy, DC2, False)
            gateways_run = pool.submit(deploy, GATEWAYS, False)
            second, gateways = dc2_run.result(), gateways_run.result()
        if second.returncode != 0:
            # the replication module's first test reports it; the rest still runs after a rerun
            deploy(DC2)
        assert gateways.returncode == 0, gateways.stderr[-4000:]
        third = deploy(DC1)
        yield {"api": api, "deploys": (first, second, third), "gateways": gateways,
               "os": os_lab, "seconds": time.monotonic() - started}
    finally:
        api.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The gateway drills after the replication drills, in the same place in the run."""
    run_module_last(items, "tests/opensearch_lab", LAST)
