"""Logstash pipelines rendered from one pipeline model, and the lint that stands in for
Logstash's own parser here: golden files, the options that make replays idempotent and the
dead letters land, the lint catching each kind of mistake, and every rendered pipeline passing
it (while any one brace or quote removed from it fails it)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from esdr.kafka.logstash import (
    KEY_REFERENCE,
    cluster_files,
    lint_pipeline,
    pipeline_id,
    render_dead_letter_pipeline,
    render_pipeline,
)
from esdr.kafka.model import KafkaEstate
from tests.kafka.factory import estate, raw
from tests.kafka.golden import assert_golden

SETTINGS = settings(max_examples=150, deadline=None, database=None)


@pytest.mark.parametrize("cluster", ["esdr-dc1", "esdr-dc2"])
def test_golden_files(cluster: str) -> None:
    for path, text in cluster_files(estate(), cluster).items():
        assert_golden(f"logstash-{cluster}/{path.rsplit('/', 1)[1]}", text)


def test_one_consumer_group_per_cluster() -> None:
    texts = {c: render_pipeline(estate(), "orders", c) for c in ("esdr-dc1", "esdr-dc2")}
    for cluster, text in texts.items():
        assert f'group_id => "{pipeline_id("orders", cluster)}"' in text
    assert pipeline_id("orders", "esdr-dc1") != pipeline_id("orders", "esdr-dc2")


def test_the_options_that_make_delivery_safe() -> None:
    text = render_pipeline(estate(), "orders", "esdr-dc1")
    for option in ('decorate_events => "basic"', "enable_auto_commit => false",
                   f'document_id => "{KEY_REFERENCE}"', 'action => "index"',
                   'topic_id => "orders.dead-letters"', 'acks => "all"',
                   'security_protocol => "SSL"', 'ssl_verification_mode => "full"',
                   "elasticsearch {", 'auto_offset_reset => "earliest"',
                   '"[esdr_dead_letter][offset]" => "%{[@metadata][kafka][offset]}"'):
        assert option in text, option
    # no secret in a pipeline file: Logstash reads ${VAR} from its keystore
    assert 'password => "${ESDR_DC1_LOGSTASH_PASSWORD}"' in text
    assert "message_key" not in text  # a keyless dead letter would carry the literal
    assert "opensearch {" in render_pipeline(estate(), "orders", "esdr-dc2")


def test_pipelines_yml_persists_the_queue_and_enables_the_dead_letter_queue() -> None:
    entries = yaml.safe_load(cluster_files(estate(), "esdr-dc1")["/etc/logstash/pipelines.yml"])
    assert entries[0] == {
        "pipeline.id": "esdr-orders-esdr-dc1",
        "path.config": "/etc/logstash/conf.d/esdr-orders-esdr-dc1.conf",
        "queue.type": "persisted", "dead_letter_queue.enable": True}
    assert entries[1]["pipeline.id"] == "esdr-orders-esdr-dc1-dead-letters"


def test_a_pipeline_not_feeding_a_cluster_is_not_rendered_for_it() -> None:
    data = raw()
    data["pipelines"]["orders"]["clusters"] = ["esdr-dc1"]
    assert list(cluster_files(estate(data), "esdr-dc2")) == ["/etc/logstash/pipelines.yml"]


def test_create_auto_and_no_dead_letter_variants() -> None:
    data = raw()
    data["pipelines"]["orders"].update(action="create", document_id="auto",
                                       dead_letter_topic=None)
    text = render_pipeline(estate(data), "orders", "esdr-dc1")
    assert 'action => "create"' in text and "document_id" not in text
    assert "topic_id" not in text and lint_pipeline(text) == []
    with pytest.raises(ValueError):
        render_dead_letter_pipeline(estate(data), "orders", "esdr-dc1")


def test_rendered_pipelines_pass_the_lint() -> None:
    for cluster in ("esdr-dc1", "esdr-dc2"):
        for path, text in cluster_files(estate(), cluster).items():
            if path.endswith(".conf"):
                assert lint_pipeline(text, path) == [], path


GOOD = """input {
  kafka { bootstrap_servers => "k:9092" group_id => "g" topics => ["t"] decorate_events => "basic" }
}
filter {
  if [a] == "b" { mutate { add_tag => ["x"] } } else if ![c] { mutate { } } else { mutate { } }
}
output {
  elasticsearch { hosts => ["https://e:9200"] document_id => "%{[@metadata][kafka][key]}" }
}
"""


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("mutate { } }\n}", "mutate { }\n}", "logstash-unbalanced"),
        ('[key]}" }', "[key]} }", "logstash-unclosed-string"),
        ('"g"', '"g', "logstash-syntax"),  # the strings pair up anew: '%' ends up bare
        ("mutate { add_tag", "grok { add_tag", "logstash-unknown-plugin"),
        ('topics => ["t"]', 'topics => ["t"] topic => "t"', "logstash-unknown-option"),
        ('group_id => "g" ', "", "logstash-missing-option"),
        ('group_id => "g"', 'group_id => "g" group_id => "h"', "logstash-duplicate-option"),
        ('decorate_events => "basic"', 'decorate_events => "none"',
         "logstash-metadata-not-decorated"),
        ('decorate_events => "basic"', 'decorate_events => "full"', "logstash-bad-value"),
        ("output {", "outputs {", "logstash-syntax"),
        ('hosts => ["https://e:9200"]', 'hosts ["https://e:9200"]', "logstash-syntax"),
        ("output {\n  elasticsearch", "output {\n  if [x] elasticsearch", "logstash-syntax"),
    ],
)
def test_the_lint_finds(old: str, new: str, rule: str) -> None:
    assert lint_pipeline(GOOD) == []
    assert old in GOOD
    problems = lint_pipeline(GOOD.replace(old, new, 1), "p.conf")
    assert rule in {p.rule for p in problems}, problems
    assert all(p.where.startswith("p.conf") for p in problems)


def test_a_pipeline_without_output_is_refused() -> None:
    assert {p.rule for p in lint_pipeline("input { }\n")} == {"logstash-missing-section"}


NAMES = st.from_regex(r"^[a-z][a-z0-9-]{0,10}$", fullmatch=True)


def _structure(text: str) -> list[int]:
    """Positions of the braces, brackets and quotes that are syntax: outside strings and
    comments (esdr writes no escaped quote)."""
    marks, in_string, in_comment = [], False, False
    for position, char in enumerate(text):
        if in_comment:
            in_comment = char != "\n"
        elif char == '"':
            marks.append(position)
            in_string = not in_string
        elif in_string:
            continue
        elif char == "#":
            in_comment = True
        elif char in "{}[]":
            marks.append(position)
    return marks


@SETTINGS
@given(
    action=st.sampled_from(["index", "create"]),
    document_id=st.sampled_from(["key", "field", "auto"]),
    dead_letter=st.booleans(),
    tls=st.booleans(),
    engine=st.sampled_from(["elasticsearch", "opensearch"]),
    topics=st.lists(NAMES, min_size=1, max_size=3, unique=True),
    threads=st.integers(1, 16),
    cut=st.integers(0, 10**6),
)
def test_every_rendered_pipeline_lints_clean_and_any_cut_brace_is_caught(
        action: str, document_id: str, dead_letter: bool, tls: bool, engine: str,
        topics: list[str], threads: int, cut: int) -> None:
    data: dict[str, Any] = raw()
    data["kafka_clusters"]["kafka-dc1"]["tls"] = {"enabled": tls}
    data["kafka_clusters"]["kafka-dc1"]["topics"].update({t: {"partitions": 2} for t in topics})
    data["search_clusters"]["esdr-dc1"]["engine"] = engine
    data["pipelines"]["orders"].update(
        action=action, document_id=document_id, consumer_threads=threads, topics=topics,
        dead_letter_topic="orders.dead-letters" if dead_letter else None,
        document_id_field="order_id" if document_id == "field" else None)
    model = KafkaEstate.model_validate(data)
    files = cluster_files(model, "esdr-dc1")
    for path, text in files.items():
        if not path.endswith(".conf"):
            continue
        assert lint_pipeline(text, path) == []
        assert f"{engine} {{" in text or "dead_letter_queue {" in text
        # remove one brace, bracket or quote of the structure (not inside a string, where it
        # is text): Logstash would refuse it, so must the lint
        marks = _structure(text)
        position = marks[cut % len(marks)]
        assert lint_pipeline(text[:position] + text[position + 1:], path) != []


def test_the_pipeline_s_own_user_and_its_password_variable() -> None:
    """Without credentials in the estate, Logstash logs in as the pipeline's own user (the
    one the deploy makes, esdr.kafka.search_user), its password from a keystore variable named
    after the pipeline id."""
    from esdr.kafka.logstash import render_pipeline

    data = raw()
    del data["search_clusters"]["esdr-dc1"]["password_variable"]
    text = render_pipeline(estate(data), "orders", "esdr-dc1")
    assert 'user => "esdr-orders-esdr-dc1"' in text
    assert 'password => "${ESDR_ORDERS_ESDR_DC1_PASSWORD}"' in text
    # the cluster that names its credentials keeps them
    other = render_pipeline(estate(data), "orders", "esdr-dc2")
    assert 'user => "esdr_logstash"' in other and "${ESDR_DC2_LOGSTASH_PASSWORD}" in other
