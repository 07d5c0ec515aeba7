"""A Kafka cluster deployed by esdr on the lab's three zones, beside OpenSearch
(inventories/lab_kafka.py, group_data/estates/lab_kafka.yml): one KRaft controller and broker
per zone, the third zone included, TLS on every listener from the estate CA with client
certificates required, installed from the lab mirror's sha512-checked archive of Kafka's Maven
Central jars. The rerun changes nothing. Topics, the pipelines and the drills are not deployed
yet (docs/kafka-dual-write.md).
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaException

from tests.integration.deploy_runner import REPO, run_deploy

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab_kafka.py"
BROKERS = {1: ("10.88.0.51", "az1"), 2: ("10.88.0.52", "az2"), 3: ("10.88.0.53", "az3")}
BOOTSTRAP = ",".join(f"{address}:9092" for address, _ in BROKERS.values())


@pytest.fixture(scope="module")
def kafka_lab():
    from esdr_lab import api

    api.require_lab()
    started = time.monotonic()
    api.up([str(REPO / INVENTORY)], fresh=True)
    try:
        first = run_deploy(INVENTORY)
        print(f"\n--- first deploy: exit {first.returncode} in {first.seconds:.0f}s")
        assert first.returncode == 0, first.stderr[-5000:]
        yield {"api": api, "first": first, "seconds": time.monotonic() - started}
    finally:
        api.down()


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
