"""One Kafka lab for the package: DC1 (inventories/lab_kafka.py: Kafka and OpenSearch on three
zones' hosts) and DC2 (inventories/lab_kafka_dc2.py: a second OpenSearch cluster on three hosts
of its own), brought up fresh and deployed once each, DC1 first (DC2's pipeline services read
DC1's Kafka), shared by the broker tests, the pipeline tests and the drills, taken down after the
last of them (a lab up and first deploys cost a few minutes each time)."""

from __future__ import annotations

import time

import pytest

from tests.integration.deploy_runner import REPO, run_deploy

INVENTORY = "inventories/lab_kafka.py"
INVENTORY_DC2 = "inventories/lab_kafka_dc2.py"


@pytest.fixture(scope="package")
def kafka_lab():
    from esdr_lab import api

    api.require_lab()
    started = time.monotonic()
    api.up([str(REPO / INVENTORY), str(REPO / INVENTORY_DC2)], fresh=True)
    try:
        first = run_deploy(INVENTORY)
        print(f"\n--- first deploy of DC1: exit {first.returncode} in {first.seconds:.0f}s")
        assert first.returncode == 0, first.stderr[-5000:]
        first_dc2 = run_deploy(INVENTORY_DC2)
        print(f"--- first deploy of DC2: exit {first_dc2.returncode} in {first_dc2.seconds:.0f}s")
        assert first_dc2.returncode == 0, first_dc2.stderr[-5000:]
        yield {"api": api, "first": first, "first_dc2": first_dc2,
               "seconds": time.monotonic() - started}
    finally:
        api.down()
