"""The pure part of esdr's consumer pipeline service: the config file and systemd unit rendered
from the model (the consumer group the Logstash rendering uses, TLS paths, the password only by
reference), what each message and bulk item becomes, and the lag arithmetic (unknown is never
0)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from esdr.kafka.logstash import pipeline_id, render_pipeline
from esdr.kafka.pipeline_service import (
    EXIT_CONFIG,
    HEADER_PREFIX,
    MODULE,
    ServicePaths,
    backoff,
    cluster_files,
    commit_offsets,
    config_path,
    config_text,
    dead_letter_headers,
    group_lag,
    item_outcome,
    lag_summary,
    load_config,
    partition_lag,
    password_file,
    prepare,
    render_config,
    render_unit,
    superseded,
    unit_name,
)
from tests.kafka.factory import estate, raw

SETTINGS = settings(max_examples=200, deadline=None, database=None)


def test_the_config_uses_the_logstash_consumer_group_and_the_model() -> None:
    config = render_config(estate(), "orders", "esdr-dc2")
    ident = pipeline_id("orders", "esdr-dc2")
    assert config.kafka.group_id == ident == config.service == config.kafka.client_id
    assert config.kafka.group_instance_id == ident  # static membership: a restart resumes
    assert f'group_id => "{ident}"' in render_pipeline(estate(), "orders", "esdr-dc2")
    assert config.kafka.bootstrap_servers == (
        "kb-az1.dc1.example.internal:9092,kb-az2.dc1.example.internal:9092,"
        "kb-az3.dc1.example.internal:9092")
    assert config.kafka.topics == ["orders"]
    assert config.kafka.auto_offset_reset == "earliest"
    assert config.kafka.security_protocol == "SSL"
    assert config.kafka.ssl_certificate_location == \
        "/etc/esdr-pipeline/tls/esdr-orders-esdr-dc2.crt"  # one identity per service
    assert config.kafka.ssl_key_location == "/etc/esdr-pipeline/tls/esdr-orders-esdr-dc2.key"
    assert config.kafka.ssl_ca_location == "/etc/esdr-pipeline/tls/kafka-ca.crt"
    target = config.target
    assert (target.engine, target.hosts, target.index, target.user) == (
        "opensearch", ["https://10.1.1.21:9200"], "orders", "esdr_logstash")
    assert target.ca_file == "/etc/esdr-pipeline/tls/ca.crt"
    assert target.password_file == password_file("orders", "esdr-dc2") == \
        "/etc/esdr-pipeline/esdr-orders-esdr-dc2.password"
    assert (config.document_id, config.action, config.dead_letter_topic) == (
        "key", "index", "orders.dead-letters")
    assert (config.retry_initial_interval, config.retry_max_interval) == (2, 64)
    assert render_config(estate(), "orders", "esdr-dc1").target.engine == "elasticsearch"


def test_the_config_file_round_trips_and_holds_no_password() -> None:
    config = render_config(estate(), "orders", "esdr-dc1")
    text = config_text(config)
    assert text == config_text(render_config(estate(), "orders", "esdr-dc1"))  # stable
    assert load_config(text) == config
    assert "ESDR_DC1_LOGSTASH_PASSWORD" not in text and "password\":" not in text
    assert json.loads(text)["target"]["password_file"].endswith(".password")
    with pytest.raises(ValidationError):
        load_config(text.replace('"action": "index"', '"action": "upsert"'))
    with pytest.raises(ValidationError):
        load_config(json.dumps({**json.loads(text), "password": "x"}))


def test_a_lab_cluster_without_tls_and_plain_http_engine() -> None:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["tls"] = {"enabled": False}
    data["kafka_clusters"]["kafka-dc1"]["lab"] = True
    data["search_clusters"]["esdr-dc2"]["hosts"] = ["http://127.0.0.1:9200"]
    config = render_config(estate(data), "orders", "esdr-dc2")
    assert config.kafka.security_protocol == "PLAINTEXT"
    assert config.kafka.ssl_ca_location is None and config.kafka.ssl_key_location is None
    assert config.target.ca_file is None


def test_the_unit_runs_the_module_restarts_and_stops_on_a_config_error() -> None:
    unit = render_unit()
    assert f"ExecStart=/opt/esdr-pipeline/venv/bin/python -m {MODULE} --config " \
           "/etc/esdr-pipeline/%i.json" in unit
    assert "Environment=PYTHONPATH=/opt/esdr-pipeline/esdr.zip" in unit.splitlines()
    for line in ("Restart=always", "RestartSec=5", f"RestartPreventExitStatus={EXIT_CONFIG}",
                 "StartLimitIntervalSec=0", "User=esdr-pipeline", "KillSignal=SIGTERM",
                 "After=network-online.target", "NoNewPrivileges=yes"):
        assert line in unit.splitlines()
    assert "password" not in unit.lower()
    assert unit_name("orders", "esdr-dc1") == "esdr-pipeline@esdr-orders-esdr-dc1.service"
    paths = ServicePaths(conf_dir="/srv/p", python="/usr/bin/python3", user="pipe", code=None)
    assert "ExecStart=/usr/bin/python3 -m esdr.kafka_io.pipeline --config /srv/p/%i.json" \
        in render_unit(paths)
    assert "PYTHONPATH" not in render_unit(paths)  # esdr installed in that Python


def test_cluster_files_are_the_unit_and_one_config_per_pipeline() -> None:
    files = cluster_files(estate(), "esdr-dc1")
    assert sorted(files) == ["/etc/esdr-pipeline/esdr-orders-esdr-dc1.json",
                             "/etc/systemd/system/esdr-pipeline@.service"]
    assert config_path("orders", "esdr-dc1") in files
    assert load_config(files[config_path("orders", "esdr-dc1")]).cluster == "esdr-dc1"


def _config(**changes):
    return render_config(estate(), "orders", "esdr-dc1").model_copy(update=changes)


def test_prepare_makes_the_id_from_the_key_and_rejects_what_cannot_be_indexed() -> None:
    config = _config()
    ok = prepare(config, b"order-7", b'{"total": 3}')
    assert ok.reject is None
    assert ok.action == {"_op_type": "index", "_index": "orders", "_id": "order-7",
                         "_source": {"total": 3}}
    assert "no message key" in prepare(config, None, b"{}").reject
    assert "no message key" in prepare(config, b"", b"{}").reject
    assert "not UTF-8" in prepare(config, b"\xff", b"{}").reject
    assert prepare(config, b"k", b"{oops").reject.startswith("not JSON")
    assert "not a JSON object but a list" in prepare(config, b"k", b"[1]").reject
    assert "tombstone" in prepare(config, b"k", None).reject
    assert prepare(_config(action="create"), b"k", b"{}").action["_op_type"] == "create"
    by_field = _config(document_id="field", document_id_field="uid")
    assert prepare(by_field, None, b'{"uid": 12}').action["_id"] == "12"
    assert "no usable id" in prepare(by_field, b"k", b'{"other": 1}').reject
    assert "_id" not in prepare(_config(document_id="auto"), None, b"{}").action


def test_item_outcomes() -> None:
    assert item_outcome(201, "index") == "done" and item_outcome(200, "create") == "done"
    assert item_outcome(409, "create") == "done"  # create: the document is there
    assert item_outcome(409, "index") == "retry"
    assert item_outcome(400, "index") == "dead" and item_outcome(404, "create") == "dead"
    for status in (429, 500, 502, 503, 401, 403, None):
        assert item_outcome(status, "index") == "retry"


def test_a_failed_item_superseded_by_a_later_acknowledged_one_is_not_sent_again() -> None:
    ids = ["a", "b", "a", "c", "b"]
    acked = [False, False, True, False, False]
    assert superseded(ids, acked, "index") == [True, False, False, False, False]
    assert superseded(ids, acked, "create") == [False] * 5
    assert superseded(["a", None, "a"], [False, True, False], "index") == [False] * 3


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert [backoff(n, 2, 64) for n in range(8)] == [2, 4, 8, 16, 32, 64, 64, 64]
    assert backoff(10_000, 2, 64) == 64


@given(st.lists(st.tuples(st.sampled_from(["t", "u"]), st.integers(0, 3),
                          st.integers(0, 10_000)), min_size=1, max_size=50))
@SETTINGS
def test_commit_offsets_are_the_last_plus_one_per_partition(positions) -> None:
    offsets = commit_offsets(positions)
    assert set(offsets) == {(t, p) for t, p, _ in positions}
    for (topic, partition), offset in offsets.items():
        assert offset == 1 + max(o for t, p, o in positions if (t, p) == (topic, partition))


def test_dead_letter_headers_say_where_and_why() -> None:
    headers = dict(dead_letter_headers(_config(), "mapper_parsing_exception: x", "400",
                                       "orders", 2, 17))
    assert headers[HEADER_PREFIX + "reason"] == b"mapper_parsing_exception: x"
    assert headers[HEADER_PREFIX + "status"] == b"400"
    assert (headers[HEADER_PREFIX + "topic"], headers[HEADER_PREFIX + "partition"],
            headers[HEADER_PREFIX + "offset"]) == (b"orders", b"2", b"17")
    assert headers[HEADER_PREFIX + "cluster"] == b"esdr-dc1"


NOW = 1_700_000_000_000


def test_lag_in_messages_and_seconds() -> None:
    lag = partition_lag("t", 0, committed=90, low=0, high=100, next_timestamp_ms=NOW - 12_500,
                        now_ms=NOW)
    assert (lag.messages, lag.seconds, lag.expired) == (10, 12.5, 0)
    assert lag.text() == "t[0]: 10 messages, 12.5s"
    caught_up = partition_lag("t", 1, 100, 0, 100, None, NOW)
    assert (caught_up.messages, caught_up.seconds) == (0, 0.0) and caught_up.known


def test_lag_never_says_0_when_it_cannot_know() -> None:
    new_group = partition_lag("t", 0, None, 20, 100, NOW - 5_000, NOW)
    assert new_group.messages is None and new_group.seconds is None
    assert (new_group.messages_at_most, new_group.seconds_at_most) == (80, 5.0)
    assert "at most 80" in new_group.text()
    down = partition_lag("t", 0, 50, None, None, None, NOW, unreachable="Kafka unreachable")
    assert down.messages is None and not down.known and "unreachable" in down.text()
    no_stamp = partition_lag("t", 0, 50, 0, 100, None, NOW)
    assert no_stamp.messages == 50 and no_stamp.seconds is None and not no_stamp.known


def test_lag_behind_the_log_start_counts_the_expired_messages() -> None:
    lag = partition_lag("t", 0, committed=10, low=40, high=100, next_timestamp_ms=NOW - 1000,
                        now_ms=NOW)
    assert (lag.messages, lag.expired) == (60, 30)
    assert "30 expired unread" in lag.text()


def test_a_group_lag_sums_messages_and_keeps_the_oldest_age() -> None:
    parts = [partition_lag("t", 0, 90, 0, 100, NOW - 3_000, NOW),
             partition_lag("t", 1, 100, 0, 100, None, NOW),
             partition_lag("t", 2, 5, 0, 10, NOW - 9_000, NOW)]
    lag = group_lag(parts)
    assert (lag.messages, lag.seconds, lag.messages_at_least) == (15, 9.0, 15)
    assert lag.text() == "lag 15 messages, 9.0s"
    with_unknown = group_lag(parts + [partition_lag("t", 3, None, 0, 7, None, NOW)])
    assert with_unknown.messages is None and with_unknown.seconds is None
    assert with_unknown.messages_at_least == 15
    assert "lag unknown (at least 15 messages, at most 22;" in with_unknown.text()
    down = group_lag(parts + [partition_lag("t", 3, 1, None, None, None, NOW)])
    assert "lag unknown (at least 15 messages; 1 partition(s)" in down.text()
    assert group_lag([]).messages is None  # no partition read: not "0 behind"
    assert group_lag([]).text() == "lag unknown: no partition could be read"
    assert lag_summary({"esdr-orders-esdr-dc1": lag}) == [
        "esdr-orders-esdr-dc1: lag 15 messages, 9.0s"]
