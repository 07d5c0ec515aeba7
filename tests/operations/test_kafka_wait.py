"""The wait behind kafka.restarted and kafka.listening, against a host that answers scripted
outputs: it returns once the port opens, names the host and the journal at once when the unit
has failed, and gives up after its bound; a failure is one red line on the host and a False
status (pyinfra would print a traceback for an exception out of the callback)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from esdr import node_api
from esdr.operations import kafka


class ScriptedHost:
    name = "os1-az1"
    data: dict = {}

    def __init__(self, answers):
        self.answers = answers  # (substring of the command, ok, stdout), first match wins
        self.commands: list[str] = []
        self.logged: list[str] = []

    def log_styled(self, message, **_):
        self.logged.append(message)

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
    assert kafka._wait_listening(None, host, "kafka", "10.88.0.51", 9092, 60) is False
    [line] = host.logged
    assert line.startswith("error: kafka failed to start on os1-az1")
    assert "OutOfMemoryError" in line
    assert sum("/dev/tcp" in c for c in host.commands) == 1


def test_gives_up_after_its_bound(monkeypatch):
    clock = iter(range(0, 1000, 7))
    monkeypatch.setattr(node_api.time, "monotonic", lambda: next(clock))
    host = ScriptedHost([("/dev/tcp", True, "closed\n"), ("is-failed", False, "")])
    assert kafka._wait_listening(None, host, "kafka", "10.88.0.51", 9092, 30) is False
    [line] = host.logged
    assert "timed out after 30s waiting for kafka on os1-az1 to listen on 10.88.0.51:9092" in line
    assert sum("/dev/tcp" in c for c in host.commands) <= 16


# What Elasticsearch 8.18.6 printed when its JVM could not write its gc log (seen on the lab)
DEAD_JVM = """Started elasticsearch.service - Elasticsearch node dc1-data-az2 (cluster esdr-lab-dc1).
java.lang.RuntimeException: starting java failed with [1]
output:
[0.000s][error][logging] Error opening log file 'logs/gc.log': Permission denied
error:
Error: Could not create the Java Virtual Machine.
Error: A fatal exception has occurred. Program will exit.
	at org.elasticsearch.server.cli.JvmOption.flagsFinal(JvmOption.java:113)
	at org.elasticsearch.server.cli.ServerCli.execute(ServerCli.java:95)
	at org.elasticsearch.cli.Command.mainWithoutErrorHandling(Command.java:101)
	at org.elasticsearch.cli.Command.main(Command.java:54)
	at org.elasticsearch.launcher.CliToolLauncher.main(CliToolLauncher.java:65)
elasticsearch.service: Main process exited, code=exited, status=70/SOFTWARE
elasticsearch.service: Failed with result 'exit-code'.
"""


def test_the_cause_of_a_dead_jvm_is_kept_and_its_stack_frames_dropped():
    cause = node_api.journal_cause(DEAD_JVM)
    assert "Error opening log file 'logs/gc.log': Permission denied" in cause
    assert "Command.java" not in cause
    assert cause.endswith("Failed with result 'exit-code'.")


def test_an_elasticsearch_node_that_dies_while_joining_fails_with_its_cause_not_a_traceback(
    monkeypatch,
):
    from esdr.operations import elasticsearch as es_ops

    class DeadNode:
        def __init__(self, *args, **kwargs):
            pass

        def read(self, fact):
            return None

        def health(self):
            return None

        def failed_unit_journal(self, unit, lines=8):
            return node_api.journal_cause(DEAD_JVM, lines)

    monkeypatch.setattr(es_ops, "NodeApi", DeadNode)
    host = ScriptedHost([])
    assert es_ops._wait_and_record(None, host, "10.88.0.15", 9200, None, 60,
                                   "elasticsearch") is False
    [line] = host.logged
    assert line.startswith("error: elasticsearch failed to start on os1-az1")
    assert "'logs/gc.log': Permission denied" in line
    assert "(fix: fix the cause, then rerun the deploy" in line
