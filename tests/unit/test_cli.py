"""The ``esdr`` command's frame: every subcommand loaded when named, the lab's only through
its entry point, one guard from error kinds to exit codes, and ``--json`` output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import elasticsearch
import pytest
from click.testing import CliRunner

from esdr.cli import guard
from esdr.cli.main import PLUGIN_GROUP, cli
from esdr.cli.prints import Printer
from esdr.errors import BadInput, EsdrError, InvalidProject
from esdr.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = {"init", "validate", "render", "plan", "apply", "promote", "failback", "certs", "gateway",
            "secrets"}


def test_every_built_in_command_is_listed_and_loads_when_named() -> None:
    with click.Context(cli) as ctx:
        assert BUILT_IN <= set(cli.list_commands(ctx))
        commands = {name: cli.get_command(ctx, name) for name in BUILT_IN}
    assert all(isinstance(c, click.Command) and c.name == n for n, c in commands.items())
    assert set(commands["certs"].commands) == {"status", "renew", "rotate-ca"}
    assert set(commands["secrets"].commands) == {"rotate-elastic"}
    assert set(commands["gateway"].commands) == {"lint", "status"}


def test_importing_the_command_loads_no_subcommand_nor_its_clients() -> None:
    """``esdr gateway lint`` or ``esdr validate`` pay only for what they use."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, esdr.cli.main; print(sorted(m for m in sys.modules "
         "if m.split('.')[0] in ('pyinfra', 'gevent', 'elasticsearch', 'opensearchpy', "
         "'paramiko', 'cryptography') or m.startswith('esdr.cli.') and m not in "
         "('esdr.cli.main', 'esdr.cli.prints')))"],
        capture_output=True, text=True, check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_the_lab_comes_in_through_its_entry_point_only_when_named() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, esdr.cli.main; print('esdr_lab' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert loaded.stdout.strip() == "False"
    with click.Context(cli) as ctx:
        assert "lab" in cli.list_commands(ctx)
        lab = cli.get_command(ctx, "lab")
    assert isinstance(lab, click.Group) and lab.name == "lab"
    assert PLUGIN_GROUP == "esdr.commands"


def _code(run) -> tuple[int, list[str]]:
    printer = Printer(as_json=True)
    code = guard.exit_code(printer, run)
    return code, printer.errors


def _raise(error: BaseException):
    def run():
        raise error
    return run


def test_a_command_returns_its_own_code_and_none_is_0() -> None:
    assert _code(lambda: None) == (0, [])
    assert _code(lambda: guard.DRIFT) == (3, [])


def test_bad_input_exits_2_on_one_line() -> None:
    code, lines = _code(_raise(BadInput("inventory x.py: no such file", hint="pass a file")))
    assert code == guard.BAD_INPUT == 2
    assert lines == ["esdr: inventory x.py: no such file (fix: pass a file)"]


def test_invalid_project_exits_2_with_one_line_per_problem() -> None:
    problems = [Problem("host a", "heap-above-31g", "too big"),
                Problem("cluster c", "single-data-zone", "one zone", "warning")]
    printer = Printer(as_json=True)
    code = guard.exit_code(printer, _raise(InvalidProject("x.py", problems)))
    assert code == 2
    assert printer.problems == problems
    assert printer.errors == ["esdr: x.py: 1 problem(s), nothing was changed"]


def test_a_runtime_failure_exits_1_on_one_line() -> None:
    code, lines = _code(_raise(EsdrError("c: the cluster stayed unavailable", hint="check it")))
    assert (code, lines) == (1, ["esdr: c: the cluster stayed unavailable (fix: check it)"])


def test_a_cluster_api_error_exits_1_on_one_line() -> None:
    error = elasticsearch.ConnectionError("connection refused")
    code, lines = _code(_raise(error))
    assert code == 1 and len(lines) == 1 and lines[0].startswith("esdr: the cluster API failed")


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(ZeroDivisionError):
        guard.exit_code(Printer(), lambda: 1 / 0)


def test_json_output_is_one_object_with_the_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--json", "validate", str(tmp_path / "nope.py")])
    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert answer["exit"] == 2 and "no such file" in answer["errors"][0]


def test_json_validate_of_prod_lists_no_problem(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["--json", "validate", "inventories/prod.py"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["problems"] == [] and answer["messages"][0].startswith("inventories/prod.py: valid")
