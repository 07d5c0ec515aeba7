"""A Kafka cluster deployed by esdr on the lab's three zones, beside OpenSearch
(inventories/lab_kafka.py, group_data/estates/lab_kafka.yml): one KRaft controller and broker
per zone, the third zone included, TLS on every listener from the estate CA with client
certificates required, installed from the lab mirror's sha512-checked archive of Kafka's Maven
Central jars. The deploy converges the estate's topics (orders, orders.dead-letters) from the
machine running pyinfra, straight to the brokers over TLS as esdr-admin, and records them in the
compacted topic esdr-managed. The rerun changes nothing, topics included; a retention.ms
shortened by hand with the AdminClient shows in `esdr plan` (exit 3) and the next deploy puts it
back. The pipeline services of both DCs are tested in test_pipeline_lab.py, the failure drills
in test_zz_drills.py (docs/kafka-dual-write.md).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from confluent_kafka import KafkaException

from tests.integration.deploy_runner import REPO, run_deploy

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab_kafka.py"
BROKERS = {1: ("10.88.0.51", "az1"), 2: ("10.88.0.52", "az2"), 3: ("10.88.0.53", "az3")}
BOOTSTRAP = ",".join(f"{address}:9092" for address, _ in BROKERS.values())
TOPICS_OP = "Kafka topics converged"
# the estate's topics as Kafka shows them: factor 3 (the cluster's default), own overrides only
TOPICS = {
    "orders": {"partitions": 6, "replication_factor": 3,
               "config": {"retention.ms": "604800000"}},
    "orders.dead-letters": {"partitions": 1, "replication_factor": 3, "config": {}},
}


def _secrets():
    from esdr.security.store import default_root

    return default_root() / "lab_kafka"


def _admin(client: str | None, ca: str | None = None):
    from confluent_kafka.admin import AdminClient

    secrets = _secrets()
    conf = {"bootstrap.servers": BOOTSTRAP, "security.protocol": "SSL",
            "ssl.ca.location": ca or str(secrets / "ca.crt"),
            "socket.timeout.ms": 5000, "socket.connection.setup.timeout.ms": 5000}
    if client is not None:
        conf["ssl.certificate.location"] = str(secrets / "kafka/kafka-lab/clients" / f"{client}.crt")
        conf["ssl.key.location"] = str(secrets / "kafka/kafka-lab/clients" / f"{client}.key")
    return AdminClient(conf)


def test_the_cluster_forms_over_three_zones_with_tls_and_client_certificates(kafka_lab):
    admin = _admin("esdr-lab-producer")  # kept: a future outlives no destroyed client
    # The deploy waited until every broker listens; registering with the quorum may take a
    # few seconds more on a loaded machine. Bounded: 12 tries, at most about 4 minutes.
    seen: dict = {}
    described = error = None
    for _ in range(12):
        try:
            described = admin.describe_cluster(request_timeout=10).result(timeout=20)
        except KafkaException as exc:
            error = exc
            time.sleep(2)
            continue
        seen = {node.id: (node.host, node.rack) for node in described.nodes}
        if seen == BROKERS:
            break
        time.sleep(2)
    assert seen == BROKERS, (seen, error)  # broker.rack = the host's zone, az3 the hidden zone
    assert described.controller is not None and described.controller.id in BROKERS


def _topics_op(run) -> dict:
    """The topics step's entry in pyinfra's --json results (one host: it runs once)."""
    [op] = [op for op in run.results["results"]["operations"]
            if any(name.endswith(TOPICS_OP) for name in op["names"])]
    return op


def _observed(admin) -> dict:
    from esdr.kafka_io.admin import observe_topics

    return observe_topics(admin, timeout=10)


def _esdr_plan() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "plan", INVENTORY],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def _wait(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not seen within {timeout:.0f}s"
        time.sleep(1)


def test_the_first_deploy_converges_the_topics_and_records_them(kafka_lab):
    from esdr.kafka_io.admin import Tls, client_config
    from esdr.kafka_io.record import read_record

    op = _topics_op(kafka_lab["first"])
    assert len(op["success"]) == 1 and op["error"] == [], op  # changed, on one host
    lines = "\n".join(kafka_lab["first"].esdr_lines())
    assert "kafka kafka-lab: kafka_topic orders created" in lines, lines[-3000:]
    assert "kafka kafka-lab: kafka_topic orders.dead-letters created" in lines

    admin = _admin("esdr-admin")  # the deploy issued esdr's own identity; it is what it used
    seen = _observed(admin)
    assert {name: seen[name] for name in TOPICS} == TOPICS, seen
    assert seen["esdr-managed"] == {"partitions": 1, "replication_factor": 3,
                                    "config": {"cleanup.policy": "compact"}}
    clients = _secrets() / "kafka/kafka-lab/clients"
    config = client_config(BOOTSTRAP, Tls(str(_secrets() / "ca.crt"),
                                          str(clients / "esdr-admin.crt"),
                                          str(clients / "esdr-admin.key")), timeout=10)
    assert read_record(config, "kafka-lab", timeout=20)["topics"] == sorted(TOPICS)


def test_a_client_without_an_estate_certificate_is_refused(kafka_lab):
    from confluent_kafka import KafkaException

    admin = _admin(None)
    with pytest.raises(KafkaException):  # ssl.client.auth=required: the handshake fails
        admin.describe_cluster(request_timeout=10).result(timeout=20)


def test_the_rerun_changes_nothing(kafka_lab):
    again = run_deploy(INVENTORY)
    assert again.returncode == 0, again.stderr[-4000:]
    changed = again.changed_operations()
    assert changed and all(ops == [] for ops in changed.values()), changed
    op = _topics_op(again)  # the topics step ran, and reported no change
    assert op["success"] == [] and len(op["no_change"]) == 1 and op["error"] == [], op


def test_a_hand_changed_retention_shows_in_the_plan_and_the_deploy_restores_it(kafka_lab):
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    before = _esdr_plan()
    assert before.returncode == 0, before.stdout + before.stderr
    assert "  topics: 0 created, 0 changed, 0 deleted, 2 unchanged" in before.stdout

    # shorter than the estate's 7 days: putting it back deletes nothing, so no switch needed
    # (a longer one by hand would be restored only with --data allow_destructive=true)
    admin = _admin("esdr-lab-producer")
    by_hand = ConfigResource(ConfigResource.Type.TOPIC, "orders", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
    for future in admin.incremental_alter_configs([by_hand], request_timeout=10).values():
        future.result(timeout=20)
    _wait("the hand-made retention.ms", lambda: _observed(admin)["orders"]["config"]
          .get("retention.ms") == "3600000")

    drift = _esdr_plan()
    assert drift.returncode == 3, drift.stdout + drift.stderr
    lines = drift.stdout.splitlines()
    assert "  ~ kafka_topic_config orders: changed" in lines, drift.stdout
    assert '        before: {"retention.ms": "3600000"}' in lines
    assert '        after:  {"retention.ms": "604800000"}' in lines
    assert "drift in 1 object(s)" in drift.stderr

    restore = run_deploy(INVENTORY)
    assert restore.returncode == 0, restore.stderr[-4000:]
    op = _topics_op(restore)
    assert len(op["success"]) == 1, op
    assert any("kafka kafka-lab: kafka_topic_config orders changed" in line
               for line in restore.esdr_lines()), restore.esdr_lines()[-20:]
    changed = restore.changed_operations()
    assert sorted(n for ops in changed.values() for n in ops) == [op["name"]], changed
    assert _observed(admin)["orders"] == TOPICS["orders"]

    after = _esdr_plan()
    assert after.returncode == 0, after.stdout + after.stderr
