"""The active side of a replicated pair is recorded state (esdr.crossdc.active_side,
esdr.reconcile.registry ``active``), not the estate's YAML: pure rules, no cluster."""

from __future__ import annotations

import pytest

from esdr.crossdc import active_side
from esdr.crossdc.estate import Follower, parse_estate
from esdr.desired import desired_for
from esdr.model import HostSpec, topology_from_hosts
from esdr.reconcile import registry

ESTATE = parse_estate({
    "_source": "estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "t-dc1"}, "dc2": {"cluster_name": "t-dc2"}},
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "leader_index": "orders", "write_alias": "orders-write"},
                  {"cluster": "dc2", "index": "users-copy", "remote": "dc1",
                   "leader_index": "users"}],
})
ORDERS = "dc1:orders>dc2:orders"
USERS = "dc1:users>dc2:users-copy"


def record(leader: str, generation: int, by: str = "promote",
           since: str = "2026-12-05T17:20:03Z") -> dict:
    return {"leader": leader, "since": since, "by": by, "generation": generation}


def topology(dc: str):
    hosts = [HostSpec("n1", ("es_master", "es_data"),
                      {"zone": "az1", "ssh_hostname": "10.0.0.1", "es_cluster_name": f"t-{dc}",
                       "es_version": "8.19.21", "es_security": False, "es_lab": True})]
    return topology_from_hosts(dc, hosts)


def test_a_pair_is_named_leader_then_follower_as_designed():
    assert sorted(active_side.pairs(ESTATE)) == [ORDERS, USERS]


def test_without_records_the_estate_is_as_designed():
    assert active_side.directed(ESTATE, {}) is ESTATE
    assert [s.leader for s in active_side.sides(ESTATE, {})] == ["dc1", "dc1"]
    assert active_side.sides(ESTATE, {})[0].line() == (
        "active side: orders → dc1 (as the estate designs; nothing recorded)")


def test_a_promotion_turns_only_its_pair():
    turned = active_side.directed(ESTATE, {ORDERS: record("dc2", 1)})
    assert turned.followers == (
        Follower(cluster="dc1", index="orders", remote="dc2", leader_index="orders",
                 write_alias="orders-write"),
        ESTATE.followers[1])


def test_the_write_alias_and_the_follower_role_follow_the_record():
    turned = active_side.directed(ESTATE, {ORDERS: record("dc2", 1)})
    dc1, dc2 = desired_for(turned, topology("dc1")), desired_for(turned, topology("dc2"))
    assert dc2.aliases["orders-write"].members == {"orders": True}
    assert "orders" not in dc2.followers and "users-copy" in dc2.followers
    assert dc1.followers["orders"].remote == "dc2"
    assert dc1.aliases["orders-write"].members == {"orders": False}
    assert dc2.leads and dc1.leads


def test_different_index_names_swap_with_the_sides():
    turned = active_side.directed(ESTATE, {USERS: record("dc2", 1)})
    assert turned.followers[1] == Follower("dc1", "users", "dc2", "users-copy")
    (side,) = [s for s in active_side.sides(ESTATE, {USERS: record("dc2", 1)}) if s.key == USERS]
    assert (side.leader, side.index, side.follower, side.follower_index) == (
        "dc2", "users-copy", "dc1", "users")


def test_a_record_naming_the_designed_leader_is_the_design():
    records = {ORDERS: record("dc1", 2, by="failback")}
    assert active_side.directed(ESTATE, records) is ESTATE
    assert active_side.sides(ESTATE, records)[0].line() == (
        "active side: orders → dc1 (recorded by failback at 2026-12-05T17:20:03Z; "
        "as the estate designs)")


def test_the_line_names_the_active_side_how_and_the_design():
    side = active_side.sides(ESTATE, {ORDERS: record("dc2", 1)})[0]
    assert side.line() == ("active side: orders → dc2 (recorded by promote at "
                           "2026-12-05T17:20:03Z; the estate designs dc1)")
    assert side.summary()["leader"] == "dc2" and side.summary()["designed_leader"] == "dc1"


@pytest.mark.parametrize("bad", [
    {"leader": "dc9", "generation": 1},  # a cluster not in the pair
    {"leader": "dc2"},  # no generation
    "dc2",
])
def test_an_invalid_record_is_ignored(bad):
    assert active_side.directed(ESTATE, {ORDERS: bad}) is ESTATE
    assert active_side.sides(ESTATE, {ORDERS: bad})[0].record is None


def test_the_newest_generation_wins_and_the_last_map_wins_a_tie():
    lost_dc = {ORDERS: record("dc1", 1, by="failback")}
    survivor = {ORDERS: record("dc2", 2)}
    assert active_side.newest([survivor, lost_dc])[ORDERS]["leader"] == "dc2"
    assert active_side.newest([lost_dc, survivor])[ORDERS]["leader"] == "dc2"
    tie = {ORDERS: record("dc1", 2, by="switchover")}
    assert active_side.newest([survivor, tie])[ORDERS]["leader"] == "dc1"
    assert active_side.newest([None, {}, {ORDERS: "junk"}]) == {}


# --- the records in esdr-managed ------------------------------------------------------------

def test_with_active_bumps_the_generation_and_keeps_the_rest():
    reg = registry.empty()
    one = registry.with_active(reg, ORDERS, "dc2", "promote", "t1")
    two = registry.with_active(one, ORDERS, "dc2", "failback", "t2")
    assert registry.active_records(one) == {ORDERS: record("dc2", 1, since="t1")}
    assert registry.active_records(two)[ORDERS] == record("dc2", 2, by="failback", since="t2")
    assert registry.active_records(reg) == {} and "promoted" in two
    assert registry.with_active(reg, ORDERS, "dc1", "switchover", "t", generation=7)[
        registry.ACTIVE][ORDERS]["generation"] == 7
    with pytest.raises(ValueError):
        registry.with_active(reg, ORDERS, "dc2", "edit", "t")


class Unreachable:
    pass


def test_record_active_writes_every_reachable_cluster_one_generation_above_all(monkeypatch):
    stored = {"dc1": {**registry.empty(), registry.ACTIVE: {ORDERS: record("dc1", 4)}},
              "dc2": {**registry.empty(), registry.ACTIVE: {ORDERS: record("dc2", 5)}}}
    gone = Unreachable()

    def read(es):
        if es is gone:
            raise registry.client.API_ERRORS[-1]("connection refused")
        return stored[es]

    monkeypatch.setattr(registry, "read", read)
    monkeypatch.setattr(registry, "write", lambda es, reg: stored.__setitem__(es, reg))
    missed = registry.record_active({"dc1": "dc1", "dc2": "dc2", "dc3": gone, "dc4": None},
                                    ORDERS, "dc2", "failback")
    assert missed == ["dc3", "dc4"]
    for alias in ("dc1", "dc2"):
        entry = registry.active_records(stored[alias])[ORDERS]
        assert (entry["leader"], entry["by"], entry["generation"]) == ("dc2", "failback", 6)
        assert entry["since"].endswith("Z")
