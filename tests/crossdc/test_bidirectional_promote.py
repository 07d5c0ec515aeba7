"""`esdr promote --all` on a DC of an estate with a bi-directional pair (CCR: the documented
API contract, CCR cannot run here): the uni-directional follower is promoted, the
bi-directional one is left following and reported with its data at risk; naming it is refused
unless --break-bidirectional, which records the pair for `esdr failback`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from esdr import replication
from esdr.cli import cluster as commands
from esdr.cli.main import cli
from esdr.model import HostSpec, topology_from_hosts
from esdr.replication.ccr import CcrReplication
from tests.crossdc.fake_es import ANY, fake_client, not_found
from tests.crossdc.test_ccr_failover_contract import ACK, DOC, _stats_with_the_leader_gone


ESTATE = {
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1"}, "dc2": {"cluster_name": "dc2-cluster"}},
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "write_alias": "orders-w"}],
    "bidirectional": {"logs": {"dc1": "logs-dc1", "dc2": "logs-dc2"}},
}


def _stats(index: str) -> dict:
    body = _stats_with_the_leader_gone()
    body["indices"][0]["index"] = index
    for shard in body["indices"][0]["shards"]:
        shard.update(follower_index=index, leader_index=index)
    return body


def _shards(index: str) -> dict:
    return {"indices": {index: {"shards": {"0": [
        {"routing": {"state": "STARTED", "primary": True, "node": "n1"},
         "seq_no": {"max_seq_no": 896, "local_checkpoint": 768, "global_checkpoint": 768}}]}}}}


def _invoke(monkeypatch, requests, *args):
    """``esdr promote inventories/dc2.py *args`` on dc2 (answering ``requests`` in order), dc1
    given no client (--force then promotes; its lag is never measured)."""
    hosts = [HostSpec("n1", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": "az1", "ssh_hostname": "10.0.0.1",
                       "es_cluster_name": "dc2-cluster", "es_version": "8.19.21",
                       "es_security": False, "es_estate": ESTATE})]
    topology = topology_from_hosts("t", hosts)
    es, wire = fake_client(requests, topology)
    monkeypatch.setattr(commands, "topology_of", lambda inventory: topology)
    monkeypatch.setattr(replication, "adapter_for",
                        lambda t, es_=None, replicator=None: CcrReplication(es))
    monkeypatch.setattr(commands, "remote_client", lambda inv, estate, alias: None)
    result = CliRunner().invoke(cli, ["promote", "inventories/dc2.py", *args])
    return result, wire


def test_promote_all_promotes_the_pair_and_leaves_the_bidirectional_follower(monkeypatch):
    result, wire = _invoke(monkeypatch, [
        ("GET", DOC, None, 404, not_found()),
        ("GET", "/orders/_ccr/stats", None, 200, _stats("orders")),
        ("GET", "/orders/_stats?level=shards", None, 200, _shards("orders")),
        ("POST", "/orders/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/orders/_close", None, 200, ACK),
        ("POST", "/orders/_ccr/unfollow", None, 200, ACK),
        ("POST", "/orders/_open", None, 200, ACK),
        ("GET", "/_alias/orders-w", None, 404, not_found()),
        ("POST", "/_aliases", ANY, 200, ACK),
        ("GET", DOC, None, 404, not_found()),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 201, {"result": "created"}),
        ("GET", "/logs-dc1/_ccr/stats", None, 200, _stats("logs-dc1")),
        ("GET", DOC, None, 200, {"found": True, "_source": {}}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ], "--all", "--force")
    assert result.exit_code == 0, result.output
    wire.done()
    lines = result.output.splitlines()
    kept = lines[lines.index("bi-directional followers, left following (data at risk: writes "
                             "their own DC acknowledged that may be missing here until it "
                             "returns):") + 1]
    assert kept.startswith("  logs-dc1: not promoted: dc1's own write index in the "
                           "bi-directional pair logs, nothing to promote")
    assert "lag unknown" in kept and "operation(s) behind" not in kept
    assert not any("logs-dc1/_ccr/pause_follow" in p for _, p, _ in wire.seen)


def test_naming_the_bidirectional_follower_is_refused(monkeypatch):
    result, wire = _invoke(monkeypatch, [("GET", DOC, None, 404, not_found())],
                           "--index", "logs-dc1", "--force")
    assert result.exit_code == 2, result.output
    assert "--break-bidirectional" in result.output
    wire.done()


def test_break_bidirectional_promotes_and_records_the_pair(monkeypatch):
    result, wire = _invoke(monkeypatch, [
        ("GET", DOC, None, 404, not_found()),
        ("GET", "/logs-dc1/_ccr/stats", None, 200, _stats("logs-dc1")),
        ("GET", "/logs-dc1/_stats?level=shards", None, 200, _shards("logs-dc1")),
        ("POST", "/logs-dc1/_ccr/pause_follow", None, 200, ACK),
        ("POST", "/logs-dc1/_close", None, 200, ACK),
        ("POST", "/logs-dc1/_ccr/unfollow", None, 200, ACK),
        ("POST", "/logs-dc1/_open", None, 200, ACK),
        ("GET", DOC, None, 404, not_found()),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", f"{DOC}?refresh=wait_for", ANY, 201, {"result": "created"}),
    ], "--index", "logs-dc1", "--force", "--break-bidirectional")
    assert result.exit_code == 0, result.output
    wire.done()
    record = [b for m, p, b in wire.seen if m == "PUT" and p == DOC][-1]
    assert record["promoted"]["logs-dc1"]["bidirectional"] == "logs"
