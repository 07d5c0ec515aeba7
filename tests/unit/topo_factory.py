"""Small topologies described the way an inventory describes them, for model and validate tests.

A host is ``(name, groups, data)``. The cluster-wide ``es_*`` data is merged into every host, as
pyinfra merges group data, and every host joins the group named after the data centre.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from esdr.model import HostSpec, Topology, topology_from_hosts

Host = tuple[str, tuple[str, ...], dict[str, Any]]
Shape = tuple[list[Host], dict[str, Any]]

CLUSTER: dict[str, Any] = {
    "es_cluster_name": "search-t1",
    "es_version": "8.19.21",
    "es_archive_url": "https://mirror.example.internal/elasticsearch-8.19.21.tar.gz",
    # Security is on by default: the password by reference, never a literal (a literal leaks).
    "es_elastic_password": {"env": "ESDR_T1_ELASTIC_PASSWORD"},
}
DATACENTRE = "t1"
SOURCE = "inventories/t1.py"


def _host(name: str, groups: tuple[str, ...], zone: str, ip: str, **data: Any) -> Host:
    return (name, groups, {"zone": zone, "ssh_hostname": ip, **data})


def shape_a() -> Shape:
    """One master per data zone plus a voting-only tie-breaker in a third, data-less zone."""
    hosts = [
        _host("m1", ("es_master",), "az1", "10.0.0.1", es_heap="4g", ram="16g"),
        _host("m2", ("es_master",), "az2", "10.0.0.2", es_heap="4g", ram="16g"),
        _host("tb", ("es_tiebreaker",), "az3", "10.0.0.3", es_heap="1g", ram="4g"),
        _host("d1", ("es_data",), "az1", "10.0.0.4", es_heap="31g", ram="64g"),
        _host("d2", ("es_data",), "az2", "10.0.0.5", es_heap="31g", ram="64g"),
    ]
    return hosts, dict(CLUSTER)


def shape_b() -> Shape:
    """Three dedicated masters in three zones, one data node per zone, two replicas."""
    hosts = [_host(f"m{i}", ("es_master",), f"az{i}", f"10.0.1.{i}") for i in (1, 2, 3)]
    hosts += [_host(f"d{i}", ("es_data",), f"az{i}", f"10.0.2.{i}") for i in (1, 2, 3)]
    return hosts, {**CLUSTER, "es_index_replicas": 2}


def shape_c() -> Shape:
    """Compact: three nodes, each master-eligible and holding data, one per zone."""
    hosts = [_host(f"n{i}", ("es_master", "es_data"), f"az{i}", f"10.0.3.{i}") for i in (1, 2, 3)]
    return hosts, {**CLUSTER, "es_index_replicas": 2}


def build(
    hosts: list[Host],
    cluster: dict[str, Any],
    datacentre: str = DATACENTRE,
    source: str = SOURCE,
) -> Topology:
    specs = [
        HostSpec(name=name, groups=(*groups, datacentre), data={**cluster, **data})
        for name, groups, data in hosts
    ]
    return topology_from_hosts(datacentre, specs, source=source)


def topology(shape: Callable[[], Shape] = shape_a, **cluster: Any) -> Topology:
    hosts, base = shape()
    return build(hosts, {**base, **cluster})


Mutation = Callable[[list[Host], dict[str, Any]], None]


def mutated(mutation: Mutation, shape: Callable[[], Shape] = shape_a) -> Topology:
    """The shape's topology after one in-place ``mutation(hosts, cluster)``."""
    hosts, cluster = copy.deepcopy(shape())
    mutation(hosts, cluster)
    return build(hosts, cluster)


def data_of(hosts: list[Host], name: str) -> dict[str, Any]:
    """The (mutable) data of host ``name``."""
    return next(data for n, _, data in hosts if n == name)


def set_groups(hosts: list[Host], name: str, groups: tuple[str, ...]) -> None:
    index = next(i for i, (n, _, _) in enumerate(hosts) if n == name)
    hosts[index] = (name, groups, hosts[index][2])
