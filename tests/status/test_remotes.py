"""`esdr status`'s remote lines: ``GET _remote/info`` answers for the node asked, and only the
remote-cluster-client nodes hold remote connections, so every such node is asked (as
esdr.reconcile.run does) and a remote is connected only when each of them that answered is."""

from __future__ import annotations

from esdr.model import HostSpec, topology_from_hosts
from esdr.status import read
from esdr.status.read import Outcome

ESTATE = {
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "inventory": "inventories/dc1.py",
                         "seeds": ["10.0.1.3:9300"]},
                 "dc2": {"cluster_name": "t-dc2", "inventory": "inventories/dc2.py",
                         "seeds": ["10.0.2.3:9300"]}},
    "links": [{"from": "dc1", "to": "dc2"}],
}
UP = {"dc2": {"connected": True, "num_nodes_connected": 2}}


def _topology():
    data = {"zone": "az1", "es_cluster_name": "t-dc1", "es_version": "8.19.21",
            "es_security": False, "es_http_port": 9200, "es_api_transport": "direct",
            "es_estate": ESTATE}
    hosts = [HostSpec("m1", ("es_master",), {**data, "ssh_hostname": "10.0.1.1"}),
             HostSpec("d1", ("es_data", "es_remote_cluster_client"),
                      {**data, "ssh_hostname": "10.0.1.3"}),
             HostSpec("d2", ("es_data", "es_remote_cluster_client"),
                      {**data, "ssh_hostname": "10.0.1.4"})]
    return topology_from_hosts("dc1", hosts)


def test_only_the_remote_cluster_client_nodes_are_asked() -> None:
    assert [n.name for n in read.remote_client_nodes(_topology())] == ["d1", "d2"]


def test_a_remote_is_connected_when_every_node_that_answered_is() -> None:
    [remote] = read._remotes(_topology(), {"d1": Outcome(UP), "d2": Outcome(late=True)},
                             1.0)["remotes"]
    assert (remote.alias, remote.connected, remote.nodes) == ("dc2", True, 2)


def test_a_node_not_connected_is_named() -> None:
    down = {"dc2": {"connected": False, "num_nodes_connected": 0}}
    [remote] = read._remotes(_topology(), {"d1": Outcome(UP), "d2": Outcome(down)},
                             1.0)["remotes"]
    assert remote.connected is False and remote.reason == "not connected on d2"


def test_no_node_answering_leaves_the_remote_unknown() -> None:
    [remote] = read._remotes(_topology(), {"d1": Outcome(late=True)}, 1.5)["remotes"]
    assert remote.connected is None and remote.reason == "no answer within 1.5 s"
