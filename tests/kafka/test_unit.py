"""The systemd unit, the log4j 2 configuration and the one-shot storage format of a Kafka
process: golden files, and what each line must keep."""

from __future__ import annotations

import shlex

from esdr.kafka import tls, unit
from tests.kafka.factory import estate, raw
from tests.kafka.golden import assert_golden

CLUSTER = estate().kafka_clusters["kafka-dc1"]


def test_unit_golden() -> None:
    assert_golden("kafka-kc-tb.service", unit.unit("kafka-dc1", CLUSTER, "kc-tb"))
    assert_golden("kafka-log4j2.properties", unit.log4j(CLUSTER))


def test_unit_runs_kafka_from_libs_as_the_service_user() -> None:
    text = unit.unit("kafka-dc1", CLUSTER, "kb-az1")
    start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(start.removeprefix("ExecStart="))
    assert words[0] == "/usr/bin/java" and "-Xmx1g" in words and "-Xms1g" in words
    # one word, unexpanded: the JVM expands the class path wildcard itself
    assert words[words.index("-cp") + 1] == "/opt/kafka/current/libs/*"
    assert words[-2:] == ["kafka.Kafka", "/etc/kafka/server.properties"]
    assert "-Dlog4j2.configurationFile=/etc/kafka/log4j2.properties" in words
    for line in ("User=kafka", "Group=kafka", "Restart=on-failure", "LimitNOFILE=100000",
                 "SuccessExitStatus=143", "WantedBy=multi-user.target"):
        assert line in text.splitlines()


def test_the_heap_comes_from_the_model() -> None:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["heap"] = "6g"
    cluster = estate(data).kafka_clusters["kafka-dc1"]
    assert "-Xms6g -Xmx6g" in unit.unit("kafka-dc1", cluster, "kb-az1")


def test_format_runs_only_without_meta_properties() -> None:
    ids = tls.directory_ids("kafka-dc1", CLUSTER, "prod")
    command = unit.format_command(CLUSTER, "kc-az1", "AAAAAAAAAAAAAAAAAAAAAA", ids)
    assert command.startswith("test -e /var/lib/kafka/data/meta.properties || runuser -u kafka "
                              "-- /usr/bin/java ")
    words = shlex.split(command.split(" -- ", 1)[1])
    at = words.index("kafka.tools.StorageTool")
    assert words[at:at + 6] == ["kafka.tools.StorageTool", "format", "-c",
                                "/etc/kafka/server.properties", "-t", "AAAAAAAAAAAAAAAAAAAAAA"]
    voters = words[words.index("--initial-controllers") + 1].split(",")
    assert voters[0] == f"1@10.0.1.11:9093:{ids['kc-az1']}" and len(voters) == 3
    assert "--ignore-formatted" not in words  # never reformat a node that has data
    broker = unit.format_command(CLUSTER, "kb-az1", "AAAAAAAAAAAAAAAAAAAAAA")
    assert broker.endswith("--no-initial-controllers")


def test_install_heap_and_user_are_checked_like_every_other_key() -> None:
    from esdr.kafka.model import parse_kafka_estate

    data = raw()
    cluster = data["kafka_clusters"]["kafka-dc1"]
    cluster["heap"] = "1 g"
    cluster["install"] = {"archive_url": "https://mirror/kafka.zip; rm -rf /",
                          "sha512": "not-hex"}
    model, problems = parse_kafka_estate(data)
    assert model is None
    keys = sorted(p.message.split(":")[0] for p in problems)
    assert keys == ["kafka_clusters.kafka-dc1.heap",
                    "kafka_clusters.kafka-dc1.install.archive_url",
                    "kafka_clusters.kafka-dc1.install.sha512"]
    defaults = estate().kafka_clusters["kafka-dc1"]
    assert (defaults.heap, defaults.user, defaults.install.version) == ("1g", "kafka", "4.4.0")
    assert unit.install_dir(defaults) == "/opt/kafka/kafka-4.4.0"
