"""``esdr status INVENTORY`` for an inventory with gateways: each gateway's queues and the
monitoring-plugin exit codes of docs/status.md (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); the
cluster half is run on the lab by tests/crossdc_lab/test_gateway_drills_lab.py. The gateway
here is a stand-in API on loopback, read straight (``gateway_api_transport: direct``: no sshd
runs here)."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner

from esdr.cli.main import cli
from tests.gateway import test_api_transport
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


def _lines(answer: dict) -> list[dict]:
    return [line for table in answer["status"]["tables"] for line in table["lines"]]


def test_a_lagging_replay_is_a_warning(tmp_path, stats_server) -> None:  # noqa: F811
    # writes one cluster does not have yet, but the gateway answers and replays: WARNING (1)
    result = CliRunner().invoke(cli, ["--json", "status", _inventory(tmp_path, stats_server)])
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert answer["exit"] == 1 and answer["status"]["verdict"] == "WARNING"
    [line] = [line for line in _lines(answer) if line["what"] == "gateway gw1"]
    assert (line["verdict"], line["queue"], line["messages"], line["caught_up"]) == (
        "WARNING", "dc2-queue", 5, False)
    assert line["lag_bytes"]["value"] == 600
    assert line["value"] == ("gateway gw1: queue dc2-queue: 5 messages, esdr-replay-dc2 "
                             "behind by 600 bytes")
    assert answer["status"]["summary"].startswith("ESDR WARNING - gateway gw1: queue dc2-queue")


def test_a_gateway_that_does_not_answer_is_critical(tmp_path) -> None:
    # the writes queued on it for the other cluster cannot be vouched for; a check that gets
    # no answer is CRITICAL, not UNKNOWN (docs/status.md "Exit codes")
    result = CliRunner().invoke(cli, ["status", _inventory(tmp_path, _free_port())])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("ESDR CRITICAL - gateway gw1: queues unknown")
    assert "CRITICAL  gateway gw1  gateway gw1: queues unknown" in result.output


def test_a_gateway_with_no_queue_yet_is_ok(tmp_path, monkeypatch,
                                          stats_server) -> None:  # noqa: F811
    # it answered: nothing written through it yet is nothing owed to a cluster
    monkeypatch.setattr(test_api_transport, "STATS", {"queue": {}})
    result = CliRunner().invoke(cli, ["status", _inventory(tmp_path, stats_server)])
    assert result.exit_code == 0, result.output
    assert "OK        gateway gw1  gateway gw1: no queue yet" in result.output


def test_an_inventory_that_cannot_load_is_unknown(tmp_path) -> None:
    # esdr could not run the check (the monitoring-plugin convention's UNKNOWN, 3)
    bad = tmp_path / "bad.py"
    bad.write_text("gateways = [('gw1', {'gateway_api_port': 'not a port'})]\n")
    result = CliRunner().invoke(cli, ["status", str(bad)])
    assert result.exit_code == 3, result.output
    assert "UNKNOWN   inventory" in result.output
