"""esdr's rendered gateway.yml, run by the real INFINI Gateway binary between two stand-in
clusters on loopback (tests/gateway/fake_cluster.py; no JVM): what it does with writes, reads
and outages, and what its API says about its queues (esdr.gateway.queues).

One gateway for the module, driven through one story in order: writes with and without ids
reach both clusters under the same ids; reads come from the primary; the backup down, writes
are still acknowledged and its queue's lag grows; back, the queue drains and the clusters agree;
the primary down, writes go to the backup and queue for the primary, reads come from the
backup; back, the primary gets them. The config's health-check interval is cut to 1 s here
(5 s rendered) so the outages are noticed sooner; nothing else of it changes.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from esdr.gateway.queues import QueueState, parse_queue_stats
from esdr.gateway.render import gateway_yml
from tests.gateway.binary import Gateway, answer, loopback
from tests.gateway.factory import CLUSTERS, tier
from tests.gateway.fake_cluster import FakeCluster

WAIT = 60.0  # seconds any one change may take to show (bounded polling, no timing asserted)
INDEX = "orders"


@pytest.fixture(scope="module")
def clusters():
    primary, backup = FakeCluster("dc1").start(), FakeCluster("dc2").start()
    yield primary, backup
    primary.stop()
    backup.stop()


@pytest.fixture(scope="module")
def gateway(gateway_binary, clusters, tmp_path_factory):
    primary, backup = clusters
    model = tier(gateway_clusters={
        "primary": {**CLUSTERS["primary"], "endpoints": [primary.url], "username": None,
                    "password": None},
        "backup": {**CLUSTERS["backup"], "endpoints": [backup.url], "username": None,
                   "password": None},
    })
    doc = yaml.safe_load(gateway_yml(model, model.host("gw1")))
    workdir = tmp_path_factory.mktemp("gateway-run")
    doc, entry, api = loopback(doc, workdir, primary.url)
    for cluster, fake in zip(doc["elasticsearch"], (primary, backup)):
        cluster["endpoints"] = [fake.url]  # loopback() pointed both at one
    for check in ("health_check", "availability_check"):
        doc["elastic"][check]["interval"] = "1s"
    running = Gateway(gateway_binary, workdir, doc, api, entry).start()
    try:
        assert running.came_up(), running.output()
        # Until its first health check a cluster counts as unavailable, so a write in that
        # first second would take the else branch (the backup, queued for the primary).
        _until("both clusters available to the gateway", lambda: all(
            f"elasticsearch [{name}] is available" in running.output(100_000)
            for name in ("dc1", "dc2")))
        yield running
    finally:
        running.stop()


def _write(gateway: Gateway, method: str, path: str, body: dict | str) -> tuple[int | None, dict]:
    data = body if isinstance(body, str) else json.dumps(body)
    kind = "application/x-ndjson" if isinstance(body, str) else "application/json"
    status, text = answer(f"{gateway.entry}{path}", timeout=10, method=method,
                          body=data.encode(), content_type=kind)
    return status, (json.loads(text) if text.startswith("{") else {})


def _until(what: str, check, limit: float = WAIT):
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {limit}s (last: {last!r})")


def _queue(gateway: Gateway, name: str) -> QueueState | None:
    return next((q for q in parse_queue_stats(gateway.queue_stats()) if q.name == name), None)


def test_writes_reach_both_clusters_under_the_same_ids(gateway, clusters) -> None:
    primary, backup = clusters
    assert _write(gateway, "PUT", f"/{INDEX}/_doc/1", {"n": 1})[0] == 201
    status, created = _write(gateway, "POST", f"/{INDEX}/_doc", {"n": 2})  # no id
    assert status == 201
    bulk = (f'{{"index":{{"_index":"{INDEX}"}}}}\n{{"n":3}}\n'
            f'{{"index":{{"_index":"{INDEX}","_id":"b"}}}}\n{{"n":4}}\n'
            f'{{"create":{{"_index":"{INDEX}"}}}}\n{{"n":5}}\n')
    status, result = _write(gateway, "POST", "/_bulk", bulk)
    assert status == 200 and result["errors"] is False
    expected = {"1", created["_id"], "b"} | {
        next(iter(item.values()))["_id"] for item in result["items"]}
    assert len(expected) == 5
    assert primary.ids(INDEX) == expected
    _until("the backup holding the same ids", lambda: backup.ids(INDEX) == expected)
    queue = _until("the backup's replay consumer caught up",
                   lambda: (q := _queue(gateway, "dc2-queue")) and q.caught_up and q)
    assert queue.messages == 3 and queue.consumer == "esdr-replay-dc2"


def test_reads_come_from_the_primary(gateway, clusters) -> None:
    primary, backup = clusters
    primary.put(INDEX, "r", {"from": "dc1"}, create=False)
    backup.put(INDEX, "r", {"from": "dc2"}, create=False)
    status, text = answer(f"{gateway.entry}/{INDEX}/_doc/r")
    assert status == 200 and json.loads(text)["_source"] == {"from": "dc1"}


def test_backup_down_writes_still_acknowledged_and_queued_then_replayed(gateway, clusters
                                                                        ) -> None:
    primary, backup = clusters
    backup.stop()
    for n in range(10):
        assert _write(gateway, "PUT", f"/{INDEX}/_doc/while-backup-down-{n}", {"n": n})[0] == 201
    owed = {f"while-backup-down-{n}" for n in range(10)}
    assert owed <= primary.ids(INDEX) and not owed & backup.ids(INDEX)
    lagging = _until("the backup queue showing lag",
                     lambda: (q := _queue(gateway, "dc2-queue")) and (q.lag_bytes or 0) > 0 and q)
    assert lagging.messages == 13 and not lagging.caught_up
    assert "behind by" in lagging.line()
    # the queue is on disk: a gateway stopped (SIGTERM) and started again still owes the writes
    assert gateway.stop() == 0
    seen = len(gateway.output(10**9))
    gateway.start()
    assert gateway.came_up(), gateway.output()
    _until("the primary available to the restarted gateway",
           lambda: "elasticsearch [dc1] is available" in gateway.output(10**9)[seen:])
    assert not owed & backup.ids(INDEX)
    assert _queue(gateway, "dc2-queue").messages == 13
    backup.start()  # same port, same documents as before it went down
    _until("the backup getting every queued write", lambda: owed <= backup.ids(INDEX))
    # the restarted gateway writes a new queue file; the lag reads exact again once the
    # consumer is in it, i.e. after the next write
    assert _write(gateway, "PUT", f"/{INDEX}/_doc/after-restart", {"n": 0})[0] == 201
    _until("the backup queue caught up", lambda: _queue(gateway, "dc2-queue").caught_up)
    assert backup.ids(INDEX) == primary.ids(INDEX)


def test_primary_down_writes_go_to_the_backup_and_queue_for_the_primary(gateway, clusters
                                                                        ) -> None:
    primary, backup = clusters
    primary.stop()
    # The primary refuses the connection, so the request never reached it: the write goes to
    # the backup, queued for the primary, from the first one on, before the gateway's health
    # check notices (the connect fall-back, docs/gateway-failover.md)
    assert _write(gateway, "PUT", f"/{INDEX}/_doc/probe-0", {"n": 0})[0] == 201
    for n in range(5):
        assert _write(gateway, "PUT", f"/{INDEX}/_doc/while-primary-down-{n}", {"n": n})[0] == 201
    owed = {f"while-primary-down-{n}" for n in range(5)} | {"probe-0"}
    assert owed <= backup.ids(INDEX) and not owed & primary.ids(INDEX)
    status, text = answer(f"{gateway.entry}/{INDEX}/_doc/while-primary-down-0")
    assert status == 200 and json.loads(text)["_source"] == {"n": 0}  # read from the backup
    queue = _until("a queue of writes owed to the primary",
                   lambda: _queue(gateway, "dc1-queue"))
    assert queue.messages == len(owed)
    primary.start()
    _until("the primary getting every write it missed", lambda: owed <= primary.ids(INDEX))
    assert {i for i in backup.ids(INDEX) if not i.startswith("probe-")} == {
        i for i in primary.ids(INDEX) if not i.startswith("probe-")}


def test_esdr_gateway_status_reads_depth_and_lag_from_the_api(gateway, tmp_path) -> None:
    """The command asks each gateway of an inventory (here the one on 127.0.0.1, straight:
    no sshd runs here to forward through)."""
    from click.testing import CliRunner

    from esdr.cli.main import cli

    inventory = tmp_path / "loopback_gateway.py"
    clusters = {role: {"name": c["name"], "endpoints": ["http://127.0.0.1:9"],
                       "version": c["version"], "distribution": c["distribution"]}
                for role, c in CLUSTERS.items()}
    inventory.write_text(
        f"gateways = [('gw1', {{'gateway_address': '127.0.0.1', "
        f"'gateway_api_port': {gateway.api_port}, 'gateway_api_transport': 'direct', "
        f"'gateway_clusters': {clusters!r}}})]\n")
    _until("both queues caught up", lambda: all(
        q.caught_up for q in parse_queue_stats(gateway.queue_stats())))
    result = CliRunner().invoke(cli, ["--json", "gateway", "status", str(inventory)])
    answer_ = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    queues = {q["name"]: q for q in answer_["gateways"]["gw1"]}
    assert set(queues) == {"dc1-queue", "dc2-queue"}
    assert all(q["caught_up"] and q["lag_bytes"] == 0 for q in queues.values())
    assert queues["dc2-queue"]["messages"] == 14
    assert "gateway gw1: queue dc2-queue: 14 messages, esdr-replay-dc2 caught up" in (
        answer_["messages"])
