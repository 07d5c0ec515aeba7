"""server.properties for each Kafka process in KRaft mode, and the storage format arguments.
Pure: the model in, text out, byte-identical on every run (golden files in tests/kafka/golden).

Each key the reader might not know carries a comment with the Kafka 4.4 documentation page that
defines it. Passwords never appear: the keystore and truststore passwords are read by Kafka's
FileConfigProvider from ``<tls.dir>/passwords.properties`` (mode 0600, written by the deploy)
(https://kafka.apache.org/44/configuration/configuration-providers/).
"""

from __future__ import annotations

import ipaddress
import re

from esdr.kafka.model import KafkaCluster

DOCS = "https://kafka.apache.org/44"
BROKER_LISTENER = "BROKER"
CONTROLLER_LISTENER = "CONTROLLER"
PASSWORDS_FILE = "passwords.properties"
TRUSTSTORE_FILE = "truststore.p12"
# What the properties file may hold in a value: Java's Properties reads '\' as an escape and a
# leading '#' or '!' as a comment (https://docs.oracle.com/en/java/javase/21/docs/api/java.base/
# java/util/Properties.html#load(java.io.Reader)); the model only lets through names, paths
# and addresses, and this guard keeps a future field from writing anything else.
_PROPERTY_VALUE = re.compile(r"^[A-Za-z0-9._:/,@=${}\[\]-]*$")


def keystore_path(cluster: KafkaCluster, host: str) -> str:
    return f"{cluster.tls.dir}/{host}.p12"


def truststore_path(cluster: KafkaCluster) -> str:
    return f"{cluster.tls.dir}/{TRUSTSTORE_FILE}"


def _hostport(address: str, port: int) -> str:
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]:{port}"
    except ValueError:
        pass
    return f"{address}:{port}"


def bootstrap_servers(cluster: KafkaCluster) -> str:
    """What clients (producers, the pipelines) connect to first: every broker."""
    return ",".join(_hostport(cluster.address(h), cluster.broker_port)
                    for h in sorted(cluster.brokers))


def controller_endpoints(cluster: KafkaCluster) -> str:
    return ",".join(_hostport(cluster.address(h), cluster.controller_port)
                    for h in sorted(cluster.controllers))


def quorum_voters(cluster: KafkaCluster) -> str:
    return ",".join(f"{cluster.controllers[h].node_id}@"
                    f"{_hostport(cluster.address(h), cluster.controller_port)}"
                    for h in sorted(cluster.controllers))


def server_properties(cluster_name: str, cluster: KafkaCluster, host: str) -> str:
    """The whole server.properties of ``host`` (a controller, a broker, or both)."""
    roles = cluster.roles(host)
    if not roles:
        raise KeyError(f"{host} is neither a controller nor a broker of {cluster_name}")
    node = cluster.node(host)
    address = cluster.address(host)
    protocol = "SSL" if cluster.tls.enabled else "PLAINTEXT"
    lines: list[str] = [
        f"# esdr: Kafka {' and '.join(roles)} {host} (zone {node.zone}) of {cluster_name}.",
        "# Rendered from the estate by esdr; a change made here is undone by the next deploy.",
        "",
        f"# KRaft roles: {DOCS}/operations/kraft/#process-roles",
        f"process.roles={','.join(roles)}",
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_node.id",
        f"node.id={node.node_id}",
        f"log.dirs={cluster.data_dir}/data",
        "",
    ]
    if cluster.quorum == "dynamic":
        lines += [
            "# How every node finds the controllers' quorum (KIP-853, dynamic voters; the voter",
            "# set itself is stored in the metadata log, written at format time):",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_controller.quorum.bootstrap.servers",
            f"controller.quorum.bootstrap.servers={controller_endpoints(cluster)}",
        ]
    else:
        lines += [
            "# The fixed voter set, id@host:port of every controller:",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_controller.quorum.voters",
            f"controller.quorum.voters={quorum_voters(cluster)}",
        ]
    lines += [
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_controller.listener.names",
        f"controller.listener.names={CONTROLLER_LISTENER}",
    ]
    listeners = []
    if "broker" in roles:
        listeners.append(f"{BROKER_LISTENER}://{_hostport(address, cluster.broker_port)}")
    if "controller" in roles:
        listeners.append(f"{CONTROLLER_LISTENER}://{_hostport(address, cluster.controller_port)}")
    lines += [
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_listeners",
        f"listeners={','.join(listeners)}",
        "# What the others connect to; a controller's too, so the dynamic quorum learns it:",
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_advertised.listeners",
        f"advertised.listeners={','.join(listeners)}",
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_listener.security.protocol.map",
        f"listener.security.protocol.map={BROKER_LISTENER}:{protocol},"
        f"{CONTROLLER_LISTENER}:{protocol}",
    ]
    if "broker" in roles:
        lines += [
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_inter.broker.listener.name",
            f"inter.broker.listener.name={BROKER_LISTENER}",
            "",
            "# The zone: new partitions get their replicas in as many zones as the factor allows",
            f"# ({DOCS}/operations/basic-kafka-operations/#balancing-replicas-across-racks)",
            f"broker.rack={node.zone}",
            "# Topics are code (esdr plan / apply): a typo in a producer must not create one",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_auto.create.topics.enable",
            "auto.create.topics.enable=false",
            "# Copies of each partition, and how many must have a message before acks=all is",
            "# answered (3 and 2 by default: an acknowledged message survives the loss of a",
            "# broker, and of a zone when the brokers span three; `esdr validate` checks the",
            "# numbers against the zones)",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_default.replication.factor",
            f"default.replication.factor={cluster.default_replication_factor}",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_min.insync.replicas",
            f"min.insync.replicas={cluster.min_insync_replicas}",
            "# A replica that missed acknowledged messages never becomes leader",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_unclean.leader.election.enable",
            f"unclean.leader.election.enable={str(cluster.unclean_leader_election).lower()}",
            "# The consumer groups' committed offsets and transaction state, as safe as the data:",
            f"# {DOCS}/configuration/broker-configs/#brokerconfigs_offsets.topic.replication.factor",
            f"offsets.topic.replication.factor={cluster.default_replication_factor}",
            f"transaction.state.log.replication.factor={cluster.default_replication_factor}",
            f"transaction.state.log.min.isr={cluster.min_insync_replicas}",
        ]
    if cluster.tls.enabled:
        lines += _tls_lines(cluster, host)
    return "\n".join(_checked(line) for line in lines) + "\n"


def _tls_lines(cluster: KafkaCluster, host: str) -> list[str]:
    tls_dir = cluster.tls.dir
    passwords = f"{tls_dir}/{PASSWORDS_FILE}"
    return [
        "",
        "# TLS on every listener with the estate CA; stores are PKCS12 written by esdr",
        f"# ({DOCS}/security/encryption-and-authentication-using-ssl/)",
        "# Passwords come from a file only root and the kafka user read, through Kafka's",
        f"# FileConfigProvider ({DOCS}/configuration/configuration-providers/); allowed.paths",
        "# keeps the provider from reading any other file.",
        "config.providers=file",
        "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
        f"config.providers.file.param.allowed.paths={tls_dir}",
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={keystore_path(cluster, host)}",
        f"ssl.keystore.password=${{file:{passwords}:keystore.password}}",
        "ssl.truststore.type=PKCS12",
        f"ssl.truststore.location={truststore_path(cluster)}",
        f"ssl.truststore.password=${{file:{passwords}:truststore.password}}",
        "# Clients (brokers, producers, pipelines) present a certificate from the estate CA:",
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_ssl.client.auth",
        f"ssl.client.auth={cluster.tls.client_auth}",
        "# Kafka's default, written so nobody blanks it: the peer's certificate must name the",
        "# address it was reached at.",
        f"# {DOCS}/configuration/broker-configs/#brokerconfigs_ssl.endpoint.identification.algorithm",
        "ssl.endpoint.identification.algorithm=https",
    ]


def _checked(line: str) -> str:
    if line.startswith("#") or not line:
        return line
    key, _, value = line.partition("=")
    if not _PROPERTY_VALUE.match(value):
        raise ValueError(f"{key}: {value!r} is not a value esdr writes into server.properties")
    return line


def format_arguments(cluster: KafkaCluster, host: str, cluster_id: str,
                     directory_ids: dict[str, str] | None = None) -> list[str]:
    """``kafka.tools.StorageTool format`` arguments after ``-c server.properties`` for ``host``
    (https://kafka.apache.org/44/operations/kraft/#provisioning-nodes). With the dynamic quorum
    each controller is formatted with the whole initial voter set, ``id@host:port:directory``
    (a directory id per controller, from ``StorageTool random-uuid``); a broker with
    ``--no-initial-controllers``. The static quorum reads its voters from the properties."""
    args = ["-t", cluster_id]
    if cluster.quorum == "static":
        return args
    if host not in cluster.controllers:
        return args + ["--no-initial-controllers"]
    if directory_ids is None or set(directory_ids) != set(cluster.controllers):
        raise ValueError("the dynamic quorum needs one directory id per controller")
    voters = ",".join(
        f"{cluster.controllers[h].node_id}@"
        f"{_hostport(cluster.address(h), cluster.controller_port)}:{directory_ids[h]}"
        for h in sorted(cluster.controllers))
    return args + ["--initial-controllers", voters]
