"""One Kafka lab for the package (inventories/lab_kafka.py): brought up fresh and deployed once,
shared by the broker tests and the pipeline tests, taken down after the last of them (a lab up
and a first deploy cost about two minutes each time)."""

from __future__ import annotations

import time

import pytest

from tests.integration.deploy_runner import REPO, run_deploy

INVENTORY = "inventories/lab_kafka.py"


@pytest.fixture(scope="package")
def kafka_lab():
    from esdr_lab import api

    api.require_lab()
    started = time.monotonic()
    api.up([str(REPO / INVENTORY)], fresh=True)
    try:
        first = run_deploy(INVENTORY)
        print(f"\n--- first deploy: exit {first.returncode} in {first.seconds:.0f}s")
        assert first.returncode == 0, first.stderr[-5000:]
        yield {"api": api, "first": first, "seconds": time.monotonic() - started}
    finally:
        api.down()
