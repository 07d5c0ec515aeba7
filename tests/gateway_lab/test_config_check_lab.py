"""What the deploy wrote to the gateway lab hosts passes each program's own configuration check.

keepalived and nginx (the lab image's Debian packages) check the files the deploy uploaded:
``keepalived -t -f /etc/keepalived/keepalived.conf`` on gw1 and gw2 (keepalived inventory),
``nginx -t`` on gw1 (Nginx inventory, same four hosts). ``systemd-analyze verify`` checks the
INFINI Gateway unit; the gateway binary cannot be obtained in the lab, so the one complaint it
may make is that the unit's program does not exist (the unit's ConditionPathExists= keeps it
from starting), and every other line of its output fails the test. The Elasticsearch unit is
checked the same way by tests/integration/test_rendered_files_lab.py.
"""

from __future__ import annotations

import pytest

from esdr.gateway.render import KEEPALIVED_CONF, NGINX_SITE, SERVICE
from esdr.render import SYSTEMD_DIR
from tests.gateway_lab.test_front_door_lab import (
    KEEPALIVED_INVENTORY,
    NGINX_INVENTORY,
    _deploy,
)

pytestmark = pytest.mark.lab

UNIT = f"{SYSTEMD_DIR}/{SERVICE}.service"


def _run(host: str, command: str) -> tuple[int, str]:
    from esdr_lab import api

    result = api.ssh(host, f"{command} 2>&1", timeout=60)
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def lab():
    from esdr_lab import api

    api.require_lab()
    api.up([KEEPALIVED_INVENTORY], fresh=True)
    try:
        yield
    finally:
        api.down()


@pytest.fixture(scope="module")
def keepalived_deployed(lab):
    first = _deploy(KEEPALIVED_INVENTORY)
    second = _deploy(KEEPALIVED_INVENTORY)
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    return first


@pytest.mark.parametrize("host", ["gw1", "gw2"])
def test_keepalived_accepts_the_deployed_configuration(keepalived_deployed, host: str) -> None:
    code, output = _run(host, f"keepalived -t -f {KEEPALIVED_CONF}")
    assert code == 0, output


@pytest.mark.parametrize("host", ["gw1", "gw2"])
def test_systemd_accepts_the_deployed_gateway_unit(keepalived_deployed, host: str) -> None:
    _, output = _run(host, f"systemd-analyze verify --man=no {UNIT}")
    complaints = [
        line for line in output.splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
        and "has a bad unit file setting" not in line  # the summary of that one complaint
        and "Unit configuration has fatal error" not in line
    ]
    assert complaints == [], output
    assert f"{SERVICE}.service" in _run(host, f"systemctl cat {SERVICE}")[1]


def test_nginx_accepts_the_deployed_site(keepalived_deployed) -> None:
    """After the keepalived checks: the Nginx inventory on the same hosts."""
    first = _deploy(NGINX_INVENTORY)
    second = _deploy(NGINX_INVENTORY)
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    assert first.returncode == 0
    code, output = _run("gw1", "nginx -t")
    assert code == 0, output
    assert "syntax is ok" in output and "test is successful" in output
    assert _run("gw1", f"test -s {NGINX_SITE}")[0] == 0
