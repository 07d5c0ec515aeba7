"""Credentials by reference: ``{"env": "NAME"}`` or ``{"file": "/path"}``, never a literal.

The rendered gateway.yml carries only ``$[[env.VAR]]`` (INFINI resolves it at runtime from the
process environment); the secret itself reaches the host only in the unit's EnvironmentFile,
mode 0600, owned by the gateway user. ``resolve`` runs on the controller at deploy time.
"""

from __future__ import annotations

import re

from esdr.errors import EsdrError
from esdr.security import refs
from esdr.security.refs import KINDS, SecretRef, parse_ref

__all__ = ["KINDS", "SecretRef", "env_file_text", "parse_ref", "resolve", "runtime_env_name",
           "runtime_ref"]


def runtime_env_name(cluster_name: str) -> str:
    """The variable the gateway process reads the cluster's password from (not the secret)."""
    return "ESDR_GW_" + re.sub(r"[^A-Za-z0-9]", "_", cluster_name).upper() + "_PASSWORD"


def runtime_ref(cluster_name: str) -> str:
    """What gateway.yml holds instead of the password: INFINI's environment lookup."""
    return f"$[[env.{runtime_env_name(cluster_name)}]]"


def resolve(ref: SecretRef, where: str) -> str:
    """The secret, read on the controller at deploy time. Never logged, never in argv."""
    return refs.resolve(ref, where).reveal()


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
