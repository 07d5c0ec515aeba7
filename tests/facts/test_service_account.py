"""``ServiceAccount`` says what pyinfra's own ``Users`` and ``Groups`` facts say about one
account, compared on this machine's real /etc/passwd and /etc/group (read only)."""

from __future__ import annotations

import subprocess

import pytest
from pyinfra.facts.server import Groups, Users

from esdr.facts.elasticsearch import ServiceAccount


def _read(fact, **kwargs):
    done = subprocess.run(["sh", "-c", fact.command(**kwargs)], capture_output=True, text=True,
                          timeout=60)
    return fact.process(done.stdout.splitlines())


@pytest.mark.parametrize("name", ["root", "daemon", "nobody", "esdr-no-such-user"])
def test_it_agrees_with_pyinfras_users_and_groups(name: str) -> None:
    users, groups = _read(Users()), _read(Groups())
    account = _read(ServiceAccount(), user=name)
    assert account["group_listed"] == (name in groups)
    if name not in users:
        assert account["user"] is None
    else:
        wanted = {key: users[name][key] for key in ("home", "shell", "group")}
        assert account["user"] == wanted
