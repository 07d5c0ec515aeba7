"""Operations for the INFINI Gateway tier: its archive, front-door packages."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation
from pyinfra.api.exceptions import OperationValueError
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import Directory

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


@operation()
def archive(url: str, install_dir: str, binary: str, sha256: str | None = None):
    """
    Install an INFINI Gateway release tarball into a versioned directory.

    + url: http(s):// or file:// URL of the ``.tar.gz`` (an internal mirror in a real DC)
    + install_dir: versioned target, e.g. ``/opt/infini-gateway/gateway-1.29.4``
    + binary: the executable the tarball must contain, e.g. ``gateway-linux-amd64``
    + sha256: expected hex digest; checked when given

    INFINI's tarballs hold their files at the top level (no enclosing directory), so the
    archive is unpacked into ``<install_dir>.partial`` and moved into place only when the
    binary is there: an interrupted download never leaves a half-installed version.

    **Example:**

    .. code:: python

        archive(
            name="Install INFINI Gateway 1.29.4",
            url="https://mirror.dc1/infini/gateway-1.29.4-linux-amd64.tar.gz",
            install_dir="/opt/infini-gateway/gateway-1.29.4",
            binary="gateway-linux-amd64",
        )
    """
    if not url.endswith(ARCHIVE_SUFFIXES):
        raise OperationValueError(f"gateway archive url must end in {ARCHIVE_SUFFIXES}: {url}")
    if host.get_fact(Directory, path=install_dir):
        host.noop(f"gateway archive {install_dir} is installed")
        return
    partial = shlex.quote(f"{install_dir}.partial")
    check = (
        [f"echo {shlex.quote(sha256.strip().lower())}  archive.tar.gz | sha256sum -c --quiet -"]
        if sha256
        else []
    )
    yield " && ".join(
        [
            "set -e",
            "work=$(mktemp -d)",
            "trap 'rm -rf \"$work\"' EXIT",
            'cd "$work"',
            f"curl -fsSL -m 900 -o archive.tar.gz {shlex.quote(url)}",
            *check,
            f"rm -rf {partial}",
            f"mkdir -p {partial}",
            f"tar -xzf archive.tar.gz -C {partial}",
            f"test -x {partial}/{shlex.quote(binary)}",
            f"mv {partial} {shlex.quote(install_dir)}",
        ]
    )


@operation()
def archive_skipped(reason: str):
    """
    Say, in the deploy's output, that the gateway binary step is skipped and why.

    + reason: one line: what is missing and how to fix it

    Changes nothing: the config, user, directories and unit are still written, and the unit's
    ``ConditionPathExists`` keeps systemd from starting a binary that is not there.
    """
    host.noop(f"gateway binary step SKIPPED: {reason}")
    return
    yield  # a generator, as pyinfra operations are


@operation()
def package_any(names: list[str], install: str):
    """
    Make sure one of several interchangeable Debian packages is installed, without apt update.

    + names: packages any of which will do, e.g. ``["nginx", "nginx-light", "nginx-full"]``
    + install: the one to install when none is present

    Hosts without a network to a mirror (the lab) already carry one flavour: then this is a
    no-op instead of an install that would fail.

    **Example:**

    .. code:: python

        package_any(name="Nginx", names=["nginx", "nginx-light"], install="nginx")
    """
    installed = host.get_fact(DebPackages) or {}
    present = [n for n in names if n in installed]
    if present:
        host.noop(f"package {present[0]} is installed")
        return
    yield (
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        f"{shlex.quote(install)}"
    )
