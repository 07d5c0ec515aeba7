"""Contract: remote-cluster settings, _remote/info and snapshot repositories (the objects the
lab also runs for real) against the bodies in Elastic's API reference."""

from __future__ import annotations

from esdr.reconcile import cluster_settings, snapshot_repository
from esdr.changes import Change
from tests.crossdc.fake_es import fake_client

ACK = {"acknowledged": True}


def test_contract_remote_cluster_put_is_flat_persistent_and_nulls_removed_keys():
    es, wire = fake_client([
        ("PUT", "/_cluster/settings?flat_settings=true",
         {"persistent": {"cluster.remote.es01.mode": "sniff",
                         "cluster.remote.es01.seeds": ["es01:9300"],
                         "cluster.remote.es01.skip_unavailable": True,
                         "cluster.remote.es01.proxy_address": None}},
         200, {"acknowledged": True, "persistent": {}, "transient": {}}),
    ])
    change = Change("remote_cluster", "es01", "changed", {"proxy_address": "lb:9300"},
                    {"proxy_address": None, "mode": "sniff", "seeds": ["es01:9300"],
                     "skip_unavailable": True})
    cluster_settings.apply_cluster_settings(es, [change])
    wire.done()


def test_contract_remote_info_not_connected_is_reported():
    info = {"es01": {"connected": False, "mode": "sniff", "seeds": ["es01:9300"],
                     "num_nodes_connected": 0, "max_connections_per_cluster": 3,
                     "initial_connect_timeout": "30s", "skip_unavailable": False}}
    es, wire = fake_client([("GET", "/_remote/info", None, 200, info)])
    from esdr.es import client

    notes = cluster_settings.connection_notes(client.get_remote_info(es), {"es01": {}})
    wire.done()
    assert [n.name for n in notes] == ["es01"]


def test_contract_repository_put_then_verify():
    es, wire = fake_client([
        ("PUT", "/_snapshot/my_repository",
         {"type": "fs", "settings": {"location": "/mnt/snap", "readonly": True}}, 200, ACK),
        ("POST", "/_snapshot/my_repository/_verify", None, 200,
         {"nodes": {"v0i1": {"name": "node-1"}}}),
    ])
    change = Change("snapshot_repository", "my_repository", "created", None,
                    {"type": "fs", "settings": {"location": "/mnt/snap", "readonly": True}})
    snapshot_repository.apply_snapshot_repositories(es, [change])
    wire.done()


def test_contract_repositories_are_read_from_get_snapshot():
    es, wire = fake_client([("GET", "/_snapshot", None, 200, {
        "my_repository": {"type": "fs", "settings": {"location": "/mnt/snap", "readonly": "true"}}})])
    observed = snapshot_repository.observe_snapshot_repositories(es)
    wire.done()
    desired = {"my_repository": {"type": "fs", "settings": {"location": "/mnt/snap",
                                                            "readonly": True}}}
    changes, _ = snapshot_repository.plan_snapshot_repositories(desired, observed, set())
    assert [c.action for c in changes] == ["unchanged"]
