"""The base image every lab host's overlay sits on: a cached debootstrap of Debian bookworm.

Layout under CACHE_DIR/images:
    bookworm-<key>/           the root filesystem (read-only lower dir of every host overlay)
    bookworm-<key>.complete   marker, written last: only a marked image is ever used
    bookworm-<key>.partial/   a build in progress (or an interrupted one: deleted before a rebuild)
<key> hashes suite, variant, mirror and the package list, so changing the list builds anew.
The image is kept exactly as debootstrap made it; lab settings go into each host's upper dir.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants
from esdr_lab.system import run

VARIANT = "minbase"
BUILD_TIMEOUT = 1200  # debootstrap took 51-61 s here; a slow mirror gets 20 min, then we stop


def packages() -> list[str]:
    return sorted(p.strip() for p in constants.IMAGE_PACKAGES.split(",") if p.strip())


def cache_key() -> str:
    recipe = "|".join(
        [constants.DEBIAN_SUITE, VARIANT, constants.DEBIAN_MIRROR, ",".join(packages())]
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def image_dir() -> Path:
    return constants.IMAGES_DIR / f"{constants.DEBIAN_SUITE}-{cache_key()}"


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".complete")


def is_complete(path: Path) -> bool:
    return path.is_dir() and marker(path).is_file()


def missing_packages(root: Path) -> list[str]:
    """Packages of our list that dpkg inside `root` does not report as installed."""
    status = root / "var/lib/dpkg/status"
    if not status.is_file():
        return packages()
    installed = set()
    for stanza in status.read_text(errors="replace").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Status") == "install ok installed":
            installed.add(fields.get("Package"))
    return [p for p in packages() if p not in installed]


def adopt(built: Path) -> Path:
    """Move a finished debootstrap root (built elsewhere with our package list) into the cache."""
    final = image_dir()
    if is_complete(final):
        return final
    missing = missing_packages(built)
    if missing:
        raise EsdrError(f"image {built} lacks {', '.join(missing)}", hint="rebuild it")
    if final.exists():
        shutil.rmtree(final)
    built.rename(final)
    _mark(final)
    return final


def _mark(final: Path) -> None:
    marker(final).write_text(
        f"suite={constants.DEBIAN_SUITE} variant={VARIANT} mirror={constants.DEBIAN_MIRROR}\n"
        f"packages={','.join(packages())}\n"
    )


def ensure_image(say) -> Path:
    """Return the cached image, building it first when there is no complete one."""
    final = image_dir()
    if is_complete(final):
        return final
    constants.IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".partial")
    for leftover in (partial, final):  # an interrupted build or rename: never used, removed
        if leftover.exists():
            say(f"removing incomplete image {leftover}")
            shutil.rmtree(leftover)
    say(f"building base image {final.name} with debootstrap (about a minute)")
    run(
        [
            "debootstrap", f"--variant={VARIANT}", f"--include={','.join(packages())}",
            constants.DEBIAN_SUITE, str(partial), constants.DEBIAN_MIRROR,
        ],
        timeout=BUILD_TIMEOUT,
    )
    missing = missing_packages(partial)
    if missing:
        raise EsdrError(f"debootstrap finished but {', '.join(missing)} are not installed")
    partial.rename(final)
    _mark(final)
    return final
