"""The systemd unit, the log4j 2 configuration and the storage format command of a Kafka process.
Pure: the model in, text out, byte-identical on every run (golden files in tests/kafka/golden).

No ``bin/*.sh`` script is used: a jar-set install has none, and the unit says exactly what runs,
``java ... -cp '<install>/libs/*' kafka.Kafka <conf_dir>/server.properties``, the main class
``kafka-server-start.sh`` ends in.
"""

from __future__ import annotations

import shlex

from esdr.kafka.model import KafkaCluster
from esdr.kafka.render import DOCS, format_arguments

SERVICE = "kafka"
UNIT_PATH = f"/etc/systemd/system/{SERVICE}.service"
LOG4J_FILE = "log4j2.properties"
SERVER_PROPERTIES = "server.properties"
# Kafka's own recommendation for a broker's open files (segments, index files, sockets):
# https://kafka.apache.org/44/operations/hardware-and-os/#file-descriptors-and-mmap
OPEN_FILES = 100_000
# A broker's controlled shutdown moves its partitions' leadership away first; give it time
# before systemd's SIGKILL (https://kafka.apache.org/44/operations/basic-kafka-operations/#graceful-shutdown)
STOP_TIMEOUT = 180


def install_dir(cluster: KafkaCluster) -> str:
    return f"{cluster.install.root}/kafka-{cluster.install.version}"


def install_link(cluster: KafkaCluster) -> str:
    return f"{cluster.install.root}/current"


def properties_path(cluster: KafkaCluster) -> str:
    return f"{cluster.conf_dir}/{SERVER_PROPERTIES}"


def log4j_path(cluster: KafkaCluster) -> str:
    return f"{cluster.conf_dir}/{LOG4J_FILE}"


def meta_properties_path(cluster: KafkaCluster) -> str:
    """Where ``StorageTool format`` leaves its mark: the first (here the only) ``log.dirs``
    entry, which is also the metadata log's directory (render: ``log.dirs=<data_dir>/data``)."""
    return f"{cluster.data_dir}/data/meta.properties"


def java_command(cluster: KafkaCluster, main_class: str, *args: str) -> list[str]:
    """``java`` with the heap, the log4j 2 configuration and the installed jars. The class path
    is the directory wildcard ``libs/*``, which the JVM expands itself (it must reach ``java``
    unexpanded: https://docs.oracle.com/en/java/javase/17/docs/specs/man/java.html, "-cp")."""
    return [
        cluster.install.java,
        f"-Xms{cluster.heap}",
        f"-Xmx{cluster.heap}",
        f"-Dlog4j2.configurationFile={log4j_path(cluster)}",
        f"-Dkafka.logs.dir={cluster.log_dir}",
        "-cp",
        f"{install_link(cluster)}/libs/*",
        main_class,
        *args,
    ]


def unit(cluster_name: str, cluster: KafkaCluster, host: str) -> str:
    """``kafka.service``. The class path is quoted so systemd passes ``libs/*`` as one word."""
    roles = " and ".join(cluster.roles(host))
    command = " ".join(shlex.quote(word) for word in java_command(
        cluster, "kafka.Kafka", properties_path(cluster)))
    return "\n".join([
        f"# esdr: Kafka {roles} {host} of {cluster_name}; rendered by esdr, a change made here",
        "# is undone by the next deploy.",
        "[Unit]",
        f"Description=Apache Kafka {roles} {host} ({cluster_name})",
        f"Documentation={DOCS}/operations/kraft/",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"User={cluster.user}",
        f"Group={cluster.user}",
        f"WorkingDirectory={cluster.data_dir}",
        f"ExecStart={command}",
        "# The JVM ends with 143 on SIGTERM after a clean shutdown",
        "SuccessExitStatus=143",
        "Restart=on-failure",
        "RestartSec=10",
        f"TimeoutStopSec={STOP_TIMEOUT}",
        f"LimitNOFILE={OPEN_FILES}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def log4j(cluster: KafkaCluster) -> str:
    """log4j 2 in its properties format (built into log4j-core, no YAML library needed): the
    server log in ``log_dir``, rolled by size, and warnings to the journal too.
    https://logging.apache.org/log4j/2.x/manual/configuration.html#java-properties-format"""
    log = f"{cluster.log_dir}/server.log"
    return "\n".join([
        "# esdr: Kafka's logging; rendered by esdr.",
        "status = warn",
        "appender.file.type = RollingFile",
        "appender.file.name = file",
        f"appender.file.fileName = {log}",
        f"appender.file.filePattern = {log}.%i",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size = 100MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        "appender.file.strategy.max = 10",
        "appender.journal.type = Console",
        "appender.journal.name = journal",
        "appender.journal.layout.type = PatternLayout",
        "appender.journal.layout.pattern = %p %m (%c)%n",
        "appender.journal.filter.threshold.type = ThresholdFilter",
        "appender.journal.filter.threshold.level = WARN",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = file",
        "rootLogger.appenderRef.journal.ref = journal",
        "",
    ])


def format_command(cluster: KafkaCluster, host: str, cluster_id: str,
                   directory_ids: dict[str, str] | None = None) -> str:
    """The one-shot storage format, as a shell command run as the service user: only when
    ``meta.properties`` is absent, so a rerun (or a node that has data) changes nothing. A
    formatted directory is never formatted again: ``StorageTool format`` refuses one anyway
    unless told ``--ignore-formatted``, which esdr never passes
    (https://kafka.apache.org/44/operations/kraft/#provisioning-nodes)."""
    tool = java_command(cluster, "kafka.tools.StorageTool", "format", "-c",
                        properties_path(cluster),
                        *format_arguments(cluster, host, cluster_id, directory_ids))
    meta = shlex.quote(meta_properties_path(cluster))
    user = shlex.quote(cluster.user)
    return (f"test -e {meta} || runuser -u {user} -- "
            + " ".join(shlex.quote(word) for word in tool))
