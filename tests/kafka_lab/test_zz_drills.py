"""The dual-write drills on the Kafka lab's two DCs (esdr_lab/kafka_drill.py; the lab is the
package's, tests/kafka_lab/conftest.py), each while a producer sends keyed messages with
acks=all:

- the Kafka brokers' heap changed in the estate: the deploy restarts one broker at a time,
  each waited on until it listens and every partition is in sync again, while messages are
  produced; none is lost, and the rerun changes nothing;
- a pipeline service of each DC SIGKILLed mid-stream: after systemd restarts it, both clusters
  hold exactly the messages sent, none lost, none twice;
- DC2 (its cluster and its pipeline services) cut, then powered off for 60 s: its group's lag
  grows while it is down (read from Kafka, never shown as 0 when unknown), and after power-on it
  catches up to exactly the messages sent; the catch-up time is printed;
- one zone of DC1 (its Kafka broker and controller, OpenSearch node and pipeline service on one
  host) cut silently: no acknowledged message is lost in either cluster and production goes on;
  the longest gap between acknowledged sends is printed.

Drills (``-m drill``): CI runs each failure mechanism elsewhere (a silent zone cut and DC
power-off in tests/integration and tests/opensearch_lab, a SIGKILL in
tests/kafka_io/test_pipeline_on_a_broker.py against a loopback broker); these take about ten
minutes. The file's name sorts it last in the package, and the zone cut runs last in it: they
cut hosts, and the zone cut leaves the brokers re-electing leaders.
"""

from __future__ import annotations

import shutil

import pytest

from esdr_lab import kafka_drill
from tests.integration.deploy_runner import REPO, run_deploy
from tests.kafka_lab.conftest import INVENTORY

pytestmark = [pytest.mark.lab, pytest.mark.drill]


def test_a_changed_broker_setting_restarts_one_broker_at_a_time_each_back_in_sync(kafka_lab,
                                                                                tmp_path):
    project = tmp_path / "project"
    (project / "inventories").mkdir(parents=True)
    shutil.copy(REPO / INVENTORY, project / INVENTORY)
    shutil.copytree(REPO / "group_data", project / "group_data")
    estate = project / "group_data/estates/lab_kafka.yml"
    text = estate.read_text()
    assert "heap: 256m" in text
    estate.write_text(text.replace("heap: 256m", "heap: 288m"))
    producer = kafka_drill.Producer(kafka_drill.new_run("roll"), rate=300).start()
    try:
        rolled = run_deploy(INVENTORY, cwd=project)
    finally:
        producer.stop()
    lines = [line for line in rolled.stderr.splitlines() if "every partition of" in line]
    print(f"\n--- the roll: exit {rolled.returncode} in {rolled.seconds:.0f}s\n" + "\n".join(lines))
    assert rolled.returncode == 0, rolled.stderr[-4000:]
    assert len(lines) == 3, lines  # each broker waited on until every partition is in sync
    changed = rolled.changed_operations()
    assert all(any("Restart kafka" in op for op in ops)
               for host, ops in changed.items() if host.startswith("os1-")), changed
    assert producer.failed == [] and len(producer.acked) == producer.sent
    kafka_drill.wait_for_count("dc1", producer.run, producer.sent, 300, print)
    again = run_deploy(INVENTORY, cwd=project)
    assert again.returncode == 0 and all(ops == [] for ops in again.changed_operations().values())
    # back to the repository's estate (the later drills' lab): restarts again, in sync again
    restored = run_deploy(INVENTORY)
    assert restored.returncode == 0, restored.stderr[-4000:]


def test_a_pipeline_sigkilled_mid_stream_loses_nothing_and_duplicates_nothing(kafka_lab):
    result = kafka_drill.pipeline_kill(kafka_lab["api"])
    print(f"\n--- {result.line()}")
    assert result.failed == 0 and result.acknowledged == result.sent
    for dc in kafka_drill.DCS:
        # exactly what was sent: count == sent (no duplicate ids can exist: id = key), and
        # every acknowledged key found by id
        assert result.held[dc] == result.sent, (dc, result.counts())
        assert result.lost[dc] == [], (dc, result.lost[dc][:5])


def test_dc2_powered_off_for_60s_lags_then_catches_up(kafka_lab):
    result = kafka_drill.dc2_outage(kafka_lab["api"], down_s=60)
    print(f"\n--- {result.line()}")
    for at, messages, seconds, text in result.lag_samples:
        print(f"    +{at:.0f}s: {text}")
    assert result.failed == 0 and result.acknowledged == result.sent
    assert result.max_lag_messages is not None and result.max_lag_messages > 0, \
        result.lag_samples
    for dc in kafka_drill.DCS:
        assert result.held[dc] == result.sent, (dc, result.counts())
        assert result.lost[dc] == [], (dc, result.lost[dc][:5])
    assert result.catch_up_s is not None


def test_one_kafka_zone_cut_silently_loses_no_acknowledged_message(kafka_lab):
    result = kafka_drill.zone_cut(kafka_lab["api"], host="os1-az2")
    print(f"\n--- {result.line()}")
    # a finite gap: sends were acknowledged again after the cut (production went on)
    assert result.longest_gap_s < 60, result.line()
    for dc in kafka_drill.DCS:
        assert result.lost[dc] == [], (dc, len(result.lost[dc]), result.lost[dc][:5])
        assert result.held[dc] <= result.sent, (dc, result.counts())
