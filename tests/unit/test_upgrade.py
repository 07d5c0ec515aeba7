"""esdr.upgrade: what a change of es_version asks of each node, in which order, and what it
refuses (each refusal naming the host or cluster, the rule, and the fix)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esdr.crossdc.estate import parse_estate
from esdr.upgrade import (
    INSTALL,
    NOTHING,
    REFUSED,
    UPGRADE,
    Version,
    changes,
    parse_version,
    plan_lines,
    plan_topology_upgrade,
    plan_upgrade,
)
from tests.unit.topo_factory import build, shape_a, topology

OLD, NEW = "8.18.8", "8.19.21"
NODES = ("m1", "m2", "tb", "d1", "d2")  # shape_a: two masters, a tie-breaker, two data nodes


def _cluster(version: str = NEW, **settings: Any):
    return topology(shape_a, es_version=version, **settings).cluster


def _all(version: str | None, **others: str | None) -> dict[str, str | None]:
    return {n: others.get(n, version) for n in NODES}


def _rules(plan) -> list[tuple[str, str]]:
    return [(p.rule, p.where) for p in plan.problems]


# --- versions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("8.18.3", Version(8, 18, 3)),
    ("2.19.4", Version(2, 19, 4)),
    (" 8.19.21\n", Version(8, 19, 21)),  # as a shell prints it
    ("9.0.0-rc1", Version(9, 0, 0, "rc1")),
])
def test_release_names_parse(text: str, expected: Version) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["8.19", "v8.19.21", "8.19.x", "latest", "", "8..1", "8.19.21-",
                                  "8.19.21.1", None, 8.19, ["8.19.21"]])
def test_what_is_not_a_release_name_does_not_parse(text: object) -> None:
    assert parse_version(text) is None


_numbers = st.integers(min_value=0, max_value=9999)
_releases = st.builds(Version, _numbers, _numbers, _numbers)


@given(_releases, _releases)
def test_releases_compare_as_their_numbers(a: Version, b: Version) -> None:
    as_tuples = (a.major, a.minor, a.patch), (b.major, b.minor, b.patch)
    assert (a < b) == (as_tuples[0] < as_tuples[1])
    assert (a == b) == (as_tuples[0] == as_tuples[1])
    assert (a <= b) == (as_tuples[0] <= as_tuples[1])


@given(_releases, st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9.]{0,31}\Z"))
def test_names_round_trip_and_a_prerelease_comes_before_its_release(v: Version, q: str) -> None:
    assert parse_version(str(v)) == v
    pre = Version(v.major, v.minor, v.patch, q)
    assert parse_version(str(pre)) == pre
    assert pre < v and not v < pre


def test_numbers_compare_as_numbers_not_text() -> None:
    assert parse_version("8.9.0") < parse_version("8.19.0") < parse_version("10.0.0")


# --- what to do ----------------------------------------------------------------------------------


def test_every_node_on_the_target_is_nothing_to_do() -> None:
    plan = plan_upgrade(_cluster(), _all(NEW), elected_master="m1")
    assert (plan.action, plan.steps, plan.problems) == (NOTHING, (), ())
    assert plan_lines(plan) == ["cluster search-t1: version 8.19.21: every node runs it"]


@pytest.mark.parametrize("observed", [{}, _all(None)])
def test_no_node_with_a_version_is_a_fresh_install(observed) -> None:
    plan = plan_upgrade(_cluster(), observed)
    assert plan.action == INSTALL
    assert set(plan.installs) == set(NODES) and plan.steps == ()


def test_a_new_node_beside_nodes_on_the_target_is_installed_not_refused() -> None:
    plan = plan_upgrade(_cluster(), _all(NEW, d2=None))
    assert (plan.action, plan.installs, plan.problems) == (INSTALL, ("d2",), ())


def test_rolling_upgrade_goes_data_first_then_masters_with_the_elected_master_last() -> None:
    plugins = [{"name": "analysis-icu", "url": "https://example.internal/analysis-icu-8.19.21.zip"}]
    plan = plan_upgrade(_cluster(es_plugins=plugins), _all(OLD), elected_master="m1")

    assert plan.action == UPGRADE and not plan.resumed
    assert [s.node for s in plan.steps] == ["d1", "d2", "tb", "m2", "m1"]
    assert all((s.before, s.after) == (OLD, NEW) for s in plan.steps)
    assert [s.elected_master for s in plan.steps] == [False] * 4 + [True]
    # the plugins move with the engine, in the same step of every node
    assert all(s.plugins == ("analysis-icu",) for s in plan.steps)
    assert plan_lines(plan) == [
        "cluster search-t1: rolling upgrade to 8.19.21, 5 node(s), one at a time in this order:",
        "  ~ upgrade d1: 8.18.8 -> 8.19.21 (plugins analysis-icu with it)",
        "  ~ upgrade d2: 8.18.8 -> 8.19.21 (plugins analysis-icu with it)",
        "  ~ upgrade tb: 8.18.8 -> 8.19.21 (plugins analysis-icu with it)",
        "  ~ upgrade m2: 8.18.8 -> 8.19.21 (plugins analysis-icu with it)",
        "  ~ upgrade m1: 8.18.8 -> 8.19.21 (plugins analysis-icu with it; elected master, last)",
    ]


def test_the_order_is_the_rolling_restarts() -> None:
    from esdr.restart_plan import restart_order

    cluster = _cluster()
    plan = plan_upgrade(cluster, _all(OLD), elected_master="m2")
    assert [s.node for s in plan.steps] == [n.name for n in restart_order(cluster, NODES, "m2")]


def test_an_upgrade_stopped_half_way_to_the_same_target_resumes_with_the_rest() -> None:
    plan = plan_upgrade(_cluster(), _all(OLD, d1=NEW, d2=NEW), elected_master="m1")

    assert plan.action == UPGRADE and plan.resumed
    assert plan.done == ("d1", "d2")
    assert [s.node for s in plan.steps] == ["tb", "m2", "m1"]
    assert plan_lines(plan)[0] == (
        "cluster search-t1: rolling upgrade to 8.19.21, 3 node(s), one at a time in this order "
        "(resumed: d1, d2 already on 8.19.21):")


def test_changes_count_one_per_node_for_the_plans_drift() -> None:
    plan = plan_upgrade(_cluster(), _all(OLD, d1=NEW))
    found = changes(plan)
    assert [(c.kind, c.name, c.action, c.before, c.after) for c in found] == [
        ("node_version", n, "changed", OLD, NEW) for n in ("d2", "tb", "m1", "m2")]
    assert all(c.is_drift for c in found)


# --- refusals ------------------------------------------------------------------------------------


def test_a_downgrade_is_refused_naming_the_hosts_and_the_way_back() -> None:
    plan = plan_upgrade(_cluster(OLD), _all(NEW))
    assert plan.action == REFUSED and plan.steps == ()
    assert _rules(plan) == [("upgrade-downgrade", "hosts d1, d2, m1, m2, tb")]
    message = plan.problems[0].message
    assert "8.19.21" in message and "cannot be downgraded" in message
    assert "snapshot" in message and "Set es_version back to 8.19.21" in message
    assert str(plan.problems[0]).endswith("[upgrade-downgrade]")
    assert plan_lines(plan)[0] == "cluster search-t1: version 8.18.8: refused, no host is changed:"
    assert plan_lines(plan)[1].startswith("  error: hosts d1, d2, m1, m2, tb: runs 8.19.21")


def test_one_node_ahead_is_a_downgrade_of_that_host_only() -> None:
    plan = plan_upgrade(_cluster(NEW), _all(NEW, d2="8.19.22"))
    assert _rules(plan) == [("upgrade-downgrade", "host d2")]


@pytest.mark.parametrize("before, target, path", [
    ("7.17.29", "9.1.0", "8.19 -> 9.1.0"),
    ("7.10.2", "9.1.0", "7.17 -> 8.19 -> 9.1.0"),
    ("7.17.29", "9.0.3", "8.18 -> 9.0.3"),
])
def test_a_skipped_major_is_refused_with_the_way_through(before, target, path) -> None:
    plan = plan_upgrade(_cluster(target), _all(before))
    assert _rules(plan) == [("upgrade-skips-major", "hosts d1, d2, m1, m2, tb")]
    message = plan.problems[0].message
    assert f"skips major version {int(before.split('.')[0]) + 1}" in message
    assert f"Upgrade through {path}, deploying each" in message
    assert "https://www.elastic.co/docs/deploy-manage/upgrade/deployment-or-cluster" in message


def test_a_skipped_major_on_opensearch_cites_opensearch() -> None:
    cluster = _cluster("3.0.0", es_engine="opensearch")
    plan = plan_upgrade(cluster, _all("1.3.20"))
    assert [r for r, _ in _rules(plan)] == ["upgrade-skips-major"]
    assert "2.19 -> 3.0.0" in plan.problems[0].message
    assert "https://docs.opensearch.org/latest/install-and-configure/upgrade-opensearch/index/" \
        in plan.problems[0].message


@pytest.mark.parametrize("engine, before, target, start", [
    ("elasticsearch", "8.17.4", "9.1.0", "8.19"),
    ("elasticsearch", "8.17.4", "9.0.0", "8.18"),
    ("elasticsearch", "7.16.3", "8.19.21", "7.17"),
    ("opensearch", "2.18.0", "3.0.0", "2.19"),
    ("opensearch", "1.2.4", "2.19.4", "1.3"),
])
def test_a_new_major_from_an_old_minor_is_refused(engine, before, target, start) -> None:
    plan = plan_upgrade(_cluster(target, es_engine=engine), _all(before))
    assert [r for r, _ in _rules(plan)] == ["upgrade-from-old-minor"]
    assert f"starts from {start} or later" in plan.problems[0].message
    assert f"newest {start}.x release" in plan.problems[0].message


@pytest.mark.parametrize("engine, before, target", [
    ("elasticsearch", "8.19.3", "9.1.0"),
    ("elasticsearch", "8.18.8", "9.0.1"),
    ("elasticsearch", "7.17.29", "8.19.21"),
    ("elasticsearch", "8.0.0", "8.19.21"),  # minors within a major: any to any newer
    ("opensearch", "2.19.4", "3.0.0"),
    ("opensearch", "1.3.20", "2.19.4"),
    ("opensearch", "2.11.0", "2.19.4"),
])
def test_allowed_steps_are_planned(engine, before, target) -> None:
    plan = plan_upgrade(_cluster(target, es_engine=engine), _all(before))
    assert plan.action == UPGRADE, plan.problems


def test_a_new_target_on_a_half_done_upgrade_is_refused_naming_who_runs_what() -> None:
    plan = plan_upgrade(_cluster("8.19.22"), _all(OLD, d1=NEW, d2=NEW))
    assert _rules(plan) == [("upgrade-half-done", "cluster search-t1")]
    message = plan.problems[0].message
    assert "8.19.21 on d1, d2; 8.18.8 on m1, m2, tb" in message
    assert "Rerun with es_version 8.19.21 to resume and finish it, then set 8.19.22" in message


def test_an_unreadable_version_is_refused_naming_the_host() -> None:
    plan = plan_upgrade(_cluster(), _all(OLD, tb="8.19.21-custom build"))
    assert ("upgrade-version-unparseable", "host tb") in _rules(plan)
    assert "'8.19.21-custom build'" in next(
        p.message for p in plan.problems if p.rule == "upgrade-version-unparseable")


def test_an_unparseable_es_version_is_refused_for_the_cluster() -> None:
    plan = plan_upgrade(_cluster("latest"), _all(OLD))
    assert _rules(plan) == [("upgrade-version-unparseable", "cluster search-t1")]
    assert "'latest'" in plan.problems[0].message


def test_a_missing_es_version_is_refused_for_the_cluster() -> None:
    plan = plan_upgrade(topology(shape_a, es_version=None).cluster, _all(OLD))
    assert _rules(plan) == [("upgrade-version-unparseable", "cluster search-t1")]
    assert plan.problems[0].message.startswith("es_version is not set")


def test_an_unknown_node_while_others_need_upgrading_is_refused() -> None:
    plan = plan_upgrade(_cluster(), _all(OLD, m2=None))
    assert _rules(plan) == [("upgrade-version-unknown", "host m2")]
    assert "needs every node up" in plan.problems[0].message


def test_a_prerelease_takes_no_upgrade() -> None:
    plan = plan_upgrade(_cluster("9.0.0"), _all("9.0.0-rc1"))
    assert [r for r, _ in _rules(plan)] == ["upgrade-prerelease"]


def test_every_refusal_is_reported_at_once() -> None:
    plan = plan_upgrade(_cluster("9.1.0"), _all("7.17.29", d1="9.2.0", tb="x"))
    assert {r for r, _ in _rules(plan)} == {
        "upgrade-downgrade", "upgrade-skips-major", "upgrade-version-unparseable",
        "upgrade-half-done"}


# --- followers before leaders ----------------------------------------------------------------------

ESTATE: dict[str, Any] = {
    "_source": "group_data/estates/t.yml",
    "clusters": {"dc1": {"cluster_name": "search-dc1"}, "dc2": {"cluster_name": "search-dc2"}},
    "links": [{"from": "dc2", "to": "dc1"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1"}],
}


def _dc(name: str, version: str, estate: dict[str, Any] = ESTATE):
    hosts, cluster = shape_a()
    return build(hosts, {**cluster, "es_cluster_name": f"search-{name}", "es_version": version,
                         "es_estate": estate}, datacentre=name)


def test_upgrading_a_leader_past_its_follower_is_refused_upgrade_followers_first() -> None:
    plan = plan_topology_upgrade(_dc("dc1", NEW), _all(OLD), peers={"dc2": OLD})
    assert plan.action == REFUSED
    assert _rules(plan) == [("upgrade-follower-older-than-leader", "cluster search-dc2")]
    message = plan.problems[0].message
    assert "follows search-dc1 (follower orders) but would run 8.18.8" in message
    assert "upgrade followers first: set es_version 8.19.21 (or newer) on search-dc2" in message
    assert "ccr-uni-directional-upgrade" in message


def test_a_leader_follows_its_upgraded_follower() -> None:
    plan = plan_topology_upgrade(_dc("dc1", NEW), _all(OLD), peers={"dc2": NEW})
    assert plan.action == UPGRADE


def test_a_follower_may_go_first() -> None:
    plan = plan_topology_upgrade(_dc("dc2", NEW), _all(OLD), peers={"dc1": OLD})
    assert plan.action == UPGRADE


def test_an_unknown_peer_version_is_not_judged_here() -> None:
    assert plan_topology_upgrade(_dc("dc1", NEW), _all(OLD)).action == UPGRADE


def test_after_a_promote_the_side_in_place_decides() -> None:
    # DC2 leads now (the estate as directed after a promote): DC1 follows and goes first
    flipped = parse_estate({**ESTATE, "followers": [
        {"cluster": "dc1", "index": "orders", "remote": "dc2"}]})
    plan = plan_topology_upgrade(_dc("dc2", NEW), _all(OLD), peers={"dc1": OLD}, estate=flipped)
    assert _rules(plan) == [("upgrade-follower-older-than-leader", "cluster search-dc1")]
    assert plan_topology_upgrade(_dc("dc1", NEW), _all(OLD), peers={"dc2": OLD},
                                 estate=flipped).action == UPGRADE


def test_bidirectional_clusters_are_told_to_pause_replication() -> None:
    estate = {**ESTATE, "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
              "followers": [], "bidirectional": {"logs": {"dc1": "logs-dc1", "dc2": "logs-dc2"}}}
    plan = plan_topology_upgrade(_dc("dc1", NEW, estate), _all(OLD), peers={"dc2": OLD})
    assert _rules(plan) == [("upgrade-follower-older-than-leader", "cluster search-dc2")]
    assert "pause replication, upgrade both" in plan.problems[0].message
    assert "ccr-bi-directional-upgrade" in plan.problems[0].message


# --- purity --------------------------------------------------------------------------------------


def test_the_module_imports_no_deploy_tool() -> None:
    code = ("import sys, esdr.upgrade, esdr.checks.upgrade; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pyinfra', 'elasticsearch', 'opensearchpy', 'urllib3', 'requests')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)

