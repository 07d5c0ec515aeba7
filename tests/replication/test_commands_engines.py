"""`esdr promote` / `esdr failback` on an OpenSearch estate: the CLI picks the engine's adapter
from the inventory's topology, keeps the healthy-leader refusal, and says one line on errors."""

from __future__ import annotations

from urllib3.exceptions import NewConnectionError

from tests.replication.fake_os import ACK, ANY, fake_os_client, not_found, shard_stats
from tests.replication.test_opensearch_contract_api import SYNCING
from tests.replication.test_promote_leader_errors import failing_leader


def test_promote_on_opensearch_stops_and_switches_when_the_leader_dc_is_gone(promote_on_dc2):
    gone = failing_leader("opensearch", NewConnectionError(None, "Connection refused"))
    code, out = promote_on_dc2(gone, [
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),
        # the unreachable leader's link goes first: `_stop` would wait on its connections
        ("GET", "/_cluster/settings?flat_settings=true", None, 200, {"persistent": {
            "cluster.remote.dc1.mode": "sniff", "cluster.remote.dc1.seeds": ["10.0.0.1:9300"],
            "cluster.remote.dc3.seeds": ["10.0.0.3:9300"]}, "transient": {}}),
        ("PUT", "/_cluster/settings?flat_settings=true", {"persistent": {
            "cluster.remote.dc1.mode": None, "cluster.remote.dc1.seeds": None}}, 200, ACK),
        ("GET", "/_plugins/_replication/orders/_status", None, 200, SYNCING),
        shard_stats("orders", 499),
        ("POST", "/_plugins/_replication/orders/_stop", {}, 200, ACK),
        ("GET", "/_alias/orders-w", None, 200, {"orders": {"aliases": {"orders-w": {}}}}),
        ("POST", "/_aliases", ANY, 200, ACK),
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found()),
        ("HEAD", "/esdr-managed", None, 404, {}),
        ("PUT", "/esdr-managed", ANY, 200, ACK),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 201, {"result": "created"}),
        # the active side: dc2 now, recorded where it can be (dc1 is gone)
        ("GET", "/esdr-managed/_doc/registry", None, 200, {"found": True, "_source": {}}),
        ("HEAD", "/esdr-managed", None, 200, {}),
        ("PUT", "/esdr-managed/_doc/registry?refresh=wait_for", ANY, 200, {"result": "updated"}),
    ])
    assert code == 0
    assert out[-1] == "active side of orders: dc2, recorded in dc2 (not in dc1: unreachable)"
    out = out[:-1]
    assert out[0].startswith("leader data centre dc1: unreachable")
    assert out[1].startswith("detached the link dc2->dc1 (unreachable)")
    assert "step 1/2: [dc2] stop orders" in out
    # the follower's view says 0 behind, but the leader did not answer: no count (the drill:
    # 263 acknowledged writes were missing behind a "0 operation(s) behind")
    assert out[-1] == (
        "  promoted orders: lag unknown (leader dc1 unreachable); window unknown: any write "
        "acknowledged by dc1 may be missing (esdr has no record of the follower in sync; the "
        "replication stats give no time of the follower's last read)")
    assert not any("0 operation(s)" in line for line in out)


def test_promote_on_opensearch_refuses_while_the_leader_dc_is_healthy(promote_on_dc2):
    leader, _ = fake_os_client([("GET", "/_cluster/health?timeout=5s", None, 200,
                                 {"status": "green"})])
    # nothing but the registry read goes to DC2
    code, out = promote_on_dc2(leader, [
        ("GET", "/esdr-managed/_doc/registry", None, 404, not_found())])
    assert code == 1 and "reachable and green" in out[-1] and "--force" in out[-1]


def test_an_opensearch_error_is_one_line_exit_1(promote_on_dc2):
    code, out = promote_on_dc2(None, [("GET", "/esdr-managed/_doc/registry", None, 403,
                                       {"error": {"type": "security_exception",
                                                  "reason": "no permissions for "
                                                            "[indices:data/read/get]"},
                                        "status": 403})])
    assert code == 1 and len(out) == 1
    assert "403 security_exception: no permissions" in out[0]
