"""TLS on a real Kafka 4.4 broker, built the way the deploy builds a host: a one-host lab
cluster (broker and controller in one JVM on 127.0.0.1) with TLS on both listeners, its
keystore, trust store and passwords.properties from ``esdr.kafka.tls`` over certificates the
estate CA issued (``esdr.security.certs``), formatted by the deploy's own format command
(``esdr.kafka.unit.format_command``, cluster and directory ids from ``esdr.kafka.tls``) and
started with the unit's own ``ExecStart`` line. A client with a certificate of the estate CA
creates a topic, produces and consumes; one without a certificate, or with one from another CA,
gets nothing.

The jars come from esdr_lab.kafka_broker (Maven Central, cached); the broker runs as the user
running the tests (the unit's ``kafka`` user does not exist here), is stopped by pid (SIGTERM,
SIGKILL after 20 s) and its directory removed. Without java, mvn or Maven Central the module
skips (fails under CI=true).
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from esdr.kafka import tls, unit
from esdr.kafka.model import KafkaCluster
from esdr.kafka.render import bootstrap_servers, server_properties
from esdr.security import certs
from esdr.security.sans import sans_of
from esdr_lab import kafka_broker

HOST = "kafka-tls-lab"
CLUSTER_NAME = "kafka-tls-lab"
START_TIMEOUT = 90
REFUSED_WAIT = 4  # seconds a refused client keeps trying before the test calls it refused


@dataclass
class TlsBroker:
    broker: kafka_broker.Broker
    ca: Path
    client_cert: Path
    client_key: Path
    foreign_cert: Path
    foreign_key: Path

    def client(self, **extra: str) -> dict[str, str]:
        config = {"bootstrap.servers": self.broker.bootstrap, "security.protocol": "SSL",
                  "ssl.ca.location": str(self.ca), "socket.timeout.ms": "5000",
                  "log_level": "0"}
        config.update(extra)
        return config

    def authenticated(self, **extra: str) -> dict[str, str]:
        return self.client(**{"ssl.certificate.location": str(self.client_cert),
                              "ssl.key.location": str(self.client_key), **extra})


def _cluster(directory: Path, broker_port: int, controller_port: int) -> KafkaCluster:
    node = {"zone": "az1", "node_id": 1, "address": kafka_broker.ADDRESS}
    return KafkaCluster.model_validate({
        "controllers": {HOST: node}, "brokers": {HOST: node},
        "broker_port": broker_port, "controller_port": controller_port,
        "default_replication_factor": 1, "min_insync_replicas": 1, "lab": True,
        "tls": {"enabled": True, "dir": str(directory / "tls")},
        "conf_dir": str(directory / "conf"), "data_dir": str(directory / "data"),
        "log_dir": str(directory / "log"), "heap": "512m",
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "install": {"root": str(directory / "opt"), "java": shutil.which("java") or "java"},
    })


def _write(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)
    return path


def _start(libs: Path) -> TlsBroker:
    directory = Path(tempfile.mkdtemp(prefix="esdr-kafka-tls-"))
    broker = None
    try:
        broker_port, controller_port = kafka_broker.free_port(), kafka_broker.free_port()
        while controller_port == broker_port:
            controller_port = kafka_broker.free_port()
        cluster = _cluster(directory, broker_port, controller_port)
        # the install as the deploy leaves it: <root>/kafka-<version>, <root>/current -> it
        Path(unit.install_dir(cluster)).parent.mkdir(parents=True)
        Path(unit.install_dir(cluster)).symlink_to(libs.parent)
        Path(unit.install_link(cluster)).symlink_to(unit.install_dir(cluster))

        now = dt.datetime.now(dt.timezone.utc)
        ca_pem, ca_key = certs.create_ca("esdr test estate CA", 30, now)
        ca = certs.load_ca(ca_pem, ca_key, "test")
        node_cert, node_key = certs.issue_node_cert(ca, HOST, tls.node_sans(cluster, HOST), 30,
                                                    now)
        client_cert, client_key = certs.issue_node_cert(ca, "orders-producer", sans_of([]), 30,
                                                        now)
        other_pem, other_key = certs.create_ca("another CA", 30, now)
        other = certs.load_ca(other_pem, other_key, "other")
        foreign_cert, foreign_key = certs.issue_node_cert(other, "intruder", sans_of([]), 30, now)

        keystore_password, truststore_password = uuid.uuid4().hex, uuid.uuid4().hex
        stores = tls.node_stores(
            cluster, HOST,
            tls.keystore(HOST, node_cert, node_key, ca.pem, keystore_password),
            tls.truststore(ca.pem, truststore_password), keystore_password, truststore_password)
        _write(Path(stores.keystore_path), stores.keystore)
        _write(Path(stores.truststore_path), stores.truststore, 0o644)
        _write(Path(stores.passwords_path), stores.passwords)
        _write(Path(unit.properties_path(cluster)),
               server_properties(CLUSTER_NAME, cluster, HOST), 0o640)
        _write(Path(unit.log4j_path(cluster)), unit.log4j(cluster), 0o640)
        Path(cluster.log_dir).mkdir(parents=True)
        Path(cluster.data_dir).mkdir(parents=True)

        seed = f"test-{uuid.uuid4().hex}"
        format_command = unit.format_command(
            cluster, HOST, tls.cluster_id(f"{seed}/{CLUSTER_NAME}"),
            tls.directory_ids(CLUSTER_NAME, cluster, seed))
        for attempt in (1, 2):  # the second run finds meta.properties and formats nothing
            done = subprocess.run(["bash", "-c", format_command], capture_output=True,
                                  text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            if attempt == 1:
                assert "Formatting" in done.stdout, done.stdout
            else:
                assert done.stdout == "", "a rerun must not format again"
        assert Path(unit.meta_properties_path(cluster)).is_file()

        exec_start = next(line for line in unit.unit(CLUSTER_NAME, cluster, HOST).splitlines()
                          if line.startswith("ExecStart="))
        argv = shlex.split(exec_start.removeprefix("ExecStart="))
        started = time.monotonic()
        with open(directory / "stdout.log", "wb") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, cwd=cluster.data_dir,
                                       preexec_fn=kafka_broker._die_with_parent)
        broker = kafka_broker.Broker(bootstrap_servers(cluster), process.pid, directory, process)
        material = TlsBroker(
            broker,
            _write(directory / "client" / "ca.crt", ca.pem, 0o644),
            _write(directory / "client" / "orders-producer.crt", client_cert, 0o644),
            _write(directory / "client" / "orders-producer.key", client_key),
            _write(directory / "client" / "intruder.crt", foreign_cert, 0o644),
            _write(directory / "client" / "intruder.key", foreign_key),
        )
        _wait_ready(material, started, Path(cluster.log_dir) / "server.log")
        return material
    except BaseException:
        if broker is not None:
            kafka_broker.stop(broker, say=lambda _line: None)
        else:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _wait_ready(material: TlsBroker, started: float, log: Path) -> None:
    admin = AdminClient(material.authenticated())
    while True:
        process = material.broker.process
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            raise AssertionError(f"the TLS broker exited with {process.returncode}:\n{tail}\n"
                                 f"{material.broker.log_tail()}")
        try:
            admin.list_topics(timeout=3)
            return
        except KafkaException:
            pass
        if time.monotonic() - started > START_TIMEOUT:
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            raise AssertionError(f"the TLS broker did not answer within {START_TIMEOUT}s:\n"
                                 f"{tail}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[TlsBroker]:
    libs = kafka_broker.jars_or_skip()
    started = _start(libs)
    try:
        yield started
    finally:
        kafka_broker.stop(started.broker)


def test_a_client_with_an_estate_certificate_produces_and_consumes(tls_broker) -> None:
    admin = AdminClient(tls_broker.authenticated())
    topic = "tls.orders"
    for future in admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=15).values():
        future.result(timeout=30)
    producer = Producer(tls_broker.authenticated(**{"acks": "all", "enable.idempotence": "true"}))
    delivered: list = []
    producer.produce(topic, key=b"order-1", value=b'{"total": 3}',
                     on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0 and delivered == [None]

    consumer = Consumer(tls_broker.authenticated(**{
        "group.id": "esdr-tls-test", "auto.offset.reset": "earliest"}))
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        message = None
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error():
                message = None
        assert message is not None, "nothing consumed over TLS within 30 s"
        assert (message.key(), message.value()) == (b"order-1", b'{"total": 3}')
    finally:
        consumer.close()


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
def test_a_client_without_an_estate_certificate_gets_nothing(tls_broker, who: str) -> None:
    if who == "no certificate":
        config = tls_broker.client()
    else:
        config = tls_broker.client(**{"ssl.certificate.location": str(tls_broker.foreign_cert),
                                      "ssl.key.location": str(tls_broker.foreign_key)})
    errors: list[str] = []
    admin = AdminClient({**config, "error_cb": lambda error: errors.append(str(error))})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=REFUSED_WAIT)  # ssl.client.auth=required: handshake refused
    admin.poll(0.5)  # deliver what librdkafka said about the connection
    # the broker's TLS alert, not a timeout: "ssl/tls alert bad certificate" (alert 42)
    assert any("bad certificate" in e for e in errors), errors


def test_the_broker_runs_on_the_rendered_tls_settings(tls_broker) -> None:
    properties = (tls_broker.broker.directory / "conf" / "server.properties").read_text()
    assert "listener.security.protocol.map=BROKER:SSL,CONTROLLER:SSL" in properties
    assert "ssl.client.auth=required" in properties
    assert "password=${file:" in properties  # the passwords themselves are not in it
    passwords = (tls_broker.broker.directory / "tls" / "passwords.properties").read_text()
    for line in passwords.splitlines():
        if "=" in line:
            assert line.split("=", 1)[1] not in properties


def test_topics_converge_over_tls_as_the_deploy_does(tls_broker) -> None:
    """esdr's own path (esdr.kafka_io.cluster) over the TLS listener with a client certificate
    of the estate CA, as the deploy's step takes it with esdr-admin: the topics are created, the
    record in esdr-managed is written and read back by its TLS producer and consumer, and the
    next plan is no change."""
    from esdr.kafka.topics import REGISTRY_TOPIC
    from esdr.kafka_io.admin import Tls, admin_client, observe_topics
    from esdr.kafka_io.cluster import converge_cluster_topics, plan_cluster_topics

    directory = tls_broker.broker.directory
    port = int(tls_broker.broker.bootstrap.rsplit(":", 1)[1])
    cluster = KafkaCluster.model_validate({
        **_cluster(directory, port, port + 1).model_dump(),
        "topics": {"tls.converged": {"partitions": 2, "config": {"retention.ms": 86400000}}}})
    admin = admin_client(tls_broker.broker.bootstrap,
                         Tls(str(tls_broker.ca), str(tls_broker.client_cert),
                             str(tls_broker.client_key)), timeout=10)
    plan = plan_cluster_topics(admin, CLUSTER_NAME, cluster)
    assert plan.decision(False) == "apply"
    applied, _, _ = converge_cluster_topics(admin, plan, cluster)
    assert [(c.name, c.action) for c in applied] == [("tls.converged", "created")]
    again = plan_cluster_topics(admin, CLUSTER_NAME, cluster)
    assert again.managed == {"tls.converged"} and again.decision(False) == "noop"
    assert observe_topics(admin)[REGISTRY_TOPIC]["config"] == {"cleanup.policy": "compact"}


def test_status_reads_a_pipeline_lag_over_tls_as_esdr_admin(tls_broker, tmp_path) -> None:
    """`esdr status`'s pipeline line over the TLS listener with the client settings of
    esdr.kafka_io.cluster: the estate CA and the esdr-admin identity from the estate's secrets
    directory (here a copy of a client certificate the estate CA issued). The group never
    committed: its lag is bounded by what the topic holds, and known to be read over TLS."""
    from esdr.kafka_io.admin import Tls, admin_client
    from esdr.kafka_io.cluster import admin_identity
    from esdr.model import HostSpec, topology_from_hosts
    from esdr.security.certs import ca_pem_path
    from esdr.status.read import Target, read_all
    from esdr.status.report import Thresholds

    directory = tls_broker.broker.directory
    port = int(tls_broker.broker.bootstrap.rsplit(":", 1)[1])
    topics = {"tls.lagging": {"partitions": 1}, "tls.lagging.dead": {"partitions": 1}}
    cluster = {**_cluster(directory, port, port + 1).model_dump(), "topics": topics}
    admin = admin_client(tls_broker.broker.bootstrap,
                         Tls(str(tls_broker.ca), str(tls_broker.client_cert),
                             str(tls_broker.client_key)), timeout=10)
    for future in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1)
                                       for t in topics], request_timeout=10).values():
        future.result(timeout=20)
    producer = Producer(tls_broker.authenticated(acks="all"))
    for i in range(5):
        producer.produce("tls.lagging", key=f"k{i}".encode(), value=b"{}")
    assert producer.flush(30) == 0
    estate = {"_source": "estates/tls.yml", "kafka": {
        "kafka_clusters": {CLUSTER_NAME: cluster},
        "search_clusters": {"esdr-dc1": {"hosts": ["https://127.0.0.1:9200"],
                                         "password_variable": "P"}},
        "pipelines": {"orders": {"kafka_cluster": CLUSTER_NAME, "topics": ["tls.lagging"],
                                 "target": "orders", "clusters": ["esdr-dc1"],
                                 "dead_letter_topic": "tls.lagging.dead"}}}}
    data = {"zone": "az1", "es_cluster_name": "esdr-dc1", "es_version": "8.19.21",
            "es_security": False, "es_http_port": kafka_broker.free_port(),
            "es_api_transport": "direct", "es_secrets_dir": str(tmp_path), "es_estate": estate}
    topology = topology_from_hosts("dc1", [HostSpec("n1", ("es_master", "es_data"),
                                                    {**data, "ssh_hostname": "127.0.0.1"})])
    shutil.copy(tls_broker.ca, ca_pem_path(topology))
    cert, key = admin_identity(topology, CLUSTER_NAME)
    cert.parent.mkdir(parents=True)
    shutil.copy(tls_broker.client_cert, cert)
    shutil.copy(tls_broker.client_key, key)
    [dc1] = read_all([Target("dc1", "inventories/dc1.py", topology, Thresholds(timeout=6))],
                     6.0)
    [line] = dc1.pipelines
    assert line.error is None and line.unreachable is None, line
    assert line.messages.value is None and line.messages.at_most == 5
    assert "no committed offset" in (line.messages.unknown or "")
