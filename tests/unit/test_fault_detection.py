"""The fault-detection profile: what it renders, the values in force, and what is refused."""

from __future__ import annotations

import pytest

from esdr.checks import validate
from esdr.fault_detection import (
    FOLLOWER_CHECK,
    LEADER_CHECK,
    PROFILES,
    PUBLISH_TIMEOUT,
    detection_seconds,
    duration_ms,
    in_force,
    profile_settings,
)
from esdr.render import elasticsearch_yml, yaml_value

from . import topo_factory as factory


def _rules(topology) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for problem in validate(topology):
        out.setdefault(problem.rule, []).append(f"{problem.severity}: {problem.message}")
    return {rule: messages for rule, messages in out.items() if rule.startswith("fault-")}


def _yml(topology) -> str:
    node = topology.cluster.node("d1")
    return elasticsearch_yml(topology, node, bootstrap=False)


def test_the_default_profile_renders_nothing_and_leaves_the_engine_defaults_in_force():
    topology = factory.topology()
    assert profile_settings(topology.cluster) == []
    assert "fault_detection" not in _yml(topology)
    values = in_force(topology.cluster)
    assert values[f"{LEADER_CHECK}.timeout"] == "10s"
    assert values[PUBLISH_TIMEOUT] == "30s"
    assert detection_seconds(values, LEADER_CHECK) == 33
    assert _rules(topology) == {}


def test_the_fast_profile_renders_its_values_in_a_section_of_their_own():
    topology = factory.topology(es_fault_detection="fast")
    yml = _yml(topology)
    assert "# --- fault detection (es_fault_detection: fast)" in yml
    for key, value in PROFILES["fast"].items():
        assert f"\n{key}: {yaml_value(value)}\n" in yml
    assert detection_seconds(in_force(topology.cluster), LEADER_CHECK) == 3
    assert detection_seconds(in_force(topology.cluster), FOLLOWER_CHECK) == 3
    assert _rules(topology) == {}


def test_a_key_also_in_es_settings_is_written_once_with_the_users_value():
    topology = factory.topology(es_fault_detection="fast",
                                es_settings={"cluster": {"publish": {"timeout": "6s"}}})
    yml = _yml(topology)
    assert yml.count("cluster.publish.timeout") == 1
    assert '\ncluster.publish.timeout: "6s"\n' in yml
    assert in_force(topology.cluster)[PUBLISH_TIMEOUT] == "6s"


def test_an_unknown_profile_is_refused_naming_the_profiles():
    rules = _rules(factory.topology(es_fault_detection="quick"))
    assert rules == {"fault-detection-profile-unknown": [
        "error: es_fault_detection is 'quick'; use one of default, fast"]}


@pytest.mark.parametrize(("key", "value", "message"), [
    (f"{LEADER_CHECK}.interval", "50ms", "refuses to start with less than 100ms"),
    (f"{FOLLOWER_CHECK}.retry_count", 0, "a whole number >= 1"),
    (f"{FOLLOWER_CHECK}.retry_count", "2", "a whole number >= 1"),
    (PUBLISH_TIMEOUT, "4 seconds", "a duration such as"),
    (PUBLISH_TIMEOUT, 4, "a duration such as"),
])
def test_values_the_engine_refuses_to_start_with_are_errors(key, value, message):
    rules = _rules(factory.topology(es_settings={key: value}))
    assert list(rules) == ["fault-detection-invalid"]
    assert message in rules["fault-detection-invalid"][0]
    assert rules["fault-detection-invalid"][0].startswith(f"error: {key} is ")


def test_values_elastic_warns_about_are_warnings():
    rules = _rules(factory.topology(es_fault_detection="fast", es_settings={
        f"{LEADER_CHECK}.timeout": "500ms", f"{FOLLOWER_CHECK}.retry_count": 1,
        PUBLISH_TIMEOUT: "800ms"}))
    assert list(rules) == ["fault-detection-hair-trigger"]
    assert len(rules["fault-detection-hair-trigger"]) == 3
    assert all(m.startswith("warning: ") for m in rules["fault-detection-hair-trigger"])


def test_a_publish_timeout_that_outlasts_fast_checks_is_a_warning():
    rules = _rules(factory.topology(es_fault_detection="fast",
                                    es_settings={PUBLISH_TIMEOUT: "30s"}))
    assert list(rules) == ["fault-detection-publish-dominates"]
    assert "over 3x the follower checks' 3s" in rules["fault-detection-publish-dominates"][0]


@pytest.mark.parametrize(("text", "ms"), [("500ms", 500), ("2s", 2000), ("1m", 60000),
                                          ("10", None), ("1.5s", None), (3, None)])
def test_durations_are_read_as_the_engine_reads_them(text, ms):
    assert duration_ms(text) == ms
