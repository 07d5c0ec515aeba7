"""One context per pyinfra run: what the deploy works out once and every host's operations share.

pyinfra runs ``deploys/site.py`` once per host while it prepares, then executes the operations.
The project (``esdr.project``: topology, estate, gateway tier), its checks, the controller's
security material and the "has this cluster formed" read are the same for every host, so they
are built once, on first use, and kept on the run's ``State`` (weakly: a second run in the same
process, as the tests do, gets a fresh context).
The facts the deploy reads while it is prepared (``prefetch``) are read once, on every node at
once, in one round trip per host: pyinfra prepares one host after another and caches no fact.
The per-node restart decisions are operations (``rolling_restart.restart_needed``, decided by
``_if=``); the context only keeps them, by node, for the one rolling-restart operation to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import gevent
from pyinfra import inventory, state
from pyinfra.api import FactBase
from pyinfra.context import ctx_host, ctx_state

from esdr.facts.batch import Batch, Read, read
from esdr.project import Project, load_project, project_from_inventory
from esdr.security.store import Staged
from esdr.tasks.material import Material


@dataclass
class RunContext:
    project: Project | None = None
    topology_checked: bool = False
    tier_checked: bool = False
    # by cluster name: one run may hold several clusters' hosts (the benchmark's host-level run)
    formed: dict[str, bool] = field(default_factory=dict)
    material: dict[str, Material] = field(default_factory=dict)
    # by cluster name: what the run issued for that cluster's secrets directory, kept back until
    # it executes (``staged_secrets``); one staging, so the estate CA is made once per run
    staged: dict[str, Staged] = field(default_factory=dict)
    # node name -> the OperationMeta of that node's ``restart_needed`` (changed = restart it)
    restart_needed: dict[str, Any] = field(default_factory=dict)
    # (host name, fact read) -> value, read by ``prefetch`` while the deploy is prepared
    facts: dict[tuple[str, Read], Any] = field(default_factory=dict)
    reading: dict[tuple[str, tuple[Read, ...]], Any] = field(default_factory=dict)  # greenlets
    projects: dict[str, Project] = field(default_factory=dict)  # ``project_of``, by file
    # the rolling upgrade this run makes (``preflight.upgrade``): read and judged once, before
    # any operation is added; the greenlet that reads it, so every host waits for the same one
    upgrade: Any = None


_RUNS: WeakKeyDictionary = WeakKeyDictionary()


def run_context() -> RunContext:
    """This run's context, created on first use."""
    run = state._get_module()  # the State itself, not pyinfra's context proxy in front of it
    context = _RUNS.get(run)
    if context is None:
        context = _RUNS[run] = RunContext()
    return context


def staged_secrets(cluster_name: str) -> Staged:
    """This run's staging for ``cluster_name``'s secrets directory, shared by the nodes'
    security material and the gateway tier's certificates: a CA the first one makes is the
    one the second signs with (two stagings would make two CAs, and the second store would be
    refused)."""
    made = run_context().staged
    if cluster_name not in made:
        made[cluster_name] = Staged()
    return made[cluster_name]



def project() -> Project:
    """The inventory pyinfra loaded, as esdr's project (checked by ``esdr.tasks.preflight``)."""
    context = run_context()
    if context.project is None:
        context.project = project_from_inventory(inventory)
    return context.project


def prefetch(host_names: list[str], reads: tuple[Read, ...]) -> None:
    """Read ``reads`` on every one of ``host_names`` at once (one ``Batch`` per host), once per
    run; ``fact`` then answers from it. pyinfra prepares the hosts in parallel greenlets: the
    first host's call starts the reads, the others wait for the same ones."""
    context = run_context()
    run = state._get_module()

    def one(name: str) -> list:
        target = inventory.get_host(name)
        with ctx_state.use(run), ctx_host.use(target):
            return Batch.values(reads, target.get_fact(Batch, reads=reads))

    for name in host_names:
        if (name, reads) not in context.reading:
            # not from state.pool: it is full of the greenlets preparing the hosts
            context.reading[(name, reads)] = gevent.spawn(one, name)
    jobs = [context.reading[(name, reads)] for name in host_names]
    gevent.joinall(jobs, raise_error=True)
    for name, job in zip(host_names, jobs):
        for fact_read, value in zip(reads, job.value):
            context.facts.setdefault((name, fact_read), value)


def fact(host_name: str, cls: type[FactBase], **kwargs: Any) -> Any:
    """A fact ``prefetch`` read on ``host_name``, else read now."""
    known = run_context().facts
    key = (host_name, read(cls, **kwargs))
    if key not in known:
        known[key] = inventory.get_host(host_name).get_fact(cls, **kwargs)
    return known[key]


def project_of(inventory_file: str) -> Project:
    """The project of another inventory file than the one pyinfra runs, loaded once per run:
    a run over several data centres' hosts (``benchmarks/host_level.py``) models each host
    with its own data centre's inventory."""
    projects = run_context().projects
    if inventory_file not in projects:
        projects[inventory_file] = load_project(inventory_file)
    return projects[inventory_file]
