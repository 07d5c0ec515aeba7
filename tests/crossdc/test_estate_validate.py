"""The cross-DC design is refused with one clear line per problem, before anything is touched."""

from __future__ import annotations

import copy

import pytest

from esdr.crossdc.estate import EstateError, parse_estate
from esdr.checks.estate import check_estate, check_estate_for, check_topology_estate
from esdr.model import HostSpec, topology_from_hosts
from esdr.checks import validate

GOOD = {
    "_source": "estates/t.yml",
    "clusters": {
        "dc1": {"cluster_name": "search-dc1", "seeds": ["10.0.1.4:9300"]},
        "dc2": {"cluster_name": "search-dc2", "seeds": ["10.0.2.4:9300"]},
    },
    "links": [{"from": "dc1", "to": "dc2"}, {"from": "dc2", "to": "dc1"}],
    "repositories": {
        "dr": {"type": "fs", "settings": {"location": "/mnt/snap"}, "writer": "dc1",
               "readers": ["dc2"]},
    },
    "slm": {"nightly": {"cluster": "dc1", "schedule": "0 30 1 * * ?", "name": "<n-{now/d}>",
                        "repository": "dr"}},
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1", "write_alias": "orders-w"}],
    "auto_follow": {
        "a": {"cluster": "dc1", "remote": "dc2", "leader_index_patterns": ["app-*"],
              "leader_index_exclusion_patterns": ["*-copy"],
              "follow_index_pattern": "{{leader_index}}-copy"},
        "b": {"cluster": "dc2", "remote": "dc1", "leader_index_patterns": ["app-*"],
              "leader_index_exclusion_patterns": ["*-copy"],
              "follow_index_pattern": "{{leader_index}}-copy"},
    },
    "bidirectional": {"logs": {"dc1": "logs-dc1", "dc2": "logs-dc2"}},
}


def rules(raw) -> list[str]:
    return [p.rule for p in check_estate(parse_estate(raw))]


def changed(edit) -> dict:
    raw = copy.deepcopy(GOOD)
    edit(raw)
    return raw


def test_good_estate_has_no_problems():
    assert rules(GOOD) == []


CASES = {
    "two writers for one repository": (
        lambda r: r["repositories"].update(
            {"dr2": {"type": "fs", "settings": {"location": "/mnt/snap/"}, "writer": "dc2"}}),
        "repository-two-writers"),
    "follow whose remote is not linked": (
        lambda r: r["links"].pop(1), "follow-remote-not-linked"),
    "bi-directional auto-follow without exclusions": (
        lambda r: r["auto_follow"]["b"].pop("leader_index_exclusion_patterns"),
        "bidirectional-without-exclusions"),
    "repository without writer": (
        lambda r: r["repositories"]["dr"].pop("writer"), "repository-without-writer"),
    "unknown repository type": (
        lambda r: r["repositories"]["dr"].update(type="nfs"), "repository-type-invalid"),
    "url repository with a writer": (
        lambda r: r["repositories"]["dr"].update(type="url", settings={"url": "http://x/"}),
        "url-repository-writer"),
    "slm on the reading cluster": (
        lambda r: r["slm"]["nightly"].update(cluster="dc2"), "slm-on-readonly-repository"),
    "unknown cluster": (
        lambda r: r["followers"][0].update(remote="dc9"), "estate-unknown-cluster"),
    "link to itself": (
        lambda r: r["links"].append({"from": "dc1", "to": "dc1"}), "link-to-itself"),
    "sniff link without seeds": (
        lambda r: r["clusters"]["dc2"].pop("seeds"), "link-without-seeds"),
    "proxy link without address": (
        lambda r: r["links"][0].update(mode="proxy"), "link-without-proxy"),
    "follow pattern without leader index": (
        lambda r: r["auto_follow"]["a"].update(follow_index_pattern="copy"),
        "follow-pattern-without-leader-index"),
    "bidirectional with one index name": (
        lambda r: r["bidirectional"]["logs"].update(dc2="logs-dc1"), "bidirectional-same-index"),
    "licence unknown": (lambda r: r.update(licence="gold"), "licence-invalid"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_estate_is_refused(case):
    edit, rule = CASES[case]
    found = rules(changed(edit))
    assert rule in found, found


def test_messages_say_what_and_how_to_fix():
    problems = check_estate(parse_estate(changed(lambda r: r["links"].pop(1))))
    text = str(problems[0])
    assert "follower dc2:orders" in text and "add `- {from: dc2, to: dc1}`" in text


def test_wrong_shape_is_one_line():
    with pytest.raises(EstateError, match="`clusters.dc1` needs `cluster_name`"):
        parse_estate({"clusters": {"dc1": {}}})


def _topology(name="search-dc1", path_repo=("/mnt/snap",), rcc=True, estate=GOOD):
    groups = ("es_master", "es_data") + (("es_remote_cluster_client",) if rcc else ())
    data = {"es_cluster_name": name, "es_version": "8.19.21", "es_path_repo": list(path_repo),
            "es_archive_url": "https://m/es.tar.gz", "es_estate": estate}
    hosts = [HostSpec(f"n{i}", groups, {**data, "zone": f"az{i}", "ssh_hostname": f"10.0.0.{i}"})
             for i in (1, 2, 3)]
    return topology_from_hosts("dc1", hosts)


def test_topology_side_checks():
    estate = parse_estate(GOOD)
    assert check_estate_for(estate, _topology()) == []
    assert [p.rule for p in check_estate_for(estate, _topology(path_repo=()))] == [
        "fs-location-not-in-path-repo"]
    assert [p.rule for p in check_estate_for(estate, _topology(rcc=False))] == [
        "no-remote-cluster-client"]
    assert [p.rule for p in check_estate_for(estate, _topology(name="other"))] == [
        "estate-cluster-unknown"]


def test_foundation_validate_includes_the_estate():
    bad = changed(lambda r: r["links"].pop(1))
    assert "follow-remote-not-linked" in [p.rule for p in validate(_topology(estate=bad))]
    assert check_topology_estate(_topology(estate=None)) == []
