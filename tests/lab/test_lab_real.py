"""The real lab on this machine: up, reach every host, mirror, no default route, down.

`systemctl is-system-running` may say "running" or "degraded": degraded only means some unit
failed (e.g. a unit that needs hardware a container lacks); the host itself booted and serves
ssh, which is all the lab promises. On this machine kind all hosts report "running".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esdr_lab import api, constants, host, network

REPO = Path(__file__).resolve().parents[2]
LAB_INVENTORY = str(REPO / "inventories" / "lab.py")


@pytest.mark.lab
def test_lab_up_reach_hosts_mirror_and_down():
    api.require_lab()
    try:
        lab = api.up([LAB_INVENTORY])
        assert len(lab.hosts) == 5
        # Elasticsearch's bootstrap check needs 65535 open files: real, or via the floor library
        assert lab.nofile_limit >= 65535 or lab.nofile_shim == constants.NOFILE_SHIM

        for name in lab.hosts:
            result = api.ssh(name, "systemctl is-system-running", timeout=30)
            assert result.stdout.strip() in ("running", "degraded"), (name, result)

        archive, url = constants.ES_ARCHIVE, f"{constants.MIRROR_URL}/{constants.ES_ARCHIVE}"
        checksum = (
            f"cd /tmp && curl -sf -o {archive} {url} && curl -sf {url}.sha512 | sha512sum -c -"
            f"; rc=$?; rm -f {archive}; exit $rc"
        )
        result = api.ssh("dc1-data-az1", checksum, timeout=120)
        assert result.returncode == 0, result
        assert f"{constants.ES_ARCHIVE}: OK" in result.stdout

        routes = api.ssh("dc1-master-az1", "ip route show default; ip -4 route", timeout=30)
        assert routes.returncode == 0
        assert "default" not in routes.stdout
        only_route = "10.88.0.0/24 dev eth0 proto kernel scope link src 10.88.0.11"
        assert routes.stdout.strip() == only_route
    finally:
        api.down()

    assert network.lab_namespaces() == []
    assert not network.link_exists(constants.BRIDGE)
    assert host.mounts_under(constants.STATE_DIR) == []
    assert api.lab_state() is None
