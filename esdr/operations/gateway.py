"""Operations for the INFINI Gateway tier: the skipped-binary notice, front-door packages."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.deb import DebPackages


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
