"""The node files the deploy wrote to DC1's lab hosts, read by the programs that use them.

On the session's shared DC1 (deployed once, tests/lab_fixtures.py; a further run here changes
nothing), on every node: ``systemd-analyze
verify`` accepts the unit without a word, systemd's own parse of it (``systemctl show -p
Environment``) holds exactly the environment esdr rendered, and the files on the host are
byte for byte what ``esdr.render.node_files`` renders. The JVM options are checked by the JVM
itself: a node whose options file had a line it cannot read would not have joined the cluster.
"""

from __future__ import annotations

import shlex

import pytest

from esdr.project import load_project
from esdr.render import node_files
from tests.integration.deploy_runner import REPO, run_deploy
from tests.render.test_hostile_values import _environment

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
# the hosts of inventories/lab.py (named here: loading it at collection would create its secrets)
HOSTS = ["dc1-master-az1", "dc1-master-az2", "dc1-tiebreaker-az3", "dc1-data-az1", "dc1-data-az2"]


def _ssh(host: str, command: str) -> tuple[int, str]:
    from esdr_lab import api

    result = api.ssh(host, f"{command} 2>&1", timeout=60)
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def deployed(dc1_deployed):
    second = run_deploy(INVENTORY)  # the lab's first deploy was the shared fixture's
    assert second.returncode == 0, second.stderr[-4000:]
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    return load_project(REPO / INVENTORY).topology


@pytest.mark.parametrize("host", HOSTS)
def test_systemd_verifies_the_unit_and_reads_the_rendered_environment(deployed, host) -> None:
    node = deployed.cluster.node(host)
    files = {f.path: f for f in node_files(deployed, node, bootstrap=False)}
    unit = next(f for path, f in files.items() if path.endswith(".service"))

    code, output = _ssh(host, f"systemd-analyze verify --man=no {unit.path}")
    assert (code, output.strip()) == (0, ""), output

    code, shown = _ssh(host, "systemctl show -p Environment --value " + unit.path.rsplit("/")[-1])
    assert code == 0, shown
    parsed = dict(word.partition("=")[::2] for word in shlex.split(shown))
    assert parsed == _environment(unit.content)


@pytest.mark.parametrize("host", HOSTS)
def test_the_files_on_the_host_are_the_rendered_ones(deployed, host) -> None:
    node = deployed.cluster.node(host)
    for rendered in node_files(deployed, node, bootstrap=False):
        code, content = _ssh(host, f"cat {shlex.quote(rendered.path)}")
        assert code == 0, content
        assert content == rendered.content, rendered.path
