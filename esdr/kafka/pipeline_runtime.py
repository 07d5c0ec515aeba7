"""The Python runtime of the pipeline service on its hosts, the pure part: where the venv and
esdr's code go, the command that fills the venv, and esdr's own modules as one zip.
Pure: text and bytes out; the deploy (``esdr.tasks.kafka_pipeline``) reads the files and runs
the command.

The choice, and why (docs/kafka-dual-write.md, "The pipeline hosts' Python"):

- third-party packages go into a venv made with the host's own Python (Debian's ``python3``,
  with ``python3-venv`` for ``ensurepip``), never into the system's site-packages (Debian
  marks it externally managed, PEP 668);
- pip installs from the estate's wheelhouse alone: ``--no-index --find-links <url>``, so a
  host needs no internet, only the mirror it already gets Kafka and the engine from;
  ``--only-binary=:all:``, so nothing is compiled there; ``--require-hashes`` against esdr's
  lock (``pipeline-requirements.txt`` beside this module), so a wheel that differs from the one
  the tests ran is refused (https://pip.pypa.io/en/stable/topics/secure-installs/);
- one venv per lock (``venv-<digest>``), filled completely before the ``venv`` link moves to
  it: a failed install never breaks the running service, and a new lock is a new link, which
  restarts the services; an unchanged lock changes nothing;
- esdr's own modules come from the deploying machine as one zip (``esdr.zip`` on the unit's
  PYTHONPATH; Python imports from it, https://docs.python.org/3/library/zipimport.html): the
  code that runs is the code that rendered its config, and only the modules the service
  imports are in it, so an unrelated change of esdr does not restart the services.
"""

from __future__ import annotations

import ast
import hashlib
import io
import shlex
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from esdr.kafka.model import PipelineInstall
from esdr.kafka.pipeline_service import MODULE, ServicePaths

LOCK_FILE = "pipeline-requirements.txt"
VENV_COMPLETE = ".esdr-complete"  # written last into a venv pip filled without error
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: the same bytes on every run
# Debian's python3 makes a venv with pip only with python3-venv (ensurepip and its wheels);
# without it `python3 -m venv` stops with "ensurepip is not available"
DEBIAN_PYTHON = "/usr/bin/python3"
DEBIAN_VENV_PACKAGE = "python3-venv"


def lock_path() -> Path:
    return Path(__file__).with_name(LOCK_FILE)


def requirements_text() -> str:
    """esdr's lock: every package the service needs besides esdr, pinned, with hashes."""
    return lock_path().read_text()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def venv_link(install: PipelineInstall) -> str:
    return f"{install.root}/venv"


def venv_dir(install: PipelineInstall, requirements: str) -> str:
    """The venv of this lock: a new lock gets a new directory."""
    return f"{install.root}/venv-{digest(requirements)}"


def requirements_path(install: PipelineInstall) -> str:
    return f"{install.root}/requirements.txt"


def code_path(install: PipelineInstall) -> str:
    return f"{install.root}/esdr.zip"


def service_paths(install: PipelineInstall) -> ServicePaths:
    """The unit runs the venv's python, through the ``venv`` link, with esdr's zip."""
    return ServicePaths(python=f"{venv_link(install)}/bin/python", code=code_path(install))


def install_command(python: str, venv: str, wheelhouse_url: str, requirements: str) -> str:
    """Make ``venv`` with ``python`` and fill it from the wheelhouse with the lock at
    ``requirements`` (on the host); marked complete only when pip succeeded. A half-made one
    (an earlier run cut off) is removed first."""
    q = shlex.quote
    # pip ignores a plain-http find-links host unless it is named trusted
    # (https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-trusted-host). What it fetches
    # from there is still checked: --require-hashes refuses any wheel whose sha256 is not the
    # lock's, so http costs confidentiality (public wheels), not integrity.
    parsed = urlsplit(wheelhouse_url)
    trusted = (["--trusted-host", q(parsed.netloc)]
               if parsed.scheme == "http" and parsed.netloc else [])
    pip = " ".join([
        q(f"{venv}/bin/python"), "-m", "pip", "install", "--disable-pip-version-check",
        "--no-input", "--no-cache-dir", "--no-index", "--find-links", q(wheelhouse_url),
        *trusted, "--only-binary=:all:", "--require-hashes", "-r", q(requirements),
    ])
    return (f"rm -rf {q(venv)} && {q(python)} -m venv {q(venv)} && {pip} && "
            f"touch {q(f'{venv}/{VENV_COMPLETE}')}")


def stale_venvs_command(install: PipelineInstall, requirements: str) -> str:
    """Remove the venvs of earlier locks (after the services restarted on the new one)."""
    q = shlex.quote
    keep = venv_dir(install, requirements).rsplit("/", 1)[1]
    return (f"find {q(install.root)} -mindepth 1 -maxdepth 1 -type d -name 'venv-*' "
            f"! -name {q(keep)} -exec rm -rf {{}} +")


# ---------------------------------------------------------------------------------------------
# esdr's own modules, as one zip


def _imports(source: str, module: str, is_package: bool) -> set[str]:
    """The esdr modules ``source`` imports (at any depth: a function's lazy import counts),
    and for ``from esdr.x import y`` both ``esdr.x`` and ``esdr.x.y`` (which may be a module)."""
    out: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in out if name == "esdr" or name.startswith("esdr.")}


def module_closure(read: Callable[[str], str | None], start: str = MODULE) -> dict[str, str]:
    """The files of every esdr module ``start`` imports, directly or not, with its packages'
    ``__init__.py``: relative path -> source. ``read(path)`` gives a file of the esdr tree by
    its path relative to the tree's parent (``esdr/kafka/model.py``), None when absent."""
    files: dict[str, str] = {}
    pending = [start]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
        base = "/".join(parts)
        for path, is_package in ((f"{base}/__init__.py", True), (f"{base}.py", False)):
            source = read(path)
            if source is not None:
                files[path] = source
                pending += sorted(_imports(source, name, is_package))
                break
    return dict(sorted(files.items()))


def code_zip(files: Mapping[str, str]) -> bytes:
    """The zip of ``files`` (path -> source): stored, sorted, fixed times and modes, so the
    same sources always give the same bytes (and the deploy's upload changes nothing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the deploying machine is
            archive.writestr(info, files[path].encode())
    return buffer.getvalue()
