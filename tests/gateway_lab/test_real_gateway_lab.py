"""The real INFINI Gateway deployed on lab hosts gw1 and gw2 behind the keepalived VIP.

``inventories/lab_gateways_real.py``: the deploy downloads the archive from the lab mirror
(which serves it from shared/vendor/infini-gateway/dist), checks it against the sha512 shipped
there, installs it, writes the config ``esdr render`` shows, and starts the unit. The clusters
of that inventory are not deployed: their versions are pinned, so the gateway starts anyway (its
health checks find them down). Checked here:

- the deploy twice: the second run changes nothing; the first prints each gateway's queues,
  read from its API;
- on both hosts the unit is active, runs the installed binary of the pinned version, and its
  API answers keepalived's check (``/_version``), through the VIP too;
- SIGKILL of the gateway on gw1 (by its MainPID): keepalived's check fails, the VIP moves to
  gw2, systemd restarts the gateway, the VIP comes back (preempt). Times printed (-s).
"""

from __future__ import annotations

import time

import pytest

from esdr.gateway.render import CHECK_PATH, SERVICE
from esdr_lab import constants
from tests.gateway_lab.drill import who
from tests.gateway_lab.test_front_door_lab import SECRET, _deploy, _ssh

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab_gateways_real.py"
VIP = "10.88.0.100"
HOSTS = ("gw1", "gw2")
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def deployed():
    from esdr_lab import api

    api.require_lab()
    api.up([INVENTORY], fresh=True)
    try:
        first = _deploy(INVENTORY)
        second = _deploy(INVENTORY)
        yield first, second
    finally:
        if TIMES:
            print("\n[real gateway drill]")
            for what, seconds in TIMES.items():
                print(f"  {what}: {seconds:.2f} s")
        api.down()


def _holder() -> str | None:
    for host in HOSTS:
        if f"{VIP}/" in _ssh(host, "ip -4 -o addr show dev eth0"):
            return host
    return None


def _wait_holder(wanted: str, limit: float) -> float:
    start = time.monotonic()
    for _ in range(int(limit / 0.2) + 1):
        if _holder() == wanted:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            break
        time.sleep(0.2)
    raise AssertionError(f"the VIP did not move to {wanted} within {limit}s (on {_holder()})")


def test_deploy_installs_and_starts_the_real_gateway_idempotently(deployed) -> None:
    first, second = deployed
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    output = first.stdout + first.stderr
    assert "binary step skipped" not in output
    for host in HOSTS:
        assert f"[esdr] gateway {host}:" in output  # the queue read-out of the deploy
        assert _ssh(host, f"systemctl is-active {SERVICE}").strip() == "active"
        version = _ssh(host, "/opt/infini-gateway/current/gateway -v 2>&1 || true")
        assert constants.GATEWAY_VERSION in version
        answered = _ssh(host, f"curl -fsS -m 2 http://127.0.0.1:2900{CHECK_PATH}")
        assert answered.strip() == constants.GATEWAY_VERSION
        assert SECRET not in _ssh(host, "cat /etc/infini-gateway/gateway.yml")
        mode = _ssh(host, "stat -c '%a %U' /etc/infini-gateway/gateway.env").split()
        assert mode == ["600", "infini-gateway"]


def test_the_vip_answers_with_the_gateway_api(deployed) -> None:
    _wait_holder("gw1", 30)
    assert who(f"http://{VIP}:2900/queue/stats", timeout=2.0) is not None


def test_sigkill_of_the_gateway_moves_the_vip_and_systemd_brings_it_back(deployed) -> None:
    _wait_holder("gw1", 30)
    pid = int(_ssh("gw1", f"systemctl show -p MainPID --value {SERVICE}").strip())
    assert pid > 0
    start = time.monotonic()
    _ssh("gw1", f"kill -KILL {pid}")
    TIMES["gateway SIGKILL on gw1 -> VIP on gw2"] = _wait_holder("gw2", 20)
    TIMES["-> VIP back on gw1 (gateway restarted, preempt)"] = _wait_holder("gw1", 60)
    TIMES["SIGKILL -> VIP back on gw1, in all"] = time.monotonic() - start
    new_pid = int(_ssh("gw1", f"systemctl show -p MainPID --value {SERVICE}").strip())
    assert new_pid not in (0, pid)
    assert _ssh("gw1", f"systemctl is-active {SERVICE}").strip() == "active"
