"""How the suite reaches each host: the route pyinfra's ssh connector takes for the same host
data (``esdr.model.SshRoute``; https://docs.pyinfra.com/en/3.x/connectors/ssh.html), written
as an OpenSSH client config for pytest-testinfra's ``ssh://`` backend, which runs the ``ssh``
binary with ``-F``. Pure: text in, text out; ``esdr.verify.run`` writes the file (0600).

A password (``ssh_password``, ``ssh_key_password``, a sudo password) is refused: the ``ssh``
binary takes one only from a terminal or from ``sshpass -p`` in argv, and a password never goes
into argv. Load the key into ssh-agent instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from esdr.errors import BadInput
from esdr.verify.plan import Target

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# pyinfra's escalations the ssh binary cannot do without a password in argv, or at all here
_UNSUPPORTED = ("_sudo_password", "_su_user", "_su_password", "_doas", "_doas_user")


def alias(target: Target, index: int) -> str:
    """The name the config knows the host by: its inventory name when ssh can take it as one
    word, else a made-up one (the test ids keep the inventory name either way)."""
    return target.name if _ALIAS.match(target.name) else f"esdr-verify-host-{index}"


def refusals(targets: Sequence[Target], host_data: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per host whose route the suite cannot take without a password in argv."""
    out = []
    for target in targets:
        data = host_data.get(target.name, {})
        keys = [k for k in ("ssh_password", "ssh_key_password", *_UNSUPPORTED) if data.get(k)]
        if keys:
            out.append(f"host {target.name}: {', '.join(keys)} set: esdr verify runs the ssh "
                       "binary, which would need it in argv (fix: use a key without a "
                       "passphrase, or load it into ssh-agent, and passwordless sudo)")
    return out


def _quoted(value: str) -> str:
    if not value or any(c in value for c in ' \t"'):
        if '"' in value or "\n" in value:
            raise BadInput(f"ssh setting {value!r} cannot be written into an ssh config",
                           hint="use a path without double quotes or line breaks")
        return f'"{value}"'
    return value


def config_text(targets: Sequence[Target], control_dir: str) -> str:
    """An ssh_config(5) with one ``Host`` block per target: what pyinfra's host data says, and
    nothing asked at a terminal (BatchMode). ``control_dir``: where the multiplexed connections'
    sockets live (one SSH connection per host for all its checks)."""
    lines = ["# Written by esdr verify for one run, removed after it."]
    includes = []
    for index, target in enumerate(targets):
        route = target.ssh
        lines += [f"Host {alias(target, index)}", f"    HostName {_quoted(route.hostname)}"]
        if route.port:
            lines.append(f"    Port {int(route.port)}")
        if route.user:
            lines.append(f"    User {_quoted(route.user)}")
        if route.key:
            lines += [f"    IdentityFile {_quoted(route.key)}", "    IdentitiesOnly yes"]
        elif route.look_for_keys is False:
            lines.append("    IdentitiesOnly yes")
        if route.allow_agent is False:
            lines.append("    IdentityAgent none")
        # pyinfra's default is accept-new (a new host's key is added, a changed one refused)
        checking = route.strict_host_key_checking or "accept-new"
        lines.append(f"    StrictHostKeyChecking {_quoted(str(checking))}")
        if route.known_hosts_file:
            lines.append(f"    UserKnownHostsFile {_quoted(route.known_hosts_file)}")
        lines += ["    BatchMode yes", "    PasswordAuthentication no",
                  f"    ControlPath {_quoted(control_dir.rstrip('/') + '/%C')}"]
        if route.config_file and route.config_file not in includes:
            includes.append(route.config_file)
    for path in includes:  # what host data leaves out, the user's own config may say
        lines += ["Match all", f"    Include {_quoted(path)}"]
    return "\n".join(lines) + "\n"


def hostspec(target: Target, index: int) -> str:
    """pytest-testinfra's host spec, ``ssh://user@alias:port`` (user and port when the host
    data gives them; else the config's and ssh's defaults)."""
    route = target.ssh
    user = f"{route.user}@" if route.user else ""
    port = f":{int(route.port)}" if route.port else ""
    return f"ssh://{user}{alias(target, index)}{port}"


def host_options(target: Target, config_path: str) -> dict[str, Any]:
    """Keyword arguments of ``testinfra.get_host`` for ``target``."""
    options: dict[str, Any] = {"ssh_config": config_path}
    if target.sudo:
        options["sudo"] = True
        if target.sudo_user:
            options["sudo_user"] = target.sudo_user
    return options
