"""Credentials by reference: ``{"env": "NAME"}`` or ``{"file": "/path"}``, never a literal.

The rendered gateway.yml carries only ``$[[env.VAR]]`` (INFINI resolves it at runtime from the
process environment); the secret itself reaches the host only in the unit's EnvironmentFile,
mode 0600, owned by the gateway user. ``resolve`` runs on the controller at deploy time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esdr.errors import EsdrError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KINDS = ("env", "file")


@dataclass(frozen=True)
class SecretRef:
    kind: str  # "env": an environment variable of the deploying machine; "file": a local file
    value: str  # the variable's name or the file's path

    def __str__(self) -> str:
        return f"{{{self.kind!r}: {self.value!r}}}"


def parse_ref(raw: Any) -> SecretRef | None | str:
    """A ``SecretRef``; ``None`` when absent; a string saying what is wrong otherwise.

    A plain string is refused on purpose: a password typed into group data ends up in git.
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        return "is a literal string; give a reference instead: {'env': 'NAME'} or {'file': '/path'}"
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in KINDS:
        return "must be exactly one of {'env': 'NAME'} or {'file': '/path'}"
    kind, value = next(iter(raw.items()))
    if not isinstance(value, str) or not value:
        return f"{kind!r} needs a non-empty string"
    if kind == "env" and not _ENV_NAME.match(value):
        return f"{value!r} is not an environment variable name"
    if kind == "file" and not value.startswith("/"):
        return f"file {value!r} must be an absolute path"
    return SecretRef(kind, value)


def runtime_env_name(cluster_name: str) -> str:
    """The variable the gateway process reads the cluster's password from (not the secret)."""
    return "ESDR_GW_" + re.sub(r"[^A-Za-z0-9]", "_", cluster_name).upper() + "_PASSWORD"


def runtime_ref(cluster_name: str) -> str:
    """What gateway.yml holds instead of the password: INFINI's environment lookup."""
    return f"$[[env.{runtime_env_name(cluster_name)}]]"


def resolve(ref: SecretRef, where: str) -> str:
    """The secret, read on the controller at deploy time. Never logged, never in argv."""
    if ref.kind == "env":
        value = os.environ.get(ref.value)
        if not value:
            raise EsdrError(
                f"{where}: environment variable {ref.value} is not set on this machine",
                hint=f"export {ref.value}=... before the deploy (it is read, never printed)",
            )
        return value
    path = Path(ref.value)
    try:
        value = path.read_text().rstrip("\n")
    except OSError as exc:
        raise EsdrError(
            f"{where}: cannot read the password file {ref.value}: {exc.strerror}",
            hint="create it (mode 0600) on the machine that runs the deploy",
        ) from None
    if not value:
        raise EsdrError(f"{where}: password file {ref.value} is empty", hint="write the secret")
    return value


def env_file_text(values: dict[str, str]) -> str:
    """systemd EnvironmentFile syntax; values single-quoted so spaces and $ survive."""
    lines = ["# esdr: secrets of the INFINI Gateway (mode 0600). Do not edit: the deploy owns it."]
    for name, value in sorted(values.items()):
        if "\n" in value or "'" in value:
            raise EsdrError(
                f"the secret for {name} contains a newline or a single quote",
                hint="systemd's EnvironmentFile cannot carry it safely; choose another password",
            )
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"
