"""Operations a deploy leaves out when what it read while preparing shows them done.

pyinfra runs every operation on every host in step and each one reads its facts again, one
round trip each (pyinfra 3 caches no fact). On a converged node most operations find nothing to
do: ``prefetch`` (``esdr.tasks.context``) has read their facts on every node at once in one
round trip per host, and the helpers here add an operation only when that read does not show
its end state exactly (same content, owner, group and mode). Anything not read, or read
different, gets the ordinary operation, which reads again when it runs and decides as always;
nothing the deploy does before removes a file, a directory or a marker, so a state read done
stays done.
"""

from __future__ import annotations

import hashlib
from io import StringIO
from typing import Any

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.facts.files import Directory, File, Link, Sha256File
from pyinfra.operations import files

from esdr.facts.batch import Read, read
from esdr.operations import secret_files
from esdr.security.refs import Secret
from esdr.tasks.context import run_context

MISSING = object()


class Unchanged:
    """Stands for an operation left out: it changed nothing."""

    def did_change(self) -> bool:
        return False


UNCHANGED = Unchanged()


def known(cls: type[FactBase], **kwargs: Any) -> Any:
    """This host's value of a fact ``prefetch`` read, else ``MISSING`` (never a new read)."""
    return run_context().facts.get((host.name, read(cls, **kwargs)), MISSING)


def shows(cls: type[FactBase], **kwargs: Any) -> bool:
    """True only when ``prefetch`` read this fact on this host and it is set (a file or
    directory there, a marker written)."""
    value = known(cls, **kwargs)
    return value is not MISSING and bool(value)


def file_reads(*paths: str) -> tuple[Read, ...]:
    return tuple(r for p in paths for r in (read(File, path=p), read(Sha256File, path=p)))


def directory_reads(*paths: str) -> tuple[Read, ...]:
    return tuple(read(Directory, path=p) for p in paths)


def _same_meta(info: Any, user: str, group: str, mode: str) -> bool:
    return (isinstance(info, dict) and info.get("user") == user and info.get("group") == group
            and info.get("mode") == int(mode))


def file_in_place(dest: str, content: str, user: str, group: str, mode: str) -> bool:
    digest = hashlib.sha256(content.encode()).hexdigest()
    return (_same_meta(known(File, path=dest), user, group, mode)
            and known(Sha256File, path=dest) == digest)


def directory(name: str, path: str, user: str, group: str, mode: str) -> None:
    if not _same_meta(known(Directory, path=path), user, group, mode):
        files.directory(name=name, path=path, user=user, group=group, mode=mode)


def put(name: str, content: str, dest: str, user: str, group: str, mode: str):
    """``files.put`` of ``content``; its result, or ``UNCHANGED`` when left out."""
    if file_in_place(dest, content, user, group, mode):
        return UNCHANGED
    return files.put(name=name, src=StringIO(content), dest=dest, user=user, group=group,
                     mode=mode)


def secret_file(name: str, dest: str, content: Secret, user: str, group: str, mode: str):
    """``secret_files.secret_file``; its result, or ``UNCHANGED`` when left out."""
    if file_in_place(dest, content.reveal(), user, group, mode):
        return UNCHANGED
    return secret_files.secret_file(name=name, dest=dest, content=content, user=user,
                                    group=group, mode=mode)


def link(name: str, path: str, target: str):
    """``files.link``; its result, or ``UNCHANGED`` when the link already points there."""
    info = known(Link, path=path)
    if isinstance(info, dict) and info.get("link_target") == target:
        return UNCHANGED
    return files.link(name=name, path=path, target=target)
