"""Topologies with an estate, and the fake cluster wired under their real clients."""

from __future__ import annotations

import copy
import socket

import pytest

from esdr.model import HostSpec, topology_from_hosts
from tests.reconcile.fake_cluster import FakeCluster, Wire

ES_ESTATE = {
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "t-dc2", "seeds": ["10.0.2.4:9300"]}},
    "licence": "basic",
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "repositories": {
        "dr-snapshots": {"type": "fs", "settings": {"location": "/mnt/snap"},
                         "writer": "dc1", "readers": ["dc2"]},
        "local": {"type": "fs", "settings": {"location": "/mnt/local"}, "writer": "dc2"},
    },
    "slm": {"nightly": {"cluster": "dc2", "schedule": "0 30 1 * * ?", "name": "<nightly-{now/d}>",
                        "repository": "local", "config": {"indices": ["*"]},
                        "retention": {"expire_after": "30d"}}},
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders", "write_alias": "orders-write"}],
    "auto_follow": {"logs-from-dc1": {"cluster": "dc2", "remote": "dc1",
                                      "leader_index_patterns": ["logs-*"],
                                      "leader_index_exclusion_patterns": ["logs-*-copy"],
                                      "follow_index_pattern": "{{leader_index}}-copy"}},
    "bidirectional": {"events": {"dc1": "events-dc1", "dc2": "events-dc2"}},
}

OS_ESTATE = {
    "_source": "estates/t_os.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "t-dc2", "seeds": ["10.0.2.4:9300"]}},
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders", "write_alias": "orders-write"}],
    "auto_follow": {"logs-from-dc1": {"cluster": "dc2", "remote": "dc1",
                                      "leader_index_patterns": ["logs-*"]}},
    "bidirectional": {"events": {"dc1": "events-dc1", "dc2": "events-dc2"}},
}


def topology(estate: dict, engine: str = "elasticsearch", dc: str = "dc2", host: str = "n"):
    """One DC of the estate (DC2 unless ``dc``): two data nodes in two zones (awareness is
    owned), both remote-cluster clients, security off (no CA: the fake speaks plain HTTP)."""
    version = "2.19.4" if engine == "opensearch" else "8.19.21"
    number = dc.removeprefix("dc")
    hosts = [HostSpec(f"{host}{i}", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": f"az{i}", "ssh_hostname": f"10.0.{number}.{i}",
                       "es_cluster_name": f"t-{dc}", "es_version": version, "es_engine": engine,
                       "es_security": False, "es_lab": True, "es_estate": copy.deepcopy(estate)})
             for i in (1, 2)]
    return topology_from_hosts(dc, hosts)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Nothing leaves the process: a socket connect fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def wire(monkeypatch):
    return Wire().install(monkeypatch)


def cluster_for(wire: Wire, topo, **kwargs) -> FakeCluster:
    return wire.add(FakeCluster(engine=topo.cluster.engine.name, name="t-dc2", **kwargs), topo)
