"""DC1 of the lab deployed by a non-root SSH user with passwordless sudo (`_sudo = True`), as
group_data/prod.py does: it works, a rerun changes nothing, and no secret is left where another
local user could read it (secret files' modes, no upload directory left in /tmp).

The first deploy is the security modules' own (tests/security_lab/conftest.py): cold, by that
user, watched by the leak scan. Run under the lab lock (one lab session at a time):
    flock -w 3000 /run/esdr-lab-session.lock python -m pytest -m lab tests/security_lab
"""

from __future__ import annotations

import json

import pytest

from tests.integration.lab_dc1 import ADDRESS_OF as HOSTS
from tests.security_lab.conftest import USER, sudo_deploy

pytestmark = pytest.mark.lab

# Every secret the deploy puts on a node (node key, keystore, the deploy's curl config and
# keystore markers in /etc/esdr), with mode and owner.
SECRET_MODES = (
    "stat -c '%a %U:%G %n' /etc/elasticsearch/certs/node.key "
    "/etc/elasticsearch/elasticsearch.keystore /etc/esdr /etc/esdr/*"
)


@pytest.fixture(scope="module")
def lab(secured_lab):
    return secured_lab


def test_a_sudo_deploy_by_a_non_root_user_forms_the_cluster(lab):
    first = lab["first"]
    assert first.returncode == 0, first.stderr[-4000:]
    api = lab["api"]
    # The deploy really ran as the SSH user through sudo: sudo logged its commands.
    logged = api.ssh("dc1-data-az1", f"journalctl -q --no-pager _COMM=sudo | grep -c '{USER} :'")
    assert int(logged.stdout.strip() or 0) > 0, logged.stdout + logged.stderr
    health = api.ssh(
        "dc1-data-az1",
        "curl -s -K /etc/esdr/es-api.curlrc https://10.88.0.14:9200/_cluster/health",
    )
    answer = json.loads(health.stdout)
    assert answer["number_of_nodes"] == len(HOSTS), answer
    assert answer["status"] in ("green", "yellow"), answer


def test_second_sudo_deploy_changes_nothing(lab):
    second = sudo_deploy()
    assert second.returncode == 0, second.stderr[-4000:]
    changed = second.changed_operations()
    assert set(changed) == set(HOSTS), changed.keys()
    assert all(ops == [] for ops in changed.values()), changed


def test_no_secret_is_readable_by_others_and_no_upload_is_left(lab):
    api = lab["api"]
    for host in HOSTS:
        modes = api.ssh(host, SECRET_MODES)
        assert modes.returncode == 0, f"{host}: {modes.stderr}"
        rows = [line.split(" ", 2) for line in modes.stdout.splitlines()]
        assert len(rows) >= 4, modes.stdout
        for mode, owner, path in rows:
            assert int(mode, 8) & 0o007 == 0, f"{host}: {path} is {mode} {owner}"
            assert owner.split(":")[0] == "root", f"{host}: {path} is owned by {owner}"
        leftovers = api.ssh(
            host,
            "ls -d /tmp/esdr-secret* /etc/esdr/.upload-* 2>/dev/null; "
            f"find /tmp /var/tmp /home/{USER} -user {USER} -type f ! -path '*/.ssh/*' "
            "! -name '.bash*' ! -name '.profile' 2>/dev/null",
        )
        assert leftovers.stdout.strip() == "", f"{host}: left behind:\n{leftovers.stdout}"
