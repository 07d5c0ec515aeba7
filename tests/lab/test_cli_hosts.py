"""`esdr lab stop-host` / `start-host`: one code path for any number of names (no lab needed:
the lab API is replaced by a recorder)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from esdr.errors import EsdrError
from esdr_lab import api
from esdr_lab.cli import lab


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, list[str]]]:
    seen: list[tuple[str, list[str]]] = []
    for name in ("stop_hosts", "start_hosts"):
        monkeypatch.setattr(api, name, lambda names, name=name: seen.append((name, names)))
    for name in ("stop_host", "start_host"):  # the one-host calls are not the CLI's path
        monkeypatch.setattr(api, name, lambda *a, name=name: pytest.fail(f"{name} called"))
    return seen


@pytest.mark.parametrize(("command", "call"), [("stop-host", "stop_hosts"),
                                                ("start-host", "start_hosts")])
@pytest.mark.parametrize("names", [["dc1-data-az1"], ["dc2-master-az1", "dc2-data-az1"],
                                   ["a", "b", "a"]], ids=["one", "two", "repeated"])
def test_every_number_of_names_takes_the_same_call(calls, command, call, names) -> None:
    result = CliRunner().invoke(lab, [command, *names])
    assert result.exit_code == 0, result.output
    assert calls == [(call, list(dict.fromkeys(names)))]


@pytest.mark.parametrize("command", ["stop-host", "start-host"])
def test_no_name_is_a_usage_error(calls, command) -> None:
    result = CliRunner().invoke(lab, [command])
    assert result.exit_code == 2 and calls == []


@pytest.mark.parametrize(("command", "call"), [("stop-host", "stop_hosts"),
                                                ("start-host", "start_hosts")])
def test_an_unknown_host_is_one_line_exit_1(monkeypatch, command, call) -> None:
    def refuse(names):
        raise EsdrError("no lab host 'nope' (hosts: a, b)", hint="esdr lab status lists the hosts")

    monkeypatch.setattr(api, call, refuse)
    result = CliRunner().invoke(lab, [command, "nope"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no lab host 'nope' (hosts: a, b) (fix: esdr lab status lists the hosts)"]
