"""The pipeline service's Python runtime on a host: a venv filled from the estate's wheelhouse
(the choices: ``esdr.kafka.pipeline_runtime``)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import File

from esdr.facts.kafka import PipelineInstances
from esdr.kafka.pipeline_runtime import VENV_COMPLETE, install_command
from esdr.kafka.pipeline_service import (
    UNIT_TEMPLATE,
    ServicePaths,
    leftover_instances,
    retire_commands,
    retire_template_commands,
)


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


@operation()
def instances_retired(keep: list[str], paths: ServicePaths):
    """
    Stop, disable and remove every pipeline service instance this host holds that the estate
    no longer has it run (``pipeline_service.leftover_instances``), and the template unit when
    it runs none at all. Yields nothing when there is none: a rerun is no change.

    + keep: the pipeline ids this host runs now
    + paths: where the services' files are (``ServicePaths``)
    """
    found = host.get_fact(PipelineInstances, conf_dir=paths.conf_dir, unit_dir=paths.unit_dir,
                          template=UNIT_TEMPLATE) or {}
    leftover = leftover_instances(found.get("units", ()), found.get("configs", ()), keep)
    for ident in leftover:
        yield from retire_commands(ident, paths)
    if not keep and found.get("template"):
        yield from retire_template_commands(paths)
    elif leftover:
        yield "systemctl daemon-reload"
    if not leftover and not (not keep and found.get("template")):
        host.noop("no pipeline service instance left over")
