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
    gateway-password               the INFINI Gateway's own user (esdr_gateway), both engines
    nodes/<cluster>/<node>.crt     node certificates (.key beside each)
    ca-rotation.json               while ``esdr certs rotate-ca`` runs: its phase, resumable
    ca-next.crt ca-next.key        the CA being rotated in (becomes ca.crt/ca.key at the end)
    ca-bundle.crt                  old + new CA, what controller clients trust meanwhile
    .esdr.lock                     flock(2)ed by whoever writes (``locked``); names the holder

The directory must be the user's own and writable by nobody else (``ensure_dir``), and no write
goes through a symlink (``write_private``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets as _random
import socket
import stat
import sys
import time
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


def _refuse_unsafe_dir(path: Path) -> os.stat_result:
    """The directory's stat, once it is clear nobody but this user can add or swap entries in
    it. Whoever can write a directory can plant a symlink where esdr is about to write a key
    (``.ca.key.tmp`` -> anywhere), and a directory esdr does not own is not esdr's to chmod."""
    try:
        st = os.stat(path)
        link = os.lstat(path)
    except OSError as exc:
        raise EsdrError(f"secrets directory {path}: {exc.strerror}") from None
    uid = os.geteuid()
    wrong = []
    if not stat.S_ISDIR(st.st_mode):
        raise EsdrError(f"secrets directory {path} is not a directory",
                        hint="point es_secrets_dir at a directory (esdr creates it, mode 0700)")
    if st.st_uid != uid:
        wrong.append(f"owned by uid {st.st_uid}, not by you (uid {uid})")
    if st.st_mode & 0o022:
        who = "group and others" if st.st_mode & 0o022 == 0o022 else (
            "others" if st.st_mode & 0o002 else "its group")
        wrong.append(f"mode {stat.S_IMODE(st.st_mode):o}, so {who} can create files in it")
    if stat.S_ISLNK(link.st_mode) and link.st_uid not in (uid, 0):
        wrong.append(f"reached through a symbolic link owned by uid {link.st_uid}")
    if wrong:
        raise EsdrError(
            f"secrets directory {path} is {' and '.join(wrong)}: whoever can write there can "
            "plant a link that makes esdr write a private key elsewhere",
            hint="use a directory only you can write: mkdir -m 700 DIR and set es_secrets_dir "
            f"to it, or, if {path} is yours, chown it to yourself and chmod 700 {path}",
        )
    return st


def ensure_dir(path: Path, *, own: bool = True) -> Path:
    """``path``, created 0700 when missing (and its parents); refused unless this user owns
    it and nobody else can write to it. ``own``: a directory esdr keeps (tightened to 0700
    when others may read it); without it, a directory the user chose, never changed."""
    if own:
        with _private_umask():
            path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    st = _refuse_unsafe_dir(path)  # after mkdir: one someone else created first is refused too
    if own and st.st_mode & 0o077:
        os.chmod(path, DIR_MODE)  # the user's own and nobody else's to fill: esdr may tighten it
    return path


# Writes go to a temp file beside the target, then rename(2) it over the target: a crash never
# leaves half a key. rename replaces a symlink at the target rather than following it, and the
# temp file is created with O_CREAT | O_EXCL | O_NOFOLLOW, which fails on any existing entry,
# a symlink included (https://man7.org/linux/man-pages/man2/open.2.html): nothing planted in the
# directory can redirect a write.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_private(path: Path, data: bytes, *, own_dir: bool = True) -> None:
    """Write ``data`` 0600 atomically (temp file + fsync + rename), never through a symlink.

    ``own_dir``: the parent is esdr's (created 0700 when missing); without it, a directory the
    user chose (it must exist, be theirs and be writable by them only)."""
    ensure_dir(path.parent, own=own_dir)
    temp = path.with_name(f".{path.name}.tmp")
    _remove_stale_temp(temp)
    with _private_umask():
        try:
            fd = os.open(temp, _CREATE, FILE_MODE)
        except FileExistsError:
            raise EsdrError(f"{temp} appeared while esdr was about to write {path.name}: "
                            "another process writes in this directory",
                            hint=f"find out which, remove {temp} and rerun") from None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, FILE_MODE)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            remove(temp)
            raise
        os.close(fd)
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _remove_stale_temp(temp: Path) -> None:
    """A temp file left by a run that stopped before its rename goes; anything else in its
    place (a symlink, a directory) is refused, as esdr never made it."""
    try:
        st = os.lstat(temp)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
        remove(temp)
        return
    kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a file of yours"
    raise EsdrError(
        f"{temp} is {kind}: esdr writes only files it creates itself and never writes through "
        "a link; nothing was written",
        hint=f"find out who put it there, then remove {temp} (rm removes the link, not its "
        "target) and rerun",
    )


def _fsync_dir(directory: Path) -> None:
    """The rename itself made durable (fsync(2) on the directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _must_be_private(path: Path) -> bool:
    return path.suffix == ".key" or path.name == ROTATION_STATE


def refuse_readable(path: Path, mode: int, what: str) -> None:
    """A secret others may read is refused, as ssh refuses a private key others may read."""
    if mode & 0o077:
        raise EsdrError(
            f"{path} is mode {mode:o}: {what} readable by others",
            hint=f"chmod 600 {path} (and consider the secret compromised)",
        )


def read_private(path: Path, *, secret: bool = False) -> bytes | None:
    """The file's bytes, ``None`` when absent; refuses a private key, the CA rotation's state,
    or (``secret``) any other secret file that others may read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)  # of what was opened, not of a later swap
        if secret or _must_be_private(path):
            refuse_readable(path, mode, "a private key" if path.suffix == ".key" else "a secret")
        return file.read()


# --- the lock: one writer per secrets directory ---------------------------------------------------

LOCK_NAME = ".esdr.lock"
LOCK_WAIT = 60.0  # seconds a writer waits for another before it gives up and says who
_held: dict[tuple[int, str], tuple[int, int]] = {}  # (pid, directory) -> (fd, depth)


@contextlib.contextmanager
def locked(directory: Path, what: str) -> Iterator[None]:
    """Hold the secrets directory's exclusive lock (``what`` says who holds it).

    Everything that reads the store and then writes it runs inside: without it, two
    ``esdr certs renew`` of one estate each found no CA and each created one. flock(2) locks
    belong to the open file, so a process that dies releases its lock
    (https://man7.org/linux/man-pages/man2/flock.2.html). Re-entrant within a process."""
    ensure_dir(directory)
    key = (os.getpid(), os.path.realpath(directory))
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[key]
            _held[key] = (fd, depth - 1)
        return
    fd = _acquire(directory / LOCK_NAME, what)
    _held[key] = (fd, 1)
    try:
        yield
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # releases the lock


def _acquire(path: Path, what: str) -> int:
    with _private_umask():
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                     FILE_MODE)
    deadline = time.monotonic() + LOCK_WAIT
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _holder(fd)
            if time.monotonic() >= deadline:
                os.close(fd)
                raise EsdrError(
                    f"the secrets directory {path.parent} is locked by {holder}; "
                    f"waited {LOCK_WAIT:.0f} s",
                    hint="let that run finish, then rerun; the lock goes with its process "
                    "(ps -p PID says whether it still runs)",
                ) from None
            if not said:
                print(f"[esdr] waiting for the lock on {path.parent}, held by {holder}",
                      file=sys.stderr, flush=True)
                said = True
            time.sleep(0.1)
    record = (f"pid {os.getpid()} on {socket.gethostname()} ({what}, since "
              f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})\n")
    os.ftruncate(fd, 0)
    os.pwrite(fd, record.encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process (it has not said which yet)"


class Staged(dict[Path, bytes]):
    """Writes kept back until the deploy executes (path -> bytes), so ``pyinfra --dry`` can show
    what would be issued while the secrets directory stays exactly as it was. Its repr names
    the paths only: pyinfra prints operation arguments, and these bytes are private keys.

    Beside each path: its secrets directory (``roots``, whose lock ``write_staged`` takes) and
    what the file held when the write was staged (``base``), so that a store another run
    changed in the meantime (a second CA) is refused rather than overwritten."""

    def __init__(self, *args: object, **kwargs: bytes) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        source = args[0] if args else None
        self.roots: dict[Path, Path] = dict(source.roots) if isinstance(source, Staged) else {}
        self.base: dict[Path, bytes | None] = (
            dict(source.base) if isinstance(source, Staged) else {})

    def __repr__(self) -> str:
        return f"Staged({', '.join(str(p) for p in self)})"


def read_staged(path: Path, staged: Staged | None) -> bytes | None:
    """``read_private``, seeing what ``staged`` holds for ``path`` first."""
    if staged is not None and path in staged:
        return staged[path]
    return read_private(path)


def write_or_stage(path: Path, data: bytes, staged: Staged | None, *, root: Path) -> None:
    """Write now (``staged`` None), or keep the write in ``staged`` for ``write_staged``.
    ``root``: the secrets directory ``path`` lies in (whose lock a write holds)."""
    if staged is None:
        with locked(root, "writing the secrets directory"):
            write_private(path, data)
    else:
        if path not in staged.base:
            staged.base[path] = read_private(path)
        staged.roots[path] = root
        staged[path] = data


def write_staged(staged: Staged) -> list[Path]:
    """Write what was staged, in order (the CA before what it signed); the paths written.
    Nothing is written when a file changed since it was staged: the deploy issued from a store
    that is no longer there, and writing would mix two runs' CAs and certificates."""
    roots = sorted({staged.roots.get(path, path.parent) for path in staged})
    with contextlib.ExitStack() as stack:
        for root in roots:
            stack.enter_context(locked(root, "deploy storing issued certificates"))
        # a file that already holds what was staged is no conflict: another part of this run
        # (the nodes' and the gateway tier's certificates share one staging) stored it first
        current = {path: read_private(path) for path in staged}
        changed = [path for path in staged if path in staged.base
                   and current[path] not in (staged.base[path], staged[path])]
        if changed:
            raise EsdrError(
                f"another esdr run changed {', '.join(map(str, changed))} while this deploy ran: "
                "nothing it issued was stored, and no host got it",
                hint="rerun the deploy: it issues from what is stored now",
            )
        for path, data in staged.items():
            if current[path] != data:
                write_private(path, data)
    return list(staged)


def marker_key(directory: Path, staged: Staged | None = None) -> bytes:
    """The estate's random HMAC key, created once. Markers on hosts prove "this secret is
    deployed" without a plain hash of it that could be brute-forced offline."""
    path = directory / "marker.key"
    existing = read_staged(path, staged)
    if existing:
        return existing
    with contextlib.ExitStack() as stack:
        if staged is None:  # read again under the lock: a concurrent run may have made it
            stack.enter_context(locked(directory, "creating the marker key"))
            existing = read_private(path)
            if existing:
                return existing
        key = _random.token_bytes(32)
        write_or_stage(path, key, staged, root=directory)
    return key


def generated_password(directory: Path, name: str, staged: Staged | None = None) -> str:
    """A random password esdr keeps in the secrets directory, created once (``name``, 0600).

    Written as ``generated_secret_file`` writes one (URL-safe characters, a newline), so a
    ``{"file": ...}`` reference to it reads the same password; under ``staged``, a new one is
    kept back like the marker key. One whose file others may read is refused."""
    path = directory / name

    def stored() -> bytes | None:  # an empty file (a crash, a hand edit) holds no password
        data = staged.get(path) if staged is not None else None
        data = data if data is not None else read_private(path, secret=True)
        return data if data and data.strip() else None

    existing = stored()
    if existing is None:
        with contextlib.ExitStack() as stack:
            if staged is None:  # read again under the lock: a concurrent run may have made it
                stack.enter_context(locked(directory, f"creating {name}"))
                existing = stored()
            if existing is None:
                existing = (_random.token_urlsafe(24) + "\n").encode()
                write_or_stage(path, existing, staged, root=directory)
    return existing.decode().rstrip("\n")


def generated_secret_file(path: str | Path) -> str:
    """For lab inventories only: the path of a random password file, created 0600 if missing.

    The lab needs a password without a manual step and without one in git; group data calls this
    while pyinfra loads the inventory, and the tests read the same file.
    """
    target = Path(path).expanduser()
    if read_private(target, secret=True) is None:  # an existing one others may read is refused
        with locked(target.parent, "creating a lab password"):
            if read_private(target, secret=True) is None:
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
    """Written under the directory's lock (held by the caller for a read-then-write)."""
    with locked(directory, "recording the CA rotation"):
        write_private(directory / ROTATION_STATE, (json.dumps(state, indent=1) + "\n").encode())


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
