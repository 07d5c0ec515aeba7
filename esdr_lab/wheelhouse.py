"""The wheelhouse the pipeline hosts fill their venv from: a directory of wheels that the lab's
mirror serves (``<MIRROR_URL>/esdr-pipeline-wheels/``, a directory listing pip's
``--find-links`` reads), standing in for a data centre's internal package mirror.

What goes in is exactly esdr's lock, ``esdr/kafka/pipeline-requirements.txt``: every package
the service imports besides esdr's own modules (confluent-kafka, opensearch-py, elasticsearch,
pydantic, PyYAML and their dependencies), pinned, with the sha256 of each wheel. The wheels come
from the registry (or pip's cache) through ``pip download --require-hashes``, for the lab
hosts' CPython (Debian bookworm: 3.11, x86_64, glibc 2.36), binary wheels only: the hosts build
nothing. The hosts' pip checks the same hashes again when it installs
(docs/kafka-dual-write.md, "The pipeline hosts' Python").

``write_lock`` is the maintainer's side: it pins the versions this machine's venv runs (the ones
the loopback tests proved) and records their wheels' hashes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from esdr.errors import EsdrError
from esdr.kafka.pipeline_runtime import lock_path

DIRECTORY = "esdr-pipeline-wheels"  # under the mirror's directory
TOP_LEVEL = ("confluent-kafka", "opensearch-py", "elasticsearch", "pydantic", "PyYAML")
PYTHON_VERSION = "3.11"  # the lab image's python3 (Debian bookworm)
DOWNLOAD_TIMEOUT = 600
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-.*\.whl$")


def platform_args(python_version: str = PYTHON_VERSION) -> list[str]:
    """pip's target: CPython ``python_version`` on x86_64 glibc Linux, wheels only."""
    abi = "cp" + python_version.replace(".", "")
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
            "--abi", abi, "--abi", "abi3", "--abi", "none",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--platform", "manylinux2014_x86_64"]


def canonical(name: str) -> str:
    """PEP 503's normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_text(wheels: Path) -> str:
    """A ``--require-hashes`` requirements file for the wheels in ``wheels``: one pinned line
    per project, with the sha256 of each of its wheels."""
    projects: dict[str, tuple[str, list[str]]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        match = _WHEEL.match(wheel.name)
        if not match:
            raise EsdrError(f"{wheel.name} is not a wheel file name")
        name, version = canonical(match["name"]), match["version"]
        known = projects.setdefault(name, (version, []))
        if known[0] != version:
            raise EsdrError(f"two versions of {name} in {wheels}: {known[0]} and {version}")
        known[1].append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    lines = ["# esdr's lock for the pipeline service's runtime (esdr_lab/wheelhouse.py "
             "write_lock);", "# pip install --no-index --require-hashes checks every wheel "
             "against it.", ""]
    for name, (version, hashes) in sorted(projects.items()):
        lines.append(f"{name}=={version} \\")
        lines += [f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "")
                  for i, h in enumerate(sorted(hashes))]
    return "\n".join(lines) + "\n"


def _pip(args: list[str], say: Callable[[str], None]) -> None:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--no-input", *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=DOWNLOAD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise EsdrError(f"pip download did not finish in {DOWNLOAD_TIMEOUT}s",
                        hint="check this machine's access to the package registry") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise EsdrError("pip download of the pipeline's wheels failed: " + " | ".join(tail),
                        hint="check this machine's access to the package registry (or pip's "
                             "cache) and the lock esdr/kafka/pipeline-requirements.txt")
    say(f"pip download: {len(result.stdout.splitlines())} lines of output")


def write_lock(target: Path | None = None, python_version: str = PYTHON_VERSION,
               say: Callable[[str], None] | None = None) -> Path:
    """Regenerate the lock: the top-level packages at the versions this venv runs (the ones
    the tests proved), their dependencies resolved for the hosts' Python and platform."""
    say = say or (lambda _m: None)
    target = target or lock_path()
    from importlib import metadata

    pins = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
                  if d.metadata["Name"] and canonical(d.metadata["Name"]) != "esdr")
    with tempfile.TemporaryDirectory(prefix="esdr-lock-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("\n".join(pins) + "\n")
        wheels = Path(tmp) / "wheels"
        _pip([*platform_args(python_version), "-d", str(wheels), "-c", str(constraints),
              *TOP_LEVEL], say)
        target.write_text(lock_text(wheels))
    return target


def build_wheelhouse(target: Path, lock: Path | None = None,
                     python_version: str = PYTHON_VERSION,
                     say: Callable[[str], None] | None = None) -> str:
    """``target`` holding exactly the lock's wheels for the hosts' Python, each checked
    against its hash by pip while downloading: "cached" when it already does, else "built"."""
    say = say or (lambda _m: None)
    lock = lock or lock_path()
    text = lock.read_text()
    if target.is_dir() and _matches(target, text):
        return "cached"
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _pip([*platform_args(python_version), "--no-deps", "--require-hashes", "-r", str(lock),
          "-d", str(partial)], say)
    if not _matches(partial, text):
        raise EsdrError(f"the wheels downloaded into {partial} are not the lock's",
                        hint="regenerate the lock (esdr_lab.wheelhouse.write_lock)")
    for wheel in partial.iterdir():
        os.chmod(wheel, 0o644)
    os.chmod(partial, 0o755)
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)
    say(f"built the pipeline wheelhouse {target} ({len(list(target.glob('*.whl')))} wheels)")
    return "built"


def _matches(directory: Path, lock: str) -> bool:
    """Every wheel in ``directory`` has a hash the lock lists, and every pinned project has a
    wheel there."""
    wheels = list(directory.glob("*.whl"))
    hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", lock))
    pinned = {canonical(n) for n in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    named = {canonical(m["name"]) for w in wheels if (m := _WHEEL.match(w.name))}
    return (bool(wheels) and pinned == named
            and all(hashlib.sha256(w.read_bytes()).hexdigest() in hashes for w in wheels))
