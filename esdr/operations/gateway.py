"""Operations for the INFINI Gateway tier: its archive, its secrets file, front-door packages."""

from __future__ import annotations

import hashlib
import shlex
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, operation
from pyinfra.api.exceptions import OperationValueError
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import Directory, File, Sha256File

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
def secret_file(dest: str, content: str, user: str, group: str, mode: str = "600"):
    """
    Upload a file holding secrets: never shown (no ``--diff`` output), never world-readable.

    + dest: absolute path on the host
    + content: the text; it is compared by sha256, never printed
    + user, group, mode: ownership and mode, applied BEFORE the content arrives

    The file is created empty with its final owner and mode first, so the secret is never in a
    file anyone else may read; with sudo, the upload goes through a 0700 directory of the SSH
    user instead of the shared temp directory.

    **Example:**

    .. code:: python

        secret_file(
            name="Gateway secrets",
            dest="/etc/infini-gateway/gateway.env",
            content=text,
            user="infini-gateway",
            group="infini-gateway",
        )
    """
    data = content.encode()
    wanted_sum = hashlib.sha256(data).hexdigest()
    current = host.get_fact(File, path=dest)
    qdest = shlex.quote(dest)
    if not current:
        yield f"install -m {mode} -o {shlex.quote(user)} -g {shlex.quote(group)} /dev/null {qdest}"
    else:
        if current.get("user") != user or current.get("group") != group:
            yield f"chown {shlex.quote(user)}:{shlex.quote(group)} {qdest}"
        if current.get("mode") != int(mode):
            yield f"chmod {mode} {qdest}"
    if current and host.get_fact(Sha256File, path=dest) == wanted_sum:
        if (
            current.get("user") == user
            and current.get("group") == group
            and current.get("mode") == int(mode)
        ):
            host.noop(f"secret file {dest} is up to date")
        return
    temp = None
    args = host.current_op_global_arguments or {}
    if args.get("_sudo") or args.get("_su_user") or args.get("_doas"):
        ssh_user = host.data.get("ssh_user") or "root"
        private = f"/tmp/esdr-secret-upload-{ssh_user}"
        yield f"install -d -m 700 -o {shlex.quote(ssh_user)} {shlex.quote(private)}"
        temp = f"{private}/upload"
    # Overwriting the existing 0600 file keeps its mode: the secret is never world-readable.
    yield FileUploadCommand(BytesIO(data), dest, remote_temp_filename=temp)


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
