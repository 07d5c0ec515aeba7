"""The pair reader of `esdr status` (esdr.cli.status._follower_link): the follower's state,
its lag in operations and seconds, never a 0 that was not measured, and a follower seen in
sync recorded as before."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from esdr.cli import status as status_cli
from esdr.crossdc import active_side
from esdr.crossdc.estate import parse_estate
from esdr.reconcile import registry
from esdr.replication.base import Lag
from esdr.replication.in_sync import InSync
from esdr.status.report import Figure, FollowerLink

ESTATE = parse_estate({
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1", "inventory": "inventories/dc1.py"},
                 "dc2": {"cluster_name": "t-dc2", "inventory": "inventories/dc2.py"}},
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders", "write_alias": "orders-write"}],
})
SIDE = active_side.sides(ESTATE, {})[0]
LINK = FollowerLink(pair=SIDE.key, index="orders", leader="dc1", follower="dc2",
                    follower_index="orders", designed_leader="dc1")
ACTIVE = {"remote_cluster": "dc1", "leader_index": "orders", "status": "active"}


class FakeAdapter:
    def __init__(self, observed, lag):
        self.observed, self._lag, self.es = observed, lag, "es-dc2"

    def follower(self, index):
        return self.observed

    def lag(self, index):
        return self._lag


def _read(adapter, own=None, seconds=2.0):
    return status_cli._follower_link("inventories/dc2.py", ESTATE, adapter, SIDE, own or {},
                                     LINK, time.monotonic() + seconds)


def test_a_follower_seen_in_sync_now_has_0_s_measured_and_is_recorded(monkeypatch):
    at = datetime.now(timezone.utc)
    written = {}
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: "es-dc1")
    monkeypatch.setattr(status_cli, "probe", lambda *a, **k: InSync(at, {"0": 5}, {"0": 5}))
    monkeypatch.setattr(registry, "read", lambda es: {"managed": {}})
    monkeypatch.setattr(registry, "write", lambda es, reg: written.update({es: reg}))
    link = _read(FakeAdapter(ACTIVE, Lag("orders", 0, last_read_ms=200)))
    assert link.state == "active"
    assert link.lag_operations == Figure(0) and link.lag_seconds == Figure(0, " s")
    assert link.last_in_sync == at.isoformat(timespec="seconds")
    assert written["es-dc2"][registry.IN_SYNC]["orders"]["follower_checkpoint"] == 5
    # what the OpenSearch lab's drill checks before the loss (esdr_lab/replication_drill.py)
    assert link.seen_now == "recorded"


def test_a_follower_seen_in_sync_but_not_recorded_says_so(monkeypatch):
    at = datetime.now(timezone.utc)
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: "es-dc1")
    monkeypatch.setattr(status_cli, "probe", lambda *a, **k: InSync(at, {"0": 5}, {"0": 5}))
    monkeypatch.setattr(registry, "read", lambda es: {"managed": {}})

    def refused(es, reg):
        meta = ApiResponseMeta(403, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
        raise ApiError("security_exception", meta, {})

    monkeypatch.setattr(registry, "write", refused)
    link = _read(FakeAdapter(ACTIVE, Lag("orders", 0, last_read_ms=200)))
    assert link.seen_now == "not recorded"
    assert link.lag_seconds == Figure(0, " s")


def test_a_follower_not_probed_is_not_seen_now(monkeypatch):
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: None)
    assert _read(FakeAdapter(ACTIVE, Lag("orders", 0, last_read_ms=200))).seen_now is None


def test_an_unmeasured_lag_is_unknown_with_the_time_since_last_in_sync_as_its_bound(
        monkeypatch):
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: None)  # the leader's DC is lost
    own = {registry.IN_SYNC: {"orders": {"at": "2026-12-06T07:00:00.000+00:00"}}}
    link = _read(FakeAdapter(ACTIVE, Lag("orders", None, note="leader unreachable")), own)
    assert link.lag_operations.value is None
    assert link.lag_operations.text() == "unknown: leader unreachable"
    assert link.lag_seconds.value is None and link.lag_seconds.at_most > 0
    assert link.lag_seconds.text().startswith("unknown (≤ ")
    assert link.last_in_sync == "2026-12-06T07:00:00+00:00"


def test_a_stale_leader_checkpoint_is_not_shown_as_the_lag(monkeypatch):
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: None)
    stale = Lag("orders", 0, last_read_ms=None, note="the follower cannot read the leader")
    link = _read(FakeAdapter(ACTIVE, stale))
    assert link.lag_operations.value is None
    assert "0 as of the follower's last read" in link.lag_operations.text()
    assert link.lag_seconds.text() == "unknown: never seen in sync"


def test_a_regular_index_and_a_missing_one_are_named(monkeypatch):
    monkeypatch.setattr(status_cli, "_client_of", lambda *a: None)
    assert _read(FakeAdapter({}, None)).state == "a regular index, not following"
    assert _read(FakeAdapter(None, None)).state == "missing"


def test_the_probe_waits_only_what_is_left_after_the_leaders_client_is_built(monkeypatch):
    waits = []

    def slow_client(*a):
        time.sleep(0.5)  # loading the leader's inventory and its SSH forwards
        return "es-dc1"

    monkeypatch.setattr(status_cli, "_client_of", slow_client)
    monkeypatch.setattr(status_cli, "probe",
                        lambda *a, wait, **k: waits.append(wait) or "1 operation(s) behind")
    _read(FakeAdapter(ACTIVE, Lag("orders", 0, last_read_ms=200)), seconds=1.0)
    assert waits and waits[0] <= 0.31, waits
