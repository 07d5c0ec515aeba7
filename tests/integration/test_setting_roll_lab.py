"""A setting change on the shared DC1 lab (``dc1_deployed``, tests/lab_fixtures.py) rolls the
cluster: one node at a time, the data nodes first, the tie-breaker before the other masters,
and the cluster never red.

The change is left in place: taking it back would be a second rolling restart of five nodes
(about 100 s) that proves nothing new. So this test is marked ``leaves_dc1_changed``: it runs
after every other test sharing the lab, and the lab is not reused after it.
"""

from __future__ import annotations

import pytest

from tests.integration.deploy_runner import run_deploy
from tests.integration.health_watch import watch_health
from tests.integration.lab_dc1 import ADDRESS_OF, INVENTORY
from tests.integration.test_dc1_cluster import TIEBREAKER, _project_with, client_for

pytestmark = [pytest.mark.lab, pytest.mark.leaves_dc1_changed]


@pytest.fixture(scope="module")
def lab(dc1_deployed):
    return {"api": dc1_deployed.api}


def test_setting_change_restarts_one_node_at_a_time_and_never_goes_red(lab, tmp_path):
    project = _project_with(tmp_path, 'es_settings = {"node.processors": 1}')
    with watch_health(client_for(*ADDRESS_OF)) as seen:
        rolled = run_deploy(INVENTORY, cwd=project)
    assert rolled.returncode == 0, rolled.stderr[-4000:]
    restarted = [line.split("restarted ", 1)[1].split(":")[0] for line in rolled.esdr_lines()
                 if "] restarted " in line]
    assert sorted(restarted) == sorted(ADDRESS_OF)
    # data nodes first, the masters after them
    assert set(restarted[:2]) == {"dc1-data-az1", "dc1-data-az2"}
    assert restarted[2] == TIEBREAKER
    assert len(seen.statuses) > 20
    assert "red" not in seen.statuses
    assert min(seen.node_counts) >= 4  # never two nodes down at once
    for name in ADDRESS_OF:
        yml = lab["api"].ssh(name, "grep -c '^node.processors: 1$' /etc/elasticsearch/elasticsearch.yml")
        assert yml.stdout.strip() == "1"
    # the rolled cluster is converged with the changed project: its rerun changes nothing
    rerun = run_deploy(INVENTORY, cwd=project)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    changed = rerun.changed_operations()
    assert set(changed) == set(ADDRESS_OF), changed.keys()
    assert all(ops == [] for ops in changed.values()), changed
