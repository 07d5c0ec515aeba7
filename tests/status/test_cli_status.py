"""`esdr status` on the command line: an inventory esdr cannot load is UNKNOWN (3), as the
monitoring-plugin convention wants, and `--json` carries the report."""

from __future__ import annotations

import json

from click.testing import CliRunner

from esdr.cli.main import cli


def test_an_inventory_that_cannot_load_is_unknown(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("es_data = [('n1', {'es_http_port': 'not a port'})]\n")
    result = CliRunner().invoke(cli, ["--json", "status", str(bad)])
    assert result.exit_code == 3, result.output
    answer = json.loads(result.stdout)
    assert answer["exit"] == 3
    assert answer["status"]["verdict"] == "UNKNOWN"
    [table] = answer["status"]["tables"]
    assert table["lines"][0]["what"] == "inventory" and table["lines"][0]["code"] == 3


def _budget_seen(monkeypatch, *args: str) -> float:
    """The seconds `esdr status ARGS` gives its reads (the lab's inventory, nothing asked)."""
    from esdr.cli import status as command

    seen: list[float] = []

    def no_reads(targets, budget, now=None):
        seen.append(budget)
        return []

    monkeypatch.setattr(command, "read_all", no_reads)
    monkeypatch.setattr(command, "_process_age", lambda: None)  # counted from the command
    result = CliRunner().invoke(cli, ["status", *args, "--only", "inventories/lab.py"])
    assert seen, result.output
    return seen[0]


def test_timeout_replaces_status_timeout_as_the_plugin_option(monkeypatch) -> None:
    # default: the inventory's status_timeout (2.2 s) less what the command spent so far
    assert 1.0 < _budget_seen(monkeypatch) <= 2.2
    assert 6.0 < _budget_seen(monkeypatch, "--timeout", "8") <= 8.0
    assert 6.0 < _budget_seen(monkeypatch, "-t", "8") <= 8.0


def test_a_timeout_out_of_range_is_refused() -> None:
    result = CliRunner().invoke(cli, ["status", "--timeout", "0", "inventories/lab.py"])
    assert result.exit_code == 2 and "--timeout" in result.output
