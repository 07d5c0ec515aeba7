"""The pure topic plan: created, deleted only when esdr made it, partitions grow only, a new
replication factor needs a reassignment, config drift with destructive flags for changes that
delete messages. Properties: planning the estate against itself is all unchanged; no plan ever
shrinks partitions; every delete and every lowered retention needs the switch."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from esdr.changes import Change, drift
from esdr.kafka.topics import (
    KIND,
    KIND_CONFIG,
    KIND_PARTITIONS,
    KIND_REPLICATION,
    deletes_data,
    desired_topics,
    plan_cluster_topics,
    plan_topic,
    plan_topics,
)
from tests.kafka.factory import estate

SETTINGS = settings(max_examples=300, deadline=None, database=None)


def _topic(partitions: int = 6, rf: int = 3, **config: Any) -> dict[str, Any]:
    return {"partitions": partitions, "replication_factor": rf, "config": config}


def test_desired_topics_fill_in_the_default_factor_and_kafka_strings() -> None:
    desired = desired_topics(estate().kafka_clusters["kafka-dc1"])
    assert desired["orders"] == {"partitions": 6, "replication_factor": 3,
                                 "config": {"retention.ms": "604800000"}}


def test_the_estate_against_itself_is_unchanged() -> None:
    cluster = estate().kafka_clusters["kafka-dc1"]
    changes, notes = plan_cluster_topics(cluster, desired_topics(cluster), set())
    assert drift(changes) == [] and notes == []
    assert [(c.kind, c.name) for c in changes] == [(KIND, "orders"),
                                                   (KIND, "orders.dead-letters")]


def test_create_delete_foreign_and_internal() -> None:
    changes, notes = plan_topics(
        {"new": _topic()},
        {"gone": _topic(), "theirs": _topic(), "__consumer_offsets": _topic(50)},
        managed={"gone"},
    )
    assert [(c.action, c.name, c.destructive) for c in changes] == [
        ("deleted", "gone", True), ("created", "new", False)]
    assert [(n.name, n.blocking) for n in notes] == [("theirs", False)]


def test_partitions_grow_with_a_note_on_key_order() -> None:
    [change], [note] = plan_topic("t", _topic(12), _topic(6), set())
    assert (change.kind, change.before, change.after, change.destructive) == (
        KIND_PARTITIONS, 6, 12, False)
    assert "key" in note.message and not note.blocking


def test_partitions_never_shrink() -> None:
    changes, [note] = plan_topic("t", _topic(3), _topic(6), set())
    assert changes == [Change(KIND, "t", "unchanged", _topic(6), _topic(3))]
    assert note.blocking and "cannot remove partitions" in note.message


def test_replication_factor_needs_a_reassignment() -> None:
    [up], [note] = plan_topic("t", _topic(rf=3), _topic(rf=2), set())
    assert (up.kind, up.destructive, note.blocking) == (KIND_REPLICATION, False, True)
    [down], _ = plan_topic("t", _topic(rf=2), _topic(rf=3), set())
    assert down.destructive  # copies are dropped


def test_config_drift_and_what_deletes_data() -> None:
    [change], notes = plan_topic("t", _topic(**{"retention.ms": 86400000}),
                                 _topic(**{"retention.ms": "604800000"}), set())
    assert (change.kind, change.destructive) == (KIND_CONFIG, True)
    assert "retention.ms shorter" in notes[0].message
    [change], notes = plan_topic("t", _topic(**{"retention.ms": -1}),
                                 _topic(**{"retention.ms": "604800000"}), set())
    assert not change.destructive and notes == []
    # an override removed falls back to the broker's 7 days: from infinite, that deletes
    [change], _ = plan_topic("t", _topic(), _topic(**{"retention.ms": "-1"}), set())
    assert change.destructive and change.after == {}
    assert deletes_data({}, {"cleanup.policy": "compact"}) == ["cleanup.policy delete -> compact"]
    assert deletes_data({"cleanup.policy": "compact,delete"},
                        {"cleanup.policy": "delete,compact"}) == []
    assert deletes_data({}, {"min.insync.replicas": "2"}) == []
    assert deletes_data({"retention.bytes": "100"}, {"local.retention.bytes": "50"}) == [
        "local.retention.bytes shorter"]


RETENTION = st.one_of(st.just(None), st.integers(-1, 10**10))
POLICY = st.sampled_from([None, "delete", "compact", "compact,delete"])


def _config(retention: int | None, policy: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if retention is not None:
        config["retention.ms"] = retention
    if policy is not None:
        config["cleanup.policy"] = policy
    return config


TOPIC = st.builds(
    lambda partitions, rf, retention, policy: _topic(partitions, rf,
                                                     **_config(retention, policy)),
    st.integers(1, 64), st.integers(1, 5), RETENTION, POLICY)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "__x"]), TOPIC),
       st.dictionaries(st.sampled_from(["a", "b", "c", "__x"]), TOPIC),
       st.sets(st.sampled_from(["a", "b", "c"])))
def test_plan_properties(desired: dict[str, Any], observed: dict[str, Any],
                         managed: set[str]) -> None:
    changes, notes = plan_topics(desired, observed, managed)
    for change in changes:
        assert not change.name.startswith("__")  # Kafka's own topics are never planned
        if change.kind == KIND_PARTITIONS:
            assert change.after > change.before  # grow only
        if change.action == "deleted":
            assert change.destructive and change.name in managed
        if change.kind == KIND_CONFIG:
            lowered = deletes_data(change.before, change.after)
            assert change.destructive == bool(lowered)
    for name in set(desired) & set(observed) - {"__x"}:
        if desired[name]["partitions"] < observed[name]["partitions"]:
            assert any(n.name == name and n.blocking for n in notes)
    # the plan against what it would leave behind has no drift (apply converges)
    after = {n: d for n, d in desired.items() if not n.startswith("__")}
    again, _ = plan_topics(after, after, managed)
    assert drift(again) == []
