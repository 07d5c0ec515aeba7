"""Runbooks record the followers they make and unmake as a deploy would
(``registry.with_follower_roles``): the first deploy after them writes nothing."""

from esdr.reconcile import registry


def test_a_follower_made_by_a_runbook_is_recorded_and_a_promoted_one_is_not():
    reg = {**registry.empty(), "follower_index": ["events-dc2", "orders"]}
    assert registry.with_follower_roles(reg, leading=["orders"])["follower_index"] == \
        ["events-dc2"]
    assert registry.with_follower_roles(reg, following=["logs"])["follower_index"] == \
        ["events-dc2", "logs", "orders"]
    assert reg["follower_index"] == ["events-dc2", "orders"]  # the caller's is left as it was


def test_nothing_to_record_returns_the_same_registry():
    reg = {**registry.empty(), "follower_index": ["orders"]}
    assert registry.with_follower_roles(reg, following=["orders"]) is reg
    assert registry.with_follower_roles(reg, leading=["logs"]) is reg
