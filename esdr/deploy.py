"""The whole deploy of one data centre, for ``pyinfra -y INVENTORY deploys/site.py``.

pyinfra runs the deploy file once per host while it prepares (https://docs.pyinfra.com/en/3.x/
deploy-process.html); the file calls ``site()``, so every estate's ``deploys/site.py`` is the
same two lines and no user project holds a copy of this logic (``esdr init`` writes that file).
Operations keep their order: pyinfra orders them by the line numbers of the whole call stack
below the deploy file, which is the same for every host.
"""

from __future__ import annotations

from pyinfra import host, state

from esdr.operations import cluster, rolling_restart
from esdr.operations.phases import clock_for
from esdr.tasks import (
    gateway,
    kafka,
    kafka_logstash,
    kafka_pipeline,
    kafka_topics,
    post_deploy,
    preflight,
)
from esdr.tasks.context import run_context
from esdr.tasks.node import elasticsearch_node


def site() -> None:
    """The current host's part of the deploy: the topology is validated first, and a bad one
    stops the run before any host is changed."""
    clock_for(state)  # time per phase, printed by the cluster summary
    gateway_tier = preflight.gateway_tier()  # the INFINI Gateway tier, checked; None without one
    topology = None if preflight.gateway_only() else preflight.topology()
    nodes = topology.cluster.nodes if topology else ()
    node = next((n for n in nodes if n.host == host.name), None)

    if node is not None:
        # every node's running version, read and judged before any operation is added: a
        # refused version change stops the run here (esdr.upgrade)
        upgrade = preflight.upgrade(topology)
        elasticsearch_node(topology, node)
        rolling_restart.rolling_restart(
            name="Rolling restart of changed nodes",
            topology=topology,
            needed=run_context().restart_needed,  # filled by every node's deploy, read when run
            service=topology.cluster.engine.service,
            timeout=topology.cluster["es_restart_timeout"],
            upgrade=rolling_restart.Upgrade(
                upgrade.plan.target or "", upgrade.install_dir, upgrade.link,
                frozenset(upgrade.nodes), upgrade.from_yellow) if upgrade.nodes else None,
            _run_once=True,
        )
        # Cluster-level objects (settings, remotes, repositories, SLM, CCR, aliases): `esdr plan`
        post_deploy.cluster_objects(
            name="Cluster-level objects converged", topology=topology, _run_once=True
        )
        cluster.summary(name="Cluster summary", topology=topology, _run_once=True)

    gateway.gateway_tier_host(gateway_tier)  # gateway hosts: gateway + front door
    kafka.kafka_host(preflight.kafka_estate())  # the estate's Kafka controllers and brokers
    # then, once, their topics (and the record of those esdr manages): `esdr plan` shows the diff
    kafka_topics.kafka_topics_host(preflight.kafka_estate())
    # and the consumer pipeline services on the hosts the estate names in `pipeline_hosts`
    kafka_pipeline.pipeline_host(preflight.kafka_estate())
    # and Logstash on those of search clusters whose pipeline_backend is logstash
    kafka_logstash.logstash_host(preflight.kafka_estate())
