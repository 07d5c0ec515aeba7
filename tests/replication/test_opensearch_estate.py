"""OpenSearch's replication plugin cannot do everything the estate can say: an auto-follow rule
with more than one pattern, exclusions or renamed followers, and SLM, are refused on an
OpenSearch cluster with one problem and a rule id, never silently dropped."""

from __future__ import annotations

import copy

from esdr.crossdc.estate import parse_estate
from esdr.checks.estate import check_estate_for
from tests.replication.fake_os import os_topology
from tests.unit.topo_factory import topology

ESTATE = {
    "_source": "estates/os.yml",
    "clusters": {"dc1": {"cluster_name": "os-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "os-dc2", "seeds": ["10.0.2.4:9300"]}},
    "links": [{"from": "dc2", "to": "dc1"}],
    "auto_follow": {"logs": {"cluster": "dc2", "remote": "dc1",
                             "leader_index_patterns": ["logs-*"]}},
}


def _rules(raw, cluster="os-dc2", engine="opensearch"):
    t = os_topology(cluster) if engine == "opensearch" else topology(es_cluster_name=cluster)
    return [(p.rule, p.message) for p in check_estate_for(parse_estate(raw), t)]


def test_a_plain_rule_is_fine_on_opensearch():
    assert _rules(ESTATE) == []


def test_unsupported_auto_follow_options_are_one_problem_naming_each():
    raw = copy.deepcopy(ESTATE)
    raw["auto_follow"]["logs"].update(
        leader_index_patterns=["logs-*", "metrics-*"], leader_index_exclusion_patterns=["*-copy"],
        follow_index_pattern="{{leader_index}}-copy")
    ((rule, message),) = _rules(raw)
    assert rule == "auto-follow-unsupported-on-opensearch"
    assert "os-dc2 runs OpenSearch" in message and "2 leader_index_patterns" in message
    assert "leader_index_exclusion_patterns" in message and "-copy" in message


def test_only_the_following_cluster_is_checked():
    raw = copy.deepcopy(ESTATE)
    raw["auto_follow"]["logs"]["leader_index_exclusion_patterns"] = ["x"]
    assert _rules(raw, cluster="os-dc1") == []


def test_slm_on_opensearch_is_refused():
    raw = {**copy.deepcopy(ESTATE),
           "repositories": {"dr": {"type": "fs", "settings": {"location": "/mnt/snap"},
                                   "writer": "dc2"}},
           "slm": {"nightly": {"cluster": "dc2", "schedule": "0 30 1 * * ?", "name": "<n>",
                               "repository": "dr"}}}
    assert "slm-on-opensearch" in [r for r, _ in _rules(raw)]
