"""esdr's consumer pipeline service (esdr.kafka_io.pipeline) between a real Kafka 4.4 broker and
a real OpenSearch 2.19 node, both on 127.0.0.1 (esdr_lab.kafka_broker, esdr_lab.loopback_engine):
keyed messages become exactly those documents, a replay from offset 0 changes no count, a
SIGKILL mid-stream and a restart end with every id once, a rejected document lands in the
dead-letter topic while the rest is indexed and the offsets move on, no dead-letter topic
stops the service rather than dropping, and an engine that does not answer keeps the offsets
where they are and loses nothing. The lag is read alongside (esdr.kafka_io.lag).

One broker and one engine for the module (~10 s and ~30 s to start). Each test has its own
topic, index and group. The service runs as systemd runs it, ``python -m
esdr.kafka_io.pipeline --config FILE`` in its own process (not a thread: the tests run under
gevent's monkey-patching, which librdkafka's blocking calls would stall), stopped (SIGTERM) or
killed (SIGKILL) by its pid. Every wait is bounded in time and in count. Without java, mvn, the Kafka jars or the OpenSearch archive the module
skips (fails under CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from esdr.kafka.model import KafkaEstate
from esdr.kafka.pipeline_service import (
    EXIT_CONFIG,
    HEADER_PREFIX,
    ServiceConfig,
    config_text,
    render_config,
)
from esdr.kafka_io.admin import admin_client
from esdr.kafka_io.lag import read_lag
from esdr.kafka_io.pipeline import kafka_settings
from esdr_lab import kafka_broker
from tests.kafka_io.test_status_lag_on_a_broker import commit_at

opensearchpy = pytest.importorskip("opensearchpy")
loopback_engine = pytest.importorskip("esdr_lab.loopback_engine")

WAIT = 60.0  # seconds for the service to catch up with what was produced
POLL = 0.2
ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"opensearch on loopback unavailable under CI: {reason}")
    pytest.skip(f"opensearch on loopback unavailable: {reason}")


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    reason = loopback_engine.unavailable_reason()
    if reason is not None:
        _unavailable(reason)
    # not under pytest's tmp dir: that is 0700 root, and the engine runs as nobody when we are
    # root (loopback_engine chowns the work dir itself)
    workdir = Path(tempfile.mkdtemp(prefix="esdr-pipeline-os-"))
    try:
        with loopback_engine.opensearch_on_loopback(workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def search(engine_url: str):
    return opensearchpy.OpenSearch([engine_url], timeout=30)


@pytest.fixture(scope="module")
def secrets() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="esdr-pipeline-conf-"))
    (directory / "password").write_text("not-a-real-password\n")  # no security on the engine
    os.chmod(directory / "password", 0o600)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def make_topics(broker: kafka_broker.Broker, *names: str, partitions: int = 3) -> None:
    admin = admin_client(broker.bootstrap, timeout=10)
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1)
                                   for n in names], operation_timeout=10, request_timeout=10)
    for future in futures.values():
        future.result(timeout=20)


def produce(broker: kafka_broker.Broker, topic: str,
            messages: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                         "enable.idempotence": True, "linger.ms": 20})
    failures: list[str] = []
    for key, value in messages:
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda e, _m: failures.append(e.str()) if e else None)
        producer.poll(0)
    assert producer.flush(30) == 0 and failures == []


def keyed(count: int, prefix: str = "k") -> list[tuple[bytes, bytes]]:
    return [(f"{prefix}{i:06d}".encode(), json.dumps({"n": i, "key": f"{prefix}{i:06d}"})
             .encode()) for i in range(count)]


def config_for(broker: kafka_broker.Broker, engine_url: str, secrets: Path, topic: str,
               index: str, *, dead_letter_topic: str | None = None, **changes: Any
               ) -> ServiceConfig:
    """The service config rendered from a small estate around the lab broker and engine, as
    the deploy renders it; then the test's own group, batch size and short retries."""
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    cluster = kafka_broker.lab_cluster(port, port + 1, "/var/lib/kafka").model_dump()
    estate = KafkaEstate.model_validate({
        "kafka_clusters": {"lab": cluster},
        "search_clusters": {"os-lab": {"engine": "opensearch", "hosts": [engine_url],
                                       "password_variable": "ESDR_LAB_PIPELINE_PASSWORD"}},
        "pipelines": {"p": {"kafka_cluster": "lab", "topics": [topic], "target": index,
                            "clusters": ["os-lab"], "dead_letter_topic": dead_letter_topic,
                            "retry_initial_interval": 1, "retry_max_interval": 2}},
    })
    config = render_config(estate, "p", "os-lab")
    assert config.kafka.bootstrap_servers == broker.bootstrap
    assert config.kafka.security_protocol == "PLAINTEXT"  # the lab broker only, on loopback
    target = config.target.model_copy(update={"password_file": str(secrets / "password"),
                                              "request_timeout": 10})
    settings = {"target": target, "retry_initial_interval": 0.2, "retry_max_interval": 1.0,
                "poll_timeout": 0.2, "batch_size": 200,
                "kafka": config.kafka.model_copy(update={"group_id": f"g-{topic}",
                                                         "group_instance_id": f"i-{topic}"}),
                **changes}
    return config.model_copy(update=settings)


def lag(config: ServiceConfig, timeout: float = 5.0):
    return read_lag(kafka_settings(config), config.kafka.group_id, config.kafka.topics,
                    timeout=timeout)


def committed(broker: kafka_broker.Broker, group: str, topic: str, partitions: int = 3
              ) -> dict[int, int]:
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                       "enable.auto.commit": False})
    try:
        answer = reader.committed([TopicPartition(topic, p) for p in range(partitions)],
                                  timeout=10)
        return {tp.partition: tp.offset for tp in answer}
    finally:
        reader.close()


def count(search, index: str) -> int:
    if not search.indices.exists(index=index):
        return 0
    search.indices.refresh(index=index)
    return int(search.count(index=index)["count"])


def ids(search, index: str) -> list[str]:
    search.indices.refresh(index=index)
    return sorted(hit["_id"] for hit in opensearchpy.helpers.scan(
        search, index=index, query={"query": {"match_all": {}}}, _source=False, size=1000))


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Until ``check()`` is truthy; at most ``timeout`` seconds and timeout/POLL probes."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / POLL) + 1):
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(POLL)
    pytest.fail(f"{what}: not seen within {timeout:.0f}s")


def caught_up(config: ServiceConfig) -> bool:
    current = lag(config)
    return current.messages == 0


def spawn(config: ServiceConfig, directory: Path, name: str) -> tuple[subprocess.Popen, Path]:
    path = directory / f"{name}.json"
    path.write_text(config_text(config))
    log = directory / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "esdr.kafka_io.pipeline", "--config",
                                    str(path)], stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=ROOT,
                                   # a test run that dies takes the service with it
                                   preexec_fn=kafka_broker._die_with_parent)
    return process, log


class Spawned:
    """The service as systemd runs it, in its own process (the tests' process is patched by
    gevent, under which librdkafka's blocking calls would stall a thread of ours); on exit
    SIGTERM by pid, which must end it with 0, SIGKILL after a bound."""

    def __init__(self, config: ServiceConfig, directory: Path, name: str) -> None:
        self.process, self.log = spawn(config, directory, name)
        self.code: int | None = None

    def __enter__(self) -> Spawned:
        return self

    def alive(self) -> bool:
        return self.process.poll() is None

    def __exit__(self, *_exc: object) -> None:
        try:
            self.code = reap(self.process, signal.SIGTERM)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)


def reap(process: subprocess.Popen, sig: int, timeout: float = 30.0) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def test_keyed_messages_become_exactly_those_documents_and_a_replay_changes_no_count(
        broker, engine_url, search, secrets, tmp_path) -> None:
    make_topics(broker, "exact")
    produce(broker, "exact", keyed(1000))
    config = config_for(broker, engine_url, secrets, "exact", "exact")
    with Spawned(config, tmp_path, "exact") as running:
        wait_for("group caught up", lambda: caught_up(config) or not running.alive())
        assert running.alive(), running.log.read_text()
    assert running.code == 0, running.log.read_text()
    assert count(search, "exact") == 1000
    assert ids(search, "exact") == [f"k{i:06d}" for i in range(1000)]
    assert sum(committed(broker, "g-exact", "exact").values()) == 1000
    done = lag(config)
    assert (done.messages, done.seconds, done.expired) == (0, 0.0, 0)

    # a new group reads from offset 0 again: the same ids, so the same 1000 documents
    again = config.model_copy(update={"kafka": config.kafka.model_copy(
        update={"group_id": "g-exact-replay", "group_instance_id": "i-exact-replay"})})
    with Spawned(again, tmp_path, "replay") as running:
        wait_for("replay caught up", lambda: caught_up(again) or not running.alive())
    assert running.code == 0, running.log.read_text()
    assert count(search, "exact") == 1000
    assert search.get(index="exact", id="k000007")["_version"] == 2  # written twice, one doc


def test_sigkill_mid_stream_then_a_restart_ends_with_every_id_once(
        broker, engine_url, search, secrets, tmp_path) -> None:
    total = 8_000
    make_topics(broker, "killed")
    produce(broker, "killed", keyed(total))
    config = config_for(broker, engine_url, secrets, "killed", "killed", batch_size=50)
    process, log = spawn(config, tmp_path, "first")
    try:
        wait_for("a first commit", lambda: sum(
            o for o in committed(broker, "g-killed", "killed").values() if o > 0) > 0
            or process.poll() is not None, timeout=WAIT)
        assert process.poll() is None, log.read_text()
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    at_kill = committed(broker, "g-killed", "killed")
    in_index = count(search, "killed")
    assert 0 < sum(o for o in at_kill.values() if o > 0) < total, "killed after the end"
    assert in_index < total

    process, log = spawn(config, tmp_path, "second")
    try:
        wait_for("the restart caught up", lambda: caught_up(config)
                 or process.poll() is not None)
        assert process.poll() is None, log.read_text()
        assert reap(process, signal.SIGTERM) == 0, log.read_text()  # SIGTERM: a clean exit
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert count(search, "killed") == total
    assert ids(search, "killed") == [f"k{i:06d}" for i in range(total)]
    assert sum(committed(broker, "g-killed", "killed").values()) == total
    assert "stopped:" in log.read_text()


def dead_letters(broker: kafka_broker.Broker, topic: str, expected: int) -> list[Any]:
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"read-{topic}",
                       "auto.offset.reset": "earliest", "enable.auto.commit": False})
    reader.subscribe([topic])
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 30
        while len(found) < expected and time.monotonic() < deadline:
            found += [m for m in reader.consume(10, timeout=0.5) if m.error() is None]
        return found
    finally:
        reader.close()


def test_a_rejected_document_goes_to_the_dead_letter_topic_and_the_rest_is_indexed(
        broker, engine_url, search, secrets, tmp_path) -> None:
    make_topics(broker, "mixed")
    make_topics(broker, "mixed.dead-letters", partitions=1)
    search.indices.create(index="mixed", body={"mappings": {"properties": {
        "n": {"type": "integer"}}}})
    good = keyed(50)
    produce(broker, "mixed", good[:20] + [
        (b"bad-mapping", json.dumps({"n": "not a number"}).encode()),  # 400 from the engine
        (b"not-json", b"{oops"),  # never sent
        (None, json.dumps({"n": 1}).encode()),  # no key, no id: never sent
    ] + good[20:])
    config = config_for(broker, engine_url, secrets, "mixed", "mixed",
                        dead_letter_topic="mixed.dead-letters")
    with Spawned(config, tmp_path, "mixed") as running:
        wait_for("group caught up", lambda: caught_up(config) or not running.alive())
    assert running.code == 0, running.log.read_text()
    assert count(search, "mixed") == 50
    assert sum(committed(broker, "g-mixed", "mixed").values()) == 53  # past the rejects too

    letters = dead_letters(broker, "mixed.dead-letters", 3)
    by_key = {m.key(): dict((k, v.decode()) for k, v in m.headers()) for m in letters}
    assert set(by_key) == {b"bad-mapping", b"not-json", None} and len(letters) == 3
    bad = by_key[b"bad-mapping"]
    assert bad[HEADER_PREFIX + "status"] == "400"
    assert "mapper_parsing_exception" in bad[HEADER_PREFIX + "reason"]
    assert bad[HEADER_PREFIX + "topic"] == "mixed"
    assert bad[HEADER_PREFIX + "cluster"] == "os-lab"
    assert by_key[b"not-json"][HEADER_PREFIX + "reason"].startswith("not JSON")
    assert "no message key" in by_key[None][HEADER_PREFIX + "reason"]
    original = next(m for m in letters if m.key() == b"bad-mapping")
    assert json.loads(original.value()) == {"n": "not a number"}  # kept as it was sent


def test_without_a_dead_letter_topic_a_reject_stops_the_service_and_nothing_moves(
        broker, engine_url, search, secrets, tmp_path) -> None:
    make_topics(broker, "nodlq", partitions=1)
    produce(broker, "nodlq", keyed(5) + [(b"broken", b"[1, 2]")] + keyed(5, prefix="z"))
    config = config_for(broker, engine_url, secrets, "nodlq", "nodlq")
    process, log = spawn(config, tmp_path, "nodlq")  # as systemd runs it: exit 2, no restart
    try:
        assert process.wait(timeout=60) == EXIT_CONFIG, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert committed(broker, "g-nodlq", "nodlq", partitions=1) == {0: -1001}  # never committed
    text = log.read_text()
    assert "no dead_letter_topic" in text and "nodlq[0] offset 5" in text, text


def test_an_engine_that_does_not_answer_keeps_the_offsets_and_loses_nothing(
        broker, engine_url, search, secrets, tmp_path) -> None:
    make_topics(broker, "down")
    produce(broker, "down", keyed(300))
    closed = f"http://127.0.0.1:{kafka_broker.free_port()}"  # nothing listens there
    config = config_for(broker, engine_url, secrets, "down", "down")
    unreachable = config.model_copy(update={"target": config.target.model_copy(
        update={"hosts": [closed]})})
    process, log = spawn(unreachable, tmp_path, "down")
    try:
        wait_for("three failed bulk attempts", lambda: log.read_text().count("retrying") >= 3
                 or process.poll() is not None, timeout=30)
        assert process.poll() is None, log.read_text()
        assert committed(broker, "g-down", "down") == {0: -1001, 1: -1001, 2: -1001}
        seen = lag(config)
        assert seen.messages is None and seen.messages_at_least == 0  # unknown, never 0
        assert sum(p.messages_at_most or 0 for p in seen.partitions) == 300
        started = time.monotonic()
        assert reap(process, signal.SIGTERM) == 0, log.read_text()  # abandons the batch
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert "was not committed and will be read again" in log.read_text()
    assert committed(broker, "g-down", "down") == {0: -1001, 1: -1001, 2: -1001}
    assert count(search, "down") == 0

    with Spawned(config, tmp_path, "up") as running:  # the engine back: the same group
        wait_for("group caught up", lambda: caught_up(config) or not running.alive())
    assert running.code == 0, running.log.read_text()
    assert count(search, "down") == 300


def test_the_lag_counts_messages_and_seconds_and_is_unknown_without_a_broker(
        broker, engine_url, secrets) -> None:
    make_topics(broker, "lagging", partitions=2)
    produce(broker, "lagging", keyed(40))
    config = config_for(broker, engine_url, secrets, "lagging", "lagging")
    # commit 10 of partition 0 by hand, as the service would after a batch
    # (retried while the broker's first group has no coordinator yet: this test alone)
    commit_at(broker.bootstrap, "g-lagging", [TopicPartition("lagging", 0, 10),
                                              TopicPartition("lagging", 1, 0)])
    time.sleep(1.0)
    seen = lag(config)
    assert seen.messages == 40 - 10
    assert seen.seconds is not None and 1.0 <= seen.seconds < 60
    assert {p.partition for p in seen.partitions} == {0, 1}

    gone = config.model_copy(update={"kafka": config.kafka.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{kafka_broker.free_port()}"})})
    started = time.monotonic()
    nowhere = lag(gone, timeout=2)
    assert time.monotonic() - started < 15
    assert nowhere.messages is None and "unreachable" in nowhere.text()
