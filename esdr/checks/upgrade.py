"""Refuse a version change the model alone shows to be wrong, before any host is touched.

Across the estate's data centres: a cluster that follows another (``followers``,
``auto_follow``, ``bidirectional``) must run the same or a newer ``es_version`` than its
leader, so an upgrade goes to the followers first and the leaders last. With the versions
the nodes run (observed by the preflight, or recorded), each cluster's change is also judged
node by node: a downgrade, a skipped major, a major entered from an old minor, a new upgrade
on top of a half-done one. The rules and their sources are ``esdr.upgrade``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from esdr.crossdc.estate import Estate, EstateError
from esdr.model import Topology
from esdr.problems import Problem
from esdr.upgrade import REFUSED, follower_problems, plan_upgrade


def check_upgrade(
    topologies: Iterable[Topology],
    running: Mapping[str, Mapping[str, str | None]] | None = None,
) -> list[Problem]:
    """Problems of the estate's versions; ``running``: cluster name -> node name -> the version
    it runs (None: not known), for the clusters the caller could read."""
    topologies = list(topologies)
    problems: list[Problem] = []
    for estate, members in _by_estate(topologies):
        versions: dict[str, str | None] = {}
        engines: set[str] = set()
        for topology in members:
            alias = estate.alias_of(topology.cluster.name)
            if alias is not None:
                versions[alias] = topology.cluster.version
                engines.add(topology.cluster.engine.name)
        if len(engines) == 1:  # replication runs between clusters of one engine only
            problems += follower_problems(estate, versions, engine=engines.pop())
    for topology in topologies:
        nodes = (running or {}).get(str(topology.cluster.name))
        if nodes is None:
            continue
        plan = plan_upgrade(topology.cluster, nodes)
        if plan.action == REFUSED:
            problems += [p for p in plan.problems if p not in problems]
    return problems


def _by_estate(topologies: list[Topology]) -> list[tuple[Estate, list[Topology]]]:
    """The topologies grouped by the estate they carry (by its file), in first-seen order; an
    unreadable estate is its own check's problem (``estate-unreadable``)."""
    groups: dict[str, tuple[Estate, list[Topology]]] = {}
    for topology in topologies:
        try:
            estate = topology.estate
        except EstateError:
            continue
        if estate is not None:
            groups.setdefault(estate.source, (estate, []))[1].append(topology)
    return list(groups.values())
