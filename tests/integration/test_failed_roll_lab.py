"""A rolling restart that fails on the live lab leaves nothing held, and the fixed rerun converges.

The lab's DC1 is deployed (the session's shared one, tests/lab_fixtures.py); then every node gets a setting Elasticsearch refuses at start-up
(an unknown setting). The roll takes down the first data node, which cannot start: the deploy
must stop with one clear line naming the node and the reason, and give replica allocation back
(``cluster.routing.allocation.enable`` held at ``primaries`` keeps the cluster from re-creating
the missing node's replicas for good; Elastic's rolling restart:
https://www.elastic.co/guide/en/elasticsearch/reference/current/restart-cluster.html#restart-cluster-rolling).
The nodes the roll never reached keep a pending restart on disk. The project without the
setting then converges, green, with nothing left pending, and a further rerun changes nothing.
"""

from __future__ import annotations

import pytest

from tests.integration.deploy_runner import run_deploy
from tests.integration.test_dc1_cluster import (
    ADDRESS_OF,
    INVENTORY,
    _project_with,
    client_for,
    wait_for,
)

pytestmark = pytest.mark.lab

ALLOCATION = "cluster.routing.allocation.enable"
BAD_SETTING = "esdr.failedroll.unknown"
PENDING = "/var/lib/elasticsearch/esdr-restart-pending"


@pytest.fixture(scope="module")
def lab(dc1_deployed):
    return dc1_deployed.api


def _allocation(es) -> list:
    settings = es.cluster.get_settings(flat_settings=True)
    return [settings["persistent"].get(ALLOCATION), settings["transient"].get(ALLOCATION)]


def test_a_failed_roll_gives_allocation_back_and_the_fixed_rerun_converges(lab, tmp_path):
    es = client_for(*ADDRESS_OF)
    es.indices.create(index="roll", settings={"number_of_shards": 2, "number_of_replicas": 1})
    wait_for("green", lambda: es.cluster.health(wait_for_status="green", timeout="30s")[
        "status"] == "green")

    bad = _project_with(tmp_path, f'es_settings = {{"{BAD_SETTING}": "on"}}\n'
                                  "es_restart_timeout = 120")
    failed = run_deploy(INVENTORY, cwd=bad)
    print("\n".join(failed.esdr_lines()))
    assert failed.returncode != 0
    errors = [line for line in failed.esdr_lines() if "error: rolling restart stopped" in line]
    assert len(errors) == 1, failed.stderr[-4000:]
    assert "stopped while starting" in errors[0] and f"unknown setting [{BAD_SETTING}]" in errors[0]
    assert "Unexpected error in Python callback" not in failed.stderr  # a message, no traceback
    assert any("replica allocation restored" in line for line in failed.esdr_lines())
    assert set(_allocation(es)) <= {None, "all"}
    # the nodes the roll never reached keep their restart pending for the next deploy
    assert lab.ssh("dc1-data-az2", f"cat {PENDING}").stdout.strip() == "dc1-data-az2"

    fixed = run_deploy(INVENTORY)
    print("\n".join(fixed.esdr_lines()))
    assert fixed.returncode == 0, fixed.stderr[-4000:]
    health = wait_for("green with all 5 nodes", lambda: es.cluster.health(
        wait_for_status="green", wait_for_nodes="5", timeout="30s"), timeout=400)
    assert health["status"] == "green"
    assert set(_allocation(es)) <= {None, "all"}
    for name in ADDRESS_OF:
        yml = lab.ssh(name, "cat /etc/elasticsearch/elasticsearch.yml")
        assert BAD_SETTING not in yml.stdout
        assert lab.ssh(name, f"test -e {PENDING}").returncode == 1, name

    again = run_deploy(INVENTORY)
    assert again.returncode == 0, again.stderr[-4000:]
    changed = again.changed_operations()
    assert set(changed) == set(ADDRESS_OF) and all(ops == [] for ops in changed.values()), changed
