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
