"""A real single-node OpenSearch 2.19.4 on 127.0.0.1, for experiments and tests that need an
engine rather than a fake (first user: scripts/try-rsyslog-pipeline).

Where it comes from: the cached ``opensearch-2.19.4.zip`` in ``/var/cache/esdr_lab/artifacts``
(the integ-test zip from Maven Central that the lab serves; esdr_lab/constants.py). Its
``.sha512`` beside it is checked before anything is unpacked. That zip bundles no JDK and no
plugins (only the transport-netty4 module): the JVM is the machine's ``java`` (17+), and
``plugins.security.disabled: true`` is written only when a security plugin is present in the
unpacked tree, because OpenSearch refuses to start on a setting no installed plugin registers.
Without the plugin there is no security to disable: HTTP is plain and open, on loopback only.

The node: ``discovery.type: single-node``, HTTP and transport bound to 127.0.0.1 on free ports,
a 512 MB heap, data and logs inside the caller's work dir. OpenSearch refuses to run as root,
so when we are root the tree is chowned to nobody (65534) and the child drops to uid/gid 65534
with no supplementary groups before exec (``subprocess.Popen(user=, group=, extra_groups=[])``,
the same as ``setpriv --reuid=65534 --regid=65534 --clear-groups``). Not setpriv itself: the
kernel clears PR_SET_PDEATHSIG when a process changes its uid, so a death signal set before
setpriv would be lost; Popen changes the ids first and runs ``_die_with_parent`` after. Nothing
is created system-wide.

Every wait is bounded (UNPACK_TIMEOUT, START_TIMEOUT, STOP_TIMEOUT) and reports progress with
the elapsed time. The JVM gets SIGKILL if the Python process that started it dies
(PR_SET_PDEATHSIG, as in esdr_lab.kafka_broker), and on exit it is stopped by its pid only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from esdr.errors import EsdrError
from esdr_lab import constants
from esdr_lab.kafka_broker import _die_with_parent, free_port

VERSION = constants.OS_VERSION  # 2.19.4
ARTIFACT = constants.CACHE_DIR / "artifacts" / constants.OS_ARCHIVE
ADDRESS = "127.0.0.1"
HEAP = "512m"
NOBODY = 65534  # uid and gid the JVM runs as when we are root
UNPACK_TIMEOUT = 120  # ~3 s for the 56 MB zip
START_TIMEOUT = 180  # ~20-40 s on a quiet machine
STOP_TIMEOUT = 30  # SIGTERM, then SIGKILL
POLL = 1.0  # seconds between health probes
HEARTBEAT = 10  # seconds between "still starting" lines


def unavailable_reason() -> str | None:
    """None when the artifact is there or can be fetched (and what runs it is there); else why
    not, for a test's skip."""
    fetchable = shutil.which("mvn") is not None  # the lab mirror's own fetch (esdr_lab.artifacts)
    if not ARTIFACT.is_file() and not fetchable:
        return (f"no OpenSearch {VERSION} archive at {ARTIFACT} (the lab's artifact cache) and "
                "no `mvn` to fetch it from Maven Central")
    if not ARTIFACT.with_name(ARTIFACT.name + ".sha512").is_file() and not fetchable:
        return f"no checksum {ARTIFACT}.sha512 beside the archive"
    if shutil.which("java") is None:
        return "`java` is not installed (OpenSearch 2.19 needs Java 17+; the zip bundles none)"
    return None


def _verify(say: Callable[[str], None]) -> None:
    expected = ARTIFACT.with_name(ARTIFACT.name + ".sha512").read_text().split()[0].lower()
    digest = hashlib.sha512()
    with open(ARTIFACT, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise EsdrError(f"opensearch: {ARTIFACT} does not match its .sha512",
                        hint="remove it from the cache so the lab fetches it again")
    say(f"opensearch: {ARTIFACT.name} sha512 verified")


def _java_home() -> str:
    java = shutil.which("java")
    if java is None:
        raise EsdrError("opensearch: `java` is not installed")
    return str(Path(os.path.realpath(java)).parent.parent)


def _unpack(workdir: Path, say: Callable[[str], None]) -> Path:
    started = time.monotonic()
    home = workdir / f"opensearch-{VERSION}"
    if home.exists():
        shutil.rmtree(home)
    with zipfile.ZipFile(ARTIFACT) as archive:
        for member in archive.infolist():
            if time.monotonic() - started > UNPACK_TIMEOUT:
                raise EsdrError(f"opensearch: unpacking took more than {UNPACK_TIMEOUT}s")
            target = archive.extract(member, workdir)
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    say(f"opensearch: unpacked into {home} in {time.monotonic() - started:.1f}s")
    return home


def _configure(home: Path, http_port: int, transport_port: int) -> None:
    config = home / "config"
    settings = {
        "cluster.name": "esdr-loopback",
        "node.name": "loopback-1",
        "discovery.type": "single-node",
        "network.host": ADDRESS,
        "http.port": http_port,
        "transport.port": transport_port,
        "path.data": str(home / "data"),
        "path.logs": str(home / "logs"),
        "action.auto_create_index": True,
        # a disk that is mostly full must not turn the index read-only mid-experiment
        "cluster.routing.allocation.disk.threshold_enabled": False,
    }
    if any(p.name.startswith("opensearch-security") for p in (home / "plugins").iterdir()):
        settings["plugins.security.disabled"] = True
    (config / "opensearch.yml").write_text(
        "# written by esdr_lab/loopback_engine.py\n"
        + "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))
    (config / "jvm.options.d" / "heap.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")


def _get(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        return json.loads(response.read())


def _tail(home: Path, lines: int = 15) -> str:
    for log in (home / "logs" / "esdr-loopback.log", home / "stdout.log"):
        if log.is_file():
            return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _stop(process: subprocess.Popen, say: Callable[[str], None], started: float) -> None:
    if process.poll() is not None:
        say(f"opensearch: pid {process.pid} had already exited ({process.returncode})")
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
        say(f"opensearch: pid {process.pid} stopped ({time.monotonic() - started:.1f}s after "
            "start)")
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        say(f"opensearch: pid {process.pid} did not stop within {STOP_TIMEOUT}s: killed")


@contextmanager
def opensearch_on_loopback(workdir: Path, say: Callable[[str], None] = print) -> Iterator[str]:
    """yields the base URL http://127.0.0.1:PORT; stops the process by pid (SIGKILL after a
    bounded SIGTERM wait) on exit"""
    reason = unavailable_reason()
    if reason is not None:
        raise EsdrError(f"opensearch: unavailable: {reason}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not ARTIFACT.is_file() or not ARTIFACT.with_name(ARTIFACT.name + ".sha512").is_file():
        from esdr_lab import artifacts  # fetched as the lab mirror fetches it, once, cached

        artifacts.ensure_artifacts(artifacts.needed_for([constants.OS_ARCHIVE]), say)
    _verify(say)
    home = _unpack(workdir, say)
    http_port = free_port()
    transport_port = free_port()
    while transport_port == http_port:
        transport_port = free_port()
    _configure(home, http_port, transport_port)
    argv = [str(home / "bin" / "opensearch")]
    drop: dict = {}
    if os.geteuid() == 0:
        for path in [home, *home.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)
        os.chown(workdir, NOBODY, NOBODY)
        drop = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENSEARCH_JAVA_HOME": _java_home(),
        "OPENSEARCH_PATH_CONF": str(home / "config"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
    }
    url = f"http://{ADDRESS}:{http_port}"
    started = time.monotonic()
    say(f"opensearch: starting {VERSION} on {url} (transport {transport_port}, heap {HEAP}, "
        f"uid {NOBODY if os.geteuid() == 0 else os.geteuid()})")
    with open(home / "stdout.log", "wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=home,
                                   preexec_fn=_die_with_parent, **drop)
    try:
        probes = 0
        max_probes = int(START_TIMEOUT / POLL) + 1
        last_beat = started
        while True:
            probes += 1
            if process.poll() is not None:
                raise EsdrError(f"opensearch: exited with {process.returncode} while starting:\n"
                                f"{_tail(home)}", hint=f"its logs are in {home / 'logs'}")
            try:
                health = _get(f"{url}/_cluster/health")
                if health.get("status") in ("green", "yellow"):
                    break
            except (urllib.error.URLError, OSError, ValueError):
                pass
            elapsed = time.monotonic() - started
            if elapsed > START_TIMEOUT or probes >= max_probes:
                raise EsdrError(f"opensearch: no healthy answer on {url} within "
                                f"{START_TIMEOUT}s ({probes} probes):\n{_tail(home)}")
            if time.monotonic() - last_beat >= HEARTBEAT:
                last_beat = time.monotonic()
                say(f"opensearch:   ... still starting ({elapsed:.0f}s, {probes} probes)")
            time.sleep(POLL)
        say(f"opensearch: pid {process.pid} healthy on {url} after "
            f"{time.monotonic() - started:.1f}s")
        yield url
    finally:
        _stop(process, say, started)
