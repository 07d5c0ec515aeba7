"""``esdr status INVENTORY`` for an inventory with gateways: each gateway's queues and the exit
code the README's table gives (the cluster half is run on the lab by
tests/crossdc_lab/test_gateway_drills_lab.py). The gateway here is a stand-in API on loopback,
read straight (``gateway_api_transport: direct``: no sshd runs here)."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner

from esdr.cli.main import cli
from tests.gateway.factory import CLUSTERS, KEEPALIVED
from tests.gateway.test_api_transport import stats_server  # noqa: F401 (fixture)


# the VIP in the gateway's own subnet, as validation wants it
FRONT_DOOR = {**KEEPALIVED, "vips": [{"address": "127.0.0.100/8", "virtual_router_id": 51}]}


def _inventory(tmp_path, port: int) -> str:
    path = tmp_path / "gateways.py"
    path.write_text(
        f"gateways = [('gw1', {{'gateway_address': '127.0.0.1', 'gateway_api_port': {port}, "
        f"'gateway_api_transport': 'direct', 'gateway_clusters': {CLUSTERS!r}, "
        f"'gateway_front_door': {FRONT_DOOR!r}, "
        # the estate's secrets, whose CA the tier's TLS would use (gateway-estate-missing)
        f"'es_secrets_dir': {str(tmp_path / 'secrets')!r}}})]\n")
    return str(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_lagging_replay_exits_3_with_the_queue_line(tmp_path, stats_server) -> None:  # noqa: F811
    result = CliRunner().invoke(cli, ["--json", "status", _inventory(tmp_path, stats_server)])
    assert result.exit_code == 3, result.output
    answer = json.loads(result.stdout)
    assert answer["gateways"]["gw1"][0]["lag_bytes"] == 600
    assert ("gateway gw1: queue dc2-queue: 5 messages, esdr-replay-dc2 behind by 600 bytes"
            in answer["messages"])


def test_a_gateway_that_does_not_answer_exits_1(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["status", _inventory(tmp_path, _free_port())])
    assert result.exit_code == 1, result.output
    assert "gateway gw1: queues unknown" in result.output


def test_an_inventory_that_cannot_load_exits_2(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("gateways = [('gw1', {'gateway_api_port': 'not a port'})]\n")
    assert CliRunner().invoke(cli, ["status", str(bad)]).exit_code == 2
