"""One lab for the package: DC1 and DC2 of Elasticsearch and the real gateway tier between them.

The two-DC checks (wiring, snapshots, drift) and the gateway drills need the same two deployed
clusters; a fresh two-DC lab and its deploys take about two and a half minutes, paid once here
instead of once per module. The gateway hosts cost a second on top, and the gateways are
deployed while DC2 is (they need neither cluster to start). The two-DC checks run first, on the
lab as the deploys left it; the drills, which power whole data centres off and on, run last.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from esdr.project import load_project
from tests.integration.deploy_runner import REPO, run_deploy
from tests.lab_fixtures import run_module_last

DC1, DC2 = "inventories/lab.py", "inventories/lab_dc2.py"
GATEWAYS = "inventories/lab_gateways_real.py"
LAST = "test_gateway_drills_lab.py"


@pytest.fixture(scope="package")
def two_dcs():
    from esdr_lab import api

    api.require_lab()
    started = time.monotonic()
    api.up([str(REPO / DC1), str(REPO / DC2), str(REPO / GATEWAYS)], fresh=True)
    try:
        dc1 = run_deploy(DC1)
        print(dc1.stderr[-2500:])
        assert dc1.returncode == 0, dc1.stderr[-4000:]
        with ThreadPoolExecutor(2) as pool:
            dc2_run, gw_run = pool.submit(run_deploy, DC2), pool.submit(run_deploy, GATEWAYS)
            dc2, gateways = dc2_run.result(), gw_run.result()
        print(dc2.stderr[-2500:])
        assert dc2.returncode == 0, dc2.stderr[-4000:]
        assert gateways.returncode == 0, gateways.stderr[-4000:]
        topologies = {DC1: load_project(REPO / DC1).topology,
                      DC2: load_project(REPO / DC2).topology}
        yield {"api": api, "dc1": dc1, "dc2": dc2, "gateways": gateways,
               "topologies": topologies, "tier": load_project(REPO / GATEWAYS).tier,
               "seconds": time.monotonic() - started}
    finally:
        api.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The gateway drills after the two-DC checks, in the same place in the run."""
    run_module_last(items, "tests/crossdc_lab", LAST)
