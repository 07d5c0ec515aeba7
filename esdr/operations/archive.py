"""Install release archives (Elasticsearch, OpenSearch, INFINI Gateway) into versioned dirs."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import OperationValueError, operation
from pyinfra.facts.files import Directory

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


def _extract_command(archive: str) -> str:
    if archive.endswith(".zip"):
        return f"unzip -q {shlex.quote(archive)}"
    return f"tar -xzf {shlex.quote(archive)}"


def _checksum_commands(local: str, url: str, sha512: str | None, sha256: str | None,
                       published: bool) -> list[str]:
    if sha256:
        return [f"echo {shlex.quote(sha256.strip().lower())}  {local} | sha256sum -c --quiet -"]
    if sha512:
        expected = f"echo {shlex.quote(sha512.strip().lower())}"
    elif published:
        expected = (
            f"curl -fsSL -m 60 -o archive.sha512 {shlex.quote(url + '.sha512')} && "
            "awk '{print $1; exit}' archive.sha512"
        )
    else:
        return []
    return [f"expected=$({expected})", f'echo "$expected  {local}" | sha512sum -c --quiet -']


@operation()
def archive(
    url: str,
    install_dir: str,
    sha512: str | None = None,
    sha256: str | None = None,
    published_sha512: bool = True,
    top_dir: bool = True,
    binary: str | None = None,
):
    """
    Install a release archive into a versioned directory, checked against its digest.

    + url: http(s):// or file:// URL of the .zip/.tar.gz (an internal mirror in a real DC)
    + install_dir: versioned target, e.g. ``/opt/elasticsearch/elasticsearch-8.19.21``
    + sha512: the expected hex digest
    + sha256: the expected sha256 hex digest, for vendors that publish only that (INFINI)
    + published_sha512: without a digest given, fetch ``<url>.sha512`` (Elastic's and
      OpenSearch's format) and check against it; False installs unchecked
    + top_dir: the archive holds one enclosing directory (Elastic, OpenSearch); False for one
      whose files sit at the top level (INFINI's tarballs)
    + binary: an executable the install must hold, relative to it, checked before the move

    The archive is unpacked beside the target and moved into place only when complete, so an
    interrupted download never leaves a half-installed version behind.

    **Example:**

    .. code:: python

        archive(
            name="Install Elasticsearch 8.19.21",
            url="https://mirror.dc1/elasticsearch-8.19.21-linux-x86_64.tar.gz",
            install_dir="/opt/elasticsearch/elasticsearch-8.19.21",
        )
    """
    suffix = next((s for s in ARCHIVE_SUFFIXES if url.endswith(s)), None)
    if suffix is None:
        raise OperationValueError(f"archive url must end in one of {ARCHIVE_SUFFIXES}: {url}")
    if host.get_fact(Directory, path=install_dir):
        host.noop(f"archive {install_dir} is installed")
        return
    local = f"archive{suffix}"
    partial = shlex.quote(f"{install_dir}.partial")
    yield " && ".join(
        [
            "set -e",
            "work=$(mktemp -d)",
            'trap \'rm -rf "$work"\' EXIT',
            'cd "$work"',
            f"curl -fsSL -m 900 -o {local} {shlex.quote(url)}",
            *_checksum_commands(local, url, sha512, sha256, published_sha512),
            "mkdir unpacked",
            f"(cd unpacked && {_extract_command('../' + local)})",
            f"rm -rf {partial}",
            f"mkdir -p {shlex.quote(install_dir.rsplit('/', 1)[0])}",
            f"mv unpacked/* {partial}" if top_dir else f"mv unpacked {partial}",
            *([f"test -x {partial}/{shlex.quote(binary)}"] if binary else []),
            f"mv {partial} {shlex.quote(install_dir)}",
        ]
    )
