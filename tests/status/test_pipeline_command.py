"""The acceptance bound with Kafka in the estate: `esdr status` on a silent DC whose estate's
Kafka broker is a closed loopback port still answers within the bound of
tests/status/test_cut_dc_command.py, its pipeline line unknown (never 0) and CRITICAL, with
Kafka's own reason. The command runs as a monitor runs it, in its own process (threads, not
the test session's gevent)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from tests.status.test_cut_dc_command import ESDR, silent_dc  # noqa: F401 (the fixture)

ESTATE = """\
clusters:
  dc2: {{cluster_name: esdr-t-dc2, inventory: dc2.py}}
kafka:
  kafka_clusters:
    kafka-t:
      lab: true
      default_replication_factor: 1
      min_insync_replicas: 1
      tls: {{enabled: false}}
      broker_port: {port}
      install: {{archive_url: "file:///nowhere/kafka_2.13-4.4.0.tgz", sha512: "{sha}"}}
      controllers: {{k1: {{zone: az1, node_id: 1, address: 127.0.0.1}}}}
      brokers: {{k1: {{zone: az1, node_id: 1, address: 127.0.0.1}}}}
      topics: {{orders: {{partitions: 1}}, orders.dead: {{partitions: 1}}}}
  search_clusters:
    esdr-t-dc2: {{hosts: ["https://127.0.0.1:9200"], password_variable: P}}
  pipelines:
    orders: {{kafka_cluster: kafka-t, topics: [orders], target: orders,
              clusters: [esdr-t-dc2], dead_letter_topic: orders.dead}}
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kafka_not_answering_is_one_critical_line_within_the_bound(silent_dc) -> None:  # noqa: F811
    directory, _ = silent_dc
    kafka_port = _closed_port()
    (directory / "group_data" / "estates").mkdir()
    (directory / "group_data" / "estates" / "t.yml").write_text(
        ESTATE.format(port=kafka_port, sha="0" * 128))
    group_data = directory / "group_data" / "dc2.py"
    group_data.write_text("from esdr.crossdc.estate import load_estate_file\n"
                          + group_data.read_text()
                          + 'es_estate = load_estate_file(__file__, "estates/t.yml")\n')
    start = time.monotonic()
    result = subprocess.run([str(ESDR), "--json", "status", "dc2.py"], cwd=directory,
                            capture_output=True, text=True, timeout=30)
    took = time.monotonic() - start
    assert result.returncode == 2, result.stdout + result.stderr
    saturated = os.getloadavg()[0] > (os.cpu_count() or 1)
    assert took < (4.5 if saturated else 3.0), (took, os.getloadavg())
    answer = json.loads(result.stdout)["status"]
    [table] = [t for t in answer["tables"] if t["name"] == "pipelines"]
    [line] = table["lines"]
    assert line["what"] == "pipeline orders → esdr-t-dc2" and line["verdict"] == "CRITICAL"
    assert line["group"] == "esdr-orders-esdr-t-dc2" and line["reachable"] is False
    assert line["lag_messages"]["value"] is None and line["lag_seconds"]["value"] is None
    assert f"127.0.0.1:{kafka_port}" in line["reason"]
    assert "librdkafka" not in result.stderr and "FAIL" not in result.stderr  # its log is off
