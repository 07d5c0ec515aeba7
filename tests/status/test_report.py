"""The pure core of `esdr status`: verdicts, exit codes (monitoring-plugin convention), the
text tables and the JSON shape."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from esdr.schema import NodeData
from esdr.status.report import (
    CRITICAL,
    DEFAULTS,
    OK,
    UNKNOWN,
    WARNING,
    Certificate,
    DcStatus,
    Figure,
    FollowerLink,
    Remote,
    Snapshot,
    Thresholds,
    Zone,
    evaluate,
    merge_links,
    render_json,
    render_text,
    schedule_period,
)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
GOLDEN = Path(__file__).with_name("golden")


def _pair(**over) -> FollowerLink:
    base = FollowerLink(pair="dc1:orders>dc2:orders", index="orders", leader="dc1",
                        follower="dc2", follower_index="orders", designed_leader="dc1",
                        state="active", lag_operations=Figure(0),
                        lag_seconds=Figure(0, " s"), last_in_sync="2026-12-06T07:59:58+00:00")
    return replace(base, **over)


def _dc(name: str = "dc1", **over) -> DcStatus:
    base = DcStatus(
        dc=name, inventory=f"inventories/{name}.py", cluster=f"esdr-{name}",
        hosts=(f"10.0.{name[-1]}.1:9200",), reachable=True, health="green",
        zones=(Zone("az1", 2, 2), Zone("az2", 2, 2)), master=f"{name}-master-az1",
        master_zone="az1", remotes=(Remote("dc2" if name == "dc1" else "dc1", True, 2),),
        snapshots=(Snapshot("dr", "nightly", "0 30 1 * * ?", NOW - timedelta(hours=5),
                            Figure(5 * 3600), 86400.0),),
        certificate=Certificate("CA", NOW + timedelta(days=400), Figure(400)),
        drift=Figure(0), links=(_pair(),) if name == "dc2" else ())
    return replace(base, **over)


def test_a_healthy_estate_is_ok() -> None:
    report = evaluate([_dc("dc1"), _dc("dc2")], NOW)
    assert report.code == OK
    assert report.summary() == "ESDR OK - every line OK"


def test_an_unreachable_dc_is_critical_and_named_with_its_hosts() -> None:
    dc2 = DcStatus("dc2", "inventories/dc2.py", "esdr-dc2", ("10.0.2.1:9200", "10.0.2.2:9200"),
                   reachable=False, reason="no answer within 1.5 s")
    report = evaluate([_dc("dc1"), dc2], NOW)
    assert report.code == CRITICAL
    assert "dc2" in report.summary() and report.summary().startswith("ESDR CRITICAL")
    text = "\n".join(render_text(report))
    assert "dc2 UNREACHABLE (tried 10.0.2.1:9200, 10.0.2.2:9200): no answer within 1.5 s" in text


def test_a_snapshot_older_than_its_schedule_allows_is_a_warning() -> None:
    old = Snapshot("dr", "nightly", "0 30 1 * * ?", NOW - timedelta(days=3),
                   Figure(3 * 86400), schedule_period("0 30 1 * * ?"))
    report = evaluate([_dc("dc1", snapshots=(old,)), _dc("dc2")], NOW)
    assert report.code == WARNING
    assert "more than 2 × its schedule" in report.summary()


def test_a_certificate_inside_its_renewal_window_is_a_warning_and_near_expiry_critical() -> None:
    soon = Certificate("dc1-data-az1", NOW + timedelta(days=20), Figure(20))
    t = Thresholds.from_settings({}, renew_days=30)
    report = evaluate([_dc("dc1", certificate=soon, thresholds=t), _dc("dc2")], NOW)
    assert report.code == WARNING and "renewal window (30 days)" in report.summary()
    ca = Certificate("CA", NOW + timedelta(days=3), Figure(3))
    assert evaluate([_dc("dc1", certificate=ca)], NOW).code == CRITICAL


def test_after_a_promote_the_active_side_is_named() -> None:
    promoted = _pair(pair="dc1:orders>dc2:orders", leader="dc2", follower="dc1",
                     by="promote", since="2026-12-06T07:50:00Z", state=None,
                     state_note="dc1 did not report it (unreachable, or not read)",
                     lag_operations=Figure.missing("not read"),
                     lag_seconds=Figure.missing("not read", " s"), last_in_sync=None)
    dc1 = DcStatus("dc1", "inventories/dc1.py", "esdr-dc1", ("10.0.1.1:9200",),
                   reachable=False, reason="no answer within 1.5 s")
    report = evaluate([dc1, _dc("dc2", links=(promoted,))], NOW)
    text = "\n".join(render_text(report))
    assert ("active side: orders → dc2 (recorded by promote at 2026-12-06T07:50:00Z; the "
            "estate designs dc1)") in text
    assert report.code == CRITICAL


def test_unknown_figures_say_unknown_with_their_bound_never_0() -> None:
    assert Figure.missing("not measured", " s", at_most=120).text() == "unknown (≤ 120 s)"
    assert Figure.missing("dc1 did not answer").text() == "unknown: dc1 did not answer"
    lagging = _pair(lag_operations=Figure.missing("the leader's checkpoint is stale"),
                    lag_seconds=Figure.missing("since last in sync", " s", at_most=900))
    report = evaluate([_dc("dc1"), _dc("dc2", links=(lagging,))], NOW)
    line = next(line for t in report.tables for line in t.lines if line.what.startswith("pair"))
    assert line.code == WARNING
    assert "lag unknown: the leader's checkpoint is stale op(s), unknown (≤ 900 s)" in line.value
    assert " 0 op" not in line.value
    shown = render_json(report)["tables"][-1]["lines"][-1]
    assert shown["lag_operations"] == {"value": None, "unit": None,
                                       "unknown": "the leader's checkpoint is stale",
                                       "at_most": None}
    assert shown["lag_seconds"]["at_most"] == 900


def test_unknown_drift_and_health_are_warnings_an_unloadable_inventory_unknown() -> None:
    dc = _dc("dc1", health=None, health_note="no answer within 1.5 s",
             drift=Figure.missing("the plan: no answer within 1.5 s"))
    report = evaluate([dc], NOW)
    assert report.code == WARNING
    drift = next(t for t in render_text(report) if "pending drift" in t)
    assert drift.endswith("unknown: the plan: no answer within 1.5 s")
    bad = DcStatus("dc3", "inventories/dc3.py", error="es_http_port: not a port")
    assert evaluate([_dc("dc1"), bad], NOW).code == UNKNOWN
    # CRITICAL outranks UNKNOWN
    down = DcStatus("dc2", "x", reachable=False, reason="timed out")
    assert evaluate([bad, down], NOW).code == CRITICAL


def test_a_follower_seen_in_sync_now_says_whether_it_was_recorded() -> None:
    def pair_line(link: FollowerLink) -> str:
        report = evaluate([_dc("dc2", links=(link,))], NOW)
        return next(t for t in render_text(report) if "pair " in t)

    assert pair_line(_pair(seen_now="recorded")).endswith(
        "last in sync 2026-12-06T07:59:58+00:00 (seen now; recorded)")
    assert pair_line(_pair(seen_now="not recorded")).endswith(
        "(seen now; not recorded): esdr promote will bound the data at risk by an older record")
    assert pair_line(_pair()).endswith("last in sync 2026-12-06T07:59:58+00:00")


def test_a_follower_that_failed_is_critical_paused_a_warning() -> None:
    assert evaluate([_dc("dc2", links=(_pair(state="failed"),))], NOW).code == CRITICAL
    assert evaluate([_dc("dc2", links=(_pair(state="paused"),))], NOW).code == WARNING


def test_the_follower_dcs_row_wins_when_both_dcs_report_a_pair() -> None:
    leader_view = _pair(state=None, state_note="dc2 did not report it")
    merged = merge_links([[leader_view], [_pair()]])
    assert [m.state for m in merged] == ["active"]
    assert merge_links([[leader_view]])[0].state is None


def test_schedule_periods() -> None:
    assert schedule_period("0 30 1 * * ?") == 86400
    assert schedule_period("0 */15 * * * ?") == 900
    assert schedule_period("0 0 */6 * * ?") == 6 * 3600
    assert schedule_period("0 0 1,13 * * ?") == 12 * 3600
    assert schedule_period("0 0 2 ? * MON") == 7 * 86400
    assert schedule_period("nonsense") is None


def test_the_json_shape_is_stable() -> None:
    report = evaluate([_dc("dc1"), _dc("dc2", remotes=(Remote("dc1", False, 0),))], NOW)
    answer = render_json(report)
    golden = GOLDEN / "healthy-but-one-remote.json"
    assert answer == json.loads(golden.read_text()), json.dumps(answer, indent=2,
                                                               ensure_ascii=False)


def test_the_schema_declares_the_same_defaults() -> None:
    for key, value in DEFAULTS.items():
        assert NodeData.model_fields[key].default == value, key


def test_a_missing_data_zone_is_critical_a_missing_tiebreaker_zone_a_warning() -> None:
    zones = (Zone("az1", 2, 2), Zone("az2", 2, 0), Zone("az3", 1, 1, holds_data=False))
    report = evaluate([_dc("dc1", zones=zones)], NOW)
    assert report.code == CRITICAL and "zone az2: no node" in report.summary()
    zones = (Zone("az1", 2, 2), Zone("az2", 2, 2), Zone("az3", 1, 0, holds_data=False))
    report = evaluate([_dc("dc1", zones=zones)], NOW)
    assert report.code == WARNING and "zone az3: 0 of 1 node(s)" in report.summary()
    line = next(t for t in render_text(report) if "nodes per zone" in t)
    assert line.endswith("az1 2/2, az2 2/2, az3 0/1 (4 of 5 nodes)")
