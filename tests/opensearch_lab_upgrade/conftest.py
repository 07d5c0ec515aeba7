"""One lab for the package: both OpenSearch DCs brought up fresh and deployed at
``esdr_lab.constants.OS_UPGRADE_FROM`` (2.19.3) from a pinned project copy (project.py), in the
order tests/opensearch_lab/conftest.py uses (the replication plugin's ``_start`` needs the leader
index): DC1; the leader index ``orders`` in DC1; DC2 (follows it); DC1 again (``orders-write``).

Its own lab, not tests/opensearch_lab's: that one runs 2.19.4, and nodes cannot go back.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from esdr_lab import replication_drill as drill
from esdr_lab.replication_drill import ORDERS
from tests.integration.deploy_runner import run_deploy
from tests.opensearch_lab_upgrade.project import DC1, DC2, make_project


def deploy(inventory: str, project, check: bool = True):
    result = run_deploy(inventory, cwd=project)
    print(f"\n--- deploy {inventory} ({project.name}): exit {result.returncode} "
          f"in {result.seconds:.0f}s")
    print("\n".join(result.esdr_lines()[-40:]))
    if check:
        assert result.returncode == 0, result.stderr[-5000:]
    return result


@pytest.fixture(scope="package")
def os_old_dcs(tmp_path_factory):
    from esdr_lab import api, artifacts, constants

    api.require_lab()
    started = time.monotonic()
    old = make_project(tmp_path_factory.mktemp("os-upgrade-from"), constants.OS_UPGRADE_FROM)
    new = make_project(tmp_path_factory.mktemp("os-upgrade-to"))
    # `up` fetches what the old project names: 2.19.3's archive and security plugin from Maven,
    # and its replication plugin built by the vendored build.sh (minutes, cold)
    api.up([str(old / DC1), str(old / DC2)], fresh=True)
    try:
        # the version to upgrade to, served from the same mirror
        artifacts.ensure_artifacts(artifacts.needed_for(
            [constants.OS_ARCHIVE, constants.OS_SECURITY_PLUGIN, constants.OS_REPLICATION_PLUGIN]),
            say=print)
        deploy(DC1, old)
        os_lab = drill.OsLab.load()
        os_lab.clients["dc1"].indices.create(
            index=ORDERS, body={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
        if deploy(DC2, old, check=False).returncode != 0:
            # seen on the repository's lab: the run that links DC2 to DC1 can fail its own
            # after-check once the link connects; the next run creates the followers
            deploy(DC2, old)
        deploy(DC1, old)
        yield SimpleNamespace(api=api, os=os_lab, old=old, new=new,
                              before=constants.OS_UPGRADE_FROM, after=constants.OS_VERSION,
                              seconds=time.monotonic() - started)
    finally:
        api.down()
