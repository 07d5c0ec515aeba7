"""The real INFINI Gateway binary on loopback, for tests: unpacked from the archive esdr deploys,
started with a config, asked whether it came up, stopped by its pid.

The archive is the patched build of ``scripts/build-gateway`` (the source bundle in
``<vendor>/infini-gateway/``, ``shared/vendor`` beside the repository or ``ESDR_VENDOR_DIR``, with
``patches/infini-gateway/``; built on first use, ~2 min, then cached), or the archive
``ESDR_GATEWAY_ARCHIVE`` names (e.g. the vendored, unpatched ``dist/`` one, to see a test of the
patch fail), checked against the .sha512 beside it. It is unpacked into a temporary directory,
never into the repository. Every address a config
names is rewritten to 127.0.0.1 before the binary sees it (``loopback``): the gateway sends
health checks to its clusters' endpoints as soon as it runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from esdr_lab.artifacts import gateway_build, parse_sha512, vendor_dir
from esdr_lab.constants import GATEWAY_SOURCE

DIST = "infini-gateway"  # where the source bundle is, under the vendor directory
START_LIMIT = 30.0  # seconds for the API to answer (it answers within ~1 s here)
STOP_LIMIT = 15.0  # SIGTERM takes up to ~5 s (its pipelines stop first)


_built: list[Path] = []  # this session's build, asked for once


def archive() -> Path | None:
    """The gateway archive to test: ``ESDR_GATEWAY_ARCHIVE``, else the patched build (made now
    when not cached); None when shared/vendor (its source bundle) is not beside the
    repository."""
    override = os.environ.get("ESDR_GATEWAY_ARCHIVE")
    if override:
        return Path(override)
    if not (vendor_dir() / GATEWAY_SOURCE).is_file():
        return None
    if not _built:
        path = gateway_build(say=print)
        assert path is not None
        _built.append(path)
    return _built[0]


def unpack(target: Path) -> Path:
    """The ``gateway`` executable, unpacked into ``target`` after its checksum matched."""
    tarball = archive()
    assert tarball is not None
    expected = parse_sha512((tarball.parent / (tarball.name + ".sha512")).read_text())
    digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
    assert digest == expected, f"{tarball} does not match the .sha512 beside it"
    binary = target / "gateway"
    # the one member, read and written by hand: no path from the archive is trusted, and
    # Debian's Python 3.11.2 has no tarfile extraction filters
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("gateway")
        assert member is not None, f"{tarball} holds no file named gateway"
        binary.write_bytes(member.read())
    binary.chmod(0o755)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback(doc: dict[str, Any], workdir: Path, cluster_url: str,
             tls: tuple[Path, Path] | None = None) -> tuple[dict, int, int]:
    """``doc`` made safe to run here: data and logs under ``workdir``, the entry and the API on
    free loopback ports, every cluster at ``cluster_url`` with its version pinned (no probe).
    The entry's TLS files are ``tls`` (certificate, key) when given, else the entry is plain
    HTTP (the tests of flows speak http to it). Returns the document, the entry port and the
    API port."""
    doc = copy.deepcopy(doc)
    doc["path.data"] = str(workdir / "data")
    doc["path.logs"] = str(workdir / "log")
    doc.pop("path.configs", None)
    api_port = free_port()
    doc["api"] = {"enabled": True, "network": {"binding": f"127.0.0.1:{api_port}"}}
    entry_port = 0
    for entry in doc.get("entry") or []:
        if isinstance(entry, dict):
            entry_port = free_port()
            entry.setdefault("network", {})["binding"] = f"127.0.0.1:{entry_port}"
            entry.pop("tls", None)
            if tls is not None:
                entry["tls"] = {"enabled": True, "cert_file": str(tls[0]),
                                "key_file": str(tls[1])}
    for cluster in doc.get("elasticsearch") or []:
        if isinstance(cluster, dict):
            cluster["endpoints"] = [cluster_url]
            cluster.pop("endpoint", None)
            cluster["version"] = "8.19.21"
            cluster["distribution"] = "elasticsearch"
            cluster["discovery"] = {"enabled": False}
    doc.pop("floating_ip", None)  # needs CAP_NET_ADMIN and a real interface
    return doc, entry_port, api_port


def answer(url: str, timeout: float = 2.0, method: str = "GET", body: bytes | None = None,
           content_type: str = "application/json") -> tuple[int | None, str]:
    """(status, body) of one request to loopback; status None when nothing answered."""
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError):
        return None, ""


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass
class Gateway:
    """One gateway process: ``start`` it, ``came_up`` (API answers) or exited, ``stop``."""

    binary: Path
    workdir: Path
    config: dict[str, Any]
    api_port: int
    entry_port: int
    process: subprocess.Popen | None = None
    env: dict[str, str] | None = None  # added to the process's environment (unit's Environment=)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "gateway.out"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def entry(self) -> str:
        return f"http://127.0.0.1:{self.entry_port}"

    def start(self) -> Gateway:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "gateway.yml"
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "-config", str(path)], cwd=self.workdir,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=None if self.env is None else {**os.environ, **self.env},
            )
        return self

    def came_up(self, limit: float = START_LIMIT) -> bool:
        """True once the API answers (any HTTP status: /health says 500 without an `elastic`
        section) and the entry accepts connections; False as soon as the process exited."""
        assert self.process is not None
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            status, _ = answer(f"{self.api}/health", timeout=1.0)
            if status is not None and (not self.entry_port or _listens(self.entry_port)):
                return True
            time.sleep(0.2)
        return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stop this process (by its pid only); its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_LIMIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_LIMIT)
        return self.process.returncode

    def output(self, last: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-last:] if self.log.exists() else ""

    def queue_stats(self) -> dict[str, Any]:
        status, body = answer(f"{self.api}/queue/stats")
        assert status == 200, (status, body)
        return json.loads(body)
