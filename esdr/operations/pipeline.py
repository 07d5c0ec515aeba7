"""The pipeline service's Python runtime on a host: a venv filled from the estate's wheelhouse
(the choices: ``esdr.kafka.pipeline_runtime``)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import File

from esdr.kafka.pipeline_runtime import VENV_COMPLETE, install_command


@operation()
def venv_installed(venv: str, python: str, wheelhouse_url: str, requirements: str):
    """
    Make ``venv`` and fill it from the wheelhouse with the lock at ``requirements``, unless an
    earlier run completed it (``<venv>/.esdr-complete``, written after pip succeeded). The venv
    is named after its lock, so a completed one never needs filling again; a new lock is a new
    venv, and a half-made one is made again from the start.

    + venv: the lock's venv directory (``pipeline_runtime.venv_dir``)
    + python: the host's interpreter the venv is made with
    + wheelhouse_url: where pip finds the wheels (``--find-links``; nothing else is asked)
    + requirements: the lock file on the host (pinned, hashed: ``--require-hashes``)
    """
    if host.get_fact(File, path=f"{venv}/{VENV_COMPLETE}"):
        host.noop(f"the venv {venv} is complete")
        return
    yield install_command(python, venv, wheelhouse_url, requirements)
