"""Dual-write through Kafka on the Kafka lab's two DCs (inventories/lab_kafka.py and
inventories/lab_kafka_dc2.py, estate group_data/estates/lab_kafka.yml): one topic, ``orders``,
and one pipeline group per DC's OpenSearch cluster.

Shared by the lab tests (tests/kafka_lab, which assert) and ``benchmarks/run --only kafka``
(which prints medians). A run produces keyed messages with ``acks=all`` and an idempotent
producer (each message's key is its document id) while something fails, then waits until both
clusters hold every message and counts:

- ``end_to_end``: N messages as fast as the producer goes, nothing fails; the time until both
  clusters hold N (the throughput end to end);
- ``zone_cut``: one zone of DC1 (its Kafka broker and controller, its OpenSearch node and its
  pipeline service, all on one host) loses its network in one moment, then is powered off,
  while messages are produced at a steady rate; the longest gap between two acknowledged sends,
  the acknowledged messages missing from either cluster;
- ``pipeline_kill``: the pipeline service of each DC on one host is SIGKILLed mid-stream
  (systemd restarts it, ``Restart=on-failure``); both clusters must end with exactly the
  messages sent: none lost, none twice (the id is the key, so a replayed batch overwrites);
- ``dc2_outage``: every DC2 host (cluster and its pipeline services) is cut, then powered off
  for ``down_s`` seconds while messages are produced; DC2's group lag is sampled while it is
  down, and after power-on the time until DC2 holds every message is the catch-up time.

Lab addresses only; every wait is bounded (``DrillError`` names what it waited for). A figure a
run could not read is None with the reason in ``notes``, never 0.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esdr_lab.replication_drill import DrillError, wait_until
from esdr_lab.zone_loss import longest_gap

Say = Callable[[str], None]

TOPIC = "orders"
INDEX = "orders"  # the pipeline's target (the estate's `target`)
BOOTSTRAP = "10.88.0.51:9092,10.88.0.52:9092,10.88.0.53:9092"
DCS: dict[str, dict[str, Any]] = {
    "dc1": {"cluster": "esdr-lab-kafka", "hosts": ["os1-az1", "os1-az2", "os1-az3"],
            "urls": ["https://10.88.0.51:9200", "https://10.88.0.52:9200",
                     "https://10.88.0.53:9200"]},
    "dc2": {"cluster": "esdr-lab-kafka-dc2", "hosts": ["os2-az1", "os2-az2", "os2-az3"],
            "urls": ["https://10.88.0.41:9200", "https://10.88.0.42:9200",
                     "https://10.88.0.43:9200"]},
}
PRODUCER_CLIENT = "esdr-lab-producer"  # group_data/estates/lab_kafka.yml tls.clients


def group(dc: str) -> str:
    """The consumer group (and pipeline id) of pipeline ``orders`` into ``dc``'s cluster."""
    return f"esdr-orders-{DCS[dc]['cluster']}"


def unit(dc: str) -> str:
    return f"esdr-pipeline@{group(dc)}.service"


def _secrets() -> Path:
    from esdr.security.store import default_root

    return default_root() / "lab_kafka"


def kafka_settings() -> dict[str, Any]:
    """librdkafka settings of the lab's producer identity (TLS, client certificate)."""
    clients = _secrets() / "kafka/kafka-lab/clients"
    return {"bootstrap.servers": BOOTSTRAP, "security.protocol": "SSL",
            "ssl.ca.location": str(_secrets() / "ca.crt"),
            "ssl.certificate.location": str(clients / f"{PRODUCER_CLIENT}.crt"),
            "ssl.key.location": str(clients / f"{PRODUCER_CLIENT}.key")}


_ENGINES: dict[tuple[str, float], Any] = {}


def engine(dc: str, timeout: float = 10) -> Any:
    """An OpenSearch client of ``dc``'s cluster as the lab's admin (the OpenSearch lab's
    generated password, esdr_lab/group_settings_os.py), kept for the process: like an
    application's, it retries a request on another node when one does not answer and leaves
    that node out for a while (a drill cuts nodes; a fresh client per call, round-robin over
    three nodes, sent one of every three requests to the dead one)."""
    from opensearchpy import OpenSearch

    from esdr.security.store import default_root

    key = (dc, timeout)
    if key not in _ENGINES:
        password = (default_root() / "lab_os" / "admin-password").read_text().strip()
        _ENGINES[key] = OpenSearch(
            DCS[dc]["urls"], http_auth=("admin", password), use_ssl=True, verify_certs=True,
            ca_certs=str(_secrets() / "ca.crt"), timeout=timeout, max_retries=3,
            retry_on_timeout=True)
    return _ENGINES[key]


class Producer:
    """Keyed messages to ``orders`` with ``acks=all`` and idempotence, in a thread of its own:
    ``rate`` messages/s (0: as fast as librdkafka takes them) until ``stop()`` or ``count``.
    Records each acknowledged key with the time of its acknowledgement, and every failure."""

    def __init__(self, run: str, rate: float = 0, count: int | None = None) -> None:
        from confluent_kafka import Producer as KafkaProducer

        self.run, self.rate, self.count = run, rate, count
        self.acked: list[tuple[float, str]] = []
        self.failed: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._producer = KafkaProducer({
            **kafka_settings(), "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "delivery.timeout.ms": 120000, "log_level": 3})
        self._thread = threading.Thread(target=self._loop, name="kafka-drill-producer",
                                        daemon=True)

    def key(self, i: int) -> str:
        return f"{self.run}-{i:07d}"

    def start(self) -> Producer:
        self._thread.start()
        return self

    def _delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self.failed.append(str(error))
        else:
            self.acked.append((time.monotonic(), message.key().decode()))

    def _loop(self) -> None:
        # Cooperative on purpose: where pyinfra's gevent has patched threading (the lab tests),
        # this thread is a greenlet, and a blocking librdkafka poll(timeout) would stall every
        # other greenlet, the drill's own steps included. So: poll(0) only, and waits through
        # time.sleep, which gevent turns into a yield (a plain thread just sleeps).
        started = time.monotonic()
        i = 0
        while not self._stop.is_set() and (self.count is None or i < self.count):
            if self.rate:
                ahead = started + i / self.rate - time.monotonic()
                if ahead > 0:
                    self._producer.poll(0)
                    time.sleep(min(ahead, 0.01))
                    continue
            key = self.key(i)
            try:
                self._producer.produce(TOPIC, key=key,
                                       value=json.dumps({"id": key, "run": self.run, "seq": i}),
                                       on_delivery=self._delivered)
            except BufferError:  # the local queue is full: serve callbacks, then try again
                self._producer.poll(0)
                time.sleep(0.05)
                continue
            i += 1
            self.sent = i
            self._producer.poll(0)
            if i % 200 == 0:
                time.sleep(0)  # a yield under gevent

    def stop(self, flush_s: float = 150) -> None:
        """Stop producing; every message sent is acknowledged or failed when this returns
        (bounded by ``flush_s``, over librdkafka's 120 s delivery timeout)."""
        self._stop.set()
        self._thread.join(timeout=30)
        left = self._producer.flush(flush_s)
        if left:
            raise DrillError(f"{left} messages neither acknowledged nor failed after {flush_s}s")

    def join(self, timeout: float) -> None:
        """Wait for ``count`` messages to be sent, then stop."""
        self._thread.join(timeout=timeout)
        if self._thread.is_alive():
            raise DrillError(f"the producer sent {self.sent} of {self.count} in {timeout:.0f}s")
        self.stop()

    def acked_keys(self) -> list[str]:
        return [key for _, key in self.acked]


def count(dc: str, run: str, timeout: float = 10) -> int:
    """Documents of ``run`` in ``dc``'s cluster (after a refresh)."""
    es = engine(dc, timeout)
    if not es.indices.exists(index=INDEX):
        return 0
    es.indices.refresh(index=INDEX)
    return int(es.count(index=INDEX, body={"query": {"term": {"run.keyword": run}}})["count"])


def missing(dc: str, keys: list[str], batch: int = 1000) -> list[str]:
    """Which of ``keys`` ``dc``'s cluster does not hold (real-time multi-get by id)."""
    es = engine(dc, 30)
    out: list[str] = []
    for first in range(0, len(keys), batch):
        answer = es.mget(index=INDEX, body={"ids": keys[first:first + batch]}, _source=False)
        out += [d["_id"] for d in answer["docs"] if not d.get("found")]
    return out


def wait_for_count(dc: str, run: str, wanted: int, timeout: float, say: Say) -> float:
    """Seconds until ``dc`` holds ``wanted`` documents of ``run``; DrillError when more arrive
    (a duplicate) or the time runs out."""
    started = time.monotonic()
    seen = {"n": -1, "at": started}

    def check() -> bool:
        n = count(dc, run)
        if n > wanted:
            raise DrillError(f"{dc} holds {n} documents of run {run}, more than the {wanted} sent")
        if n != seen["n"] and time.monotonic() - seen["at"] >= 15:
            say(f"  {dc}: {n} of {wanted} indexed ({time.monotonic() - started:.0f}s)")
            seen["at"] = time.monotonic()
        seen["n"] = n
        return n == wanted

    try:
        wait_until(f"{dc} to hold {wanted} documents of run {run}", check, timeout=timeout,
                   interval=1.0)
    except DrillError:
        raise DrillError(f"{dc} holds {seen['n']} of {wanted} documents of run {run} after "
                         f"{timeout:.0f}s") from None
    return time.monotonic() - started


def lag(dc: str, deadline_s: float = 8) -> Any:
    """DC ``dc``'s group lag (esdr.kafka_io.lag: what cannot be read is unknown, never 0)."""
    from esdr.kafka_io.lag import read_lag

    return read_lag(kafka_settings(), group(dc), [TOPIC], timeout=5,
                    deadline=time.monotonic() + deadline_s)


def new_run(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


@dataclass
class EndToEnd:
    run: str
    messages: int
    produce_s: float
    both_s: float  # from the first send until both clusters hold every message
    per_dc_s: dict[str, float]

    @property
    def throughput(self) -> float:
        return self.messages / self.both_s

    def line(self) -> str:
        return (f"{self.messages} messages produced in {self.produce_s:.1f}s; both clusters "
                f"hold all {self.messages} after {self.both_s:.1f}s ({self.throughput:.0f} "
                f"messages/s end to end into both; "
                + ", ".join(f"{dc} {s:.1f}s" for dc, s in self.per_dc_s.items()) + ")")


def end_to_end(messages: int = 50_000, timeout: float = 600, say: Say = print) -> EndToEnd:
    run = new_run("e2e")
    started = time.monotonic()
    producer = Producer(run, count=messages).start()
    producer.join(timeout)
    produce_s = time.monotonic() - started
    if producer.failed or len(producer.acked) != messages:
        raise DrillError(f"{len(producer.failed)} sends failed, {len(producer.acked)} of "
                         f"{messages} acknowledged: {producer.failed[:3]}")
    say(f"  {messages} messages acknowledged in {produce_s:.1f}s")
    per_dc = {}
    for dc in DCS:
        wait_for_count(dc, run, messages, timeout, say)
        per_dc[dc] = time.monotonic() - started
    return EndToEnd(run, messages, produce_s, max(per_dc.values()), per_dc)


@dataclass
class Outcome:
    """What a failure drill ends with: sent, acknowledged, failed sends, and per DC what is
    held and which acknowledged messages are missing."""

    run: str
    sent: int
    acknowledged: int
    failed: int
    held: dict[str, int] = field(default_factory=dict)
    lost: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> str:
        return (f"sent {self.sent}, acknowledged {self.acknowledged}, failed sends "
                f"{self.failed}; " + ", ".join(
                    f"{dc} holds {self.held[dc]} ({len(self.lost[dc])} acknowledged missing)"
                    for dc in self.held))


def _settle(producer: Producer, run: str, timeout: float, say: Say,
            outcome: Outcome) -> dict[str, float]:
    """Both clusters until they hold every message sent (when none failed) or, when sends
    failed, until their count stops moving; then the acknowledged keys each lacks. Returns
    when (``time.monotonic()``) each DC was seen complete."""
    done_at = {}
    keys = producer.acked_keys()
    for dc in DCS:
        if not producer.failed:
            wait_for_count(dc, run, producer.sent, timeout, say)
        else:  # a failed send may or may not be in the log: wait for the count to settle
            last = {"n": -1, "since": time.monotonic()}

            def settled(dc: str = dc) -> bool:
                n = count(dc, run)
                if n != last["n"]:
                    last.update(n=n, since=time.monotonic())
                return n >= len(keys) and time.monotonic() - last["since"] >= 20

            wait_until(f"{dc}'s count of run {run} to settle", settled, timeout=timeout)
        done_at[dc] = time.monotonic()
        outcome.held[dc] = count(dc, run)
        outcome.lost[dc] = missing(dc, keys)
    return done_at


@dataclass
class ZoneCut(Outcome):
    zone_host: str = ""
    longest_gap_s: float = float("inf")

    def line(self) -> str:
        return (f"zone of {self.zone_host} cut while producing: longest gap between "
                f"acknowledged sends {self.longest_gap_s:.1f}s; {self.counts()}")


def zone_cut(lab_api: Any, host: str = "os1-az2", rate: float = 500, before_s: float = 10,
             after_s: float = 40, timeout: float = 400, say: Say = print) -> ZoneCut:
    """Cut ``host`` (one zone of DC1: broker, controller, OpenSearch node, pipeline service)
    while producing ``rate`` messages/s; boot it again at the end."""
    run = new_run("zone")
    producer = Producer(run, rate=rate).start()
    time.sleep(before_s)
    cut_at = time.monotonic()
    say(f"  cutting {host} (network first, then power) after {producer.sent} sends")
    lab_api.stop_hosts([host])
    time.sleep(after_s)
    producer.stop()
    gap = longest_gap([at for at, _ in producer.acked], cut_at)
    outcome = ZoneCut(run, producer.sent, len(producer.acked), len(producer.failed),
                      zone_host=host, longest_gap_s=gap)
    say(f"  produced {producer.sent}, acknowledged {len(producer.acked)}, "
        f"{len(producer.failed)} failed; longest gap {gap:.1f}s")
    try:
        _settle(producer, run, timeout, say, outcome)
    finally:
        say(f"  booting {host} again")
        lab_api.start_hosts([host])
    return outcome


@dataclass
class PipelineKill(Outcome):
    killed: dict[str, str] = field(default_factory=dict)  # host -> the pid SIGKILLed

    def line(self) -> str:
        return (f"pipeline services SIGKILLed mid-stream on "
                f"{', '.join(f'{h} (pid {p})' for h, p in self.killed.items())}; {self.counts()}")


def _main_pid(lab_api: Any, host: str, unit_name: str, not_pid: str = "",
              within: float = 60) -> str:
    """The unit's main pid once it runs (and is not ``not_pid``): systemd shows 0 while the
    unit waits out its RestartSec after a kill."""
    seen = {"answer": ""}

    def running() -> str | None:
        answer = lab_api.ssh(host, f"systemctl show -p MainPID --value {unit_name}", timeout=20)
        seen["answer"] = answer.stdout.strip()
        pid = seen["answer"]
        return pid if answer.returncode == 0 and pid.isdigit() and pid not in ("0", not_pid) \
            else None

    try:
        return wait_until(f"{unit_name} on {host} to run", running, timeout=within, interval=2)
    except DrillError:
        raise DrillError(f"{unit_name} on {host} has no main pid other than {not_pid or '0'} "
                         f"after {within:.0f}s (MainPID={seen['answer']!r})") from None


def pipeline_kill(lab_api: Any, messages: int = 20_000, rate: float = 1000,
                  timeout: float = 400, say: Say = print) -> PipelineKill:
    """SIGKILL one pipeline service of each DC while ``messages`` are produced at ``rate``;
    both clusters must hold exactly the messages sent (none failed to send)."""
    run = new_run("kill")
    producer = Producer(run, rate=rate, count=messages).start()
    targets = {"dc1": DCS["dc1"]["hosts"][0], "dc2": DCS["dc2"]["hosts"][0]}
    killed = {}

    def mid_stream() -> bool:
        return producer.sent >= messages // 3 and all(count(dc, run) > 0 for dc in DCS)

    started = time.monotonic()
    wait_until("both clusters to be indexing the run", mid_stream, timeout=120)
    for dc, host in targets.items():
        pid = _main_pid(lab_api, host, unit(dc))
        answer = lab_api.ssh(host, f"kill -KILL {pid}", timeout=20)
        if answer.returncode != 0:
            raise DrillError(f"kill -KILL {pid} on {host}: {answer.stdout.strip()}")
        killed[host] = pid
        held = count(dc, run)
        say(f"  SIGKILLed {unit(dc)} on {host} (pid {pid}) at "
            f"{time.monotonic() - started:.1f}s, {producer.sent} sent; {dc} held {held}")
        if held >= messages:
            raise DrillError(f"not mid-stream: {dc} held all {messages} when {host}'s pipeline "
                             f"was killed")
    producer.join(timeout)
    outcome = PipelineKill(run, producer.sent, len(producer.acked), len(producer.failed),
                           killed=killed)
    _settle(producer, run, timeout, say, outcome)
    for dc, host in targets.items():  # systemd started it again (Restart=on-failure)
        pid = _main_pid(lab_api, host, unit(dc), not_pid=killed[host])
        outcome.notes.append(f"{host}: {unit(dc)} running again as pid {pid}")
    return outcome


@dataclass
class Dc2Outage(Outcome):
    down_s: float = 0.0
    lag_samples: list[tuple[float, int | None, float | None, str]] = field(default_factory=list)
    catch_up_s: float | None = None  # from DC2's hosts booted to DC2 holding every message

    @property
    def max_lag_messages(self) -> int | None:
        known = [m for _, m, _, _ in self.lag_samples if m is not None]
        return max(known) if known else None

    @property
    def max_lag_seconds(self) -> float | None:
        known = [s for _, _, s, _ in self.lag_samples if s is not None]
        return max(known) if known else None

    def line(self) -> str:
        most = self.max_lag_messages
        age = self.max_lag_seconds
        lag_text = ("unknown (no sample could be read)" if most is None else
                    f"{most} messages" + (f", oldest unread {age:.0f}s" if age is not None
                                          else ", age unknown"))
        catch = "unknown" if self.catch_up_s is None else f"{self.catch_up_s:.1f}s"
        return (f"DC2 off for {self.down_s:.0f}s while producing: its lag reached {lag_text}; "
                f"caught up {catch} after power-on; {self.counts()}")


def dc2_outage(lab_api: Any, down_s: float = 60, rate: float = 300, before_s: float = 10,
               after_s: float = 10, timeout: float = 400, say: Say = print) -> Dc2Outage:
    """Power DC2 off (network first) for ``down_s`` seconds while producing ``rate``
    messages/s; sample its lag meanwhile; boot it and time its catch-up."""
    run = new_run("dc2off")
    hosts = DCS["dc2"]["hosts"]
    producer = Producer(run, rate=rate).start()
    time.sleep(before_s)
    say(f"  cutting DC2 ({', '.join(hosts)}) after {producer.sent} sends")
    off_at = time.monotonic()  # the outage counts from the cut; the power-off follows it
    lab_api.stop_hosts(hosts)
    say(f"  DC2 cut and powered off in {time.monotonic() - off_at:.0f}s")
    outcome = Dc2Outage(run, 0, 0, 0, down_s=down_s)
    try:
        while time.monotonic() - off_at < down_s:
            sample = lag("dc2")
            at = time.monotonic() - off_at
            outcome.lag_samples.append((at, sample.messages, sample.seconds, sample.text()))
            say(f"  DC2 off {at:.0f}s: {sample.text()}")
            time.sleep(max(0.0, min(10.0, down_s - (time.monotonic() - off_at))))
    finally:
        say("  booting DC2")
        lab_api.start_hosts(hosts)
    booted_at = time.monotonic()
    time.sleep(after_s)
    producer.stop()
    outcome.sent, outcome.acknowledged, outcome.failed = (
        producer.sent, len(producer.acked), len(producer.failed))
    done_at = _settle(producer, run, timeout, say, outcome)
    outcome.catch_up_s = done_at["dc2"] - booted_at
    return outcome


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


__all__ = ["DCS", "Dc2Outage", "DrillError", "EndToEnd", "PipelineKill", "Producer", "ZoneCut",
           "count", "dc2_outage", "end_to_end", "engine", "group", "lag", "median", "missing",
           "pipeline_kill", "unit", "zone_cut"]
