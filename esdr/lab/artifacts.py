"""The Elasticsearch archive the lab's mirror serves, fetched from Maven Central with Maven.

CACHE_DIR/artifacts/elasticsearch-<version>.zip plus .sha512 in Elastic's format
("<hex>  <filename>"), which the deploy checks after downloading from the mirror.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from esdr.errors import EsdrError
from esdr.lab import constants
from esdr.lab.system import run

FETCH_TIMEOUT = 600  # ~5 s when Maven's local repository has it; a cold fetch is a few MB/s


def archive_path() -> Path:
    return constants.ARTIFACTS_DIR / constants.ES_ARCHIVE


def sha512_line(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"{digest.hexdigest()}  {path.name}\n"


def ensure_artifacts() -> str:
    """Fetch the archive when missing, (re)write its .sha512; returns "cached" or "fetched"."""
    archive = archive_path()
    checksum = archive.with_name(archive.name + ".sha512")
    outcome = "cached"
    if not archive.is_file():
        _fetch(archive)
        outcome = "fetched"
    line = sha512_line(archive)
    if not checksum.is_file() or checksum.read_text() != line:
        checksum.write_text(line)
    return outcome


def _fetch(archive: Path) -> None:
    if shutil.which("mvn") is None:
        raise EsdrError("`mvn` is not installed", hint="apt-get install maven")
    archive.parent.mkdir(parents=True, exist_ok=True)
    # into a temp dir first (same filesystem), renamed when complete: a cut fetch is never served;
    # run from that dir so no pom.xml of the working directory is picked up
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".fetch-") as tmp:
        run(
            [
                "mvn", "-q", "-B", "dependency:copy",
                f"-Dartifact={constants.ES_MAVEN_COORDINATE}", f"-DoutputDirectory={tmp}",
            ],
            timeout=FETCH_TIMEOUT,
        )
        fetched = Path(tmp) / archive.name
        if not fetched.is_file():
            raise EsdrError(
                f"Maven did not produce {archive.name} for {constants.ES_MAVEN_COORDINATE}",
                hint="check the coordinate in esdr/lab/constants.py",
            )
        fetched.rename(archive)
