"""Credentials by reference: ``{"env": "NAME"}`` or ``{"file": "/path"}``, never a literal.

The rendered gateway.yml carries only ``$[[env.VAR]]`` (INFINI resolves it at runtime from the
process environment); the secret itself reaches the host only in the unit's EnvironmentFile,
mode 0600, owned by the gateway user. ``resolve`` runs on the controller at deploy time.
"""

from __future__ import annotations

import os
import re
import stat

from esdr.errors import EsdrError
from esdr.security import refs
from esdr.security.refs import KINDS, SecretRef, parse_ref

__all__ = ["KINDS", "SecretRef", "env_file_text", "parse_ref", "password_defects",
           "PASSWORD_FIX", "peek", "resolve", "runtime_env_name", "runtime_ref"]


def runtime_env_name(cluster_name: str) -> str:
    """The variable the gateway process reads the cluster's password from (not the secret)."""
    return "ESDR_GW_" + re.sub(r"[^A-Za-z0-9]", "_", cluster_name).upper() + "_PASSWORD"


def runtime_ref(cluster_name: str) -> str:
    """What gateway.yml holds instead of the password: INFINI's environment lookup."""
    return f"$[[env.{runtime_env_name(cluster_name)}]]"


SECRET_FILE_LIMIT = 64 * 1024  # a larger file holds no password


def resolve(ref: SecretRef, where: str) -> str:
    """The secret, read on the controller at deploy time. Never logged, never in argv.

    A file is read only when it is a regular file of at most SECRET_FILE_LIMIT bytes: a
    reference to a device (/dev/zero) or a pipe would otherwise be read without end."""
    if ref.kind == "file":
        try:
            info = os.stat(ref.value)
        except ValueError:  # a NUL in the path
            raise EsdrError(f"{where}: secret file {ref.value!r} is not a usable path",
                            hint="write the file's absolute path") from None
        except OSError:
            info = None  # refs.resolve names the reason
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise EsdrError(f"{where}: secret file {ref.value} is not a regular file",
                            hint="point the reference at a file holding the password")
        if info is not None and info.st_size > SECRET_FILE_LIMIT:
            raise EsdrError(f"{where}: secret file {ref.value} is larger than "
                            f"{SECRET_FILE_LIMIT // 1024} KiB: no password file",
                            hint="point the reference at a file holding the password")
    try:
        return refs.resolve(ref, where).reveal()
    except UnicodeDecodeError:
        raise EsdrError(f"{where}: secret file {ref.value} is not UTF-8 text",
                        hint="write the password in it as text") from None


# How the password reaches the gateway: the unit's EnvironmentFile sets ESDR_GW_<NAME>_PASSWORD,
# and the framework (vendored bd9f1dad, core/config/config.go) replaces $[[env.NAME]] in the
# TEXT of gateway.yml before parsing it as YAML, where esdr wrote it inside a double-quoted
# scalar:
# - LoadEnvVariablesFromConfig keeps an environment entry only when strings.Split(entry, "=")
#   gives two parts: a value holding '=' is dropped and the gateway logs in with the literal
#   text $[[env.NAME]] (seen with the vendored binary in GET /config/runtime);
# - '"' ends the YAML scalar: the gateway does not start ("did not find expected key");
# - '\' starts a YAML escape (https://yaml.org/spec/1.2.2/#57-escaped-characters): "a\tb"
#   arrives as a, tab, b;
# - NestedRenderingTemplate expands the result again while it holds '$[[' before ']]';
# - a line break or other control character breaks or folds the YAML line; a single quote
#   cannot be carried by the EnvironmentFile's single quoting (env_file_text).
_DEFECTS = (
    ("=", "'='"),
    ('"', "'\"'"),
    ("\\", "a backslash"),
    ("'", "a single quote"),
    ("$[[", "'$[['"),
    ("]]", "']]'"),
)
PASSWORD_FIX = ("choose a password without = \" \\ ' $[[ ]] or control characters (letters, "
                "digits and -_.~!@#%^&*+,:;?/ are safe) and change it on the cluster too")


def password_defects(value: str) -> list[str]:
    """What in ``value`` the gateway would not get intact, named by kind (never the value)."""
    found = [name for text, name in _DEFECTS if text in value]
    if any(not char.isprintable() for char in value):  # control, U+2028, U+0085, ...
        found.append("a control or line-break character")
    return found


def peek(ref: SecretRef) -> str | None:
    """The secret when this machine has it, else None (``esdr validate`` runs where the
    secrets may not be)."""
    try:
        return resolve(ref, "peek")
    except EsdrError:
        return None


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
