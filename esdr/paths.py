"""Paths built from names a user chose (host, node and cluster names), kept inside their root.

Input loading refuses such names already; this is the second line of defence where files are
written: a name like ``../x`` or ``/etc/x``, or a symlink inside the root, can never move a
write (a certificate, a rendered file) out of the directory meant for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from esdr.errors import BadInput


def confined(root: Path, *parts: str, what: str, follow_links: bool = True) -> Path:
    """``root/parts...``; a BadInput naming ``what`` unless it lies below ``root``.

    ``follow_links``: judged after resolving symlinks, so a link inside ``root`` cannot lead a
    write out either; without it only the names count (for a directory a user may link on
    purpose, like the secrets directory).
    """
    target = root.joinpath(*parts)
    try:
        if "\0" in str(target):
            raise ValueError("embedded null byte")
        if follow_links:
            base, resolved = root.resolve(), target.resolve()
        else:
            base, resolved = Path(os.path.abspath(root)), Path(os.path.abspath(target))
    except (ValueError, OSError) as exc:  # an embedded NUL, a symlink loop
        raise BadInput(f"{what}: {str(target)!r} is not a usable path: {exc}") from None
    if base not in resolved.parents:  # "", "." and ".." name no file below root either
        raise BadInput(
            f"{what}: {str(target)!r} lies outside {str(root)!r}",
            hint="use a name without '/' or '..'",
        )
    return target
