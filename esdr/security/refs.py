"""Secrets by reference: ``{"env": "NAME"}`` or ``{"file": "/path"}``, never a literal string.

Inventories and group data are committed; a password typed there ends up in git. A reference
names where the secret lives on the machine that runs the deploy; ``resolve`` reads it there at
deploy time. The value travels only inside ``Secret``, whose ``str``/``repr`` never show it, so
it cannot slip into pyinfra's operation arguments, logs or ``--json`` output by accident.
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
    kind: str  # "env": a variable of the deploying machine's environment; "file": a local file
    value: str  # the variable's name or the file's absolute path

    def __str__(self) -> str:
        return f"{{{self.kind!r}: {self.value!r}}}"


@dataclass(frozen=True, repr=False)
class Secret:
    """A resolved secret. Printing it shows ``<secret>``; ``.reveal()`` is the way in."""

    value: str

    def reveal(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret(<secret>)"

    __str__ = __repr__


def parse_ref(raw: Any) -> SecretRef | None | str:
    """A ``SecretRef``; ``None`` when absent; otherwise a string saying what is wrong."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return (
            "is a literal string; give a reference instead: {'env': 'NAME'} or {'file': '/path'} "
            "(a literal in group data ends up in git)"
        )
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


def resolve(ref: SecretRef, where: str) -> Secret:
    """The secret, read on the controller; ``EsdrError`` names the reference, never the value."""
    if ref.kind == "env":
        value = os.environ.get(ref.value)
        if not value:
            raise EsdrError(
                f"{where}: environment variable {ref.value} is not set on this machine",
                hint=f"export {ref.value}=... before running esdr (it is read, never printed)",
            )
        return Secret(value)
    try:
        value = Path(ref.value).read_text().rstrip("\n")
    except OSError as exc:
        raise EsdrError(
            f"{where}: cannot read the secret file {ref.value}: {exc.strerror}",
            hint="create it (mode 0600) on the machine that runs esdr",
        ) from None
    if not value:
        raise EsdrError(f"{where}: secret file {ref.value} is empty", hint="write the secret in it")
    return Secret(value)


def resolve_setting(raw: Any, where: str) -> Secret:
    """Resolve a group-data setting that must be a reference (validation refused the rest)."""
    ref = parse_ref(raw)
    if not isinstance(ref, SecretRef):
        raise EsdrError(f"{where} {ref or 'is not set'}", hint="see esdr validate")
    return resolve(ref, where)
