"""The wait behind kafka.restarted and kafka.listening, against a host that answers scripted
outputs: it returns once the port opens, names the host and the journal at once when the unit
has failed, and gives up after its bound."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from esdr.errors import EsdrError
from esdr import node_api
from esdr.operations import kafka


class ScriptedHost:
    name = "os1-az1"
    data: dict = {}

    def __init__(self, answers):
        self.answers = answers  # (substring of the command, ok, stdout), first match wins
        self.commands: list[str] = []

    def run_shell_command(self, command, _timeout=None, **_):
        text = str(command)
        self.commands.append(text)
        for needle, ok, stdout in self.answers:
            if needle in text:
                return ok, SimpleNamespace(stdout=stdout)
        return False, SimpleNamespace(stdout="")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(node_api.time, "sleep", lambda _: None)


def test_returns_once_the_port_opens():
    opened = iter(["closed\n", "closed\n", "open\n"])
    host = ScriptedHost([])
    host.run_shell_command = lambda command, _timeout=None, **_: (
        (True, SimpleNamespace(stdout=next(opened))) if "/dev/tcp" in str(command)
        else (False, SimpleNamespace(stdout=""))
    )
    assert kafka._wait_listening(None, host, "kafka", "10.88.0.51", 9092, 60) is True


def test_a_failed_unit_is_named_with_its_journal_at_once():
    host = ScriptedHost([
        ("/dev/tcp", True, "closed\n"),
        ("is-failed", True, ""),
        ("journalctl", True, "ERROR Exiting Kafka due to fatal exception\n"
                             "java.lang.OutOfMemoryError: Java heap space\n"),
    ])
    with pytest.raises(EsdrError) as failed:
        kafka._wait_listening(None, host, "kafka", "10.88.0.51", 9092, 60)
    assert "kafka failed to start on os1-az1" in str(failed.value)
    assert "OutOfMemoryError" in str(failed.value)
    assert sum("/dev/tcp" in c for c in host.commands) == 1


def test_gives_up_after_its_bound(monkeypatch):
    clock = iter(range(0, 1000, 7))
    monkeypatch.setattr(node_api.time, "monotonic", lambda: next(clock))
    host = ScriptedHost([("/dev/tcp", True, "closed\n"), ("is-failed", False, "")])
    with pytest.raises(EsdrError) as timed_out:
        kafka._wait_listening(None, host, "kafka", "10.88.0.51", 9092, 30)
    assert "timed out after 30s waiting for kafka on os1-az1 to listen on 10.88.0.51:9092" in str(
        timed_out.value)
    assert sum("/dev/tcp" in c for c in host.commands) <= 16
