"""Check the project once per run, before any operation is added: a bad topology or gateway
tier stops the run here, before any host is changed."""

from __future__ import annotations

import sys

from pyinfra.api.exceptions import PyinfraError

from esdr.checks import validate
from esdr.checks.gateway import validate_tier
from esdr.errors import BadInput
from esdr.gateway.model import GatewayTier
from esdr.gateway.render import host_files
from esdr.model import Topology
from esdr.problems import Problem, errors
from esdr.render import distribution_rewrites, node_files
from esdr.tasks.context import project, run_context


def topology() -> Topology:
    """The data centre's checked model."""
    context = run_context()
    model = project().topology
    if not context.topology_checked:
        _refuse_errors("topology", validate(model))
        _refuse_unrenderable("topology", lambda: [distribution_rewrites(model.cluster)] + [
            node_files(model, node, bootstrap=True) for node in model.cluster.nodes])
        context.topology_checked = True
    return model


def gateway_tier() -> GatewayTier | None:
    """The checked gateway tier of this inventory, None without gateway hosts."""
    context = run_context()
    model = project().tier
    if model is not None and not context.tier_checked:
        _refuse_errors("gateway tier", validate_tier(model))
        _refuse_unrenderable("gateway tier", lambda: [
            host_files(model, host) for host in (*model.gateways, *model.balancers)])
        context.tier_checked = True
    return model


def gateway_only() -> bool:
    """Gateway (and nginx) hosts without any Elasticsearch node: the cluster checks, which
    would refuse it for having no nodes, do not apply."""
    return project().gateway_only


def _refuse_errors(what: str, problems: list[Problem]) -> None:
    for problem in problems:
        if problem.severity != "error":
            print(f"[esdr] {problem}", file=sys.stderr)  # stdout is pyinfra's --json document
    bad = errors(problems)
    if bad:
        raise PyinfraError(
            f"esdr refuses this {what} ({len(bad)} problem(s)); nothing was changed:\n"
            + "\n".join(f"  {p}" for p in bad)
        )


def _refuse_unrenderable(what: str, render_all) -> None:
    """Render every file once: a value its file's format cannot carry stops the run here, not
    half-way through the hosts."""
    try:
        render_all()
    except BadInput as exc:
        raise PyinfraError(f"esdr refuses this {what}; nothing was changed:\n  {exc}") from None
