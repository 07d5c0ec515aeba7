"""The deploy's preflight renders every file once: a value its format cannot carry stops the run
with one message before any operation is added, not on the third host."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from pyinfra.api.exceptions import PyinfraError

from esdr.tasks import preflight
from esdr.tasks.context import RunContext
from tests.gateway.factory import tier
from tests.unit.topo_factory import topology


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):
    """Preflight over a given model, its checks passing (the renderer's defence is tested)."""
    context = RunContext()
    monkeypatch.setattr(preflight, "run_context", lambda: context)
    monkeypatch.setattr(preflight, "validate", lambda _: [])
    monkeypatch.setattr(preflight, "validate_tier", lambda _: [])

    def _with(**project):
        monkeypatch.setattr(preflight, "project", lambda: SimpleNamespace(**project))

    return _with


def test_an_unrenderable_node_value_stops_the_deploy_in_preflight(run) -> None:
    topo = topology()
    settings = {**topo.cluster.settings, "es_service_environment": {"A": "x\nExecStartPre=/x"}}
    topo = dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, settings=settings))
    run(topology=topo)

    with pytest.raises(PyinfraError, match=r"nothing was changed:\n  host m1: .*es_service_env"):
        preflight.topology()


def test_an_unrenderable_gateway_value_stops_the_deploy_in_preflight(run) -> None:
    model = tier()
    door = dataclasses.replace(model.front_door, settings={
        **model.front_door.settings, "interface": "eth0\n notify_master /x"})
    run(tier=dataclasses.replace(model, front_door=door))

    with pytest.raises(PyinfraError, match=r"host gw1: keepalived.conf: interface"):
        preflight.gateway_tier()


def test_a_renderable_model_passes(run) -> None:
    run(topology=topology(), tier=tier())
    assert preflight.topology() is not None
    assert preflight.gateway_tier() is not None
