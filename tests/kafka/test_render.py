"""server.properties for KRaft controllers and brokers: golden files for the example, and the
facts every rendered file keeps whatever the cluster (parsed back as Java properties)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esdr.kafka.model import KafkaCluster
from esdr.kafka.render import (
    bootstrap_servers,
    format_arguments,
    quorum_voters,
    server_properties,
)
from tests.kafka.factory import estate, raw
from tests.kafka.golden import assert_golden

SETTINGS = settings(max_examples=200, deadline=None, database=None)


def properties(text: str) -> dict[str, str]:
    """Key -> value as java.util.Properties reads this simple form; a key set twice fails."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.strip() and "\\" not in line, line
        assert key not in out, f"{key} set twice"
        out[key] = value
    return out


def _cluster(data: dict[str, Any] | None = None) -> KafkaCluster:
    return estate(data).kafka_clusters["kafka-dc1"]


@pytest.mark.parametrize("host", ["kb-az1", "kc-tb"])
def test_golden_server_properties(host: str) -> None:
    assert_golden(f"server-{host}.properties", server_properties("kafka-dc1", _cluster(), host))


def test_golden_static_quorum_lab_combined_without_tls() -> None:
    data = raw()
    cluster = data["kafka_clusters"]["kafka-dc1"]
    cluster.update(quorum="static", lab=True, tls={"enabled": False})
    cluster["brokers"]["kc-az1"] = dict(cluster["controllers"]["kc-az1"])
    text = server_properties("kafka-dc1", _cluster(data), "kc-az1")
    assert_golden("server-lab-combined-static.properties", text)
    props = properties(text)
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@10.0.1.11:9093,2@10.0.2.11:9093,3@10.0.3.11:9093"
    assert "controller.quorum.bootstrap.servers" not in props
    assert props["listener.security.protocol.map"] == "BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not any(key.startswith("ssl.") for key in props)


def test_a_broker_keeps_the_durability_defaults() -> None:
    props = properties(server_properties("kafka-dc1", _cluster(), "kb-az2"))
    assert props["broker.rack"] == "az2"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert props["ssl.client.auth"] == "required"
    assert props["ssl.keystore.location"] == "/etc/kafka/tls/kb-az2.p12"
    # no password in the file: the FileConfigProvider reads them from the 0600 file
    assert props["ssl.keystore.password"].startswith("${file:/etc/kafka/tls/passwords.properties:")


def test_a_controller_has_no_broker_settings() -> None:
    props = properties(server_properties("kafka-dc1", _cluster(), "kc-az2"))
    assert props["process.roles"] == "controller"
    assert props["listeners"] == "CONTROLLER://10.0.2.11:9093"
    assert "broker.rack" not in props and "inter.broker.listener.name" not in props


def test_ipv6_addresses_are_bracketed() -> None:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["controllers"]["kc-az1"]["address"] = "fd00::11"
    cluster = _cluster(data)
    assert quorum_voters(cluster).startswith("1@[fd00::11]:9093,")
    props = properties(server_properties("kafka-dc1", cluster, "kc-az1"))
    assert props["listeners"] == "CONTROLLER://[fd00::11]:9093"


def test_an_unknown_host_is_refused() -> None:
    with pytest.raises(KeyError):
        server_properties("kafka-dc1", _cluster(), "nobody")


def test_format_arguments() -> None:
    cluster = _cluster()
    ids = {"kc-az1": "dirA", "kc-az2": "dirB", "kc-tb": "dirC"}
    assert format_arguments(cluster, "kb-az1", "CID") == ["-t", "CID", "--no-initial-controllers"]
    assert format_arguments(cluster, "kc-tb", "CID", ids) == [
        "-t", "CID", "--initial-controllers",
        "1@10.0.1.11:9093:dirA,2@10.0.2.11:9093:dirB,3@10.0.3.11:9093:dirC"]
    with pytest.raises(ValueError):
        format_arguments(cluster, "kc-tb", "CID", {"kc-az1": "dirA"})
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["quorum"] = "static"
    assert format_arguments(_cluster(data), "kc-tb", "CID") == ["-t", "CID"]


NAMES = st.from_regex(r"^[a-z][a-z0-9-]{0,12}$", fullmatch=True)


@SETTINGS
@given(
    controllers=st.dictionaries(NAMES, st.sampled_from(["az1", "az2", "az3"]), min_size=1,
                                max_size=5),
    brokers=st.dictionaries(NAMES, st.sampled_from(["az1", "az2", "az3"]), min_size=1,
                            max_size=6),
    tls=st.booleans(),
    quorum=st.sampled_from(["dynamic", "static"]),
    rf=st.integers(1, 5),
    isr=st.integers(1, 5),
)
def test_every_rendered_file_keeps_its_facts(controllers: dict[str, str],
                                             brokers: dict[str, str], tls: bool, quorum: str,
                                             rf: int, isr: int) -> None:
    ids = {host: i for i, host in enumerate(sorted(set(controllers) | set(brokers)))}
    data = {
        "controllers": {h: {"zone": z, "node_id": ids[h]} for h, z in controllers.items()},
        "brokers": {h: {"zone": controllers.get(h, z), "node_id": ids[h]}
                    for h, z in brokers.items()},
        "tls": {"enabled": tls}, "quorum": quorum,
        "default_replication_factor": rf, "min_insync_replicas": isr,
    }
    cluster = KafkaCluster.model_validate(data)
    for host in cluster.hosts:
        props = properties(server_properties("k", cluster, host))
        roles = props["process.roles"].split(",")
        assert set(roles) == set(cluster.roles(host))
        assert props["node.id"] == str(ids[host])
        assert props["controller.listener.names"] == "CONTROLLER"
        if quorum == "dynamic":
            assert props["controller.quorum.bootstrap.servers"].count(":9093") == len(controllers)
        else:
            assert props["controller.quorum.voters"].count("@") == len(controllers)
        if "broker" in roles:
            assert props["broker.rack"] == cluster.brokers[host].zone
            assert props["unclean.leader.election.enable"] == "false"
            assert props["min.insync.replicas"] == str(isr)
            assert props["listeners"].startswith(f"BROKER://{host}:9092")
            assert props["inter.broker.listener.name"] == "BROKER"
        protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
        assert set(protocols.values()) == {"SSL" if tls else "PLAINTEXT"}
        assert ("ssl.keystore.location" in props) == tls
    assert bootstrap_servers(cluster).count(":9092") == len(brokers)
