"""`esdr promote` on an Elasticsearch CCR estate with the leader's DC gone, through the command:
CCR cannot run here (the lab's Elasticsearch has no CCR module), so it is tested against the
documented API contract (bodies from
https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-get-follow-stats.html,
ccr-post-pause-follow.html, ccr-post-unfollow.html, cluster-update-settings.html,
indices-stats.html).

The link to the unreachable leader is detached first, as on OpenSearch: Elasticsearch's unfollow
removes the follower's retention leases on the leader through a connection it reopens if
needed (TransportUnfollowAction), which a black-holed DC makes wait. Unfollow then answers an
error naming the leases it left (the index is unfollowed all the same); the promotion goes on
to open the index and move the alias, and prints no count it cannot know.
"""

from __future__ import annotations

from click.testing import CliRunner
from urllib3.exceptions import NewConnectionError

from esdr import replication
from esdr.cli import cluster as commands
from esdr.cli.main import cli
from esdr.model import HostSpec, topology_from_hosts
from esdr.replication.ccr import CcrReplication
from tests.crossdc.fake_es import ANY, fake_client, not_found
from tests.crossdc.test_ccr_failover_contract import (ACK, DOC, LEASES_LEFT,
                                                      _stats_with_the_leader_gone)
from tests.replication.test_promote_leader_errors import failing_leader

ESTATE = {
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "es-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "es-dc2", "seeds": ["10.0.2.4:9300"]}},
    "licence": "trial",
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "write_alias": "orders-w"}],
}


def test_ccr_promote_detaches_the_lost_leaders_link_and_finishes_despite_the_leases(
        monkeypatch):
    hosts = [HostSpec("n1", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": "az1", "ssh_hostname": "10.0.2.1", "es_cluster_name": "es-dc2",
                       "es_version": "8.19.21", "es_security": False, "es_estate": ESTATE})]
    topology = topology_from_hosts("t", hosts)
    shards = {"indices": {"orders": {"shards": {"0": [
        {"routing": {"state": "STARTED", "primary": True, "node": "n1"},
         "seq_no": {"max_seq_no": 896, "local_checkpoint": 768, "global_checkpoint": 768}}]}}}}
    es, wire = fake_client([
        ("GET", DOC, None, 404, not_found()),
        ("GET", "/_cluster/settings?flat_settings=true", None, 200, {"persistent": {
            "cluster.remote.dc1.mode": "sniff", "cluster.remote.dc1.seeds": ["10.0.1.4:9300"]},
            "transient": {}}),
        ("PUT", "/_cluster/settings?flat_settings=true", {"persistent": {
            "cluster.remote.dc1.mode": None, "cluster.remote.dc1.seeds": None}}, 200,
         {"acknowledged": True, "persistent": {}, "transient": {}}),
        ("GET", "/orders/_ccr/stats", None, 200, _stats_with_the_leader_gone()),
        ("GET", "/orders/_stats?level=shards", None, 200, shards),
        ("POST", "/orders/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/orders/_close", None, 200, ACK),
        ("POST", "/orders/_ccr/unfollow", None, 404, LEASES_LEFT),
        ("GET", "/orders/_ccr/info", None, 200, {"follower_indices": []}),
        ("POST", "/orders/_open", None, 200, ACK),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", ANY, 200, ACK),
        ("GET", DOC, None, 404, not_found()),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 201, {"result": "created"}),
        ("GET", DOC, None, 200, {"found": True, "_source": {}}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ], topology)
    gone = failing_leader("elasticsearch", NewConnectionError(None, "Connection refused"))
    monkeypatch.setattr(commands, "topology_of", lambda inventory: topology)
    monkeypatch.setattr(replication, "adapter_for",
                        lambda t, es_=None, replicator=None: CcrReplication(es))
    monkeypatch.setattr(commands, "remote_client", lambda inv, estate, alias: gone)
    result = CliRunner().invoke(cli, ["promote", "inventories/dc2.py", "--index", "orders"])
    assert result.exit_code == 0, result.output
    wire.done()
    out = result.output.splitlines()
    assert out[0].startswith("leader data centre dc1: unreachable")
    assert out[1].startswith("detached the link dc2->dc1 (unreachable)")
    assert "step 4/5: [dc2] open orders" in out
    promoted = [line for line in out if line.startswith("  promoted orders: ")]
    assert promoted and "lag unknown (leader dc1 unreachable" in promoted[0]
    assert not any("operation(s) behind" in line for line in out)
    record = [b for m, p, b in wire.seen if m == "PUT" and p == DOC][0]["promoted"]["orders"]
    assert record["detached_link"] == {"cluster.remote.dc1.mode": "sniff",
                                       "cluster.remote.dc1.seeds": ["10.0.1.4:9300"]}
    assert out[-1] == "active side of orders: dc2, recorded in dc2 (not in dc1: unreachable)"
