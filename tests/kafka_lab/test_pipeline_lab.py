"""esdr's pipeline service deployed by esdr in the lab (inventories/lab_kafka.py): on each of the
three zones' hosts, beside the Kafka broker and the OpenSearch node, one
``esdr-pipeline@esdr-orders-esdr-lab-kafka`` instance (the estate's ``pipeline_hosts``), its
Python from the lab mirror's wheelhouse, feeding topic ``orders`` into the inventory's own
OpenSearch cluster. N keyed messages produced to ``orders`` become N documents whose ids are
the keys; the rerun of the deploy changes nothing and restarts no service.

The lab image holds python3-venv (esdr_lab/constants.py IMAGE_PACKAGES: Debian's python3 makes
no venv with pip without it, and the lab hosts reach no apt mirror); this machine must reach the
package registry or hold the lock's wheels in pip's cache (the mirror's wheelhouse is built from
them). The lab and its first deploy are the package's (conftest.py), shared with
test_kafka_lab.py.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.deploy_runner import run_deploy

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab_kafka.py"
HOSTS = ("os1-az1", "os1-az2", "os1-az3")
BOOTSTRAP = "10.88.0.51:9092,10.88.0.52:9092,10.88.0.53:9092"
ENGINE = ["https://10.88.0.51:9200", "https://10.88.0.52:9200", "https://10.88.0.53:9200"]
UNIT = "esdr-pipeline@esdr-orders-esdr-lab-kafka.service"
GROUP = "esdr-orders-esdr-lab-kafka"
MESSAGES = 2000
INDEXED_WITHIN = 180.0  # seconds: three fresh consumers join, then bulk 500 at a time


@pytest.fixture(scope="module")
def pipeline_lab(kafka_lab):
    """The package's Kafka lab (tests/kafka_lab/conftest.py): its first deploy started the
    pipeline services too."""
    return kafka_lab


def _secrets():
    from esdr.security.store import default_root

    return default_root() / "lab_kafka"


def _ssh(host: str, command: str) -> str:
    from esdr_lab import api

    result = api.ssh(host, f"{command} 2>&1", timeout=60)
    return result.stdout


def _engine():
    from opensearchpy import OpenSearch

    from esdr.security.store import default_root

    password = (default_root() / "lab_os" / "admin-password").read_text().strip()
    return OpenSearch(ENGINE, http_auth=("admin", password), use_ssl=True, verify_certs=True,
                      ca_certs=str(_secrets() / "ca.crt"), timeout=30)


def test_each_zone_runs_the_service_from_the_wheelhouse_venv(pipeline_lab):
    for host in HOSTS:
        assert _ssh(host, f"systemctl is-active {UNIT}").strip() == "active", host
        # the unit's python is the lock's venv, through the link; esdr's code is the zip
        target = _ssh(host, "readlink /opt/esdr-pipeline/venv").strip()
        assert target.startswith("/opt/esdr-pipeline/venv-"), (host, target)
        assert _ssh(host, f"test -f {target}/.esdr-complete && echo complete").strip() == \
            "complete"
        modes = _ssh(host, "stat -c '%a %U:%G %n' /etc/esdr-pipeline/*.password "
                           "/etc/esdr-pipeline/tls/*.key /etc/esdr-pipeline/*.json")
        for line in modes.splitlines():
            mode, owner, path = line.split(" ", 2)
            wanted = ("640", "root:esdr-pipeline") if path.endswith(".json") else \
                ("600", "esdr-pipeline:esdr-pipeline")
            assert (mode, owner) == wanted, (host, line)


def test_n_messages_to_orders_become_n_documents(pipeline_lab):
    from confluent_kafka import Producer

    clients = _secrets() / "kafka/kafka-lab/clients"
    producer = Producer({
        "bootstrap.servers": BOOTSTRAP, "security.protocol": "SSL",
        "ssl.ca.location": str(_secrets() / "ca.crt"),
        "ssl.certificate.location": str(clients / "esdr-lab-producer.crt"),
        "ssl.key.location": str(clients / "esdr-lab-producer.key"),
        "acks": "all", "enable.idempotence": True})
    run = f"lab-{int(time.time())}"
    failed: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            failed.append(str(error))

    keys = [f"{run}-{i:06d}" for i in range(MESSAGES)]
    for i, key in enumerate(keys):
        producer.produce("orders", key=key, value=json.dumps({"id": key, "seq": i}),
                         on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(60) == 0 and failed == [], failed[:5]

    engine = _engine()
    query = {"query": {"prefix": {"id.keyword": run}}}
    deadline = time.monotonic() + INDEXED_WITHIN
    count = 0
    while time.monotonic() < deadline:
        if engine.indices.exists(index="orders"):
            engine.indices.refresh(index="orders")
            count = engine.count(index="orders", body=query)["count"]
            if count >= MESSAGES:
                break
        time.sleep(3)
    assert count == MESSAGES, f"{count} of {MESSAGES} documents within {INDEXED_WITHIN:.0f}s"
    # the id is the key: every key is one document, none twice
    found = engine.mget(index="orders", body={"ids": keys[:: max(1, MESSAGES // 50)]})
    assert all(doc["found"] for doc in found["docs"])


def test_the_group_commits_what_reached_the_cluster(pipeline_lab):
    from confluent_kafka import Consumer, TopicPartition

    clients = _secrets() / "kafka/kafka-lab/clients"
    probe = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": GROUP, "security.protocol": "SSL",
        "ssl.ca.location": str(_secrets() / "ca.crt"),
        "ssl.certificate.location": str(clients / "esdr-lab-producer.crt"),
        "ssl.key.location": str(clients / "esdr-lab-producer.key"),
        "enable.auto.commit": False})
    try:
        partitions = [TopicPartition("orders", p) for p in range(6)]
        committed = probe.committed(partitions, timeout=20)
        ends = [probe.get_watermark_offsets(tp, timeout=20)[1] for tp in partitions]
    finally:
        probe.close()
    lag = sum(end - max(tp.offset, 0) for tp, end in zip(committed, ends))
    assert lag == 0, (committed, ends)  # after the previous test everything is indexed


def test_the_rerun_changes_nothing_and_restarts_no_service(pipeline_lab):
    since = {host: _ssh(host, f"systemctl show -p ActiveEnterTimestampMonotonic --value {UNIT}")
             for host in HOSTS}
    again = run_deploy(INVENTORY)
    assert again.returncode == 0, again.stderr[-4000:]
    changed = again.changed_operations()
    assert all(ops == [] for ops in changed.values()), changed
    for host in HOSTS:
        now = _ssh(host, f"systemctl show -p ActiveEnterTimestampMonotonic --value {UNIT}")
        assert now == since[host], host
