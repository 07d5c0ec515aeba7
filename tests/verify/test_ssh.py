"""The suite's way to each host: pyinfra's SSH host data as an ssh_config for testinfra."""

from __future__ import annotations

import pytest

from esdr.errors import BadInput
from esdr.model import SshRoute, ssh_route
from esdr.verify.plan import Target
from esdr.verify.ssh import alias, config_text, host_options, hostspec, refusals

LAB = {"ssh_hostname": "10.88.0.14", "ssh_user": "root",
       "ssh_key": "/var/lib/esdr-lab/ssh/id_ed25519", "ssh_strict_host_key_checking": "no",
       "ssh_known_hosts_file": "/dev/null"}


def _target(name: str, data: dict, **kw) -> Target:
    return Target(name, ("elasticsearch",), ssh_route(name, data), **kw)


def test_the_lab_route_as_an_ssh_config():
    text = config_text([_target("dc1-data-az1", LAB)], "/tmp/esdr-verify-x")
    assert text.splitlines()[1:] == [
        "Host dc1-data-az1",
        "    HostName 10.88.0.14",
        "    User root",
        "    IdentityFile /var/lib/esdr-lab/ssh/id_ed25519",
        "    IdentitiesOnly yes",
        "    StrictHostKeyChecking no",
        "    UserKnownHostsFile /dev/null",
        "    BatchMode yes",
        "    PasswordAuthentication no",
        "    ControlPath /tmp/esdr-verify-x/%C",
    ]
    assert hostspec(_target("dc1-data-az1", LAB), 0) == "ssh://root@dc1-data-az1"


def test_port_agent_and_pyinfras_default_host_key_policy():
    data = {"ssh_hostname": "es1.example", "ssh_port": "2222", "ssh_user": "deploy",
            "ssh_allow_agent": False, "ssh_look_for_keys": False,
            "ssh_config_file": "/home/op/.ssh/config"}
    target = _target("es1", data)
    text = config_text([target], "/t")
    assert "    Port 2222" in text and "    IdentityAgent none" in text
    assert "    IdentitiesOnly yes" in text
    assert "    StrictHostKeyChecking accept-new" in text  # pyinfra's default
    assert text.endswith("Match all\n    Include /home/op/.ssh/config\n")
    assert hostspec(target, 0) == "ssh://deploy@es1:2222"


def test_a_name_ssh_cannot_take_gets_an_alias_and_paths_with_spaces_are_quoted():
    target = _target("odd host", {"ssh_key": "/keys/my key"})
    assert alias(target, 3) == "esdr-verify-host-3"
    text = config_text([target], "/t")
    assert "Host esdr-verify-host-0" in text and '    IdentityFile "/keys/my key"' in text
    assert '    HostName "odd host"' in text
    with pytest.raises(BadInput):
        config_text([_target("x", {"ssh_key": '/k/"q'})], "/t")


def test_sudo_as_pyinfra_does_it():
    plain = _target("a", LAB)
    assert host_options(plain, "/t/cfg") == {"ssh_config": "/t/cfg"}
    sudo = _target("a", LAB, sudo=True, sudo_user="elastic-admin")
    assert host_options(sudo, "/t/cfg") == {"ssh_config": "/t/cfg", "sudo": True,
                                                 "sudo_user": "elastic-admin"}


def test_a_password_is_refused_and_never_shown():
    secret = "hunter2-very-secret"
    targets = [_target("a", {"ssh_password": secret}), _target("b", LAB),
               Target("c", ("gateway",), SshRoute("c"))]
    data = {"a": {"ssh_password": secret}, "b": LAB, "c": {"_sudo_password": secret}}
    lines = refusals(targets, data)
    assert [line.split(":")[0] for line in lines] == ["host a", "host c"]
    assert all(secret not in line for line in lines)
    assert "ssh_password" in lines[0] and "_sudo_password" in lines[1]
    assert secret not in config_text(targets, "/t")
