"""``esdr status INVENTORY``: how the inventory's cluster is, and its gateways' queues.

The cluster's health through the same client (and SSH forwards) as ``esdr plan``; for an
inventory with gateway hosts, each gateway's queue depth and replay lag from its API, read as
``esdr gateway status`` reads them. Changes nothing.
"""

from __future__ import annotations

import click

from esdr.cli.args import INVENTORY
from esdr.cli.gateway import report_queues
from esdr.cli.guard import DRIFT, FAILURE, OK, guarded
from esdr.cli.prints import Printer
from esdr.es import client
from esdr.es.client import API_ERRORS
from esdr.es.connect import client_for
from esdr.project import load_valid_project

HEALTH_FIELDS = ("status", "number_of_nodes", "number_of_data_nodes", "active_shards",
                 "unassigned_shards")


def _cluster(printer: Printer, topology) -> int:
    cluster = topology.cluster
    try:
        # one try per node the client knows: a cluster with a node down still answers
        health = client.get_cluster_health(
            client_for(topology, request_timeout=10, max_retries=len(cluster.nodes)), "5s")
    except API_ERRORS as error:
        printer.say(f"cluster {cluster.name}: health unknown ({client.describe(error)})", err=True)
        printer.record(cluster={"name": cluster.name, "status": None})
        return FAILURE
    status = health.get("status")
    printer.say(f"cluster {cluster.name}: {status}, {health.get('number_of_nodes')} nodes "
                f"({health.get('number_of_data_nodes')} data), {health.get('active_shards')} "
                f"active shards, {health.get('unassigned_shards')} unassigned")
    printer.record(cluster={"name": cluster.name} | {k: health.get(k) for k in HEALTH_FIELDS})
    return OK if status == "green" else DRIFT


@click.command()
@INVENTORY
@guarded
def status(printer: Printer, inventory: str) -> int:
    """The cluster's health and each gateway's queue depth and replay lag.

    Exit 0: the cluster is green and every gateway's queues are caught up; 3: the cluster is
    yellow or red, or a replay lags (writes one cluster does not have yet); 1: the cluster or a
    gateway does not answer; 2: the inventory is not valid.
    """
    project, _ = load_valid_project(inventory)
    codes = []
    if project.topology.cluster.nodes:
        codes.append(_cluster(printer, project.topology))
    if project.tier is not None and project.tier.gateways:
        codes.append(report_queues(printer, project.tier))
    # a failure to answer outranks drift: it is the thing to fix first
    return FAILURE if FAILURE in codes else max(codes, default=OK)
