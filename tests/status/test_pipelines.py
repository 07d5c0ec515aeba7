"""`esdr status`'s MQ pipeline lines, without Kafka: what a consumer group's lag reading
(``esdr.kafka.pipeline_service.GroupLag``, as ``esdr.kafka_io.lag.read_lag`` returns it) becomes,
how each line is judged, and which groups an estate's ``kafka:`` section asks for. The same
reading against a real broker: tests/kafka_io/test_status_lag_on_a_broker.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from esdr.kafka.pipeline_service import group_lag, partition_lag
from esdr.model import HostSpec, topology_from_hosts
from esdr.status import read
from esdr.status.read import Outcome, PipelineRead, pipeline_lag, pipeline_reads
from esdr.status.report import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    DcStatus,
    Thresholds,
    evaluate,
    render_json,
    render_text,
)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
REF = PipelineRead("orders", "esdr-dc2", "kafka-dc1", "esdr-orders-esdr-dc2", ("orders",),
                   "10.0.1.11:9092")


def _lag(*partitions):
    return group_lag(list(partitions))


def _line(lag, thresholds: Thresholds = Thresholds(), ref: PipelineRead = REF):
    dc = DcStatus("dc2", "inventories/dc2.py", cluster="esdr-dc2", thresholds=thresholds,
                  pipelines=(pipeline_lag(ref, lag, 2.2),))
    report = evaluate([dc], NOW)
    [table] = [t for t in report.tables if t.name == "pipelines"]
    [line] = table.lines
    return report, line


def test_a_group_behind_shows_messages_and_the_oldest_unconsumed_age() -> None:
    lag = _lag(partition_lag("orders", 0, 10, 0, 25, NOW_MS - 42_000, NOW_MS),
               partition_lag("orders", 1, 30, 0, 30, None, NOW_MS))  # caught up
    report, line = _line(lag)
    assert line.code == OK and report.code == OK
    assert line.what == "pipeline orders → esdr-dc2"
    assert line.value == ("lag 15 msg, oldest unconsumed 42 s "
                          "(group esdr-orders-esdr-dc2 on kafka-dc1)")
    data = line.json()
    assert data["lag_messages"] == {"value": 15, "unit": "msg", "unknown": None,
                                    "at_most": None}
    assert data["lag_seconds"]["value"] == 42 and data["reachable"] is True
    assert data["group"] == "esdr-orders-esdr-dc2" and data["topics"] == ["orders"]


def test_the_age_is_judged_by_the_pipeline_thresholds_of_the_dc_it_feeds() -> None:
    lag = _lag(partition_lag("orders", 0, 10, 0, 25, NOW_MS - 400_000, NOW_MS))
    assert _line(lag)[1].code == WARNING
    assert _line(lag, Thresholds(pipeline_lag_warn_seconds=500))[1].code == OK
    assert _line(lag, Thresholds(pipeline_lag_critical_seconds=399))[1].code == CRITICAL
    # the follower thresholds are not the pipelines'
    assert _line(lag, Thresholds(lag_warn_seconds=1))[1].code == WARNING
    settings = {"status_pipeline_lag_warn_seconds": 10, "status_pipeline_lag_critical_seconds": 20}
    t = Thresholds.from_settings(settings)
    assert (t.pipeline_lag_warn_seconds, t.pipeline_lag_critical_seconds) == (10, 20)


def test_kafka_not_answering_is_critical_and_unknown_never_0() -> None:
    lag = group_lag([], unreachable="Kafka unreachable: Local: Broker transport failure")
    report, line = _line(lag)
    assert line.code == CRITICAL and report.code == CRITICAL
    assert "0 msg" not in line.value and line.value.startswith("lag unknown: Kafka kafka-dc1 "
                                                               "(10.0.1.11:9092) did not answer")
    data = line.json()
    assert data["lag_messages"]["value"] is None and data["lag_seconds"]["value"] is None
    assert data["reachable"] is False and "Broker transport failure" in data["reason"]
    assert "pipeline orders → esdr-dc2" in report.summary()
    # a read still running at the deadline: the same, saying the bound
    _, late = _line(Outcome(late=True))
    assert late.code == CRITICAL and "no answer within 2.2 s" in late.value


def test_a_group_that_never_committed_is_bounded_not_0() -> None:
    lag = _lag(partition_lag("orders", 0, None, 5, 25, NOW_MS - 30_000, NOW_MS))
    _, line = _line(lag)
    assert line.code == WARNING
    assert line.value.startswith("lag unknown (≤ 20 msg), oldest unconsumed unknown (≤ 30 s)")
    assert line.json()["lag_messages"]["at_most"] == 20
    assert "no committed offset" in line.json()["lag_messages"]["unknown"]
    # its bound past the critical threshold: critical already
    old = _lag(partition_lag("orders", 0, None, 5, 25, NOW_MS - 7200_000, NOW_MS))
    assert _line(old)[1].code == CRITICAL


def test_an_unreadable_partition_leaves_the_sum_unknown_with_what_is_known() -> None:
    lag = _lag(partition_lag("orders", 0, 10, 0, 25, NOW_MS - 1_000, NOW_MS),
               partition_lag("orders", 1, 3, None, None, None, NOW_MS))
    _, line = _line(lag)
    assert line.code == WARNING
    messages = line.json()["lag_messages"]
    assert messages["value"] is None and messages["at_most"] is None
    assert "1 of 2 partition(s) unknown" in messages["unknown"]
    assert "at least 15" in messages["unknown"]


def test_messages_expired_unread_are_critical() -> None:
    lag = _lag(partition_lag("orders", 0, 10, 40, 45, NOW_MS - 5_000, NOW_MS))
    _, line = _line(lag)
    assert line.code == CRITICAL and "30 expired unread" in line.value
    assert "deleted by retention" in line.why


def test_no_client_identity_is_unknown_esdr_could_not_check() -> None:
    ref = replace(REF, error="kafka kafka-dc1: no esdr-admin client identity")
    report, line = _line(None, ref=ref)
    assert line.code == UNKNOWN and report.code == UNKNOWN
    assert "no esdr-admin client identity" in line.value


def test_the_pipelines_table_comes_after_the_links_and_each_line_once() -> None:
    lag = _lag(partition_lag("orders", 0, 25, 0, 25, None, NOW_MS))
    one = pipeline_lag(REF, lag, 2.2)
    dcs = [DcStatus("dc1", "i1.py", cluster="esdr-dc1", pipelines=(one,)),
           DcStatus("dc2", "i2.py", cluster="esdr-dc2", pipelines=(one,))]
    report = evaluate(dcs, NOW)
    assert [t.name for t in report.tables][-1] == "pipelines"
    assert len(report.tables[-1].lines) == 1
    text = render_text(report)
    assert "== pipelines: OK" in text
    assert json.loads(json.dumps(render_json(report)))["tables"][-1]["name"] == "pipelines"


# --- which groups an estate asks for ----------------------------------------------------------
def _kafka_section(tls: bool = True) -> dict:
    node = {"zone": "az1", "node_id": 1, "address": "127.0.0.1"}
    return {
        "kafka_clusters": {"kafka-dc1": {
            "controllers": {"k1": node}, "brokers": {"k1": node}, "lab": True,
            "default_replication_factor": 1, "min_insync_replicas": 1,
            "tls": {"enabled": tls},
            "topics": {"orders": {"partitions": 1}, "orders.dead": {"partitions": 1}}}},
        "search_clusters": {
            name: {"hosts": ["https://127.0.0.1:9200"], "password_variable": "P"}
            for name in ("esdr-dc1", "esdr-dc2")},
        "pipelines": {"orders": {"kafka_cluster": "kafka-dc1", "topics": ["orders"],
                                 "target": "orders", "clusters": ["esdr-dc1", "esdr-dc2"],
                                 "dead_letter_topic": "orders.dead"}},
    }


def _topology(secrets: Path, kafka: dict):
    data = {"zone": "az1", "es_cluster_name": "esdr-dc1", "es_version": "8.19.21",
            "es_security": False, "es_http_port": 9200, "es_api_transport": "direct",
            "es_secrets_dir": str(secrets),
            "es_estate": {"_source": "estates/t.yml", "kafka": kafka}}
    return topology_from_hosts("dc1", [HostSpec("n1", ("es_master", "es_data"),
                                                {**data, "ssh_hostname": "127.0.0.1"})])


def test_one_group_per_pipeline_and_search_cluster_read_once_per_run(tmp_path) -> None:
    claimed: set[tuple[str, str]] = set()
    reads = pipeline_reads(_topology(tmp_path, _kafka_section(tls=False)), claimed)
    assert sorted(r.group for r in reads.values()) == ["esdr-orders-esdr-dc1",
                                                      "esdr-orders-esdr-dc2"]
    assert all(r.error is None and r.bootstrap == "127.0.0.1:9092" for r in reads.values())
    # another inventory of the same estate in the same run reads none of them again
    assert pipeline_reads(_topology(tmp_path, _kafka_section(tls=False)), claimed) == {}


def test_without_the_esdr_admin_identity_the_line_says_so(tmp_path) -> None:
    reads = pipeline_reads(_topology(tmp_path, _kafka_section(tls=True)), set())
    assert reads and all("esdr-admin" in (r.error or "") for r in reads.values())
    assert all(not any("password" in str(v) for v in r.settings.values())
               for r in reads.values())


def test_an_estate_without_pipelines_adds_no_read(tmp_path) -> None:
    section = {**_kafka_section(), "pipelines": {}}
    assert pipeline_reads(_topology(tmp_path, section), set()) == {}
    assert read.pipeline_reads(_topology(tmp_path, None), set()) == {}  # type: ignore[arg-type]


def test_a_lag_nearing_the_topics_retention_is_critical_whatever_the_thresholds() -> None:
    # retention one hour; the oldest unconsumed message is 50 minutes old (83 %)
    ref = replace(REF, retention_ms=3_600_000)
    lag = _lag(partition_lag("orders", 0, 10, 0, 25, NOW_MS - 3_000_000, NOW_MS))
    lenient = Thresholds(pipeline_lag_warn_seconds=10_000, pipeline_lag_critical_seconds=20_000)
    report, line = _line(lag, lenient, ref)
    assert line.code == CRITICAL and report.code == CRITICAL
    assert line.why == (
        "pipeline orders → esdr-dc2 lags 3000 s, 83% of its topics' retention (1 h): Kafka is "
        "about to delete messages esdr-dc2 has not consumed; bring its pipeline back now, or "
        "raise retention.ms (docs/kafka-dual-write.md, \"Retention and the longest tolerated "
        "lag\")")
    assert line.json()["retention_seconds"] == 3600
    # the same lag against 7 days kept: the thresholds decide
    week = replace(REF, retention_ms=604_800_000)
    assert _line(lag, lenient, week)[1].code == OK
    assert _line(lag, lenient, replace(REF, retention_ms=None))[1].code == OK


def test_the_reads_carry_the_shortest_retention_of_the_pipeline_topics(tmp_path) -> None:
    section = _kafka_section(tls=False)
    reads = pipeline_reads(_topology(tmp_path, section), set())
    topics = section["kafka_clusters"]["kafka-dc1"]["topics"]
    expected = {t: (c.get("config") or {}).get("retention.ms", 604_800_000)
                for t, c in topics.items()}
    for ref in reads.values():
        assert ref.retention_ms == min(expected[t] for t in ref.topics)


def test_the_deploy_summary_reads_only_the_groups_feeding_its_own_cluster(tmp_path,
                                                                         monkeypatch) -> None:
    from esdr.operations.cluster import pipeline_lag_lines

    asked = []

    def lag_of(ref, timeout, deadline, clock):
        asked.append(ref.group)
        return _lag(partition_lag("orders", 0, 10, 0, 25, NOW_MS - 42_000, NOW_MS))

    monkeypatch.setattr(read, "lag_of", lag_of)
    lags = read.local_pipeline_lags(_topology(tmp_path, _kafka_section(tls=False)))
    assert asked == ["esdr-orders-esdr-dc1"]  # esdr-dc2's group is DC2's summary's
    assert pipeline_lag_lines(lags)[0].startswith(
        "pipeline orders from Kafka kafka-dc1 (group esdr-orders-esdr-dc1): lag 15 msg")


def test_the_deploy_summary_says_why_a_lag_is_unknown_never_0(tmp_path, monkeypatch) -> None:
    from esdr.operations.cluster import pipeline_lag_lines

    def broken(ref, timeout, deadline, clock):
        raise RuntimeError("no route")

    # without the esdr-admin identity nothing is asked; the line says why
    [line] = pipeline_lag_lines(read.local_pipeline_lags(_topology(tmp_path,
                                                                   _kafka_section(tls=True))))
    assert "lag unknown: " in line and "esdr-admin" in line and " 0 msg" not in line
    monkeypatch.setattr(read, "lag_of", broken)
    [line] = pipeline_lag_lines(read.local_pipeline_lags(_topology(tmp_path,
                                                                   _kafka_section(tls=False))))
    assert line.endswith("oldest unread unknown: Kafka kafka-dc1 (127.0.0.1:9092): no route")
