"""The gateway's admin API, as esdr renders it by default, answers on loopback only (the real
binary, 127.0.0.0/8 only).

The API has no authentication: ``GET /config/runtime`` and ``GET /environments`` answer both
clusters' passwords (framework modules/configs/config/config.go). Linux routes the whole of
127.0.0.0/8 to ``lo``, so 127.0.0.2 is "another address" of this host that a wildcard
binding (the old default 0.0.0.0) answers on, as it would on the host's network address.
"""

from __future__ import annotations

import http.client
import socket

import pytest
import yaml

from esdr.gateway.render import gateway_yml
from tests.gateway.binary import Gateway, answer, free_port, loopback
from tests.gateway.factory import tier

PASSWORDS = {"ESDR_GW_DC1_PASSWORD": "dc1-only-on-loopback",
             "ESDR_GW_DC2_PASSWORD": "dc2-only-on-loopback"}
ANOTHER_ADDRESS = "127.0.0.2"


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2.0):
            return True
    except ConnectionRefusedError:
        return False


def _get(address: str, port: int, path: str) -> str:
    connection = http.client.HTTPConnection(address, port, timeout=2.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def test_the_default_api_gives_passwords_on_127_0_0_1_and_refuses_another_address(
        gateway_binary, tmp_path, monkeypatch) -> None:
    port = free_port()
    model = tier(gateway_api_port=port)  # gateway_api_listen_address left to its default
    rendered = yaml.safe_load(gateway_yml(model, model.gateways[0]))
    assert rendered["api"]["network"]["binding"] == f"127.0.0.1:{port}"
    # the helper makes data paths, the entry and the clusters loopback-safe; the API keeps
    # esdr's own binding
    doc, entry_port, _ = loopback(rendered, tmp_path, "http://127.0.0.1:9")
    doc["api"] = rendered["api"]
    for name, value in PASSWORDS.items():  # what the unit's EnvironmentFile gives the process
        monkeypatch.setenv(name, value)
    gateway = Gateway(gateway_binary, tmp_path, doc, port, entry_port).start()
    try:
        assert gateway.came_up(), gateway.output()
        # on loopback the API answers, passwords included: what is at stake
        for path in ("/config/runtime", "/environments"):
            status, body = answer(f"http://127.0.0.1:{port}{path}")
            assert status == 200, (path, status, body[:200])
            assert all(value in body for value in PASSWORDS.values()), path
        # from another address nothing answers at all (that address itself works here: a
        # port bound to it answers, so the refusal is the API's binding)
        with socket.socket() as other:
            other.bind((ANOTHER_ADDRESS, 0))
            other.listen(1)
            assert _connects(ANOTHER_ADDRESS, other.getsockname()[1])
        assert not _connects(ANOTHER_ADDRESS, port)
        for path in ("/config/runtime", "/environments"):  # so no password is read there
            with pytest.raises(ConnectionRefusedError):
                _get(ANOTHER_ADDRESS, port, path)
        assert _connects("127.0.0.1", port)  # still up: the refusal is the binding's
    finally:
        gateway.stop()
