"""Queue depth and replay lag from a gateway's ``/queue/stats`` answer (its shape as the
vendored binary gives it: tests/gateway/test_binary_replication.py reads the real one)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.gateway.queues import lag, parse_queue_stats, summary_lines


def _answer(**queues) -> dict:
    return {"queue": {"disk": queues}}


def test_lag_is_the_bytes_from_the_committed_offset_to_the_latest_write() -> None:
    assert lag("0,2097", "0,877,0") == (1220, True)
    assert lag("0,877", "0,877,0") == (0, True)
    assert lag("0,10", "garbage") == (None, False)


def test_a_consumer_in_an_earlier_file_has_only_a_lower_bound() -> None:
    """The gateway begins a new queue file at every start; file sizes are not in the API."""
    assert lag("2,10", "1,90,0") == (10, False)
    assert lag("1,0", "0,3579,0") == (0, False)
    states = parse_queue_stats(_answer(q={
        "metadata": {"name": "dc2-queue"}, "messages": 13, "offset": "1,0",
        "consumers": [{"group": "esdr-replay-dc2", "offset": "0,3579,0"}]}))
    assert [s.caught_up for s in states] == [False]
    assert "lag unknown until the next write" in states[0].line()


def test_the_slowest_consumer_counts_and_a_queue_without_one_is_not_caught_up() -> None:
    states = parse_queue_stats(_answer(
        a={"metadata": {"name": "dc2-queue"}, "messages": 8, "offset": "0,2097",
           "consumers": [{"group": "esdr-replay-dc2", "offset": "0,877,0"},
                         {"group": "other", "offset": "0,2000,0"}]},
        b={"metadata": {"name": "dc1-queue"}, "depth": 3},
    ))
    assert [(s.name, s.messages, s.consumer, s.lag_bytes, s.caught_up) for s in states] == [
        ("dc1-queue", 3, None, None, False),
        ("dc2-queue", 8, "esdr-replay-dc2", 1220, False),  # the slower of the two
    ]
    assert summary_lines("gw1", states) == [
        "gateway gw1: queue dc1-queue: 3 messages, no replay yet",
        "gateway gw1: queue dc2-queue: 8 messages, esdr-replay-dc2 behind by 1220 bytes",
    ]


def test_nothing_written_and_no_answer_are_said_plainly() -> None:
    assert parse_queue_stats({"queue": {}}) == []
    assert parse_queue_stats("not json") == []
    assert summary_lines("gw1", []) == ["gateway gw1: no queue yet (nothing written through it)"]
    assert summary_lines("gw1", None, "timed out") == ["gateway gw1: queues unknown (timed out)"]


def test_gateway_status_of_an_inventory_without_gateways_is_bad_input() -> None:
    inventory = Path(__file__).resolve().parents[2] / "inventories" / "lab.py"
    result = CliRunner().invoke(cli, ["gateway", "status", str(inventory)])
    assert result.exit_code == 2
    assert "no host in group `gateways`" in result.output
