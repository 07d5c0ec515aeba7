"""The controller-side secrets directory: the estate CA, node certificates, generated secrets.

One directory per estate, so every cluster of an estate (DC1, DC2) trusts the same CA and remote
clusters connect over transport TLS without extra trust wiring. Default:
``$XDG_DATA_HOME/esdr/secrets/<estate>`` (``~/.local/share/esdr/secrets/<estate>``), where
``<estate>`` is the name of the estate file (``group_data/estates/lab.yml`` -> ``lab``) or, for an
inventory without one, the cluster name. Override with ``es_secrets_dir``. Outside the repo on
purpose: nothing in it may ever be committed.

Layout (directories 0700, files 0600; the umask is forced while writing)::

    ca.crt ca.key                  the estate CA (absent when es_ca brings your own)
    marker.key                     keys the HMAC markers the deploy leaves on hosts
    nodes/<cluster>/<node>.crt     node certificates (.key beside each)
    ca-rotation.json               while ``esdr certs rotate-ca`` runs: its phase, resumable
    ca-next.crt ca-next.key        the CA being rotated in (becomes ca.crt/ca.key at the end)
    ca-bundle.crt                  old + new CA, what controller clients trust meanwhile
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as _random
from collections.abc import Iterator
from pathlib import Path

from esdr.errors import EsdrError
from esdr.model import Cluster
from esdr.paths import confined

DIR_MODE = 0o700
FILE_MODE = 0o600


def estate_name(cluster: Cluster) -> str:
    """The estate's name: its file's stem, else the cluster name."""
    estate = cluster.settings.get("es_estate")
    source = estate.get("_source") if isinstance(estate, dict) else None
    if source:
        return Path(str(source)).stem
    return str(cluster.name or "default")


def default_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "esdr" / "secrets"


def secrets_dir(cluster: Cluster) -> Path:
    explicit = cluster.settings.get("es_secrets_dir")
    if explicit:
        return Path(str(explicit)).expanduser()
    where = f"secrets of cluster {cluster.name!r}"
    return confined(default_root(), estate_name(cluster), what=where, follow_links=False)


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) 0700; refuse one that others can read."""
    with _private_umask():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, DIR_MODE)  # ours to fix: esdr created it, or the user pointed here
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` 0600 atomically (temp file + rename), so a crash never leaves half a key."""
    ensure_dir(path.parent)
    temp = path.with_name(f".{path.name}.tmp")
    with _private_umask():
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(temp, FILE_MODE)
    os.replace(temp, path)


def read_private(path: Path) -> bytes | None:
    """The file's bytes, ``None`` when absent; refuses a secret others may read."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None
    if mode & 0o077 and path.suffix in (".key",):
        raise EsdrError(
            f"{path} is mode {mode:o}: a private key readable by others",
            hint=f"chmod 600 {path} (and consider the key compromised)",
        )
    return path.read_bytes()


class Staged(dict[Path, bytes]):
    """Writes kept back until the deploy executes (path -> bytes), so ``pyinfra --dry`` can show
    what would be issued while the secrets directory stays exactly as it was. Its repr names
    the paths only: pyinfra prints operation arguments, and these bytes are private keys."""

    def __repr__(self) -> str:
        return f"Staged({', '.join(str(p) for p in self)})"


def read_staged(path: Path, staged: Staged | None) -> bytes | None:
    """``read_private``, seeing what ``staged`` holds for ``path`` first."""
    if staged is not None and path in staged:
        return staged[path]
    return read_private(path)


def write_or_stage(path: Path, data: bytes, staged: Staged | None) -> None:
    """Write now (``staged`` None), or keep the write in ``staged`` for ``write_staged``."""
    if staged is None:
        write_private(path, data)
    else:
        staged[path] = data


def write_staged(staged: Staged) -> list[Path]:
    """Write what was staged, in order (the CA before what it signed); the paths written."""
    for path, data in staged.items():
        write_private(path, data)
    return list(staged)


def marker_key(directory: Path, staged: Staged | None = None) -> bytes:
    """The estate's random HMAC key, created once. Markers on hosts prove "this secret is
    deployed" without a plain hash of it that could be brute-forced offline."""
    path = directory / "marker.key"
    existing = read_staged(path, staged)
    if existing:
        return existing
    key = _random.token_bytes(32)
    write_or_stage(path, key, staged)
    return key


def generated_secret_file(path: str | Path) -> str:
    """For lab inventories only: the path of a random password file, created 0600 if missing.

    The lab needs a password without a manual step and without one in git; group data calls this
    while pyinfra loads the inventory, and the tests read the same file.
    """
    target = Path(path).expanduser()
    if not target.exists():
        write_private(target, (_random.token_urlsafe(24) + "\n").encode())
    return str(target)


ROTATION_STATE = "ca-rotation.json"


def read_rotation(directory: Path) -> dict | None:
    """The CA rotation's recorded state, ``None`` when no rotation is under way."""
    raw = read_private(directory / ROTATION_STATE)
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError as exc:
        raise EsdrError(
            f"{directory / ROTATION_STATE}: not the CA rotation's JSON state ({exc})",
            hint="restore it from a backup, or remove it and ca-next.* only if no node trusts "
            "the new CA yet",
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("phase"), str):
        raise EsdrError(f"{directory / ROTATION_STATE}: no phase recorded")
    return state


def write_rotation(directory: Path, state: dict) -> None:
    write_private(directory / ROTATION_STATE, (json.dumps(state, indent=1) + "\n").encode())


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
