"""After the Kafka hosts: the estate's topics converged, once per run.

``kafka_topics_host`` adds the step on every host of a Kafka cluster (of this inventory) whose
estate names topics; ``_run_once`` makes the first of them run it, after every host's Kafka
operations (pyinfra runs operations in the order the deploy adds them). Like the Elasticsearch
cluster-level objects (``esdr.tasks.post_deploy``) it plans while pyinfra executes and yields a
command only when there is something to write, so the rerun of a converged estate reports the
operation as "no change". ``pyinfra --dry`` cannot show the topics' diff: ``esdr plan`` does.

How it reaches the brokers (from this machine, directly, over TLS with the ``esdr-admin``
certificate) and why: ``esdr.kafka_io.cluster``.
"""

from __future__ import annotations

import sys

from pyinfra import host, state
from pyinfra.api import FunctionCommand, operation

from esdr.errors import EsdrError
from esdr.kafka.model import KafkaEstate
from esdr.kafka.topics import TopicPlan, plan_lines
from esdr.kafka_io.cluster import (
    BROKERS_WAIT,
    admin_for,
    clusters_of,
    converge_cluster_topics,
    plan_cluster_topics,
)
from esdr.tasks.context import project
from esdr.tasks.post_deploy import SWITCH, destructive_switch


def _say(message: str) -> None:
    print(f"[esdr] {message}", file=sys.stderr, flush=True)


def kafka_topics_host(model: tuple[KafkaEstate, str] | None) -> None:
    """Add the topics step on a Kafka host (see the module); nothing without Kafka topics."""
    if model is None:
        return
    estate, _ = model
    names = clusters_of(estate, {h.name for h in state.inventory})
    if any(host.name in estate.kafka_clusters[name].hosts for name in names):
        topics_converged(name="Kafka topics converged", estate=estate, clusters=names,
                         _run_once=True)


def decide(plan: TopicPlan, allow_destructive: bool) -> tuple[str, list[str]]:
    """The step's decision for one cluster and the lines it prints: "fail", "apply" or
    "noop" (``TopicPlan.decision``)."""
    lines = plan_lines(plan)
    decision = plan.decision(allow_destructive)
    if decision == "fail":
        lines.append(f"error: kafka {plan.where}: {len(plan.blocking)} blocking note(s): "
                     "nothing is applied until the estate asks what Kafka can do")
    pending = plan.pending_destructive(allow_destructive)
    if pending:
        lines.append(f"kafka {plan.cluster}: {len(pending)} destructive change(s) not made: "
                     f"rerun the deploy with --data {SWITCH}=true")
    return decision, lines


@operation(is_idempotent=False)
def topics_converged(estate: KafkaEstate, clusters: list[str],
                     allow_destructive: bool | None = None):
    """
    Converge the topics of the estate's Kafka ``clusters`` and the record of the topics esdr
    manages (``esdr-managed``).

    + estate: the checked Kafka design (``esdr.tasks.preflight.kafka_estate``)
    + clusters: the Kafka clusters to converge (``esdr.kafka_io.cluster.clusters_of``)
    + allow_destructive: also make the changes that delete data (a shorter retention, a
      managed topic dropped from the estate); ``None`` reads ``pyinfra --data
      allow_destructive=true``

    Run it once (``_run_once=True``) after the Kafka hosts' operations.
    """
    allow = destructive_switch(allow_destructive)
    if not state.is_executing:
        _say(f"Kafka topics of {', '.join(clusters)} are converged once the brokers run; to "
             f"preview them (pyinfra --dry cannot): esdr plan {project().source or 'INVENTORY'}")
        return
    topology = project().topology
    todo = []
    for name in clusters:
        cluster = estate.kafka_clusters[name]
        try:
            admin = admin_for(topology, name, cluster)
            plan = plan_cluster_topics(admin, name, cluster, wait=BROKERS_WAIT)
        except EsdrError as error:
            yield FunctionCommand(_fail, (str(error),), {})
            return
        decision, lines = decide(plan, allow)
        for line in lines:
            _say(line)
        if decision == "fail":
            yield FunctionCommand(_fail, ("; ".join(n.line() for n in plan.blocking),), {})
            return
        if decision == "apply":
            todo.append((admin, plan, cluster))
    if not todo:
        host.noop(f"Kafka topics of {', '.join(clusters)} are converged")
        return
    yield FunctionCommand(_apply, (todo, allow), {})


# pyinfra passes state and host to a FunctionCommand only when the parameters carry exactly
# these names (and only then uses the return value as the command's status).
def _fail(state, host, message: str) -> bool:
    _say(f"error: {message}")
    return False


def _apply(state, host, todo: list, allow_destructive: bool) -> bool:
    for admin, plan, cluster in todo:
        try:
            applied, notes, _ = converge_cluster_topics(
                admin, plan, cluster, allow_destructive=allow_destructive,
                by=f"deploy --data {SWITCH}=true" if allow_destructive else "deploy")
        except EsdrError as error:  # one clear line, not a traceback
            _say(f"error: {error}")
            return False
        for change in applied:
            mark = (f" (DESTRUCTIVE, allowed by {SWITCH}=true; recorded in esdr-managed)"
                    if change.destructive else "")
            _say(f"kafka {plan.cluster}: {change.kind} {change.name} {change.action}{mark}")
        for note in notes:
            if note not in plan.notes:
                _say(f"kafka {plan.cluster}: {note.line()}")
    return True
