"""The archives the lab's mirror serves: fetched once into CACHE_DIR/artifacts, each with a
.sha512 in Elastic's format ("<hex>  <filename>"), which the deploy checks after downloading.

Where each comes from (the catalogue below):
- Elasticsearch and OpenSearch (integ-test zips) and OpenSearch's security plugin: Maven
  Central, with `mvn dependency:copy`;
- OpenSearch's cross-cluster-replication plugin, which is on no registry: the prebuilt archive
  in `<repo>/../shared/vendor/opensearch-replication/dist/` (read-only, never copied into the
  repo), checked against the .sha512 shipped beside it before it is served; for another version
  (the OpenSearch upgrade lab test's OS_UPGRADE_FROM), built on first use by the `build.sh`
  beside it (Maven, minutes cold) into OS_REPLICATION_BUILD_CACHE/<version>/, its log there;
- the INFINI Gateway, on no registry either: built by `scripts/build-gateway` from the source
  bundle in `<repo>/../shared/vendor/infini-gateway/` with this repository's
  `patches/infini-gateway/*.patch` (it verifies the clusters' certificates, which the vendored
  prebuilt `dist/` binary does not: docs/gateway-cluster-tls.md), into a cache of its own
  (GATEWAY_BUILD_CACHE), on first use (~2 min), checked against the .sha512 written beside it;
- Kafka, on no registry as a distribution: its jars from Maven Central (esdr_lab/kafka_broker.py),
  packed reproducibly (sorted, zero times and owners) into the official tarball's layout, so the
  same jars always give the same sha512;
- the pipeline service's wheelhouse, a directory (``esdr-pipeline-wheels/``): the wheels of
  esdr's lock from the registry or pip's cache (esdr_lab/wheelhouse.py); no .sha512 beside it,
  the lock's own hashes are what pip checks on the hosts.

Only what the inventories being brought up reference is fetched: a URL under the mirror in a
host's `es_archive_url`, `es_plugins[].url` or `gateway_archive_url` names a catalogue file
(`needed_for`). An ES-only lab never downloads OpenSearch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants, wheelhouse
from esdr_lab.system import run

FETCH_TIMEOUT = 600  # ~5 s when Maven's local repository has it; a cold fetch is a few MB/s
HEARTBEAT = 15  # seconds between "still fetching" lines of a long fetch
# scripts/build-gateway bounds build.sh (1200 s) and its wait for another run's build (as long)
GATEWAY_BUILD_TIMEOUT = 2 * 1200 + 120
REPLICATION_BUILD_TIMEOUT = 1200  # the vendored build.sh: Maven package + copy-dependencies


@dataclass(frozen=True)
class Artifact:
    filename: str
    what: str  # for progress lines
    maven: str | None = None  # group:artifact:version:type for `mvn dependency:copy`
    vendored: str | None = None  # path under the vendor directory (constants.VENDOR_DIR)
    built: bool = False  # made by scripts/build-gateway (the patched gateway)
    packed: bool = False  # Kafka's Maven jars in the official tarball's layout
    wheelhouse: bool = False  # a directory of the pipeline's wheels, checked by esdr's lock
    replication_build: str | None = None  # OpenSearch version the vendored build.sh builds for


CATALOGUE: dict[str, Artifact] = {
    a.filename: a
    for a in (
        Artifact(constants.ES_ARCHIVE, "Elasticsearch archive", maven=constants.ES_MAVEN_COORDINATE),
        Artifact(constants.ES_UPGRADE_FROM_ARCHIVE, "Elasticsearch archive to upgrade from",
                 maven=constants.ES_UPGRADE_FROM_MAVEN_COORDINATE),
        Artifact(constants.OS_ARCHIVE, "OpenSearch archive", maven=constants.OS_MAVEN_COORDINATE),
        Artifact(constants.OS_SECURITY_PLUGIN, "OpenSearch security plugin",
                 maven=constants.OS_SECURITY_MAVEN_COORDINATE),
        Artifact(constants.OS_REPLICATION_PLUGIN, "OpenSearch replication plugin",
                 vendored=constants.OS_REPLICATION_VENDORED),
        Artifact(constants.OS_UPGRADE_FROM_ARCHIVE, "OpenSearch archive to upgrade from",
                 maven=constants.OS_UPGRADE_FROM_MAVEN_COORDINATE),
        Artifact(constants.OS_UPGRADE_FROM_SECURITY_PLUGIN,
                 "OpenSearch security plugin to upgrade from",
                 maven=constants.OS_UPGRADE_FROM_SECURITY_MAVEN_COORDINATE),
        Artifact(constants.OS_UPGRADE_FROM_REPLICATION_PLUGIN,
                 "OpenSearch replication plugin to upgrade from (built by build.sh)",
                 replication_build=constants.OS_UPGRADE_FROM),
        Artifact(constants.GATEWAY_ARCHIVE, "INFINI Gateway archive (patched build)",
                 built=True),
        Artifact(constants.KAFKA_ARCHIVE, f"Kafka {constants.KAFKA_VERSION} jars (Maven Central)",
                 packed=True),
        Artifact(wheelhouse.DIRECTORY, "pipeline service wheels (esdr's lock)", wheelhouse=True),
    )
}
DEFAULT = (constants.ES_ARCHIVE,)  # what a lab whose inventories name no mirror file gets


def archive_path() -> Path:
    return constants.ARTIFACTS_DIR / constants.ES_ARCHIVE


def path_of(filename: str) -> Path:
    return constants.ARTIFACTS_DIR / filename


def mirror_files(urls: Iterable[object]) -> tuple[str, ...]:
    """File names under the lab mirror among ``urls`` (other values and hosts are ignored)."""
    prefix = constants.MIRROR_URL + "/"
    out: list[str] = []
    for url in urls:
        if isinstance(url, str) and url.startswith(prefix):
            name = url[len(prefix):].split("?", 1)[0].rstrip("/")  # a directory: its name
            if name.endswith(".sha512"):
                name = name[: -len(".sha512")]
            if name and name not in out:
                out.append(name)
    return tuple(out)


def urls_of(host_data: dict) -> list[object]:
    """The URLs a lab host's data asks the mirror for (archive, plugins, gateway, and the Kafka
    archive and the pipeline wheelhouse of its estate's `kafka:` section)."""
    urls: list[object] = [host_data.get("es_archive_url"), host_data.get("gateway_archive_url")]
    for plugin in host_data.get("es_plugins") or []:
        if isinstance(plugin, dict):
            urls.append(plugin.get("url"))
    estate = host_data.get("es_estate")
    kafka = estate.get("kafka") if isinstance(estate, dict) else None
    clusters = kafka.get("kafka_clusters") if isinstance(kafka, dict) else None
    for cluster in (clusters or {}).values() if isinstance(clusters, dict) else ():
        install = cluster.get("install") if isinstance(cluster, dict) else None
        if isinstance(install, dict):
            urls.append(install.get("archive_url"))
    pipeline_install = kafka.get("pipeline_install") if isinstance(kafka, dict) else None
    if isinstance(pipeline_install, dict):
        urls.append(pipeline_install.get("wheelhouse_url"))
    return urls


def needed_for(files: Iterable[str]) -> list[Artifact]:
    """The catalogue entries for the mirror files the inventories reference, in catalogue
    order; the default (the Elasticsearch archive) when they reference none. A name the lab
    cannot provide is an error naming it."""
    wanted = list(dict.fromkeys(files)) or list(DEFAULT)
    unknown = [f for f in wanted if f not in CATALOGUE]
    if unknown:
        raise EsdrError(
            f"the lab mirror cannot serve {', '.join(unknown)}",
            hint=f"it serves {', '.join(CATALOGUE)} (esdr_lab/artifacts.py)",
        )
    return [a for name, a in CATALOGUE.items() if name in wanted]


def sha512_hex(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha512_line(path: Path) -> str:
    return f"{sha512_hex(path)}  {path.name}\n"


def parse_sha512(text: str) -> str | None:
    """The hex digest of a .sha512 file: "<hex>" or "<hex>  <filename>"; None if malformed."""
    fields = text.split()
    if not fields:
        return None
    digest = fields[0].lower()
    if len(digest) != 128 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest


def vendored_sha512(filename: str) -> str | None:
    """The digest shipped beside a vendored catalogue file, None when it is not there (the
    lab's group data pins the gateway archive with it)."""
    artifact = CATALOGUE.get(filename)
    if artifact is None or artifact.vendored is None:
        return None
    shipped = vendor_dir() / f"{artifact.vendored}.sha512"
    return parse_sha512(shipped.read_text()) if shipped.is_file() else None


def gateway_build(say: Callable[[str], None] | None = None, build: bool = True) -> Path | None:
    """The patched INFINI Gateway archive that ``scripts/build-gateway`` made (its .sha512
    beside it): the cached one, else built now (~2 min cold, its progress on stderr) when
    ``build``; None when it is not built and ``build`` is false. An error names what failed."""
    if not build:
        return _cached_gateway_build()
    if not (vendor_dir() / constants.GATEWAY_SOURCE).is_file():
        raise EsdrError(
            f"INFINI Gateway: {vendor_dir() / constants.GATEWAY_SOURCE} not found; the lab builds "
            "the gateway from that source bundle",
            hint="check out `shared/` next to the repository, or set ESDR_VENDOR_DIR to its "
            "vendor/ directory",
        )
    if not constants.GATEWAY_BUILD_SCRIPT.is_file():  # esdr_lab installed from a wheel
        raise EsdrError(
            f"INFINI Gateway: {constants.GATEWAY_BUILD_SCRIPT} not found; the lab builds the "
            "gateway with that script of an esdr checkout (with patches/infini-gateway/)",
            hint="bring up a lab with a gateway tier from a clone of the esdr repository",
        )
    say = say or (lambda _message: None)
    say(f"INFINI Gateway: {constants.GATEWAY_BUILD_SCRIPT} (cached builds are reused; a cold "
        "build takes ~2 min)")
    try:
        done = subprocess.run(
            ["bash", str(constants.GATEWAY_BUILD_SCRIPT)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, text=True, timeout=GATEWAY_BUILD_TIMEOUT, check=False,
            env={**os.environ, "ESDR_VENDOR_DIR": str(vendor_dir()),
                 "ESDR_GATEWAY_BUILD_CACHE": str(constants.GATEWAY_BUILD_CACHE)},
        )
    except subprocess.TimeoutExpired:
        raise EsdrError(f"{constants.GATEWAY_BUILD_SCRIPT} took over {GATEWAY_BUILD_TIMEOUT}s",
                        hint="run it by hand to see where it stops") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise EsdrError(f"{constants.GATEWAY_BUILD_SCRIPT} failed (exit {done.returncode})",
                        hint="its output above says why; run it by hand to retry")
    return Path(lines[-1])


def _cached_gateway_build() -> Path | None:
    """The newest complete build in the cache whose inputs are today's, without building:
    the script answers from its cache at once, or would build (then None)."""
    root = constants.GATEWAY_BUILD_CACHE
    if not root.is_dir() or not (vendor_dir() / constants.GATEWAY_SOURCE).is_file():
        return None
    try:
        done = subprocess.run(
            ["bash", str(constants.GATEWAY_BUILD_SCRIPT), "--cached-only"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, timeout=60, check=False,
            env={**os.environ, "ESDR_VENDOR_DIR": str(vendor_dir()),
                 "ESDR_GATEWAY_BUILD_CACHE": str(root)},
        )
    except subprocess.TimeoutExpired:
        return None
    lines = done.stdout.strip().splitlines()
    return Path(lines[-1]) if done.returncode == 0 and lines and Path(lines[-1]).is_file() else None


def gateway_sha512(build: bool = True) -> str | None:
    """The digest of the patched gateway archive (the lab's group data pins it with it);
    None when it cannot be had (no source bundle, no Go, a failed build): `esdr validate` then
    refuses the archive URL (archive-checksum-missing) and the build's error was on stderr."""
    try:  # quiet when cached; a build shows its progress on stderr
        path = _cached_gateway_build() or (gateway_build() if build else None)
    except EsdrError as error:
        print(f"esdr lab: {error}", file=sys.stderr)
        return None
    if path is None:
        return None
    checksum = path.with_name(path.name + ".sha512")
    return parse_sha512(checksum.read_text()) if checksum.is_file() else None


def vendor_dir() -> Path:
    """`shared/vendor` beside the repository (``ESDR_VENDOR_DIR`` overrides it)."""
    override = os.environ.get("ESDR_VENDOR_DIR")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[1]
    return repo.parent / "shared" / "vendor"


def ensure_artifacts(
    needed: Iterable[Artifact] | None = None, say: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Each needed file present with a correct .sha512 beside it.

    Returns filename -> "cached" | "fetched" | "copied". ``say`` gets progress lines for a
    fetch (start, every HEARTBEAT seconds, end with size and duration)."""
    say = say or (lambda _message: None)
    outcomes: dict[str, str] = {}
    for artifact in needed if needed is not None else needed_for(()):
        target = path_of(artifact.filename)
        checksum = target.with_name(target.name + ".sha512")
        outcome = "cached"
        if artifact.wheelhouse:
            outcomes[artifact.filename] = wheelhouse.build_wheelhouse(target, say=say)
            continue
        if artifact.built:
            outcome = _ensure_built(artifact, target, say)
        elif artifact.replication_build is not None:
            outcome = _ensure_replication_build(artifact, target, say)
        elif artifact.packed:
            outcome = _ensure_packed(artifact, target, say)
        elif artifact.vendored is not None:
            outcome = _ensure_vendored(artifact, target, say)
        elif not target.is_file():
            _fetch(artifact, target, say)
            outcome = "fetched"
        line = sha512_line(target)
        if not checksum.is_file() or checksum.read_text() != line:
            checksum.write_text(line)
        outcomes[artifact.filename] = outcome
    return outcomes


@contextmanager
def _heartbeat(what: str, say: Callable[[str], None], doing: str = "fetching") -> Iterator[None]:
    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT):
            say(f"  ... still {doing} {what} ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=1)


def _fetch(artifact: Artifact, target: Path, say: Callable[[str], None]) -> None:
    if shutil.which("mvn") is None:
        raise EsdrError("`mvn` is not installed", hint="apt-get install maven")
    target.parent.mkdir(parents=True, exist_ok=True)
    say(f"fetching {artifact.what} {artifact.maven} from Maven Central (mvn dependency:copy)")
    started = time.monotonic()
    # into a temp dir first (same filesystem), renamed when complete: a cut fetch is never served;
    # run from that dir so no pom.xml of the working directory is picked up
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        with _heartbeat(artifact.filename, say):
            run(
                [
                    "mvn", "-q", "-B", "dependency:copy",
                    f"-Dartifact={artifact.maven}", f"-DoutputDirectory={tmp}",
                ],
                timeout=FETCH_TIMEOUT,
            )
        fetched = Path(tmp) / target.name
        if not fetched.is_file():
            raise EsdrError(
                f"Maven did not produce {target.name} for {artifact.maven}",
                hint="check the coordinate in esdr_lab/constants.py",
            )
        fetched.rename(target)
    size = target.stat().st_size / 1e6
    say(f"fetched {target.name}: {size:.0f} MB in {time.monotonic() - started:.1f}s")


def _copy_checked(artifact: Artifact, source: Path, target: Path, expected: str,
                  say: Callable[[str], None]) -> str:
    """``source`` copied into the mirror at ``target`` through a temporary name, served only
    once the copy's sha512 is ``expected``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".copy-{target.name}")
    shutil.copyfile(source, tmp)
    if sha512_hex(tmp) != expected:  # a copy cut short is never served
        tmp.unlink(missing_ok=True)
        raise EsdrError(f"copying {source} to {target} gave a different file")
    os.replace(tmp, target)
    say(f"copied {artifact.what} from {source} (sha512 checked)")
    return "copied"


def _ensure_vendored(artifact: Artifact, target: Path, say: Callable[[str], None]) -> str:
    """Copy the vendored zip into the mirror when missing or different, after checking it
    against the .sha512 shipped beside it. Never writes into the vendor directory."""
    source = vendor_dir() / str(artifact.vendored)
    shipped = source.with_name(source.name + ".sha512")
    if not source.is_file() or not shipped.is_file():
        raise EsdrError(
            f"{artifact.what}: {source} (and its .sha512) not found; the lab serves it from the "
            "shared vendor directory beside the repository",
            hint="check out `shared/` next to the repository, or set ESDR_VENDOR_DIR to its "
            f"vendor/ directory (build it with the build.sh beside {artifact.vendored})",
        )
    expected = parse_sha512(shipped.read_text())
    if expected is None:
        raise EsdrError(f"{shipped}: not a sha512 checksum file")
    if target.is_file() and sha512_hex(target) == expected:
        return "cached"
    actual = sha512_hex(source)
    if actual != expected:
        raise EsdrError(
            f"{artifact.what}: {source} does not match its shipped checksum {shipped} "
            f"(sha512 {actual[:16]}... != {expected[:16]}...): not serving it",
            hint=f"rebuild it with the build.sh beside {artifact.vendored}",
        )
    return _copy_checked(artifact, source, target, expected, say)


def _ensure_built(artifact: Artifact, target: Path, say: Callable[[str], None]) -> str:
    """The patched gateway build (scripts/build-gateway, cached between runs) copied into the
    mirror when missing or different, checked against the .sha512 the script wrote."""
    source = gateway_build(say)
    assert source is not None
    expected = parse_sha512(source.with_name(source.name + ".sha512").read_text())
    if expected is None or sha512_hex(source) != expected:
        raise EsdrError(f"{artifact.what}: {source} does not match the .sha512 beside it",
                        hint=f"delete {source.parent} and run scripts/build-gateway again")
    if target.is_file() and sha512_hex(target) == expected:
        return "cached"
    return _copy_checked(artifact, source, target, expected, say)


def pack_kafka_jars(libs: Path, target: Path) -> None:
    """``libs``' jars as ``<KAFKA_TOP_DIR>/libs/*.jar`` in a gzipped tar whose bytes depend on
    the jars alone (sorted names, zero times, root owner, no gzip name or time)."""
    import gzip
    import tarfile

    tmp = target.with_name(f".pack-{target.name}")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in [f"{constants.KAFKA_TOP_DIR}", f"{constants.KAFKA_TOP_DIR}/libs"]:
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                tar.addfile(info)
            for jar in sorted(libs.glob("*.jar")):
                info = tarfile.TarInfo(f"{constants.KAFKA_TOP_DIR}/libs/{jar.name}")
                info.size, info.mode, info.mtime = jar.stat().st_size, 0o644, 0
                with open(jar, "rb") as handle:
                    tar.addfile(info, handle)
    os.replace(tmp, target)


def _ensure_packed(artifact: Artifact, target: Path, say: Callable[[str], None]) -> str:
    """Kafka's jars (fetched once from Maven Central) packed into the mirror, when missing."""
    from esdr_lab import kafka_broker

    if target.is_file():
        return "cached"  # the jars are fetched once, complete, and never change in place
    started = time.monotonic()
    libs = kafka_broker.ensure_jars(say)
    target.parent.mkdir(parents=True, exist_ok=True)
    pack_kafka_jars(libs, target)
    say(f"packed {artifact.what} into {target.name}: {target.stat().st_size / 1e6:.0f} MB in "
        f"{time.monotonic() - started:.1f}s")
    return "packed"


def replication_zip(version: str) -> Path:
    """Where the vendored build.sh's zip for OpenSearch ``version`` is cached (.sha512 and the
    build's log, build.log, beside it)."""
    return (constants.OS_REPLICATION_BUILD_CACHE / version
            / f"opensearch-cross-cluster-replication-{version}.0.zip")


def _cached_replication_build(version: str) -> Path | None:
    """The cached zip when its .sha512 (written by build.sh after the zip) matches it; a build
    cut short leaves no .sha512 or a different one, and is built again."""
    path = replication_zip(version)
    checksum = path.with_name(path.name + ".sha512")
    if not path.is_file() or not checksum.is_file():
        return None
    expected = parse_sha512(checksum.read_text())
    return path if expected is not None and sha512_hex(path) == expected else None


def replication_build(version: str, say: Callable[[str], None] | None = None) -> Path:
    """The replication plugin zip for OpenSearch ``version``: cached, else built now by the
    vendored build.sh (a plugin zip must match the server version exactly, and this plugin is
    on no registry). Bounded by REPLICATION_BUILD_TIMEOUT; a failure names build.sh's log."""
    cached = _cached_replication_build(version)
    if cached is not None:
        return cached
    say = say or (lambda _message: None)
    script = vendor_dir() / constants.OS_REPLICATION_BUILD_SCRIPT
    if not script.is_file():
        raise EsdrError(
            f"OpenSearch replication plugin {version}: {script} not found; the lab builds the "
            "plugin for versions other than the vendored one with that script",
            hint="check out `shared/` next to the repository, or set ESDR_VENDOR_DIR to its "
            "vendor/ directory",
        )
    if shutil.which("mvn") is None:
        raise EsdrError("`mvn` is not installed (build.sh builds the plugin with Maven)",
                        hint="apt-get install maven")
    out = replication_zip(version).parent
    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    say(f"building the OpenSearch replication plugin for {version} with {script} (Maven; "
        f"a cold build takes minutes; log: {log})")
    started = time.monotonic()
    with open(log, "w") as handle, _heartbeat(f"replication plugin {version}", say, "building"):
        try:
            done = subprocess.run(
                ["bash", str(script), version, str(out)], stdin=subprocess.DEVNULL,
                stdout=handle, stderr=subprocess.STDOUT, timeout=REPLICATION_BUILD_TIMEOUT,
                check=False, cwd=out,
            )
        except subprocess.TimeoutExpired:
            raise EsdrError(
                f"{script} {version} took over {REPLICATION_BUILD_TIMEOUT}s; its log: {log}",
                hint="run it by hand to see where it stops") from None
    built = _cached_replication_build(version)
    if done.returncode != 0 or built is None:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise EsdrError(
            f"{script} {version} failed (exit {done.returncode}); its log: {log}"
            + ("\n  " + "\n  ".join(tail) if tail else ""),
            hint="a plugin zip must match the server version exactly; set "
            "ESDR_OS_UPGRADE_FROM to a 2.19.x whose build works, or run "
            f"`bash {script} {version} {out}` by hand")
    say(f"built {built.name} in {time.monotonic() - started:.0f}s")
    return built


def _ensure_replication_build(artifact: Artifact, target: Path,
                              say: Callable[[str], None]) -> str:
    """The replication plugin built for ``artifact.replication_build`` copied into the mirror
    when missing or different."""
    assert artifact.replication_build is not None
    source = replication_build(artifact.replication_build, say)
    expected = sha512_hex(source)
    if target.is_file() and sha512_hex(target) == expected:
        return "cached"
    return _copy_checked(artifact, source, target, expected, say)
