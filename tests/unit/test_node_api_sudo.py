"""The deploy's own API calls (health waits, allocation during a roll) run `curl -K` on the
node's host, reading root's 0600 curl config: with a non-root SSH user they need the host's
`_sudo`, as pyinfra's facts get it."""

from __future__ import annotations

from types import SimpleNamespace

from esdr.node_api import NodeApi


class _Host:
    def __init__(self, data: dict):
        self.data = data
        self.calls: list[dict] = []

    def run_shell_command(self, command, **arguments):
        self.calls.append(arguments)
        return True, SimpleNamespace(stdout='{"status": "green"}\n200')


def _api(host: _Host) -> NodeApi:
    return NodeApi(host, "10.0.0.1", 9200, scheme="https", curl_config="/etc/esdr/es-api.curlrc")


def test_api_calls_run_with_the_hosts_sudo() -> None:
    host = _Host({"ssh_user": "deploy", "_sudo": True, "_sudo_user": None})
    assert _api(host).health() == {"status": "green"}
    assert host.calls == [{"_timeout": 40, "_sudo": True}]


def test_api_calls_without_sudo_stay_plain() -> None:
    host = _Host({"ssh_user": "root"})
    _api(host).health()
    assert host.calls == [{"_timeout": 40}]
