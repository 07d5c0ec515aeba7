"""One context per pyinfra run: what the deploy works out once and every host's operations share.

pyinfra runs ``deploys/site.py`` once per host while it prepares, then executes the operations.
The project (``esdr.project``: topology, estate, gateway tier), its checks, the controller's
security material and the "has this cluster formed" read are the same for every host, so they
are built once, on first use, and kept on the run's ``State`` (weakly: a second run in the same
process, as the tests do, gets a fresh context).
The per-node restart decisions are operations (``rolling_restart.restart_needed``, decided by
``_if=``); the context only keeps them, by node, for the one rolling-restart operation to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from pyinfra import inventory, state

from esdr.project import Project, project_from_inventory

if TYPE_CHECKING:
    from esdr.tasks.security import Material


@dataclass
class RunContext:
    project: Project | None = None
    topology_checked: bool = False
    tier_checked: bool = False
    formed: bool | None = None
    material: Material | None = None
    # node name -> the OperationMeta of that node's ``restart_needed`` (changed = restart it)
    restart_needed: dict[str, Any] = field(default_factory=dict)


_RUNS: WeakKeyDictionary = WeakKeyDictionary()


def run_context() -> RunContext:
    """This run's context, created on first use."""
    run = state._get_module()  # the State itself, not pyinfra's context proxy in front of it
    context = _RUNS.get(run)
    if context is None:
        context = _RUNS[run] = RunContext()
    return context



def project() -> Project:
    """The inventory pyinfra loaded, as esdr's project (checked by ``esdr.tasks.preflight``)."""
    context = run_context()
    if context.project is None:
        context.project = project_from_inventory(inventory)
    return context.project
