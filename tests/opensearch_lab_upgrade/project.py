"""The OpenSearch upgrade lab's project copies: the repository's two OpenSearch inventories and
group data, with a one-way estate, optionally pinned to the version to upgrade from.

One-way because the lab's estate also pairs ``events-dc1``/``events-dc2`` both ways: then each
DC follows the other and neither can go first (replication needs a follower at the same or a
newer version than its leader: esdr.upgrade.follower_problems refuses it, and says to pause
replication instead). Here DC2 follows DC1's ``orders`` (and the ``logs-*`` auto-follow rule),
so DC2, the follower, is upgraded first, then DC1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from esdr_lab import constants
from tests.integration.deploy_runner import REPO

DC1 = "inventories/lab_os.py"
DC2 = "inventories/lab_os_dc2.py"
GROUP_FILES = ("group_data/lab_os.py", "group_data/lab_os_dc2.py")
# esdr_lab/group_settings_os.py names the files; the estate file keeps its name so its secrets
# (keyed by the estate's file name) are the repository lab's
ESTATE = "group_data/estates/lab_os.yml"


def pinned_lines(version: str) -> str:
    """Group data that puts a DC on ``version``: its archive and both plugins, built for exactly
    that version (an OpenSearch plugin zip installs only on the server version it names)."""
    plugin = f"{version}.0"
    mirror = constants.MIRROR_URL
    return (
        f'es_version = "{version}"\n'
        f'es_archive_url = "{mirror}/opensearch-{version}.zip"\n'
        "es_plugins = [\n"
        '    {"name": "opensearch-security",\n'
        f'     "url": "{mirror}/opensearch-security-{plugin}.zip"}},\n'
        '    {"name": "opensearch-cross-cluster-replication",\n'
        f'     "url": "{mirror}/opensearch-cross-cluster-replication-{plugin}.zip"}},\n'
        "]\n"
        "es_restart_timeout = 300\n"
    )


def make_project(dest: Path, version: str | None = None) -> Path:
    """A copy of the OpenSearch lab's project at ``dest`` with the one-way estate; pinned to
    ``version`` when given (else the repository's, constants.OS_VERSION)."""
    (dest / "inventories").mkdir(parents=True)
    for inventory in (DC1, DC2):
        shutil.copy(REPO / inventory, dest / inventory)
    shutil.copytree(REPO / "group_data", dest / "group_data")
    estate_path = dest / ESTATE
    estate = yaml.safe_load(estate_path.read_text())
    estate.pop("bidirectional", None)
    estate_path.write_text(
        "# The OpenSearch lab's estate without its bidirectional pair "
        "(tests/opensearch_lab_upgrade)\n"
        + yaml.safe_dump(estate, sort_keys=False))
    if version is not None:
        for name in GROUP_FILES:
            with open(dest / name, "a") as handle:
                handle.write("\n# pinned by tests/opensearch_lab_upgrade/project.py\n")
                handle.write(pinned_lines(version))
    return dest
