"""The run context is one per pyinfra run, and the rolling restart restarts exactly the nodes
whose ``restart_needed`` operation ran and changed (pyinfra decided it through ``_if=``)."""

from __future__ import annotations

from pyinfra.api import State
from pyinfra.connectors.util import CommandOutput
from pyinfra.api.operation import OperationMeta
from pyinfra.context import ctx_state

from esdr.operations.rolling_restart import _changed
from esdr.tasks.context import run_context


def _op(ran: bool, changed: bool) -> OperationMeta:
    meta = OperationMeta("hash", is_change=None)
    if ran:
        meta.set_complete(True, ["_marked"] if changed else [], CommandOutput([]))
    return meta


def test_one_context_per_run() -> None:
    first, second = State(), State()
    with ctx_state.use(first):
        context = run_context()
        assert run_context() is context
    with ctx_state.use(second):
        assert run_context() is not context


def test_restarts_only_the_nodes_whose_mark_changed() -> None:
    needed = {
        "dc1-data-az1": _op(ran=True, changed=True),  # its config changed while it ran
        "dc1-data-az2": _op(ran=True, changed=False),  # _if= said no
        "dc1-master-az1": _op(ran=False, changed=False),  # its host failed before this op
    }
    assert _changed(needed) == ["dc1-data-az1"]
