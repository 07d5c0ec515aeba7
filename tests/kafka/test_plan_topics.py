"""`esdr plan` with the estate's Kafka topics: the inventory's Kafka clusters (those with topics
and a host in it) are planned beside the Elasticsearch objects; topic drift exits 3 and is
listed (text and --json), a converged cluster adds nothing to the exit code; the Kafka section
is checked first; without the admin identity the plan says to run the deploy once. The cluster
itself is a stand-in here (the loopback test plans against a real broker)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from esdr.cli import cluster as plan_cli
from esdr.cli.main import cli
from esdr.errors import EsdrError, InvalidProject
from esdr.kafka.topics import desired_topics, plan_of
from esdr.kafka_io import cluster as kafka_cluster
from esdr.reconcile import run
from esdr.upgrade import plan_upgrade
from tests.crossdc.fake_es import fake_topology
from tests.kafka.factory import estate, raw
from tests.unit.topo_factory import topology as make_topology

CLUSTER = estate().kafka_clusters["kafka-dc1"]
RECORD = {"topics": sorted(CLUSTER.topics)}


@pytest.fixture
def planned(monkeypatch):
    """`esdr plan` with an Elasticsearch plan of no drift and the given topic plans."""
    result: dict = {"topics": []}
    monkeypatch.setattr(plan_cli, "topology_of", lambda inventory: fake_topology())
    monkeypatch.setattr(run, "plan_cluster",
                        lambda topology, others=None: run.ClusterPlan("c", "dc1"))
    # every node on es_version: no rolling upgrade
    monkeypatch.setattr(run, "plan_version", lambda topology: plan_upgrade(
        topology.cluster, {n.name: topology.cluster.version for n in topology.cluster.nodes}))
    monkeypatch.setattr(kafka_cluster, "plan_inventory_topics",
                        lambda topology: result["topics"])
    return result


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "plan", "inventories/x.py"])
    return result.exit_code, result.output


def test_a_hand_changed_topic_config_is_drift_exit_3(planned) -> None:
    seen = desired_topics(CLUSTER)
    seen["orders"] = {**seen["orders"], "config": {"retention.ms": "3600000"}}
    planned["topics"] = [plan_of("kafka-dc1", CLUSTER, seen, RECORD, "kafka-dc1 (b:9092)")]
    code, out = _run()
    assert code == 3
    lines = out.splitlines()
    assert "kafka cluster kafka-dc1 (b:9092):" in lines
    assert "  ~ kafka_topic_config orders: changed" in lines
    assert '        before: {"retention.ms": "3600000"}' in lines
    assert "inventories/x.py: drift in 1 object(s)" in out

    code, out = _run("--json")
    assert code == 3
    assert json.loads(out)["drift"] == ["kafka_topic_config orders: changed"]


def test_converged_topics_are_no_drift_and_verbose_lists_them(planned) -> None:
    planned["topics"] = [plan_of("kafka-dc1", CLUSTER, desired_topics(CLUSTER), RECORD)]
    code, out = _run()
    assert code == 0 and out.splitlines()[-1] == "inventories/x.py: no drift"
    assert "  topics: 0 created, 0 changed, 0 deleted, 2 unchanged" in out
    result = CliRunner().invoke(cli, ["plan", "--verbose", "inventories/x.py"])
    assert "  = kafka_topic orders: unchanged" in result.output


def test_a_blocking_topic_note_exits_3_without_drift(planned) -> None:
    seen = desired_topics(CLUSTER)
    seen["orders"] = {**seen["orders"], "partitions": 12}
    planned["topics"] = [plan_of("kafka-dc1", CLUSTER, seen, RECORD)]
    code, out = _run()
    assert code == 3 and "1 blocking note(s)" in out


def test_unreachable_brokers_are_one_line_exit_1(planned, monkeypatch) -> None:
    def unreachable(topology):
        raise EsdrError("kafka kafka-dc1: no broker answered this machine within 15s (tried "
                        "b:9092)", hint="let this machine reach each broker's port")

    monkeypatch.setattr(kafka_cluster, "plan_inventory_topics", unreachable)
    code, out = _run()
    assert code == 1 and "no broker answered this machine within 15s (tried b:9092)" in out


# --- which clusters an inventory plans, from its estate -----------------------------------------


def _topology(tmp_path: Path, kafka: Any, ignored: tuple[str, ...] = ()):
    topo = make_topology(es_secrets_dir=str(tmp_path / "secrets"))
    settings = {**topo.cluster.settings,
                "es_estate": {"_source": "/x/group_data/estates/prod.yml", "clusters": {},
                              **({"kafka": kafka} if kafka is not None else {})}}
    return dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, settings=settings),
                               ignored_hosts=ignored)


def test_the_inventorys_kafka_clusters_with_topics_are_planned(tmp_path, monkeypatch) -> None:
    asked: list[tuple] = []
    monkeypatch.setattr(kafka_cluster, "admin_for",
                        lambda topology, name, cluster, timeout: f"admin {name}")
    monkeypatch.setattr(kafka_cluster, "plan_cluster_topics",
                        lambda admin, name, cluster, timeout: asked.append((admin, name)) or name)
    assert kafka_cluster.plan_inventory_topics(_topology(tmp_path, None)) == []
    # the estate's Kafka hosts are not this inventory's: nothing to plan here
    assert kafka_cluster.plan_inventory_topics(_topology(tmp_path, raw())) == []
    # a Kafka host in no es_* group of this inventory
    plans = kafka_cluster.plan_inventory_topics(_topology(tmp_path, raw(), ("kb-az2",)))
    assert plans == ["kafka-dc1"] and asked == [("admin kafka-dc1", "kafka-dc1")]


def test_a_wrong_kafka_section_is_refused_with_every_problem(tmp_path) -> None:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["brokers"]["kb-az2"]["node_id"] = 11
    with pytest.raises(InvalidProject) as refused:
        kafka_cluster.kafka_estate_of(_topology(tmp_path, data))
    assert "[kafka-node-id-duplicate]" in str(refused.value)


def test_without_the_admin_identity_the_plan_says_to_deploy_once(tmp_path) -> None:
    topo = _topology(tmp_path, raw())
    with pytest.raises(EsdrError, match=r"no esdr-admin client identity.*esdr-admin\.crt.*"
                       r"run the deploy once"):
        kafka_cluster.tls_of(topo, "kafka-dc1", CLUSTER)
    lab = CLUSTER.model_copy(update={"tls": CLUSTER.tls.model_copy(update={"enabled": False})})
    assert kafka_cluster.tls_of(topo, "kafka-dc1", lab) is None  # a plaintext lab


def test_the_admin_identity_is_read_from_the_secrets_directory(tmp_path) -> None:
    topo = _topology(tmp_path, raw())
    clients = tmp_path / "secrets" / "kafka" / "kafka-dc1" / "clients"
    clients.mkdir(parents=True)
    for name in ("esdr-admin.crt", "esdr-admin.key"):
        (clients / name).write_text("x")
    (tmp_path / "secrets" / "ca.crt").write_text("x")
    tls = kafka_cluster.tls_of(topo, "kafka-dc1", CLUSTER)
    assert tls.cert_file == str(clients / "esdr-admin.crt")
    assert tls.key_file == str(clients / "esdr-admin.key")
    assert tls.ca_file == str(tmp_path / "secrets" / "ca.crt")
    assert kafka_cluster.where_of("kafka-dc1", CLUSTER) == (
        "kafka-dc1 (kb-az1.dc1.example.internal:9092,kb-az2.dc1.example.internal:9092,"
        "kb-az3.dc1.example.internal:9092)")
