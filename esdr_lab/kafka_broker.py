"""A real single-node Kafka (KRaft, broker and controller in one JVM) on 127.0.0.1, for the tests
of ``esdr.kafka_io`` against a broker rather than a fake.

Where it comes from (/work/shared/notes/artifacts.md, "Kafka"): Kafka has no distribution on
the registries this project reaches, but its jars are on Maven Central. A pom naming
``org.apache.kafka:kafka_2.13``, ``org.apache.kafka:kafka-tools`` and the log4j 2 binding for
slf4j 1.x (kafka-clients logs through slf4j-api 1.7) is resolved once with
``mvn dependency:copy-dependencies`` into KAFKA_LIBS (~90 jars, ~54 MB, 16-30 s cold), reused
while it is complete. There are no ``bin/*.sh`` scripts in the jars: the main classes are called.

The broker: ``server.properties`` rendered by esdr's own renderer (``esdr.kafka.render``) from
a one-host lab cluster: one node with both roles, the dynamic quorum (formatted
``--initial-controllers`` with its directory id, as the deploy will format a controller),
replication factor and min ISR 1, and **plaintext listeners**: acceptable only because both
listen on 127.0.0.1 of this machine for the few seconds of a test; a real cluster renders TLS
on every listener (docs/kafka-dual-write.md). Ports are free ones picked at start. Everything
(properties, data, logs) lives in one temporary directory removed by ``stop``.

Every step is bounded: the fetch (FETCH_TIMEOUT), the storage tool (TOOL_TIMEOUT), the start
(START_TIMEOUT: until an AdminClient gets the cluster's metadata) and the stop (SIGTERM by pid,
SIGKILL after STOP_TIMEOUT). The JVM gets SIGKILL if the Python process that started it dies
(PR_SET_PDEATHSIG), so a killed test run leaves no broker behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from esdr.errors import EsdrError
from esdr.kafka.model import KafkaCluster
from esdr.kafka.render import bootstrap_servers, format_arguments, server_properties
from esdr_lab import constants

KAFKA_VERSION = constants.KAFKA_VERSION
SCALA_VERSION = constants.KAFKA_SCALA_VERSION
LOG4J_VERSION = "2.24.3"  # log4j-slf4j-impl; its log4j-api/-core are aligned by the BOM below
CACHE = Path(os.environ.get("ESDR_KAFKA_CACHE", constants.CACHE_DIR / f"kafka-{KAFKA_VERSION}"))
KAFKA_LIBS = CACHE / "libs"
COMPLETE = ".complete"  # written into libs/ after a whole fetch: a cut fetch is never used
MAIN_JAR = f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar"

FETCH_TIMEOUT = 600  # ~20 s from Maven Central, ~3 s from the local Maven repository
HEARTBEAT = 15  # seconds between "still fetching" lines
TOOL_TIMEOUT = 60  # StorageTool random-uuid / format: a JVM start each, ~2 s
START_TIMEOUT = 90  # ~12 s on a quiet machine
STOP_TIMEOUT = 20  # SIGTERM, then SIGKILL
HEAP = "-Xmx512m"
HOST = "kafka-lab"  # the one host of the lab cluster, in the rendered comments only
ADDRESS = "127.0.0.1"

POM = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- esdr_lab/kafka_broker.py: the jars of a Kafka {KAFKA_VERSION} broker, for
     mvn dependency:copy-dependencies; nothing is built from it. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>esdr.lab</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>{KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.apache.logging.log4j</groupId>
        <artifactId>log4j-bom</artifactId>
        <version>{LOG4J_VERSION}</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{SCALA_VERSION}</artifactId>
      <version>{KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
    </dependency>
  </dependencies>
</project>
"""

# log4j 2's own properties format (no YAML parser needed on the class path): everything from
# INFO up into the broker's directory, where ``log_tail`` reads it for an error message.
LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
"""


def jars_ready(libs: Path = KAFKA_LIBS) -> bool:
    return (libs / COMPLETE).is_file() and (libs / MAIN_JAR).is_file()


def unavailable_reason() -> str | None:
    """Why the broker cannot be had here (no java, no cached jars and no mvn), or None."""
    if shutil.which("java") is None:
        return ("`java` is not installed (Kafka 4.4 needs Java 17+: "
                "apt-get install openjdk-17-jre-headless)")
    if not jars_ready() and shutil.which("mvn") is None:
        return (f"no Kafka jars in {KAFKA_LIBS} and `mvn` is not installed to fetch them "
                "(apt-get install maven)")
    return None


def ensure_jars(say: Callable[[str], None] = print, libs: Path = KAFKA_LIBS) -> Path:
    """The directory of Kafka's jars: the cached one when complete, else fetched now from
    Maven Central (bounded by FETCH_TIMEOUT, a line every HEARTBEAT seconds)."""
    if jars_ready(libs):
        say(f"kafka: jars cached in {libs}")
        return libs
    if shutil.which("mvn") is None:
        raise EsdrError(f"kafka: no jars in {libs} and `mvn` is not installed to fetch them",
                        hint="apt-get install maven")
    libs.parent.mkdir(parents=True, exist_ok=True)
    say(f"kafka: fetching kafka_{SCALA_VERSION}:{KAFKA_VERSION} and kafka-tools with their "
        f"dependencies from Maven Central into {libs} (mvn dependency:copy-dependencies)")
    started = time.monotonic()
    # into a temp dir on the same filesystem, renamed when complete; run there so no pom.xml of
    # the working directory is picked up
    with tempfile.TemporaryDirectory(dir=libs.parent, prefix=".fetch-") as tmp:
        (Path(tmp) / "pom.xml").write_text(POM)
        out = Path(tmp) / "libs"
        argv = ["mvn", "-q", "-B", "-f", str(Path(tmp) / "pom.xml"),
                "dependency:copy-dependencies", "-DincludeScope=runtime",
                f"-DoutputDirectory={out}"]
        done = _bounded(argv, FETCH_TIMEOUT, say, started, cwd=tmp)
        if done.returncode != 0:
            detail = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
            raise EsdrError(
                f"kafka: `mvn dependency:copy-dependencies` for Kafka {KAFKA_VERSION} failed "
                f"(exit {done.returncode}): {detail[-1] if detail else 'no output'}",
                hint="check that Maven Central is reachable (mvn's settings, a proxy), then "
                "run the tests again; the fetch starts over",
            )
        if not (out / MAIN_JAR).is_file():
            raise EsdrError(f"kafka: Maven did not produce {MAIN_JAR}",
                            hint="check KAFKA_VERSION / SCALA_VERSION in esdr_lab/kafka_broker.py")
        (out / COMPLETE).write_text(f"kafka {KAFKA_VERSION}\n")
        try:
            out.rename(libs)
        except OSError:
            if not jars_ready(libs):  # not another run's complete fetch: ours replaces it
                shutil.rmtree(libs, ignore_errors=True)
                out.rename(libs)
    jars = list(libs.glob("*.jar"))
    size = sum(j.stat().st_size for j in jars) / 1e6
    say(f"kafka: fetched {len(jars)} jars, {size:.0f} MB in {time.monotonic() - started:.1f}s")
    return libs


def _bounded(argv: list[str], timeout: float, say: Callable[[str], None], started: float,
             cwd: str) -> subprocess.CompletedProcess[str]:
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT):
            say(f"kafka:   ... still fetching ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise EsdrError(f"kafka: `{' '.join(argv[:6])} ...` did not finish within {timeout}s",
                        hint="Maven Central is slow or unreachable; run it by hand to "
                        "see") from None
    finally:
        done.set()
        thread.join(timeout=1)


def free_port() -> int:
    """A port nothing listens on now on 127.0.0.1 (the kernel's pick; another process could
    take it before the broker binds it, then the start fails and says so)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ADDRESS, 0))
        return probe.getsockname()[1]


def lab_cluster(broker_port: int, controller_port: int, data_dir: str) -> KafkaCluster:
    """The one-host lab cluster the broker is rendered from: both roles on one node, factor and
    min ISR 1, TLS off (loopback only)."""
    node = {"zone": "az1", "node_id": 1, "address": ADDRESS}
    return KafkaCluster.model_validate({
        "controllers": {HOST: node}, "brokers": {HOST: node},
        "broker_port": broker_port, "controller_port": controller_port,
        "default_replication_factor": 1, "min_insync_replicas": 1,
        "tls": {"enabled": False}, "lab": True,
        "conf_dir": data_dir, "data_dir": data_dir,
    })


@dataclass
class Broker:
    """A started broker: where clients connect, its pid and its directory."""

    bootstrap: str
    pid: int
    directory: Path
    process: subprocess.Popen = field(repr=False)
    started_in: float = 0.0

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def log_tail(self, lines: int = 15) -> str:
        text = ""
        for path in (self.log, self.directory / "stdout.log"):
            if path.is_file():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text.strip()


def _java(libs: Path, *args: str, heap: str = "-Xmx256m") -> list[str]:
    return ["java", heap, "-cp", f"{libs}/*", *args]


def _tool(argv: list[str], what: str, env: dict[str, str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise EsdrError(f"kafka: {what} did not finish within {TOOL_TIMEOUT}s") from None
    if done.returncode != 0:
        detail = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise EsdrError(f"kafka: {what} failed (exit {done.returncode}): "
                        f"{detail[-1] if detail else 'no output'}",
                        hint=f"run `{' '.join(argv)}` by hand to see why")
    return done.stdout.strip()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(say: Callable[[str], None] = print, libs: Path | None = None) -> Broker:
    """Fetch (or reuse) the jars, render, format and start one broker; return once an
    AdminClient gets its metadata. On any failure the broker is stopped and its directory
    removed before the error is raised."""
    libs = libs or ensure_jars(say)
    directory = Path(tempfile.mkdtemp(prefix="esdr-kafka-"))
    broker: Broker | None = None
    try:
        broker_port, controller_port = free_port(), free_port()
        while controller_port == broker_port:
            controller_port = free_port()
        cluster = lab_cluster(broker_port, controller_port, str(directory))
        properties = directory / "server.properties"
        properties.write_text(server_properties("kafka-lab", cluster, HOST))
        log4j = directory / "log4j2.properties"
        log4j.write_text(LOG4J2.format(log=directory / "server.log"))
        env = {**os.environ, "LOG_DIR": str(directory)}
        cluster_id = _tool(_java(libs, "kafka.tools.StorageTool", "random-uuid"),
                           "StorageTool random-uuid", env).splitlines()[-1]
        directory_id = _tool(_java(libs, "kafka.tools.StorageTool", "random-uuid"),
                             "StorageTool random-uuid", env).splitlines()[-1]
        _tool(_java(libs, f"-Dlog4j2.configurationFile={log4j}", "kafka.tools.StorageTool",
                    "format", "-c", str(properties),
                    *format_arguments(cluster, HOST, cluster_id, {HOST: directory_id})),
              "StorageTool format", env)
        started = time.monotonic()
        say(f"kafka: starting a broker on {ADDRESS}:{broker_port} (controller "
            f"{controller_port}, plaintext on loopback) in {directory}")
        with open(directory / "stdout.log", "wb") as out:
            process = subprocess.Popen(
                _java(libs, f"-Dlog4j2.configurationFile={log4j}", "kafka.Kafka",
                      str(properties), heap=HEAP),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=directory, preexec_fn=_die_with_parent,
            )
        broker = Broker(bootstrap_servers(cluster), process.pid, directory, process)
        _wait_ready(broker, started)
        broker.started_in = time.monotonic() - started
        say(f"kafka: broker pid {broker.pid} answers on {broker.bootstrap} after "
            f"{broker.started_in:.1f}s")
        return broker
    except BaseException:
        if broker is not None:
            stop(broker, say=lambda _line: None)
        else:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _wait_ready(broker: Broker, started: float) -> None:
    """Until an AdminClient lists the cluster's topics, the process exits, or START_TIMEOUT."""
    from confluent_kafka.admin import AdminClient  # the lab's own client, not esdr.kafka's

    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 3000,
                         "log_level": 0})  # "connection refused" until it listens: expected
    try:
        _poll_ready(broker, started, admin)
    finally:
        del admin  # librdkafka's handle is destroyed with its last reference


def _poll_ready(broker: Broker, started: float, admin) -> None:
    while True:
        if broker.process.poll() is not None:
            raise EsdrError(
                f"kafka: the broker exited with {broker.process.returncode} while starting:\n"
                f"{broker.log_tail()}",
                hint=f"its server.properties and logs are in {broker.directory} until stopped")
        try:
            admin.list_topics(timeout=3)
            return
        except Exception:  # KafkaException while it starts: not answering yet
            pass
        if time.monotonic() - started > START_TIMEOUT:
            raise EsdrError(
                f"kafka: the broker on {broker.bootstrap} did not answer within "
                f"{START_TIMEOUT}s:\n{broker.log_tail()}",
                hint="a loaded machine starts Java slowly; its log above says where it stopped")
        time.sleep(0.5)


def stop(broker: Broker, say: Callable[[str], None] = print) -> None:
    """SIGTERM to the broker's pid, SIGKILL after STOP_TIMEOUT; then its directory is removed."""
    process = broker.process
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
                say(f"kafka: broker pid {broker.pid} stopped")
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
                say(f"kafka: broker pid {broker.pid} did not stop within {STOP_TIMEOUT}s: killed")
    finally:
        shutil.rmtree(broker.directory, ignore_errors=True)


def jars_or_skip(say: Callable[[str], None] = print) -> Path:
    """For tests: the jars (fetched when missing), or a pytest skip naming why they cannot be
    had (no java, no mvn, no network); with ``CI=true`` a failure instead, so a CI machine that
    lost Maven Central or its tools is noticed."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        try:
            return ensure_jars(say)
        except EsdrError as error:
            reason = f"the Kafka {KAFKA_VERSION} jars cannot be fetched: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"kafka broker unavailable under CI: {reason}")
    pytest.skip(f"kafka broker unavailable: {reason}")
